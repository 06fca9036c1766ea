// event_hub.h — fans job events out to any number of watchers (GET /v1/jobs/{id}/events).
//
// Consistency rule: a writer records an event in storage and publishes it in one step under the
// hub's lock (publish()), and a watcher reads the stored history and registers in one step under
// the same lock (subscribe()). So a watcher sees every event exactly once: either in the history
// or live, never both, never neither. Listeners run under the lock: they must only queue work
// (post to an io strand), never block or call back into the hub.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace wb::daemon {

class EventHub {
 public:
  // One NDJSON line (without the trailing newline); final = the job reached a final state and
  // this is the last event it will produce.
  using Listener = std::function<void(const std::string& line, bool final)>;
  using Token = std::uint64_t;

  struct Event {
    std::string line;
    bool final = false;
  };

  // Runs `record` (the storage write, which renders the event), then delivers the event to the
  // job's listeners. If `record` throws, nothing is delivered and the exception propagates.
  void publish(std::int64_t job, const std::function<Event()>& record);

  // Runs `snapshot` (reads and emits history through the caller's own channel) and registers
  // `listener` for everything published afterwards. Returns a token for unsubscribe().
  Token subscribe(std::int64_t job, const std::function<void()>& snapshot, Listener listener);
  void unsubscribe(std::int64_t job, Token token);

  // Number of live listeners (all jobs); for tests and /metrics.
  std::size_t listener_count();

 private:
  std::mutex mu_;
  Token next_ = 1;
  std::map<std::int64_t, std::map<Token, Listener>> listeners_;
};

}  // namespace wb::daemon
