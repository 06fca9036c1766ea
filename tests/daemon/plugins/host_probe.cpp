// host_probe — test plugin for job kind "probe": exercises every data function of the host table
// and fails the job (naming the check) when one answers unexpectedly.
//
// spec {"dataset": NAME}: NAME must be an existing sft dataset. The job
//   - looks up the dataset (and a missing model: WB_NOT_FOUND),
//   - counts its train rows (metric "train_rows") and all rows (metric "rows"), stops a third
//     iteration early after 3 rows (metric "early_stop"), logging from inside the row callback,
//   - inserts one comparison into dataset "probe-labels",
//   - registers a model "probe-model", an adapter "probe-adapter" and a prompt dataset
//     "probe-prompts" (2 rows), and checks that an unknown artifact kind is WB_INVALID.
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "wb/wb_plugin.h"

namespace {

using nlohmann::json;
const wb_host* g_host = nullptr;

struct Failure {
  std::string what;
};

void check(bool ok, const std::string& what) {
  if (!ok) throw Failure{what};
}

wb_status probe_init(const wb_host* host, const char*, wb_error*) {
  g_host = host;
  return WB_OK;
}

wb_status probe_run(wb_job* job, const char*, const char* spec_text, wb_error* err) {
  try {
    json spec = json::parse(spec_text);
    std::string ds = spec.at("dataset").get<std::string>();
    wb_error e{};

    check(g_host->data_dir(g_host->ctx) && g_host->data_dir(g_host->ctx)[0] == '/', "data_dir() is absolute");

    std::string record;
    auto keep = [](void* user, const char* text) { *static_cast<std::string*>(user) = text; };
    check(g_host->lookup(g_host->ctx, job, "dataset", ds.c_str(), keep, &record, &e) == WB_OK, "lookup dataset");
    json rec = json::parse(record);
    check(rec["name"] == ds && rec["kind"] == "sft", "lookup returns the dataset record");
    check(g_host->lookup(g_host->ctx, job, "model", "no-such-model", keep, &record, &e) == WB_NOT_FOUND, "lookup missing model");
    check(g_host->lookup(g_host->ctx, job, "widget", "x", keep, &record, &e) == WB_INVALID, "lookup unknown kind");

    struct Count {
      std::int64_t n = 0;
      std::int64_t next_index = 0;
      bool ordered = true;
      bool valid = true;
      int stop_after = -1;
      wb_job* job = nullptr;
    };
    auto on_row = [](void* user, std::int64_t index, const char* row) -> int {
      auto* c = static_cast<Count*>(user);
      if (c->stop_after < 0 && index < c->next_index) c->ordered = false;
      c->next_index = index + 1;
      json r = json::parse(row, nullptr, false);
      if (r.is_discarded() || !r.is_object()) c->valid = false;
      ++c->n;
      if (c->n == 1) g_host->job_log(g_host->ctx, c->job, WB_LOG_DEBUG, "first row seen");  // host call inside the callback
      return c->stop_after > 0 && c->n >= c->stop_after ? 1 : 0;
    };
    Count all;
    all.job = job;
    check(g_host->dataset_rows(g_host->ctx, job, ds.c_str(), nullptr, 0, 0, on_row, &all, &e) == WB_OK, "dataset_rows all");
    check(all.ordered && all.valid, "rows arrive in order as JSON objects");
    Count train;
    train.job = job;
    check(g_host->dataset_rows(g_host->ctx, job, ds.c_str(), "train", 0, 0, on_row, &train, &e) == WB_OK, "dataset_rows train");
    Count early;
    early.job = job;
    early.stop_after = 3;
    check(g_host->dataset_rows(g_host->ctx, job, ds.c_str(), nullptr, 0, 0, on_row, &early, &e) == WB_OK, "dataset_rows early stop");
    check(g_host->dataset_rows(g_host->ctx, job, "no-such-dataset", nullptr, 0, 0, on_row, &early, &e) == WB_NOT_FOUND,
          "dataset_rows missing dataset");
    g_host->job_metric(g_host->ctx, job, 0, "rows", double(all.n));
    g_host->job_metric(g_host->ctx, job, 0, "train_rows", double(train.n));
    g_host->job_metric(g_host->ctx, job, 0, "early_stop", double(early.n));

    json cmp = {{"prompt", "p"}, {"response_a", "a"}, {"response_b", "b"}, {"chosen", "b"}, {"rating", 2},
                {"safety", "both_safe"}, {"is_safety_prompt", false}, {"annotator", "probe"}, {"source", "model"}};
    check(g_host->comparison_insert(g_host->ctx, job, "probe-labels", cmp.dump().c_str(), &e) == WB_OK,
          std::string("comparison_insert: ") + e.message);
    cmp["rating"] = 9;
    check(g_host->comparison_insert(g_host->ctx, job, "probe-labels", cmp.dump().c_str(), &e) == WB_INVALID, "bad comparison is WB_INVALID");

    json model = {{"name", "probe-model"}, {"path", "/tmp/probe-model"}, {"config", {{"dim", 8}}}, {"dtype", "f32"}};
    check(g_host->register_artifact(g_host->ctx, job, "model", model.dump().c_str(), &e) == WB_OK, std::string("register model: ") + e.message);
    json adapter = {{"name", "probe-adapter"}, {"path", "/tmp/probe-adapter"}, {"base_model", "probe-model"},
                    {"rank", 4}, {"alpha", 8.0}, {"target_modules", {"q_proj", "v_proj"}}, {"kind", "policy"}};
    check(g_host->register_artifact(g_host->ctx, job, "adapter", adapter.dump().c_str(), &e) == WB_OK, std::string("register adapter: ") + e.message);
    json dataset = {{"name", "probe-prompts"}, {"kind", "prompt"}, {"rows", {{{"prompt", "one"}}, {{"prompt", "two"}}}}};
    check(g_host->register_artifact(g_host->ctx, job, "dataset", dataset.dump().c_str(), &e) == WB_OK, std::string("register dataset: ") + e.message);
    check(g_host->register_artifact(g_host->ctx, job, "model", model.dump().c_str(), &e) == WB_ERROR, "duplicate model name is an error");
    check(g_host->register_artifact(g_host->ctx, job, "gadget", "{}", &e) == WB_INVALID, "unknown artifact kind is WB_INVALID");
    check(g_host->register_artifact(g_host->ctx, job, "model", "{not json", &e) == WB_INVALID, "bad JSON is WB_INVALID");
    g_host->job_progress(g_host->ctx, job, 1.0, "probe");
    return WB_OK;
  } catch (const Failure& f) {
    std::snprintf(err->message, sizeof err->message, "host_probe check failed: %s", f.what.c_str());
    return WB_ERROR;
  } catch (const std::exception& ex) {
    std::snprintf(err->message, sizeof err->message, "host_probe: %s", ex.what());
    return WB_ERROR;
  }
}

const char* const kKinds[] = {"probe", nullptr};
const wb_plugin kPlugin = {WB_PLUGIN_ABI_VERSION, sizeof(wb_plugin), "host_probe", "1.0.0", kKinds, probe_init, nullptr, probe_run, nullptr, nullptr, nullptr, nullptr};

}  // namespace

extern "C" WB_PLUGIN_EXPORT const wb_plugin* wb_plugin_entry(void) { return &kPlugin; }
