// A small persistent thread pool for the CPU backend.
//
// Design goals (see threadpool.cpp for how each one is met):
//  * low dispatch latency: workers spin briefly after a job before sleeping;
//  * the calling thread participates, so a one-thread pool costs nothing;
//  * nested parallel_for calls (from inside fn) run inline instead of
//    deadlocking; concurrent calls from unrelated threads also fall back to
//    inline execution rather than queueing;
//  * safe at process exit (workers are detached and the pool is leaked, so no
//    destructor races with interpreter teardown) and after fork() (the child
//    abandons the parent's pool and lazily builds a fresh one).
#pragma once

#include <cstdint>
#include <functional>

namespace oxmlx::cpu {

// Pool size including the calling thread: OXMLX_NUM_THREADS if set (>= 1),
// else std::thread::hardware_concurrency().
int num_threads();

// Resizes the pool (n < 1 is clamped to 1). Blocks until any in-flight
// parallel_for has finished. Calling it from inside a worker is ignored.
void set_num_threads(int n);

// Splits [0, n) into contiguous chunks of at least `grain` items (at most one
// chunk per thread) and runs fn(begin, end) for each chunk on the pool; the
// calling thread participates. Runs inline when n <= grain, when the pool has
// one thread, or when called from inside another parallel_for. Blocks until
// all chunks are done; the first exception thrown by fn is rethrown here.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// True while the current thread is executing a parallel_for chunk (useful for
// callers that want to pick a single-threaded algorithm when nested).
bool in_parallel_region();

}  // namespace oxmlx::cpu
