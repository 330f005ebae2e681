// The kernel's one thread pool (contract in thread_pool.h).
//
// Design, chosen for the LSTM's pattern of ~2 short parallel regions per time step:
//   - Workers are std::threads created lazily by the first parallel call that needs them, and never
//     more than num_threads() - 1 of them are used by one job: the calling thread runs chunk 0.
//   - Each worker has its own mailbox (a sequence number + the chunk it must run). The caller writes
//     the job, then bumps the mailbox of exactly the workers it needs; a worker never reads another
//     job's fields, so workers that sit a job out cannot race with the next one.
//   - Between jobs a worker spins for a short time (LSTM_NATIVE_SPIN_US, default 50 us: pause first,
//     then sched_yield so a spinning worker never starves OpenBLAS's or libuv's threads on a small
//     machine), then sleeps on its condition variable. Wake-up from sleep costs a futex call.
//   - One job at a time: a caller that finds the pool busy (another thread's job, or a nested call
//     from inside a chunk) runs its whole loop inline. No deadlock, no oversubscription.
//   - Shutdown: the pool object is leaked on purpose (a caller still inside parallel_for on another
//     thread during exit() must not touch freed memory); a static guard's destructor stops and joins
//     the workers, which runs at exit() and also at dlclose() when a worker_threads environment that
//     alone loaded the addon goes away, so no thread is left executing unmapped code.
#include "thread_pool.h"

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

int env_int(const char* name, int fallback, int lo, int hi) {
  const char* s = std::getenv(name);
  if (s == nullptr || *s == '\0') return fallback;
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < lo || v > hi) return fallback;
  return static_cast<int>(v);
}

int default_threads() {
  unsigned hc = std::thread::hardware_concurrency();
  int n = hc == 0 ? 1 : static_cast<int>(std::min<unsigned>(hc, kMaxThreads));
  return env_int("LSTM_NATIVE_NUM_THREADS", n, 1, kMaxThreads);
}

struct alignas(64) Worker {
  std::atomic<uint64_t> seq{0};        // bumped by the caller to post a job to this worker
  std::atomic<bool> sleeping{false};   // the worker is (about to be) blocked on cv
  int64_t begin = 0, end = 0;          // the range it runs; written before seq is bumped
  std::mutex m;
  std::condition_variable cv;
  std::thread thread;
};

struct Pool {
  std::atomic<int> threads{1};
  std::atomic<bool> busy{false};       // one job at a time
  std::atomic<bool> stopping{false};
  int64_t spin_ns = 50000;

  // The current job (valid while busy).
  const Fn* fn = nullptr;
  alignas(64) std::atomic<int> remaining{0};     // worker chunks not finished yet
  std::atomic<bool> caller_sleeping{false};
  std::mutex done_m;
  std::condition_variable done_cv;

  // Grown only by the thread holding `busy`, joined by the shutdown guard.
  std::vector<std::unique_ptr<Worker>> workers;
  std::mutex workers_m;                // guards `workers` against the shutdown guard

