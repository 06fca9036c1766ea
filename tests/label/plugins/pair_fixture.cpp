// pair_fixture — a test plugin answering the method label.pair with fixed text, for the cases the
// real reward plugin cannot be made to produce on demand: an empty answer (a prompt containing
// "[silent]" gets an empty response_b) and many fast calls (the side-shuffle statistics).
//
//   label.pair {"model","prompt","a":{..},"b":{..},"max_tokens","seed"}
//     -> {"response_a":"first answer to: <prompt>","response_b":"second answer (seed N)" | "",
//         "model_a":"<model>@a","model_b":"<model>@b"}
//
// Used only by tests/label/it_label_errors.cpp, alone in its plugin directory.
#include <string>

#include <nlohmann/json.hpp>

#include "wb/wb_plugin.h"

namespace {

wb_status fixture_init(const wb_host*, const char*, wb_error*) { return WB_OK; }

wb_status fixture_invoke(const char* method, const char* request_json, wb_emit_fn emit, void* user, wb_error* err) {
  if (std::string(method) != "label.pair") {
    wb_error_set(err, "pair_fixture: unknown method");
    return WB_NOT_FOUND;
  }
  const nlohmann::json req = nlohmann::json::parse(request_json, nullptr, false);
  if (!req.is_object() || !req.contains("prompt") || !req["prompt"].is_string() || !req.contains("seed")) {
    wb_error_set(err, "pair_fixture: expected {\"prompt\",\"seed\",...}");
    return WB_INVALID;
  }
  const std::string prompt = req["prompt"];
  const std::string model = req.value("model", "");
  const bool silent = prompt.find("[silent]") != std::string::npos;
  const nlohmann::json answer = {
      {"response_a", "first answer to: " + prompt},
      {"response_b", silent ? std::string() : "second answer (seed " + req["seed"].dump() + ")"},
      {"model_a", model + "@a"},
      {"model_b", model + "@b"}};
  emit(user, answer.dump().c_str());
  return WB_OK;
}

void fixture_shutdown() {}

const char* const kKinds[] = {nullptr};
const char* const kMethods[] = {"label.pair", nullptr};

const wb_plugin kPlugin = {WB_PLUGIN_ABI_VERSION, sizeof(wb_plugin), "pair_fixture", "1.0.0", kKinds, fixture_init, nullptr, nullptr,
                           fixture_shutdown,      nullptr,        kMethods, fixture_invoke};

}  // namespace

extern "C" WB_PLUGIN_EXPORT const wb_plugin* wb_plugin_entry(void) { return &kPlugin; }
