// The fast LSTM step's schedulers (contract in lstm_recurrent.h): run_slices (one pool job per
// step, each thread preferring the slice it ran last), run_block_steps (all steps of unit blocks in
// one pool job, cuts that follow the threads' speeds) and run_row_steps (all steps of batch rows
// in one pool job, rows handed to idle threads).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "lstm_recurrent.h"
#include "test_hooks.h"
#include "thread_pool.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#include <immintrin.h>
#define LSTM_REC_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__) || defined(__arm__)
#define LSTM_REC_CPU_RELAX() __asm__ __volatile__("yield" ::: "memory")
#else
#define LSTM_REC_CPU_RELAX() ((void)0)
#endif

namespace lstm {
namespace rec {
namespace {

// The slice a thread ran last: a hint only.
thread_local int tl_slice = -1;

}  // namespace

void run_slices(int n, void (*fn)(void* ctx, int slice), void* ctx) {
  if (n <= 1) {
    fn(ctx, 0);
    return;
  }
  std::atomic<uint64_t> taken{0};
  auto take = [&]() {
    uint64_t m = taken.load(std::memory_order_relaxed);
    for (;;) {
      int s = tl_slice;
      if (s < 0 || s >= n || (m >> s) & 1u) {
        s = 0;
        while ((m >> s) & 1u) ++s;
      }
      if (taken.compare_exchange_weak(m, m | (uint64_t{1} << s), std::memory_order_relaxed)) {
        tl_slice = s;
        return s;
      }
    }
  };
  parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) fn(ctx, take());
  });
}

