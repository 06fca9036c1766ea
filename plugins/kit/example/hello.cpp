// hello — the smallest complete plugin on the kit: job kind "count" and method "hello.greet".
//   job    {"to": N, "step_ms": M}: counts to N, one step every M ms, with progress, a metric and
//          a log line per step; a cancel or a shutdown stops it between steps.
//   method {"name": "..."} -> {"greeting": "hello, ..."}
#include <chrono>
#include <string>
#include <thread>

#include "wb/plugin/guard.h"
#include "wb/plugin/host.h"
#include "wb/plugin/spec.h"

namespace {

using wb::plugin::guarded;
using wb::plugin::JobHost;
using wb::plugin::SpecReader;

struct CountSpec {
  int64_t to = 10;
  int64_t step_ms = 10;
};

// Every field read with its type and range; an unknown field is an error naming it.
CountSpec parse_count(const nlohmann::json& spec) {
  SpecReader r(spec);
  r.allow("job_id");  // added by the daemon
  CountSpec s;
  s.to = r.integer_or("to", s.to, 1, 1000);
  s.step_ms = r.integer_or("step_ms", s.step_ms, 0, 1000);
  r.finish();
  return s;
}

wb_status hello_init(const wb_host* host, const char*, wb_error* err) {
  return guarded(err, [&] {
    wb::plugin::Host::install(host, "hello");
    return WB_OK;
  });
}

wb_status hello_validate(const char*, const char* spec_json, wb_error* err) {
  return guarded(err, [&] {
    parse_count(wb::plugin::parse_spec(spec_json));
    return WB_OK;
  });
}

wb_status hello_run(wb_job* handle, const char*, const char* spec_json, wb_error* err) {
  const JobHost job(handle);
  return guarded(err, [&] {
    const CountSpec s = parse_count(wb::plugin::parse_spec(spec_json));
    for (int64_t i = 1; i <= s.to; ++i) {
      if (job.cancelled()) return job.shutting_down() ? WB_INTERRUPTED : WB_CANCELLED;
      std::this_thread::sleep_for(std::chrono::milliseconds(s.step_ms));
      job.metric(i, "count", static_cast<double>(i));
      job.progress(static_cast<double>(i) / static_cast<double>(s.to), "count");
    }
    job.info("counted to " + std::to_string(s.to));
    return WB_OK;
  });
}

wb_status hello_invoke(const char*, const char* request_json, wb_emit_fn emit, void* user, wb_error* err) {
  return guarded(err, [&] {
    const nlohmann::json request = wb::plugin::parse_spec(request_json);
    SpecReader r(request);
    const nlohmann::json answer = {{"greeting", "hello, " + r.string("name")}};
    r.finish();
    emit(user, answer.dump().c_str());
    return WB_OK;
  });
}

const char* const kKinds[] = {"count", nullptr};
const char* const kMethods[] = {"hello.greet", nullptr};
const wb_plugin kPlugin = {
    WB_PLUGIN_ABI_VERSION, sizeof(wb_plugin), "hello",  "0.1.0",  kKinds,       hello_init, hello_validate,
    hello_run,             nullptr /* shutdown */,      nullptr /* serving */,   kMethods,   hello_invoke,
    nullptr /* estimate: no memory estimate */,
    nullptr /* job_fields_json: spec fields as data, wb/plugin/fields.h */,
};

}  // namespace

extern "C" WB_PLUGIN_EXPORT const wb_plugin* wb_plugin_entry(void) { return &kPlugin; }
