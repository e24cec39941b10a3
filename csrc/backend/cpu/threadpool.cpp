// Persistent thread pool behind oxmlx::cpu::parallel_for.
//
// Job protocol. One job runs at a time (guarded by `dispatch_mu`, taken with
// try_lock so nested or concurrent callers simply run inline). The job's
// description (fn, n, chunk count) lives in the pool object and is written by
// the dispatcher before it publishes a new `ticket`. The 64-bit ticket packs
//     [ generation:32 | nchunks:16 | next_chunk:16 ]
// and a thread claims a chunk with a CAS that bumps next_chunk. Because the
// chunk count travels in the same word as the claim counter, a late worker can
// never claim a chunk of a job that has already finished: the dispatcher only
// returns (and may overwrite the job fields) once `remaining` reaches zero,
// and every successful claim is counted in `remaining`. Threads that fail to
// claim never read the job fields at all.
//
// Waking. Workers watch the ticket's generation. After finishing work they
// spin for a short while (cheap back-to-back dispatch, e.g. a sequence of
// GEMM calls; 20 us pure spin, then yielding polls up to 200 us) and then
// sleep on a condition variable. The dispatcher only
// touches the mutex/condvar when some worker has announced it is sleeping
// (`sleepers`), which keeps the hot path to a couple of atomics.
//
// Exit and fork. The pool is heap-allocated and intentionally leaked, and its
// threads are detached: at process exit the sleeping workers are simply torn
// down by the OS, with no static destructor that could join a thread or free
// memory a worker still touches. After fork() only the forking thread exists
// in the child, so a pthread_atfork child handler drops the (now thread-less)
// pool; the next parallel_for in the child builds a new one.
#include "backend/cpu/threadpool.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#define OXMLX_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define OXMLX_CPU_RELAX() asm volatile("yield" ::: "memory")
#else
#define OXMLX_CPU_RELAX() ((void)0)
#endif