namespace {

// Slots of the step ring: a step's claim and done words are reused R steps later, when (as the
// step loop only advances past complete steps) every slice of the old step has finished.
constexpr int kRing = 4;

// Tag of step k in the high half of a slot word (0: never used).
inline uint64_t step_tag(int k) { return static_cast<uint64_t>(k + 1) << 32; }
inline uint32_t tag_step_plus1(uint64_t v) { return static_cast<uint32_t>(v >> 32); }

struct alignas(64) Slot {
  std::atomic<uint64_t> word{0};
};

struct StepSync {
  Slot claim[kRing];  // tag | bit mask of claimed slices
  Slot done[kRing];   // tag | count of finished slices
};

// A slice of step k for this thread; -1: none left; -2: step k is already complete (this thread
// fell behind).
int claim_slice(StepSync& S, int n, int k) {
  std::atomic<uint64_t>& w = S.claim[k % kRing].word;
  const uint64_t tag = step_tag(k), full = n >= 32 ? 0xffffffffu : (uint64_t{1} << n) - 1;
  uint64_t v = w.load(std::memory_order_acquire);
  for (;;) {
    const uint64_t vt = v & ~uint64_t{0xffffffffu};
    if (vt > tag) return -2;
    if (vt < tag) {  // the slot still holds a finished older step: open it for step k
      if (w.compare_exchange_weak(v, tag, std::memory_order_acq_rel, std::memory_order_acquire)) v = tag;
      continue;
    }
    const uint64_t mask = v & 0xffffffffu;
    if ((mask & full) == full) return -1;
    int s = tl_slice;
    if (s < 0 || s >= n || (mask >> s) & 1u) {
      s = 0;
      while ((mask >> s) & 1u) ++s;
    }
    if (w.compare_exchange_weak(v, v | (uint64_t{1} << s), std::memory_order_acq_rel,
                                std::memory_order_acquire)) {
      tl_slice = s;
      return s;
    }
  }
}

// Counts a finished slice of step k (n >= 2 slices). The thread that finishes the step's last
// slice runs last() first, before the step shows as complete: it alone runs then (every other
// slice of the step is done), and whatever it writes is visible to every thread that sees the
// step complete.
template <class Last>
void finish_slice(StepSync& S, int n, int k, Last last) {
  std::atomic<uint64_t>& w = S.done[k % kRing].word;
  const uint64_t tag = step_tag(k);
  uint64_t v = w.load(std::memory_order_acquire);
  for (;;) {
    const bool current = (v & ~uint64_t{0xffffffffu}) == tag;
    if (current && static_cast<int>(v & 0xffffffffu) == n - 1) {
      last();  // no other thread can finish a slice of step k now: v cannot change under us
      w.store(v + 1, std::memory_order_release);
      return;
    }
    const uint64_t next = current ? v + 1 : tag | 1u;
    if (w.compare_exchange_weak(v, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
      return;
    }
  }
}

bool step_complete(const StepSync& S, int n, int k) {
  const uint64_t v = S.done[k % kRing].word.load(std::memory_order_acquire);
  const uint32_t t = tag_step_plus1(v);
  return t > static_cast<uint32_t>(k + 1) ||
         (t == static_cast<uint32_t>(k + 1) && (v & 0xffffffffu) == static_cast<uint64_t>(n));
}

// Most ranges of run_block_steps with cuts that follow the threads' speeds (bits of a claim word).
constexpr int kMaxCutSlices = 32;

// A timestamp for comparing how long two threads took over the same step: the TSC on x86 (a few
// ns to read; invariant and synchronised across cores on any CPU with AVX2), else steady_clock.
inline uint64_t ticks() {
#if defined(__x86_64__) || defined(_M_X64)
  return __rdtsc();
#else
  return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

// The test build slows one range down and counts what the schedulers did (test_hooks.h); the
// shipped build compiles these to nothing.
#if defined(LSTM_NATIVE_TEST_HOOKS)
std::atomic<int> g_block_test_delay_us{0};
std::atomic<uint64_t> g_block_uneven_steps{0};
std::atomic<int> g_row_test_delay_us{0};
std::atomic<uint64_t> g_row_handovers{0};
// The test delay of run_block_steps: the range with block 0 (slice 0) is made slower.
inline void test_block_delay(int slice) {
  if (slice != 0) return;
  const int delay = g_block_test_delay_us.load(std::memory_order_relaxed);
  if (delay > 0) std::this_thread::sleep_for(std::chrono::microseconds(delay));
}
// The test delay of run_row_steps: the range starting at row 0 is made slower.
inline void test_row_delay(int r0) {
  if (r0 != 0) return;
  const int delay = g_row_test_delay_us.load(std::memory_order_relaxed);
  if (delay > 0) std::this_thread::sleep_for(std::chrono::microseconds(delay));
}
inline void count_uneven_step() { g_block_uneven_steps.fetch_add(1, std::memory_order_relaxed); }
inline void count_handover() { g_row_handovers.fetch_add(1, std::memory_order_relaxed); }
#else
inline void test_block_delay(int) {}
inline void test_row_delay(int) {}
inline void count_uneven_step() {}
inline void count_handover() {}
#endif

// The cuts of run_block_steps: cut[k % kRing][s .. s+1] is range s of step k. Step k + 1's cuts
// are written by the thread that finishes step k last (finish_slice's last()), from every range's
// time at step k; the slot is free again by then (its readers, at step k + 1 - kRing, are done).
struct BlockCuts {
  int blocks, n;
  int cut[kRing][kMaxCutSlices + 1];
  uint64_t took[kRing][kMaxCutSlices];  // ticks range s of step k took (slot k % kRing)
  double speed[kMaxCutSlices];  // blocks per tick, smoothed over the steps; 0: none yet
  int lo, hi;                   // the fewest and most blocks a range may get

  BlockCuts(int blocks_, int n_) : blocks(blocks_), n(n_) {
    for (int s = 0; s <= n; ++s) cut[0][s] = even_cut(blocks, n, s);
    for (int s = 0; s < n; ++s) speed[s] = 0;
    // Within half a range of even either way: a thread that was descheduled for a whole step does
    // not lose all its blocks (ranges of 1 block stay as they are).
    const int even = blocks / n;
    lo = std::max(1, even - even / 2);
    hi = std::min(blocks, (blocks + n - 1) / n + even / 2);
  }

  // Step k + 1's cuts from step k's times: each range gets blocks in proportion to its thread's
  // speed. Smoothed (half the new measure each step), as one step's time also holds interrupts.
  void next(int k) {
    const int* c = cut[k % kRing];
    int* d = cut[(k + 1) % kRing];
    double total = 0;
    for (int s = 0; s < n; ++s) {
      const double t = static_cast<double>(std::max<uint64_t>(took[k % kRing][s], 1));
      const double v = (c[s + 1] - c[s]) / t;
      speed[s] = speed[s] > 0 ? 0.5 * speed[s] + 0.5 * v : v;
      total += speed[s];
    }
    // Cumulative shares, rounded, each cut then held where both its own range and the ranges
    // after it can still get [lo, hi] blocks each (n lo <= blocks <= n hi: always possible).
    double acc = 0;
    d[0] = 0;
    for (int s = 0; s + 1 < n; ++s) {
      acc += speed[s];
      int x = static_cast<int>(blocks * (acc / total) + 0.5);
      const int left = n - 1 - s;  // ranges after this one
      x = std::max({x, d[s] + lo, blocks - left * hi});
      x = std::min({x, d[s] + hi, blocks - left * lo});
      d[s + 1] = x;
    }
    d[n] = blocks;
    for (int s = 1; s < n; ++s) {
      if (d[s] != even_cut(blocks, n, s)) {  // counted for the tests
        count_uneven_step();
        break;
      }
    }
  }
};

// Waits until done(): a short spin with the CPU's pause hint (~5 us), then yielding the core
// between checks, which the thread we wait for may need (more threads than cores).
template <class Done>
void wait_until(Done done) {
  for (int spins = 0; !done(); ++spins) {
    if (spins < 256) {
      LSTM_REC_CPU_RELAX();
    } else {
      std::this_thread::yield();
    }
  }
}

// The shared state of one run_row_steps call. Row ranges waiting for a thread sit in `pending`;
// each running thread's range is in its RowWorker record. All under `mu`, except `progress` (read
// without the lock to pick a victim: a stale value only picks a slightly worse one) and
// `split_wanted` (polled by the owner once per step without taking the lock).
struct RowRange {
  int r0, r1, k;  // rows [r0, r1), next step k
};

struct alignas(64) RowWorker {
  std::atomic<bool> split_wanted{false};
  std::atomic<int> progress{0};  // next step of the range below
  bool running = false;
  int r0 = 0, r1 = 0;
};

struct RowSchedule {
  std::mutex mu;
  std::vector<RowRange> pending;
  std::unique_ptr<RowWorker[]> workers;
  int n_workers = 0;
  std::atomic<int> next_worker{0};
  int steps = 0, min_rows = 1;
};

// Runs one range to its end (or until its rows are handed over half by half).
void run_range(RowSchedule& S, RowWorker& me, RowRange t,
               void (*fn)(void* ctx, int r0, int r1, int step), void* ctx) {
  int r1 = t.r1;
  for (int k = t.k; k < S.steps; ++k) {
    fn(ctx, t.r0, r1, k);
    me.progress.store(k + 1, std::memory_order_relaxed);
    test_row_delay(t.r0);
    if (me.split_wanted.load(std::memory_order_relaxed)) {
      std::lock_guard<std::mutex> lock(S.mu);
      if (k + 1 < S.steps && r1 - t.r0 >= 2 * S.min_rows) {
        const int mid = t.r0 + (r1 - t.r0) / 2;
        S.pending.push_back({mid, r1, k + 1});  // the lock publishes rows [mid, r1)'s state
        r1 = mid;
        me.r1 = mid;
        count_handover();
      }
      me.split_wanted.store(false, std::memory_order_relaxed);
    }
  }
  std::lock_guard<std::mutex> lock(S.mu);
  me.running = false;
  // A request that came after the last step's check: no rows to hand over; the thief waiting on
  // this flag looks again.
  me.split_wanted.store(false, std::memory_order_relaxed);
}

void row_worker(RowSchedule& S, void (*fn)(void* ctx, int r0, int r1, int step), void* ctx) {
  const int id = S.next_worker.fetch_add(1, std::memory_order_relaxed);
  if (id >= S.n_workers) return;  // cannot happen: one chunk per worker
  RowWorker& me = S.workers[id];
  for (;;) {
    RowRange t{};
    bool have = false;
    RowWorker* victim = nullptr;
    {
      std::lock_guard<std::mutex> lock(S.mu);
      if (!S.pending.empty()) {
        t = S.pending.back();
        S.pending.pop_back();
        have = true;
        me.running = true;
        me.r0 = t.r0;
        me.r1 = t.r1;
        me.progress.store(t.k, std::memory_order_relaxed);
      } else {
        // The running range with the most row-steps left that can still be halved.
        long best = 0;
        for (int w = 0; w < S.n_workers; ++w) {
          RowWorker& o = S.workers[w];
          if (!o.running || o.r1 - o.r0 < 2 * S.min_rows) continue;
          const int left = S.steps - 1 - o.progress.load(std::memory_order_relaxed);
          const long work = static_cast<long>(left) * (o.r1 - o.r0);
          if (left >= 1 && work > best) {
            best = work;
            victim = &o;
          }
        }
        if (!victim) return;  // nothing left worth taking: the other threads finish theirs
        victim->split_wanted.store(true, std::memory_order_relaxed);
      }
    }
    if (have) {
      run_range(S, me, t, fn, ctx);
      continue;
    }
    // The victim hands rows over at the end of its current step (a short wait: one step).
    wait_until([victim] { return !victim->split_wanted.load(std::memory_order_relaxed); });
  }
}

}  // namespace

#if defined(LSTM_NATIVE_TEST_HOOKS)
void set_block_steps_test_delay_us(int us) { g_block_test_delay_us.store(std::max(0, us)); }
uint64_t block_steps_uneven() { return g_block_uneven_steps.load(); }
void set_row_steps_test_delay_us(int us) { g_row_test_delay_us.store(std::max(0, us)); }
uint64_t row_steps_handovers() { return g_row_handovers.load(); }
#endif

void run_row_steps(int rows, int slices, int steps, int min_rows,
                   void (*fn)(void* ctx, int r0, int r1, int step), void* ctx) {
  if (steps <= 0 || rows <= 0) return;
  slices = std::max(1, std::min(slices, rows));
  if (slices == 1) {
    for (int k = 0; k < steps; ++k) fn(ctx, 0, rows, k);
    return;
  }
  RowSchedule S;
  S.steps = steps;
  S.min_rows = std::max(1, min_rows);
  S.n_workers = slices;
  S.workers.reset(new RowWorker[slices]);
  S.pending.reserve(static_cast<size_t>(slices) + static_cast<size_t>(rows / S.min_rows) + 1);
  // Pushed in reverse so that the first worker pops rows 0.. (pending is taken from the back).
  for (int i = slices - 1; i >= 0; --i) {
    S.pending.push_back({even_cut(rows, slices, i), even_cut(rows, slices, i + 1), 0});
  }
  parallel_for(slices, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) row_worker(S, fn, ctx);
  });
}

