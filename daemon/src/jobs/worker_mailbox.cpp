#include "jobs/worker_mailbox.h"

#include <condition_variable>

namespace wb::daemon {
using nlohmann::json;

WorkerMailbox::~WorkerMailbox() { owner_.close(job_, run_); }

std::optional<WorkerMailbox::Item> WorkerMailbox::next(std::chrono::milliseconds wait) {
  return owner_.take(job_, run_, wait);
}

std::unique_ptr<WorkerMailbox> WorkerMailboxes::open(std::int64_t job, std::string run) {
  std::lock_guard<std::mutex> lk(mu_);
  Box& b = boxes_[job];
  for (auto& item : b.queue) item.answer.set_exception(std::make_exception_ptr(std::runtime_error("closed")));
  b.queue.clear();
  b.run = run;
  return std::make_unique<WorkerMailbox>(*this, job, std::move(run));
}

void WorkerMailboxes::close(std::int64_t job, const std::string& run) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = boxes_.find(job);
  if (it == boxes_.end() || it->second.run != run) return;
  for (auto& item : it->second.queue) item.answer.set_exception(std::make_exception_ptr(std::runtime_error("closed")));
  boxes_.erase(it);
}

std::optional<WorkerMailbox::Item> WorkerMailboxes::take(std::int64_t job, const std::string& run,
                                                         std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lk(mu_);
  auto ready = [&] {
    auto it = boxes_.find(job);
    return it != boxes_.end() && it->second.run == run && !it->second.queue.empty();
  };
  if (!cv_.wait_for(lk, wait, ready)) return std::nullopt;
  auto& q = boxes_[job].queue;
  WorkerMailbox::Item item = std::move(q.front());
  q.erase(q.begin());
  return item;
}

WorkerMailboxes::Delivered WorkerMailboxes::deliver(std::int64_t job, const std::string& run, json frame,
                                                    std::chrono::milliseconds wait) {
  std::future<std::vector<json>> answer;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = boxes_.find(job);
    if (it == boxes_.end()) return {Delivery::NoRun, {}};
    if (it->second.run != run) return {Delivery::OtherRun, {}};
    WorkerMailbox::Item item{std::move(frame), {}};
    answer = item.answer.get_future();
    it->second.queue.push_back(std::move(item));
    cv_.notify_all();
  }
  if (answer.wait_for(wait) != std::future_status::ready) return {Delivery::TimedOut, {}};
  try {
    return {Delivery::Answered, answer.get()};
  } catch (const std::exception&) {
    return {Delivery::Closed, {}};
  }
}

}  // namespace wb::daemon
