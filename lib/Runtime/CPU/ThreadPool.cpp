//===- ThreadPool.cpp - Persistent worker threads for CPU kernels ---------===//

#include "ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace xformer::runtime::cpu;

int64_t xformer::runtime::cpu::numThreads() {
  static const int64_t n = [] {
    if (const char *env = std::getenv("XFORMER_NUM_THREADS")) {
      long v = std::strtol(env, nullptr, 10);
      if (v > 0)
        return int64_t(v);
    }
    return int64_t(std::max(1u, std::thread::hardware_concurrency()));
  }();
  return n;
}

namespace {

/// How long the pool's threads spin for work before they sleep:
/// XFORMER_SPIN_US, else 50 microseconds.
int64_t spinMicros() {
  static const int64_t us = [] {
    if (const char *env = std::getenv("XFORMER_SPIN_US"))
      return int64_t(std::strtol(env, nullptr, 10));
    return int64_t(50);
  }();
  return us;
}

class Pool {
public:
  explicit Pool(int64_t workers) {
    for (int64_t t = 0; t < workers; ++t)
      threads.emplace_back([this] { workerLoop(); });
  }

  /// One job at a time: the caller holds `busy`. The caller drains the
  /// items with whichever helpers arrive, then waits only for the helpers
  /// that joined: on a loaded machine a helper the scheduler has not run
  /// yet is not waited for (it finds the job closed when it wakes), so a
  /// call degrades towards one thread instead of stalling for a time slice.
  void run(int64_t items, const std::function<void(int64_t)> &body) {
    const int64_t helpers =
        std::min<int64_t>(int64_t(threads.size()), items - 1);
    {
      std::lock_guard<std::mutex> lock(mutex);
      job = &body;
      jobItems = items;
      next.store(0, std::memory_order_relaxed);
      open = true;
      invited = helpers;
      ++generation;
      published.store(generation, std::memory_order_release);
    }
    wake.notify_all();
    drain(body, items);
    {
      std::lock_guard<std::mutex> lock(mutex);
      open = false; // late helpers leave the job alone
      invited = 0;
    }
    // Helpers that joined finish their last item within microseconds:
    // spin for them before sleeping.
    spinWhile([&] { return workingNow.load(std::memory_order_acquire) != 0; });
    std::unique_lock<std::mutex> lock(mutex);
    done.wait(lock, [this] { return working == 0; });
    job = nullptr;
  }

  std::mutex busy;

private:
  void drain(const std::function<void(int64_t)> &body, int64_t items) {
    for (int64_t i = next.fetch_add(1); i < items; i = next.fetch_add(1))
      body(i);
  }

  /// Spins while `busy()` holds, for at most spinMicros().
  template <typename Busy> static void spinWhile(Busy busy) {
    const int64_t us = spinMicros();
    if (us <= 0)
      return;
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::microseconds(us);
    int rounds = 0;
    while (busy()) {
      for (int i = 0; i < 64; ++i)
        __builtin_ia32_pause();
      if (std::chrono::steady_clock::now() > until)
        return;
      // Let a thread waiting for this core run (a shared machine): cheap
      // when none is.
      if (++rounds % 16 == 0)
        std::this_thread::yield();
    }
  }

  void workerLoop() {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int64_t)> *body;
      int64_t items;
      // The next kernel call of a decode step comes within microseconds.
      spinWhile([&] {
        return published.load(std::memory_order_acquire) == seen;
      });
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return generation != seen; });
        seen = generation;
        if (!open || invited == 0)
          continue; // too late: the caller has done the items
        --invited;
        ++working;
        workingNow.store(working, std::memory_order_release);
        body = job;
        items = jobItems;
      }
      drain(*body, items);
      {
        std::lock_guard<std::mutex> lock(mutex);
        --working;
        workingNow.store(working, std::memory_order_release);
      }
      done.notify_one();
    }
  }

  std::vector<std::thread> threads;
  std::mutex mutex;
  std::condition_variable wake, done;
  const std::function<void(int64_t)> *job = nullptr;
  int64_t jobItems = 0, working = 0, invited = 0;
  bool open = false; // whether helpers may still join the job
  uint64_t generation = 0;
  std::atomic<int64_t> next{0};
  /// generation and working, readable without the mutex (for spinning).
  std::atomic<uint64_t> published{0};
  std::atomic<int64_t> workingNow{0};
};

/// The process's pool, started on first use. A forked child has none of
/// its parent's threads: it starts its own (the parent's pool object is
/// left alone, never joined). Pools live until the process exits.
Pool &pool() {
  static std::mutex mutex;
  static Pool *current = nullptr;
  static pid_t owner = 0;
  std::lock_guard<std::mutex> lock(mutex);
  if (!current || owner != getpid()) {
    current = new Pool(numThreads() - 1);
    owner = getpid();
  }
  return *current;
}

} // namespace

void xformer::runtime::cpu::parallelFor(
    int64_t items, const std::function<void(int64_t)> &body) {
  if (items <= 0)
    return;
  if (items == 1 || numThreads() == 1) {
    for (int64_t i = 0; i < items; ++i)
      body(i);
    return;
  }
  Pool &p = pool();
  std::unique_lock<std::mutex> lock(p.busy, std::try_to_lock);
  if (!lock.owns_lock()) {
    for (int64_t i = 0; i < items; ++i)
      body(i);
    return;
  }
  p.run(items, body);
}
