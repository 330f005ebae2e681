// The kernel's one thread pool (contract in thread_pool.h).
//
// Design, chosen for the LSTM's pattern of ~2 short parallel regions per time step:
//   - Workers are std::threads created lazily by the first parallel call that needs them; one job
//     uses at most num_threads() - 1 of them plus the calling thread.
//   - A job is split into contiguous chunks that the caller and the workers *claim* (one atomic
//     compare-and-swap on a word tagged with the job's generation), instead of being assigned: a
//     worker that is slow to wake up leaves its chunk to the caller, so an empty or tiny job never
//     waits for a sleeping thread, and a late worker can never touch the next job.
//   - Between jobs a worker spins for a short time (LSTM_NATIVE_SPIN_US, default 50 us: pause hints
//     first, then sched_yield, so a spinning worker never starves OpenBLAS's or libuv's threads of a
//     core), then sleeps on its condition variable; waking it from sleep costs a futex call on the
//     caller's side and ~10-20 us before it joins. Inside a PoolBurst (an LSTM call: many jobs back
//     to back) nobody sleeps between jobs (see thread_pool.h).
//   - One job at a time: a caller that finds the pool busy (another thread's job, or a nested call
//     from inside a chunk) runs its whole loop inline. No deadlock, no oversubscription.
//   - Shutdown: the pool object is leaked on purpose (a caller still inside parallel_for on another
//     thread during exit() must not touch freed memory); a static guard's destructor stops and joins
//     the workers. It runs at exit() and also at dlclose() when a worker_threads environment that
//     alone loaded the addon goes away, so no thread is left executing unmapped code.
#include "thread_pool.h"
#include "kernel_config.h"
#include "test_hooks.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#include <signal.h>
#endif

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#include <immintrin.h>
#define LSTM_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__) || defined(__arm__)
#define LSTM_CPU_RELAX() __asm__ __volatile__("yield" ::: "memory")
#else
#define LSTM_CPU_RELAX() ((void)0)
#endif

namespace lstm {
namespace {

using Fn = std::function<void(int64_t, int64_t)>;
using Clock = std::chrono::steady_clock;

constexpr int kMaxThreads = 1024;

// Set while a thread runs a chunk (workers always; the caller during its own chunk): a nested
// parallel_for from there runs inline.
thread_local bool tl_inside_pool = false;

int default_threads() {
  unsigned hc = std::thread::hardware_concurrency();
  int n = hc == 0 ? 1 : static_cast<int>(std::min<unsigned>(hc, kMaxThreads));
  const int configured = kernel_config().num_threads;
  return configured > 0 ? std::min(configured, kMaxThreads) : n;
}

struct alignas(64) Worker {
  std::atomic<bool> sleeping{false};   // the worker is (about to be) blocked on cv
  std::mutex m;
  std::condition_variable cv;
  std::thread thread;
};

// The claim word of the current job: generation (32 bits) | chunk count (16) | next chunk (16).
// Claims are compare-and-swap on the whole word, so a worker that wakes up after its job is over
// (another generation) can never take a chunk of the next job by mistake.
constexpr uint64_t ticket(uint32_t gen, int chunks, int next) {
  return (static_cast<uint64_t>(gen) << 32) | (static_cast<uint64_t>(chunks) << 16) |
         static_cast<uint64_t>(next);
}
constexpr uint32_t ticket_gen(uint64_t t) { return static_cast<uint32_t>(t >> 32); }
constexpr int ticket_chunks(uint64_t t) { return static_cast<int>((t >> 16) & 0xFFFF); }
constexpr int ticket_next(uint64_t t) { return static_cast<int>(t & 0xFFFF); }

struct Pool {
  std::atomic<int> threads{1};
  std::atomic<bool> busy{false};       // one job at a time
  std::atomic<bool> stopping{false};
  std::atomic<int> bursts{0};          // live PoolBurst scopes: nobody sleeps between jobs
  std::atomic<int64_t> spin_ns{50000};
#if defined(LSTM_NATIVE_TEST_HOOKS)
  std::atomic<uint64_t> worker_sleeps{0}, caller_sleeps{0};
#endif

  // The current job. fn and n are written before `gen` is published and read only by a thread
  // that holds a claimed chunk, i.e. while the caller is still waiting in run_job.
  const Fn* fn = nullptr;
  int64_t n = 0;
  alignas(64) std::atomic<uint64_t> claim{0};
  alignas(64) std::atomic<uint32_t> gen{0};      // bumped per job: the workers' wake-up signal
  alignas(64) std::atomic<int> done{0};          // chunks finished
  std::atomic<bool> caller_sleeping{false};
  std::mutex done_m;
  std::condition_variable done_cv;

  // Grown only by the thread holding `busy`, joined by the shutdown guard.
  std::vector<std::unique_ptr<Worker>> workers;
  std::mutex workers_m;                // guards `workers` against the shutdown guard

