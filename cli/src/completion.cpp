#include "wb/cli/completion.h"

#include "wb/cli/errors.h"
#include "wb/cli/sse_reader.h"

namespace wb::cli {

using nlohmann::json;

void SamplingFlags::add_to(CLI::App* cmd) {
  cmd->add_option("--max-tokens", max_tokens, "most tokens to generate (default 256)")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--temperature", temperature, "sampling temperature (0 = greedy)")->check(CLI::Range(0.0, 2.0));
  cmd->add_option("--top-p", top_p, "nucleus sampling mass")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--top-k", top_k, "sample among the k most likely tokens (0 = all)")->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--seed", seed, "seed for reproducible sampling");
  cmd->add_option("--stop", stop, "stop sequence (repeatable, up to 4)");
  cmd->add_option("--adapter-scale", adapter_scale, "multiplier of the adapter's update for this request")
      ->check(CLI::Range(0.0, 100.0));
}

void SamplingFlags::apply(json& body) const {
  body["max_tokens"] = max_tokens;
  if (temperature) body["temperature"] = *temperature;
  if (top_p) body["top_p"] = *top_p;
  if (top_k) body["top_k"] = *top_k;
  if (seed) body["seed"] = *seed;
  if (!stop.empty()) body["stop"] = stop;
  if (adapter_scale) body["adapter_scale"] = *adapter_scale;
}

CompletionResult stream_completion(const DaemonClient& client, const std::string& target, json body,
                                   const std::function<void(const std::string&)>& on_text) {
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};  // the usage comes in a last chunk of its own
  CompletionResult res;
  bool done = false;
  std::string error;
  SseReader reader([&](const std::string& data) {
    if (data == "[DONE]") {
      done = true;
      return false;
    }
    json ev = json::parse(data, nullptr, false);
    if (!ev.is_object()) return true;
    if (ev.contains("error")) {
      error = ev["error"].value("message", "generation failed");
      return true;
    }
    if (ev.contains("usage") && ev["usage"].is_object()) res.usage = ev["usage"];
    if (!ev.contains("choices") || !ev["choices"].is_array() || ev["choices"].empty()) return true;
    const json& c = ev["choices"][0];
    std::string piece;
    if (c.contains("text") && c["text"].is_string()) piece = c["text"].get<std::string>();
    if (c.contains("delta") && c["delta"].is_object() && c["delta"].contains("content") && c["delta"]["content"].is_string())
      piece = c["delta"]["content"].get<std::string>();
    if (!piece.empty()) {
      res.text += piece;
      on_text(piece);
    }
    if (c.contains("finish_reason") && c["finish_reason"].is_string()) res.finish_reason = c["finish_reason"].get<std::string>();
    return true;
  });
  client.post_stream(target, body, [&](std::string_view bytes) { return reader.feed(bytes); });
  if (!error.empty()) throw Error("generation failed: " + error, "generation_failed");
  if (!done) throw Error("the stream from workbenchd ended before [DONE]");
  return res;
}

std::string served_model(const DaemonClient& client, const std::string& adapter) {
  if (!adapter.empty()) {
    // Named as an adapter, so refused as one (the route alone would say "model 'X'").
    for (const json& a : client.get("/v1/adapters").value("adapters", json::array()))
      if (a.value("name", "") == adapter) {
        if (a.value("loaded", false)) return adapter;
        throw Error("adapter '" + adapter + "' is not loaded; load it with `wb adapter load " + adapter + "`", "not_found");
      }
    throw Error("unknown adapter '" + adapter + "'; `wb adapter list` shows the adapters", "not_found");
  }
  json s = client.get("/v1/serving");
  if (!s.contains("model") || !s["model"].is_string())
    throw Error("no model is being served; start one with `wb serve start --model NAME`", "unavailable");
  return s["model"].get<std::string>();
}

}  // namespace wb::cli
