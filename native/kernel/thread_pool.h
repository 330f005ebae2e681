// One persistent pool of worker threads shared by the built-in GEMM and the pointwise passes.
//
// parallel_for splits [0, n) into at most num_threads() contiguous chunks and runs fn(begin, end)
// on each, the calling thread taking one chunk. Calls may come from several threads at once (two
// async LSTM calls on libuv's pool): a caller that finds the pool busy runs its loop inline, so
// the pool never oversubscribes the cores and never deadlocks. fn must not throw.
#pragma once

#include <cstdint>
#include <functional>

namespace lstm {

// Sets the number of threads (callers included) that parallel_for uses; n >= 1.
void set_num_threads(int n);
int num_threads();

void parallel_for(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);

// As parallel_for, but splits only when n >= min_per_thread * 2, keeping small loops inline
// where waking a thread costs more than the work.
void parallel_for_min(int64_t n, int64_t min_per_thread,
                      const std::function<void(int64_t begin, int64_t end)>& fn);

// While at least one PoolBurst exists, the pool's threads do not go to sleep between jobs: a
// worker waiting for the next job and a caller waiting for its job's last chunk keep spinning
// (yielding the core to any other runnable thread) instead of blocking after the spin budget
// (LSTM_NATIVE_SPIN_US). For the kernel calls that run many jobs back to back (an LSTM layer: the
// input product chunk by chunk, then the steps). Why: every sleep ends in a wake-up, and Linux
// tends to wake a thread on the CPU of the thread that woke it, so the caller and a worker end up
// sharing one core until the load balancer parts them.
class PoolBurst {
 public:
  PoolBurst();
  ~PoolBurst();
  PoolBurst(const PoolBurst&) = delete;
  PoolBurst& operator=(const PoolBurst&) = delete;
};

}  // namespace lstm