void run_block_steps(int blocks, int slices, int steps,
                     void (*fn)(void* ctx, int b0, int b1, int step), void* ctx) {
  if (steps <= 0 || blocks <= 0) return;
  const int n = std::max(1, std::min(slices, blocks));
  if (n == 1) {
    for (int k = 0; k < steps; ++k) {
      fn(ctx, 0, blocks, k);
      test_block_delay(0);
    }
    return;
  }
  if (n > kMaxCutSlices) {  // more ranges than the claim word has bits: one job per step, even cuts
    for (int k = 0; k < steps; ++k) {
      auto one = [&](int s) {
        fn(ctx, even_cut(blocks, n, s), even_cut(blocks, n, s + 1), k);
        test_block_delay(s);
      };
      run_slices(n, one);
    }
    return;
  }
  StepSync S;
  BlockCuts C(blocks, n);
  parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t part = b; part < e; ++part) {
      for (int k = 0; k < steps; ++k) {
        bool behind = false;
        for (;;) {
          const int s = claim_slice(S, n, k);
          if (s == -1) break;
          if (s == -2) {
            behind = true;
            break;
          }
          const int* cut = C.cut[k % kRing];
          const uint64_t t0 = ticks();
          fn(ctx, cut[s], cut[s + 1], k);
          test_block_delay(s);
          C.took[k % kRing][s] = ticks() - t0;
          finish_slice(S, n, k, [&] { C.next(k); });
        }
        if (behind) continue;
        // The step's other ranges are running on other threads.
        wait_until([&] { return step_complete(S, n, k); });
      }
    }
  });
}

}  // namespace rec
}  // namespace lstm
