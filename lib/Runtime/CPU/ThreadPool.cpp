//===- ThreadPool.cpp - Persistent worker threads for CPU kernels ---------===//

#include "ThreadPool.h"

#include <algorithm>
#include <atomic>
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

class Pool {
public:
  explicit Pool(int64_t workers) {
    for (int64_t t = 0; t < workers; ++t)
      threads.emplace_back([this] { workerLoop(); });
  }

  /// One job at a time: the caller holds `busy`.
  void run(int64_t items, const std::function<void(int64_t)> &body) {
    const int64_t helpers =
        std::min<int64_t>(int64_t(threads.size()), items - 1);
    {
      std::lock_guard<std::mutex> lock(mutex);
      job = &body;
      jobItems = items;
      next.store(0, std::memory_order_relaxed);
      pending = helpers;
      invited = helpers;
      ++generation;
    }
    wake.notify_all();
    drain(body, items);
    std::unique_lock<std::mutex> lock(mutex);
    done.wait(lock, [this] { return pending == 0; });
    job = nullptr;
  }

  std::mutex busy;

private:
  void drain(const std::function<void(int64_t)> &body, int64_t items) {
    for (int64_t i = next.fetch_add(1); i < items; i = next.fetch_add(1))
      body(i);
  }

  void workerLoop() {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int64_t)> *body;
      int64_t items;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return generation != seen && invited > 0; });
        seen = generation;
        --invited;
        body = job;
        items = jobItems;
      }
      drain(*body, items);
      {
        std::lock_guard<std::mutex> lock(mutex);
        --pending;
      }
      done.notify_one();
    }
  }

  std::vector<std::thread> threads;
  std::mutex mutex;
  std::condition_variable wake, done;
  const std::function<void(int64_t)> *job = nullptr;
  int64_t jobItems = 0, pending = 0, invited = 0;
  uint64_t generation = 0;
  std::atomic<int64_t> next{0};
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
