// Test hooks for the row and block schedulers of the LSTM step loop and for the pool (test addon
// only; typed in test/helpers/testing-addon.ts):
//   _rowSteps(rows, slices, steps, minRows, delayUs) runs rec::run_row_steps with a function that
//     checks every call: returns { calls, outOfOrder, smallestRange, threads, handovers }, where
//     outOfOrder counts rows given step k before step k - 1 (or twice), calls is the number of
//     (row, step) pairs run (rows * steps when each ran exactly once), smallestRange the fewest
//     rows one call was given, threads how many distinct threads ran rows, handovers how many
//     times rows moved to another thread. delayUs: the thread running row 0 sleeps that long after
//     each step (so the others run out of work and take rows over).
//   _setRowStepsDelay(us) sets that delay for the LSTM forward itself (0: off), and
//   _rowStepsHandovers() returns the process-wide handover count, so a test can check that a
//   forward whose rows moved between threads gives the same bits.
// For the unit-block scheduler of the LSTM step loop (rec::run_block_steps):
//   _blockSteps(blocks, slices, steps, delayUs) runs it with a function that checks every call:
//     returns { calls, outOfOrder, early, threads, firstMin, firstMax, uneven }, where calls counts
//     the (block, step) pairs run (blocks * steps when each ran exactly once), outOfOrder the blocks
//     given step k before step k - 1 (or twice), early the calls of step k that started before
//     every block of step k - 1 had finished, firstMin / firstMax the fewest and most blocks of
//     the range starting at block 0, and uneven how many steps ran with cuts that were not even.
//     delayUs: the thread running the range with block 0 sleeps that long after each step, so the
//     cuts move away from it;
//   _setBlockStepsDelay(us) sets that delay for the LSTM forward and backward themselves, and
//   _blockStepsUneven() returns the process-wide count of steps with uneven cuts.
// And for the thread pool (thread_pool.h):
//   _poolSleeps() returns { workers, callers }: how many times pool workers went to sleep between
//     jobs and callers went to sleep waiting for a job's chunks, since the process started;
//   _setPoolSpinUs(us) sets how long they spin before sleeping (LSTM_NATIVE_SPIN_US at start).
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "binding_util.h"
#include "lstm_recurrent.h"
#include "test_hooks.h"
#include "thread_pool.h"