  Pool() {
    threads.store(default_threads(), std::memory_order_relaxed);
    spin_ns = static_cast<int64_t>(env_int("LSTM_NATIVE_SPIN_US", 50, 0, 1000000)) * 1000;
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
  const auto deadline = Clock::now() + std::chrono::nanoseconds(budget_ns);
  const auto yield_after = Clock::now() + std::chrono::nanoseconds(std::min<int64_t>(budget_ns, 5000));
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

void worker_main(Pool* P, Worker* w) {
  tl_inside_pool = true;
  uint64_t seen = 0;
  for (;;) {
    auto posted = [&] { return w->seq.load(std::memory_order_acquire) != seen; };
    if (!spin_until(posted, P->spin_ns)) {
      w->sleeping.store(true, std::memory_order_seq_cst);
      if (!(w->seq.load(std::memory_order_seq_cst) != seen) &&
          !P->stopping.load(std::memory_order_seq_cst)) {
        std::unique_lock<std::mutex> lk(w->m);
        w->cv.wait(lk, [&] { return posted() || P->stopping.load(std::memory_order_acquire); });
      }
      w->sleeping.store(false, std::memory_order_relaxed);
    }
    uint64_t s = w->seq.load(std::memory_order_acquire);
    if (s == seen) {
      if (P->stopping.load(std::memory_order_acquire)) return;
      continue;
    }
    seen = s;
    (*P->fn)(w->begin, w->end);
    // The last touch of the job: after this the caller may return and post the next one.
    if (P->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1 &&
        P->caller_sleeping.load(std::memory_order_seq_cst)) {
      std::lock_guard<std::mutex> lk(P->done_m);
      P->done_cv.notify_all();
    }
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
      w->thread = std::thread(worker_main, &P, w.get());
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

void post(Worker* w) {
  w->seq.fetch_add(1, std::memory_order_seq_cst);
  if (w->sleeping.load(std::memory_order_seq_cst)) {
    { std::lock_guard<std::mutex> lk(w->m); }
    w->cv.notify_one();
  }
}

void run_job(Pool& P, int64_t n, int chunks, const Fn& fn) {
  int nw = ensure_workers(P, chunks - 1);
  chunks = nw + 1;
  if (chunks <= 1) {
    fn(0, n);
    return;
  }
  P.fn = &fn;
  P.remaining.store(chunks - 1, std::memory_order_relaxed);
  for (int c = 1; c < chunks; ++c) {
    Worker* w = P.workers[c - 1].get();
    w->begin = n * c / chunks;
    w->end = n * (c + 1) / chunks;
    post(w);
  }
  tl_inside_pool = true;
  fn(0, n / chunks);
  tl_inside_pool = false;
  auto done = [&] { return P.remaining.load(std::memory_order_acquire) == 0; };
  if (!spin_until(done, std::max<int64_t>(P.spin_ns, 20000))) {
    P.caller_sleeping.store(true, std::memory_order_seq_cst);
    if (P.remaining.load(std::memory_order_seq_cst) != 0) {
      std::unique_lock<std::mutex> lk(P.done_m);
      P.done_cv.wait(lk, done);
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

void set_num_threads(int n) {
  pool().threads.store(std::clamp(n, 1, kMaxThreads), std::memory_order_relaxed);
}

int num_threads() { return pool().threads.load(std::memory_order_relaxed); }

void parallel_for(int64_t n, const Fn& fn) {
  if (n <= 0) return;
  Pool& P = pool();
  int64_t chunks = std::min<int64_t>(P.threads.load(std::memory_order_relaxed), n);
  if (chunks <= 1 || tl_inside_pool || P.stopping.load(std::memory_order_relaxed)) {
    fn(0, n);
    return;
  }
  bool expected = false;
  if (!P.busy.compare_exchange_strong(expected, true, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
    fn(0, n);
    return;
  }
  run_job(P, n, static_cast<int>(chunks), fn);
  P.busy.store(false, std::memory_order_release);
}

void parallel_for_min(int64_t n, int64_t min_per_thread, const Fn& fn) {
  if (n <= 0) return;
  min_per_thread = std::max<int64_t>(min_per_thread, 1);
  if (n < min_per_thread * 2) {
    fn(0, n);
    return;
  }
  Pool& P = pool();
  int64_t chunks = std::min<int64_t>(P.threads.load(std::memory_order_relaxed), n / min_per_thread);
  if (chunks <= 1 || tl_inside_pool || P.stopping.load(std::memory_order_relaxed)) {
    fn(0, n);
    return;
  }
  bool expected = false;
  if (!P.busy.compare_exchange_strong(expected, true, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
    fn(0, n);
    return;
  }
  run_job(P, n, static_cast<int>(chunks), fn);
  P.busy.store(false, std::memory_order_release);
}

}  // namespace lstm