namespace oxmlx::cpu {
namespace {

thread_local bool tl_in_region = false;  // executing a chunk (worker or caller)

// How long an idle worker keeps polling before it blocks on the condvar.
constexpr auto kSpinTime = std::chrono::microseconds(200);
// ... of which the first part busy-waits without yielding the core.
constexpr auto kPureSpinTime = std::chrono::microseconds(20);
constexpr int kMaxChunks = 0xffff;

int env_threads() {
  if (const char* s = std::getenv("OXMLX_NUM_THREADS")) {
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (end != s && v >= 1) return int(std::min<long>(v, 1024));
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? int(hc) : 1;
}

struct Pool {
  explicit Pool(int nthreads) : size(std::max(1, nthreads)) {}

  const int size;  // threads including the caller

  // --- job description, valid while remaining > 0 ---
  const std::function<void(int64_t, int64_t)>* fn = nullptr;
  int64_t n = 0;
  int nchunks = 0;
  std::atomic<uint64_t> ticket{0};
  std::atomic<int> remaining{0};
  std::atomic<bool> has_error{false};
  std::exception_ptr error;

  // --- sleeping / lifetime ---
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<int> sleepers{0};
  std::atomic<bool> stop{false};
  std::atomic<int> alive{0};  // workers that have not exited yet (for resize)

  std::mutex dispatch_mu;  // one job at a time
  std::vector<std::thread> threads;
  bool started = false;

  static uint32_t gen_of(uint64_t t) { return uint32_t(t >> 32); }

  void start() {
    // Called with dispatch_mu held.
    started = true;
    for (int i = 1; i < size; ++i) {
      alive.fetch_add(1);
      threads.emplace_back([this] { worker_loop(); });
      threads.back().detach();
    }
    threads.clear();
  }

  // Tries to claim one chunk of the current job and run it. Returns false
  // when no chunk was left.
  bool run_one() {
    uint64_t t = ticket.load(std::memory_order_acquire);
    for (;;) {
      uint32_t next = uint32_t(t & 0xffff);
      uint32_t total = uint32_t((t >> 16) & 0xffff);
      if (next >= total) return false;
      if (ticket.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel,
                                       std::memory_order_acquire))
        break;
    }
    int64_t i = int64_t(t & 0xffff);
    int64_t base = n / nchunks, rem = n % nchunks;
    int64_t b = i * base + std::min(i, rem);
    int64_t e = b + base + (i < rem ? 1 : 0);
    if (!has_error.load(std::memory_order_relaxed)) {
      bool prev = tl_in_region;
      tl_in_region = true;
      try {
        (*fn)(b, e);
      } catch (...) {
        bool expected = false;
        if (has_error.compare_exchange_strong(expected, true)) error = std::current_exception();
      }
      tl_in_region = prev;
    }
    remaining.fetch_sub(1, std::memory_order_acq_rel);
    return true;
  }

  void worker_loop() {
    tl_in_region = true;  // anything a worker runs counts as nested
    uint32_t seen = gen_of(ticket.load(std::memory_order_acquire));
    for (;;) {
      // Spin phase: poll for a new generation. After a short pure spin the
      // poll loop also yields, so that when other runnable threads share the
      // core (another library's thread pool, e.g. OpenBLAS under numpy, or
      // an oversubscribed machine) they get it, while an idle core still
      // sees the next job within a microsecond.
      const auto start = std::chrono::steady_clock::now();
      int polls = 0;
      bool yielding = false;
      uint32_t g = seen;
      while (!stop.load(std::memory_order_relaxed)) {
        g = gen_of(ticket.load(std::memory_order_acquire));
        if (g != seen) break;
        if (yielding) std::this_thread::yield();
        else OXMLX_CPU_RELAX();
        if ((++polls & 63) == 0) {
          const auto spent = std::chrono::steady_clock::now() - start;
          if (spent > kSpinTime) break;
          yielding = spent > kPureSpinTime;
        }
      }
      if (g == seen && !stop.load()) {
        // Sleep phase. Announce first (seq_cst) so that a dispatcher which
        // publishes after our check below is guaranteed to see sleepers > 0.
        sleepers.fetch_add(1);
        {
          std::unique_lock<std::mutex> lk(mu);
          cv.wait(lk, [&] { return stop.load() || gen_of(ticket.load()) != seen; });
        }
        sleepers.fetch_sub(1);
      }
      if (stop.load()) break;
      seen = gen_of(ticket.load(std::memory_order_acquire));
      while (run_one()) {
      }
    }
    alive.fetch_sub(1);
  }

  // Runs the job with dispatch_mu held by the caller.
  void run(int64_t n_, int chunks, const std::function<void(int64_t, int64_t)>& f) {
    if (!started) start();
    fn = &f;
    n = n_;
    nchunks = chunks;
    error = nullptr;
    has_error.store(false, std::memory_order_relaxed);
    remaining.store(chunks, std::memory_order_relaxed);
    uint64_t old = ticket.load(std::memory_order_relaxed);
    uint64_t gen = uint64_t(gen_of(old) + 1);
    // seq_cst store pairs with the workers' seq_cst sleepers increment.
    ticket.store((gen << 32) | (uint64_t(chunks) << 16));
    if (sleepers.load() > 0) {
      { std::lock_guard<std::mutex> lk(mu); }
      cv.notify_all();
    }
    while (run_one()) {
    }
    // Wait for chunks claimed by workers. They are running, so spin; yield
    // occasionally in case the machine is oversubscribed.
    int polls = 0;
    while (remaining.load(std::memory_order_acquire) > 0) {
      OXMLX_CPU_RELAX();
      if (++polls > 4096) std::this_thread::yield();
    }
    if (has_error.load(std::memory_order_acquire)) {
      std::exception_ptr e = error;
      error = nullptr;
      std::rethrow_exception(e);
    }
  }

  // Stops workers (caller holds dispatch_mu, so they are idle) and waits
  // until they have left their loop; they never touch the pool afterwards.
  void shutdown() {
    stop.store(true);
    { std::lock_guard<std::mutex> lk(mu); }
    cv.notify_all();
    while (alive.load() > 0) std::this_thread::yield();
  }
};

std::atomic<Pool*> g_pool{nullptr};
std::mutex g_create_mu;
std::atomic<int> g_requested{0};  // 0 = not decided yet
std::once_flag g_atfork_once;

// Pools that were replaced (resize, fork) are never freed, see above. Keeping
// them reachable from a global means leak checkers (LeakSanitizer) do not
// report them; past the table's size they are simply dropped.
Pool* g_retired[64];
std::atomic<int> g_nretired{0};
void retire(Pool* p) {
  int i = g_nretired.fetch_add(1);
  if (i < 64) g_retired[i] = p;
}

void atfork_child() {
  // The child has only the forking thread. Abandon (leak) the parent's pool:
  // its mutexes may be in any state and its workers do not exist here.
  if (Pool* p = g_pool.exchange(nullptr)) retire(p);
  new (&g_create_mu) std::mutex();
}

int requested_threads() {
  int r = g_requested.load();
  if (r == 0) {
    int e = env_threads();
    g_requested.compare_exchange_strong(r, e);
    r = g_requested.load();
  }
  return r;
}

Pool* get_pool() {
  Pool* p = g_pool.load(std::memory_order_acquire);
  if (p) return p;
  std::call_once(g_atfork_once, [] { pthread_atfork(nullptr, nullptr, atfork_child); });
  std::lock_guard<std::mutex> lk(g_create_mu);
  p = g_pool.load();
  if (!p) {
    p = new Pool(requested_threads());
    g_pool.store(p, std::memory_order_release);
  }
  return p;
}

}  // namespace

int num_threads() { return requested_threads(); }

bool in_parallel_region() { return tl_in_region; }

void set_num_threads(int n) {
  if (tl_in_region) return;
  n = std::max(1, n);
  std::lock_guard<std::mutex> lk(g_create_mu);
  g_requested.store(n);
  Pool* p = g_pool.load();
  if (p && p->size == n) return;
  if (p) {
    // Wait for any in-flight job, retire the old pool's workers, and leak the
    // small Pool object itself: a thread may still be reading g_pool's old
    // value on its way into try_lock, so freeing it would be unsafe.
    std::lock_guard<std::mutex> dl(p->dispatch_mu);
    g_pool.store(nullptr);
    p->shutdown();
    retire(p);
  }
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  if (n <= grain || tl_in_region || requested_threads() <= 1) {
    fn(0, n);
    return;
  }
  Pool* p = get_pool();
  int64_t chunks = std::min<int64_t>({n / grain, int64_t(p->size), int64_t(kMaxChunks)});
  if (chunks <= 1) {
    fn(0, n);
    return;
  }
  std::unique_lock<std::mutex> lk(p->dispatch_mu, std::try_to_lock);
  if (!lk.owns_lock() || p->stop.load()) {
    // Another thread is using the pool (or it is being resized): run inline
    // rather than wait, which also rules out lock-order deadlocks.
    lk = std::unique_lock<std::mutex>();
    bool prev = tl_in_region;
    tl_in_region = true;
    try {
      fn(0, n);
    } catch (...) {
      tl_in_region = prev;
      throw;
    }
    tl_in_region = prev;
    return;
  }
  p->run(n, int(chunks), fn);
}

}  // namespace oxmlx::cpu