namespace lstm_binding {
namespace {

struct Check {
  std::unique_ptr<std::atomic<int>[]> last;  // per row: the last step run (-1: none)
  std::atomic<int64_t> calls{0}, out_of_order{0};
  std::atomic<int> smallest{INT32_MAX};
  std::mutex mu;
  std::set<std::thread::id> threads;
};

void check_rows(void* ctx, int r0, int r1, int k) {
  Check& c = *static_cast<Check*>(ctx);
  for (int r = r0; r < r1; ++r) {
    if (c.last[r].exchange(k, std::memory_order_relaxed) != k - 1) c.out_of_order.fetch_add(1);
  }
  c.calls.fetch_add(r1 - r0);
  int s = c.smallest.load();
  while (r1 - r0 < s && !c.smallest.compare_exchange_weak(s, r1 - r0)) {
  }
  std::lock_guard<std::mutex> lock(c.mu);
  c.threads.insert(std::this_thread::get_id());
}

Napi::Value RowSteps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallContext ctx(env, "_rowSteps");
  const int rows = ctx.int_arg(info[0], "rows", 1, 1 << 20);
  const int slices = ctx.int_arg(info[1], "slices", 1, 64);
  const int steps = ctx.int_arg(info[2], "steps", 1, 1 << 20);
  const int min_rows = ctx.int_arg(info[3], "minRows", 1, 1 << 20);
  const int delay = ctx.int_arg(info[4], "delayUs", 0, 100000);
  if (!ctx.ok()) return env.Undefined();
  Check c;
  c.last.reset(new std::atomic<int>[rows]);
  for (int r = 0; r < rows; ++r) c.last[r].store(-1);
  const uint64_t before = lstm::rec::row_steps_handovers();
  lstm::rec::set_row_steps_test_delay_us(delay);
  lstm::rec::run_row_steps(rows, slices, steps, min_rows, check_rows, &c);
  lstm::rec::set_row_steps_test_delay_us(0);
  for (int r = 0; r < rows; ++r) {
    if (c.last[r].load() != steps - 1) c.out_of_order.fetch_add(1);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("calls", Napi::Number::New(env, static_cast<double>(c.calls.load())));
  out.Set("outOfOrder", Napi::Number::New(env, static_cast<double>(c.out_of_order.load())));
  out.Set("smallestRange", Napi::Number::New(env, c.smallest.load()));
  out.Set("threads", Napi::Number::New(env, static_cast<double>(c.threads.size())));
  out.Set("handovers",
          Napi::Number::New(env, static_cast<double>(lstm::rec::row_steps_handovers() - before)));
  return out;
}

struct BlockCheck {
  int blocks = 0;
  std::unique_ptr<std::atomic<int>[]> last;     // per block: the last step run (-1: none)
  std::unique_ptr<std::atomic<int>[]> done;     // per step: blocks finished
  std::atomic<int64_t> calls{0}, out_of_order{0}, early{0};
  std::atomic<int> first_min{INT32_MAX}, first_max{0};
  std::mutex mu;
  std::set<std::thread::id> threads;
};

void check_blocks(void* ctx, int b0, int b1, int k) {
  BlockCheck& c = *static_cast<BlockCheck*>(ctx);
  if (k > 0 && c.done[k - 1].load(std::memory_order_acquire) != c.blocks) c.early.fetch_add(1);
  for (int b = b0; b < b1; ++b) {
    if (c.last[b].exchange(k, std::memory_order_relaxed) != k - 1) c.out_of_order.fetch_add(1);
  }
  c.calls.fetch_add(b1 - b0);
  if (b0 == 0) {
    c.first_min.store(std::min(c.first_min.load(), b1));
    c.first_max.store(std::max(c.first_max.load(), b1));
  }
  {
    std::lock_guard<std::mutex> lock(c.mu);
    c.threads.insert(std::this_thread::get_id());
  }
  c.done[k].fetch_add(b1 - b0, std::memory_order_release);
}

Napi::Value BlockSteps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallContext ctx(env, "_blockSteps");
  const int blocks = ctx.int_arg(info[0], "blocks", 1, 1 << 20);
  const int slices = ctx.int_arg(info[1], "slices", 1, 64);
  const int steps = ctx.int_arg(info[2], "steps", 1, 1 << 20);
  const int delay = ctx.int_arg(info[3], "delayUs", 0, 100000);
  if (!ctx.ok()) return env.Undefined();
  BlockCheck c;
  c.blocks = blocks;
  c.last.reset(new std::atomic<int>[blocks]);
  for (int b = 0; b < blocks; ++b) c.last[b].store(-1);
  c.done.reset(new std::atomic<int>[steps]);
  for (int k = 0; k < steps; ++k) c.done[k].store(0);
  const uint64_t before = lstm::rec::block_steps_uneven();
  lstm::rec::set_block_steps_test_delay_us(delay);
  lstm::rec::run_block_steps(blocks, slices, steps, check_blocks, &c);
  lstm::rec::set_block_steps_test_delay_us(0);
  for (int b = 0; b < blocks; ++b) {
    if (c.last[b].load() != steps - 1) c.out_of_order.fetch_add(1);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("calls", Napi::Number::New(env, static_cast<double>(c.calls.load())));
  out.Set("outOfOrder", Napi::Number::New(env, static_cast<double>(c.out_of_order.load())));
  out.Set("early", Napi::Number::New(env, static_cast<double>(c.early.load())));
  out.Set("threads", Napi::Number::New(env, static_cast<double>(c.threads.size())));
  out.Set("firstMin", Napi::Number::New(env, c.first_min.load()));
  out.Set("firstMax", Napi::Number::New(env, c.first_max.load()));
  out.Set("uneven",
          Napi::Number::New(env, static_cast<double>(lstm::rec::block_steps_uneven() - before)));
  return out;
}

Napi::Value SetBlockStepsDelay(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallContext ctx(env, "_setBlockStepsDelay");
  const int delay = ctx.int_arg(info[0], "us", 0, 100000);
  if (ctx.ok()) lstm::rec::set_block_steps_test_delay_us(delay);
  return env.Undefined();
}

Napi::Value BlockStepsUneven(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(lstm::rec::block_steps_uneven()));
}

Napi::Value SetRowStepsDelay(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallContext ctx(env, "_setRowStepsDelay");
  const int delay = ctx.int_arg(info[0], "us", 0, 100000);
  if (ctx.ok()) lstm::rec::set_row_steps_test_delay_us(delay);
  return env.Undefined();
}

Napi::Value RowStepsHandovers(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(lstm::rec::row_steps_handovers()));
}

Napi::Value PoolSleeps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const lstm::PoolSleeps s = lstm::pool_sleeps();
  Napi::Object out = Napi::Object::New(env);
  out.Set("workers", Napi::Number::New(env, static_cast<double>(s.workers)));
  out.Set("callers", Napi::Number::New(env, static_cast<double>(s.callers)));
  return out;
}

Napi::Value SetPoolSpinUs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallContext ctx(env, "_setPoolSpinUs");
  const int us = ctx.int_arg(info[0], "us", 0, 1000000);
  if (ctx.ok()) lstm::set_pool_spin_us(us);
  return env.Undefined();
}

}  // namespace

void RegisterSchedTesting(Napi::Env env, Napi::Object exports) {
  exports.Set("_rowSteps", Napi::Function::New(env, RowSteps, "_rowSteps"));
  exports.Set("_setRowStepsDelay", Napi::Function::New(env, SetRowStepsDelay, "_setRowStepsDelay"));
  exports.Set("_rowStepsHandovers", Napi::Function::New(env, RowStepsHandovers, "_rowStepsHandovers"));
  exports.Set("_blockSteps", Napi::Function::New(env, BlockSteps, "_blockSteps"));
  exports.Set("_setBlockStepsDelay", Napi::Function::New(env, SetBlockStepsDelay, "_setBlockStepsDelay"));
  exports.Set("_blockStepsUneven", Napi::Function::New(env, BlockStepsUneven, "_blockStepsUneven"));
  exports.Set("_poolSleeps", Napi::Function::New(env, PoolSleeps, "_poolSleeps"));
  exports.Set("_setPoolSpinUs", Napi::Function::New(env, SetPoolSpinUs, "_setPoolSpinUs"));
}

}  // namespace lstm_binding