  Pool() {
    threads.store(default_threads(), std::memory_order_relaxed);
    spin_ns.store(static_cast<int64_t>(kernel_config().spin_us) * 1000,
                  std::memory_order_relaxed);
  }
};

std::atomic<Pool*> g_created{nullptr};

Pool& pool() {
  static Pool* p = [] {
    Pool* q = new Pool();  // leaked on purpose: see the file header
    g_created.store(q, std::memory_order_release);
    return q;
  }();
  return *p;
}

// Spins until `pred()` or the spin budget runs out: first with the CPU's pause hint, then yielding
// the core (so a spinning thread never holds a core another runnable thread needs).
template <typename Pred>
bool spin_until(Pred pred, int64_t budget_ns) {
  for (int i = 0; i < 64; ++i) {
    if (pred()) return true;
    LSTM_CPU_RELAX();
  }
  if (budget_ns <= 0) return pred();
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::nanoseconds(budget_ns);
  const auto yield_after = start + std::chrono::nanoseconds(std::min<int64_t>(budget_ns, 5000));
  for (;;) {
    for (int i = 0; i < 32; ++i) {
      if (pred()) return true;
      LSTM_CPU_RELAX();
    }
    auto now = Clock::now();
    if (now >= deadline) return pred();
    if (now >= yield_after) std::this_thread::yield();
  }
}

// spin_until, repeated for as long as a PoolBurst is alive (see thread_pool.h).
template <typename Pred>
bool spin_until_or_burst(const Pool& P, Pred pred, int64_t budget_ns) {
  for (;;) {
    if (spin_until(pred, budget_ns)) return true;
    if (P.bursts.load(std::memory_order_relaxed) == 0 || P.stopping.load(std::memory_order_relaxed)) {
      return pred();
    }
    // Again: 5 us of pause hints, then yielding the core between checks (spin_until), until 50 us.
    budget_ns = std::max<int64_t>(budget_ns, 50000);
  }
}

// Claims and runs chunks of generation `g` until none are left. Returns when this thread can no
// longer touch the job.
void run_chunks(Pool* P, uint32_t g) {
  uint64_t t = P->claim.load(std::memory_order_acquire);
  for (;;) {
    if (ticket_gen(t) != g) return;
    const int chunks = ticket_chunks(t), next = ticket_next(t);
    if (next >= chunks) return;
    if (!P->claim.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
      continue;
    }
    const int64_t n = P->n;
    (*P->fn)(n * next / chunks, n * (next + 1) / chunks);
    // The last touch of the job for this chunk: once `done` reaches `chunks` the caller may return.
    if (P->done.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks &&
        P->caller_sleeping.load(std::memory_order_seq_cst)) {
      std::lock_guard<std::mutex> lk(P->done_m);
      P->done_cv.notify_all();
    }
    t = P->claim.load(std::memory_order_acquire);
  }
}

void worker_main(Pool* P, Worker* w, uint32_t seen) {
  tl_inside_pool = true;
  for (;;) {
    auto posted = [&] { return P->gen.load(std::memory_order_acquire) != seen; };
    if (!spin_until_or_burst(*P, posted, P->spin_ns.load(std::memory_order_relaxed))) {
#if defined(LSTM_NATIVE_TEST_HOOKS)
      P->worker_sleeps.fetch_add(1, std::memory_order_relaxed);
#endif
      w->sleeping.store(true, std::memory_order_seq_cst);
      if (P->gen.load(std::memory_order_seq_cst) == seen &&
          !P->stopping.load(std::memory_order_seq_cst)) {
        std::unique_lock<std::mutex> lk(w->m);
        w->cv.wait(lk, [&] { return posted() || P->stopping.load(std::memory_order_acquire); });
      }
      w->sleeping.store(false, std::memory_order_relaxed);
    }
    const uint32_t g = P->gen.load(std::memory_order_acquire);
    if (g == seen) {
      if (P->stopping.load(std::memory_order_acquire)) return;
      continue;
    }
    seen = g;
    run_chunks(P, g);
  }
}

// Makes sure workers [0, n) exist; returns how many do (thread creation can fail).
int ensure_workers(Pool& P, int n) {
  if (static_cast<int>(P.workers.size()) >= n) return n;
  std::lock_guard<std::mutex> lk(P.workers_m);
  if (P.stopping.load()) return 0;
  while (static_cast<int>(P.workers.size()) < n) {
    auto w = std::make_unique<Worker>();
#if defined(__unix__) || defined(__APPLE__)
    // Workers take no asynchronous signals: they go to Node's and libuv's threads as before.
    sigset_t all, old;
    sigfillset(&all);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP}) sigdelset(&all, sig);
    pthread_sigmask(SIG_BLOCK, &all, &old);
#endif
    bool ok = true;
    try {
      w->thread = std::thread(worker_main, &P, w.get(), P.gen.load(std::memory_order_relaxed));
    } catch (const std::system_error&) {
      ok = false;
    }
#if defined(__unix__) || defined(__APPLE__)
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
#endif
    if (!ok) break;
    P.workers.push_back(std::move(w));
  }
  return std::min(n, static_cast<int>(P.workers.size()));
}

