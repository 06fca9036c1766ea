// job_events.h — records a job's events in storage and announces them to watchers.
//
// Every method writes first (one committed transaction) and publishes after, under the
// EventHub's lock (see event_hub.h), so what a watcher sees is always already durable.
// Event lines (NDJSON, PROTOCOL.md):
//   {"type":"state", ...job record}        {"type":"progress","progress":x,"phase":"train"}
//   {"type":"metric","step":N,"name":"train_loss","value":x}
//   {"type":"log","time":"...","level":"info","message":"..."}
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "jobs/event_hub.h"
#include "wb/storage/store.h"

namespace wb::daemon {

class JobEvents {
 public:
  JobEvents(storage::Store& store, EventHub& hub) : store_(store), hub_(hub) {}

  void log(std::int64_t job, std::string_view level, std::string_view message);
  void progress(std::int64_t job, double fraction, std::string_view phase);
  void metric(std::int64_t job, std::int64_t step, std::string_view name, double value);

  // Runs `change` (a storage transition returning the job as it now is) and announces the new
  // state; the event is final when the new state is. Returns the record.
  storage::JobRecord transition(std::int64_t job, const std::function<storage::JobRecord()>& change);

  // {"type":"state", ...record}
  static nlohmann::json state_event(const storage::JobRecord& r);
  // One event as an NDJSON line without the newline (invalid UTF-8 replaced, never throws).
  static std::string line(const nlohmann::json& event);

  storage::Store& store() { return store_; }
  EventHub& hub() { return hub_; }

 private:
  storage::Store& store_;
  EventHub& hub_;
};

}  // namespace wb::daemon
