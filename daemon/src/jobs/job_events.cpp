#include "jobs/job_events.h"

#include "wb/storage/database.h"

namespace wb::daemon {

using nlohmann::json;

std::string JobEvents::line(const json& event) {
  return event.dump(-1, ' ', false, json::error_handler_t::replace);
}

json JobEvents::state_event(const storage::JobRecord& r) {
  json j = r;
  json e = {{"type", "state"}};
  for (auto it = j.begin(); it != j.end(); ++it) e[it.key()] = it.value();
  return e;
}

void JobEvents::log(std::int64_t job, std::string_view level, std::string_view message) {
  hub_.publish(job, [&] {
    store_.metrics().add_log(job, level, message);
    json e = {{"type", "log"}, {"time", storage::now_iso8601_ms()}, {"level", level}, {"message", message}};
    return EventHub::Event{line(e), false};
  });
}

void JobEvents::progress(std::int64_t job, double fraction, std::string_view phase) {
  hub_.publish(job, [&] {
    store_.jobs().set_progress(job, fraction, phase);
    json e = {{"type", "progress"}, {"progress", fraction}, {"phase", phase}};
    return EventHub::Event{line(e), false};
  });
}

void JobEvents::metric(std::int64_t job, std::int64_t step, std::string_view name, double value) {
  hub_.publish(job, [&] {
    store_.metrics().add(job, step, name, value);
    json e = {{"type", "metric"}, {"step", step}, {"name", name}, {"value", value}};
    return EventHub::Event{line(e), false};
  });
}

storage::JobRecord JobEvents::transition(std::int64_t job, const std::function<storage::JobRecord()>& change) {
  storage::JobRecord rec;
  hub_.publish(job, [&] {
    rec = change();
    return EventHub::Event{line(state_event(rec)), storage::is_final(rec.state)};
  });
  return rec;
}

}  // namespace wb::daemon
