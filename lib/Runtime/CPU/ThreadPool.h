//===- ThreadPool.h - Persistent worker threads for CPU kernels -*- C++ -*-===//
//
// The kernels' threads, started once and parked between calls: a decode
// step calls attention once per layer, and starting threads for each call
// would cost more than the work of a short context.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_LIB_RUNTIME_CPU_THREADPOOL_H
#define XFORMER_LIB_RUNTIME_CPU_THREADPOOL_H

#include <cstdint>
#include <functional>

namespace xformer::runtime::cpu {

/// Threads the kernels use: XFORMER_NUM_THREADS, else the hardware's.
int64_t numThreads();

/// Runs body(item) for every item in [0, items), spread over up to
/// numThreads() threads (the caller is one of them); items are handed out
/// one at a time, so uneven items balance. Returns when all have run. A
/// call made while another is running (another thread of the process, or
/// from inside a body) runs its items on the calling thread. Between calls
/// the pool's threads spin for a while (XFORMER_SPIN_US, default 50 us)
/// before they sleep, since the next call of a decode step comes within
/// microseconds.
void parallelFor(int64_t items, const std::function<void(int64_t)> &body);

} // namespace xformer::runtime::cpu

#endif // XFORMER_LIB_RUNTIME_CPU_THREADPOOL_H
