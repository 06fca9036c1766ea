// worker_pool.h — a fixed set of threads for request work that may take long (imports, exports,
// synchronous plugin methods), so the I/O threads only parse and write.
//
//   WorkerPool pool(2, 16);            // 2 threads, at most 16 tasks waiting
//   if (!pool.try_submit([] { ... })) answer 503 with Retry-After;
//
// try_submit never blocks: it refuses a task when every thread is busy and the queue is full.
// stop() (and the destructor) runs what is queued and joins the threads.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace wb::daemon {

class WorkerPool {
 public:
  WorkerPool(int threads, std::size_t max_queued);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; false (and `task` dropped) when the pool is full. Tasks must not throw.
  bool try_submit(std::function<void()> task);
  // Refuses new tasks, runs the queued ones and joins the threads. Idempotent.
  void stop();

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::size_t max_queued_;
  int idle_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace wb::daemon
