#include "jobs/event_hub.h"

namespace wb::daemon {

void EventHub::publish(std::int64_t job, const std::function<Event()>& record) {
  std::lock_guard<std::mutex> lk(mu_);
  Event e = record();
  auto it = listeners_.find(job);
  if (it == listeners_.end()) return;
  for (auto& [token, l] : it->second) l(e.line, e.final);
}

EventHub::Token EventHub::subscribe(std::int64_t job, const std::function<void()>& snapshot,
                                    Listener listener) {
  std::lock_guard<std::mutex> lk(mu_);
  if (snapshot) snapshot();
  Token t = next_++;
  listeners_[job][t] = std::move(listener);
  return t;
}

void EventHub::unsubscribe(std::int64_t job, Token token) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = listeners_.find(job);
  if (it == listeners_.end()) return;
  it->second.erase(token);
  if (it->second.empty()) listeners_.erase(it);
}

std::size_t EventHub::listener_count() {
  std::lock_guard<std::mutex> lk(mu_);
  std::size_t n = 0;
  for (auto& [job, m] : listeners_) n += m.size();
  return n;
}

}  // namespace wb::daemon