// Runs a job of `chunks` chunks on the caller plus up to chunks - 1 workers. Chunks are claimed, not
// assigned: a worker that is slow to wake up leaves its share to the threads already running.
void run_job(Pool& P, int64_t n, int chunks, const Fn& fn) {
  const int helpers = ensure_workers(P, chunks - 1);
  if (helpers == 0) {
    fn(0, n);
    return;
  }
  const uint32_t g = P.gen.load(std::memory_order_relaxed) + 1;
  P.fn = &fn;
  P.n = n;
  P.done.store(0, std::memory_order_relaxed);
  P.claim.store(ticket(g, chunks, 0), std::memory_order_release);
  P.gen.store(g, std::memory_order_seq_cst);
  for (int i = 0; i < helpers; ++i) {
    Worker* w = P.workers[i].get();
    if (w->sleeping.load(std::memory_order_seq_cst)) {
      { std::lock_guard<std::mutex> lk(w->m); }
      w->cv.notify_one();
    }
  }
  tl_inside_pool = true;
  run_chunks(&P, g);
  tl_inside_pool = false;
  auto finished = [&] { return P.done.load(std::memory_order_acquire) == chunks; };
  const int64_t budget_ns = std::max<int64_t>(P.spin_ns.load(std::memory_order_relaxed), 20000);
  if (!spin_until_or_burst(P, finished, budget_ns)) {
#if defined(LSTM_NATIVE_TEST_HOOKS)
    P.caller_sleeps.fetch_add(1, std::memory_order_relaxed);
#endif
    P.caller_sleeping.store(true, std::memory_order_seq_cst);
    if (P.done.load(std::memory_order_seq_cst) != chunks) {
      std::unique_lock<std::mutex> lk(P.done_m);
      P.done_cv.wait(lk, finished);
    }
    P.caller_sleeping.store(false, std::memory_order_relaxed);
  }
  P.fn = nullptr;
}

// Stops and joins the workers at exit() or when the library is unloaded.
struct ShutdownGuard {
  ~ShutdownGuard() {
    Pool* created = g_created.load(std::memory_order_acquire);
    if (created == nullptr) return;
    Pool& P = *created;
    std::lock_guard<std::mutex> lk(P.workers_m);
    P.stopping.store(true, std::memory_order_seq_cst);
    for (auto& w : P.workers) {
      { std::lock_guard<std::mutex> wl(w->m); }
      w->cv.notify_all();
    }
    for (auto& w : P.workers) {
      if (w->thread.joinable()) {
        if (w->thread.get_id() == std::this_thread::get_id()) w->thread.detach();
        else w->thread.join();
      }
    }
  }
} shutdown_guard;

}  // namespace

PoolBurst::PoolBurst() { pool().bursts.fetch_add(1, std::memory_order_relaxed); }
PoolBurst::~PoolBurst() { pool().bursts.fetch_sub(1, std::memory_order_relaxed); }

#if defined(LSTM_NATIVE_TEST_HOOKS)
PoolSleeps pool_sleeps() {
  const Pool& P = pool();
  return {P.worker_sleeps.load(), P.caller_sleeps.load()};
}

void set_pool_spin_us(int us) {
  pool().spin_ns.store(static_cast<int64_t>(std::clamp(us, 0, 1000000)) * 1000,
                       std::memory_order_relaxed);
}
#endif

void set_num_threads(int n) {
  pool().threads.store(std::clamp(n, 1, kMaxThreads), std::memory_order_relaxed);
}

int num_threads() { return pool().threads.load(std::memory_order_relaxed); }

namespace {

// Runs fn over [0, n) in `chunks` chunks on the pool, or inline when the pool cannot take it.
void dispatch(int64_t n, int64_t chunks, const Fn& fn) {
  Pool& P = pool();
  if (chunks <= 1 || tl_inside_pool || P.stopping.load(std::memory_order_relaxed)) {
    fn(0, n);
    return;
  }
  bool expected = false;
  if (!P.busy.compare_exchange_strong(expected, true, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
    fn(0, n);  // another thread's job holds the pool
    return;
  }
  run_job(P, n, static_cast<int>(chunks), fn);
  P.busy.store(false, std::memory_order_release);
}

}  // namespace

void parallel_for(int64_t n, const Fn& fn) {
  if (n <= 0) return;
  dispatch(n, std::min<int64_t>(num_threads(), n), fn);
}

void parallel_for_min(int64_t n, int64_t min_per_thread, const Fn& fn) {
  if (n <= 0) return;
  min_per_thread = std::max<int64_t>(min_per_thread, 1);
  if (n < min_per_thread * 2) {
    fn(0, n);
    return;
  }
  dispatch(n, std::min<int64_t>(num_threads(), n / min_per_thread), fn);
}

}  // namespace lstm
