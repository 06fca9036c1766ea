// GET /v1/jobs/{id}/events: NDJSON history replay, then live events until the job is final.
//
// Line order: the current job record ({"type":"state",...}), the stored log lines and metric
// points, then live events. For a job already final at connect (or with ?follow=false) the
// current state is repeated as the last line, so the last line of every stream is a state.
#include <mutex>

#include "handlers/handlers.h"
#include "http/api_error.h"
#include "http/json_body.h"

namespace wb::daemon::handlers {

using nlohmann::json;
std::int64_t job_id_param(Request& req);

namespace {

// The history lines of a job, each ending in "\n"; final tells whether the job is finished.
std::string history(App& app, std::int64_t id, bool& final, std::string& state_line) {
  storage::JobRecord rec = app.store.jobs().get(id);
  final = storage::is_final(rec.state);
  state_line = JobEvents::line(JobEvents::state_event(rec)) + "\n";
  std::string out = state_line;
  for (auto& l : app.store.metrics().logs(id))
    out += JobEvents::line({{"type", "log"}, {"time", l.time}, {"level", l.level}, {"message", l.message}}) + "\n";
  for (auto& m : app.store.metrics().list(id))
    out += JobEvents::line({{"type", "metric"}, {"step", m.step}, {"name", m.name}, {"value", m.value}}) + "\n";
  return out;
}

class JobEventStream : public StreamSource {
 public:
  JobEventStream(App& app, std::int64_t id) : app_(app), id_(id) {}
  ~JobEventStream() override { stop(); }

  void start(Sink sink) override {
    bool ended = false;
    auto token = app_.events.hub().subscribe(
        id_,
        [&] {
          bool final = false;
          std::string state;
          std::string h = history(app_, id_, final, state);
          if (final) h += state;
          sink(std::move(h), final);
          ended = final;
        },
        [sink](const std::string& line, bool final) { sink(line + "\n", final); });
    std::lock_guard<std::mutex> lk(mu_);
    token_ = token;
    subscribed_ = true;
    if (ended) unsubscribe_locked();
  }

  void stop() override {
    std::lock_guard<std::mutex> lk(mu_);
    unsubscribe_locked();
  }

 private:
  void unsubscribe_locked() {
    if (!subscribed_) return;
    subscribed_ = false;
    app_.events.hub().unsubscribe(id_, token_);
  }

  App& app_;
  std::int64_t id_;
  std::mutex mu_;
  EventHub::Token token_ = 0;
  bool subscribed_ = false;
};

}  // namespace

Response job_events(App& app, Request& req) {
  std::int64_t id = job_id_param(req);
  for (auto& [k, v] : req.query)
    if (k != "follow") throw invalid_request("unknown query parameter '" + k + "'");
  std::string follow = req.query_or("follow", "true");
  if (follow != "true" && follow != "false")
    throw invalid_request("query parameter 'follow': expected true or false, got '" + follow + "'");
  Response r;
  r.content_type = "application/x-ndjson";
  if (follow == "false") {
    bool final = false;
    std::string state;
    r.body = history(app, id, final, state) + state;
    return r;
  }
  app.store.jobs().get(id);  // 404 before the stream starts
  r.stream = std::make_shared<JobEventStream>(app, id);
  return r;
}

}  // namespace wb::daemon::handlers
