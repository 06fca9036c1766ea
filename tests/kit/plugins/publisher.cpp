// publisher — a test plugin on the kit whose job (kind "publish") registers an adapter through
// plugin::publish_adapter, the path every result-producing job (sft, reward, rlhf) takes, and
// then holds while the file <data_dir>/hold exists. The hold makes the window between
// "result registered" and "job succeeded" wide and deterministic, so a test can kill -9 the
// daemon inside it.
//   job {"name": "adapter name", "base_model": "model name"}
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "wb/plugin/guard.h"
#include "wb/plugin/host.h"
#include "wb/plugin/model_store.h"
#include "wb/plugin/spec.h"

namespace {

using wb::plugin::guarded;
using wb::plugin::JobHost;
using wb::plugin::SpecReader;

struct PublishSpec {
  std::string name, base_model;
};

PublishSpec parse_publish(const nlohmann::json& spec) {
  SpecReader r(spec);
  r.allow("job_id");
  r.allow("resume_from");
  PublishSpec s;
  s.name = r.string("name");
  s.base_model = r.string("base_model");
  r.finish();
  return s;
}

wb_status publisher_init(const wb_host* host, const char*, wb_error* err) {
  return guarded(err, [&] {
    wb::plugin::Host::install(host, "publisher");
    return WB_OK;
  });
}

wb_status publisher_validate(const char*, const char* spec_json, wb_error* err) {
  return guarded(err, [&] {
    parse_publish(wb::plugin::parse_spec(spec_json));
    return WB_OK;
  });
}

wb_status publisher_run(wb_job* handle, const char*, const char* spec_json, wb_error* err) {
  const JobHost job(handle);
  return guarded(err, [&] {
    const PublishSpec s = parse_publish(wb::plugin::parse_spec(spec_json));
    const nlohmann::json record = {{"base_model", s.base_model},
                                   {"rank", 4},
                                   {"alpha", 8},
                                   {"target_modules", {"q_proj"}},
                                   {"kind", "policy"}};
    wb::plugin::publish_adapter(job, s.name, record, [&](const std::filesystem::path& dir) {
      std::filesystem::create_directories(dir);
      std::ofstream(dir / "adapter_config.json") << nlohmann::json{{"r", 4}, {"job", s.name}}.dump();
    });
    const auto hold = wb::plugin::Host::data_dir() / "hold";
    while (std::filesystem::exists(hold)) {
      if (job.cancelled()) return job.shutting_down() ? WB_INTERRUPTED : WB_CANCELLED;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return WB_OK;
  });
}

const char* const kKinds[] = {"publish", nullptr};
const wb_plugin kPlugin = {
    WB_PLUGIN_ABI_VERSION, sizeof(wb_plugin), "publisher", "0.1.0",  kKinds,  publisher_init, publisher_validate,
    publisher_run,         nullptr,           nullptr,     nullptr,  nullptr,
};

}  // namespace

extern "C" WB_PLUGIN_EXPORT const wb_plugin* wb_plugin_entry(void) { return &kPlugin; }
