#include "serving/openai_request.h"

#include "http/api_error.h"
#include "http/json_body.h"

namespace wb::daemon {

using nlohmann::json;

const char* endpoint_name(Endpoint e) { return e == Endpoint::Chat ? "chat" : "completions"; }

namespace {

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  throw invalid_request("field '" + field + "': " + what);
}

// The OpenAI fields accepted only at their default (harmless) value: name -> check.
void check_harmless(const json& o) {
  auto require = [&](const char* name, bool ok, const char* what) {
    if (o.contains(name) && !ok) bad(name, what);
  };
  auto is_zero = [&](const char* name) { return o[name].is_number() && o[name].get<double>() == 0.0; };
  if (o.contains("best_of"))
    require("best_of", o["best_of"].is_number_integer() && o["best_of"].get<std::int64_t>() == 1, "only best_of = 1 is supported");
  if (o.contains("presence_penalty")) require("presence_penalty", is_zero("presence_penalty"), "penalties are not supported (only 0)");
  if (o.contains("frequency_penalty")) require("frequency_penalty", is_zero("frequency_penalty"), "penalties are not supported (only 0)");
  if (o.contains("echo")) require("echo", o["echo"].is_boolean() && !o["echo"].get<bool>(), "echo is not supported");
  if (o.contains("logit_bias"))
    require("logit_bias", o["logit_bias"].is_object() && o["logit_bias"].empty(), "logit_bias is not supported");
  if (o.contains("response_format"))
    require("response_format", o["response_format"] == json{{"type", "text"}}, "only {\"type\":\"text\"} is supported");
  if (o.contains("user")) require("user", o["user"].is_string(), "expected a string");
  if (o.contains("metadata")) require("metadata", o["metadata"].is_object(), "expected an object");
  if (o.contains("store")) require("store", o["store"].is_boolean() && !o["store"].get<bool>(), "storing completions is not supported");
}

// Ollama's keep_alive: seconds (a number), or a duration "300ms", "30s", "5m", "1h" (a bare
// number in a string counts seconds); negative keeps it resident, 0 unloads it when idle.
double parse_keep_alive(const json& v) {
  const char* what = "expected seconds or a duration such as \"30s\", \"5m\", \"1h\" (negative: keep loaded)";
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) bad("keep_alive", what);
  const std::string s = v.get<std::string>();
  std::size_t used = 0;
  double x = 0;
  try {
    x = std::stod(s, &used);
  } catch (const std::exception&) {
    bad("keep_alive", what);
  }
  const std::string unit = s.substr(used);
  if (unit.empty() || unit == "s") return x;
  if (unit == "ms") return x / 1000;
  if (unit == "m") return x * 60;
  if (unit == "h") return x * 3600;
  bad("keep_alive", what);
}

json parse_stop(const json& v) {
  if (v.is_string()) return json::array({v});
  if (!v.is_array()) bad("stop", "expected a string or an array of strings");
  if (v.size() > 4) bad("stop", "at most 4 stop sequences");
  for (auto& s : v)
    if (!s.is_string() || s.get<std::string>().empty()) bad("stop", "expected non-empty strings");
  return v;
}

// "content" of a chat message: a string, or OpenAI's array of {"type":"text","text":...} parts.
std::string message_content(const json& m, const std::string& where) {
  if (!m.contains("content") || m["content"].is_null()) bad(where + ".content", "required");
  const json& c = m["content"];
  if (c.is_string()) return c.get<std::string>();
  if (!c.is_array()) bad(where + ".content", "expected a string or an array of text parts");
  std::string out;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const json& p = c[i];
    std::string pw = where + ".content[" + std::to_string(i) + "]";
    if (!p.is_object() || p.value("type", "") != "text" || !p.contains("text") || !p["text"].is_string())
      bad(pw, "only {\"type\":\"text\",\"text\":...} parts are supported");
    out += p["text"].get<std::string>();
  }
  return out;
}

json parse_messages(const json& v) {
  if (!v.is_array() || v.empty()) bad("messages", "expected a non-empty array of messages");
  json out = json::array();
  std::string expect = "user";
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::string where = "messages[" + std::to_string(i) + "]";
    const json& m = v[i];
    if (!m.is_object()) bad(where, "expected an object");
    for (auto& [k, x] : m.items())
      if (k != "role" && k != "content" && k != "name") bad(where + "." + k, "unknown field");
    if (!m.contains("role") || !m["role"].is_string()) bad(where + ".role", "required: system, user or assistant");
    std::string role = m["role"].get<std::string>();
    if (role != "system" && role != "user" && role != "assistant")
      bad(where + ".role", "expected system, user or assistant, got '" + role + "'");
    if (role == "system") {
      if (i != 0) bad(where + ".role", "a system message may only come first");
    } else if (role != expect) {
      bad(where + ".role", "expected '" + expect + "' (turns alternate user/assistant, starting with user)");
    } else {
      expect = role == "user" ? "assistant" : "user";
    }
    out.push_back({{"role", role}, {"content", message_content(m, where)}});
  }
  if (out.back()["role"] != "user") bad("messages", "the last message must be from the user");
  return out;
}

}  // namespace

OpenAiRequest parse_openai_request(const std::string& body, Endpoint endpoint) {
  json raw = parse_json_body(body);
  if (!raw.is_object()) throw invalid_request("request body: expected a JSON object");
  // OpenAI clients send null for "not given"; treat it as absent.
  json o = json::object();
  for (auto& [k, v] : raw.items())
    if (!v.is_null()) o[k] = v;

  const bool chat = endpoint == Endpoint::Chat;
  std::initializer_list<std::string_view> common = {
      "model", "max_tokens", "temperature", "top_p", "top_k", "seed", "stop", "stream", "stream_options",
      "adapter_scale", "n", "user", "presence_penalty", "frequency_penalty", "logprobs", "logit_bias",
      "metadata", "store", "best_of", "echo", "suffix", "response_format", "prompt", "messages",
      "max_completion_tokens", "top_logprobs", "ignore_eos", "keep_alive", "batch_invariant"};
  // Which of the shared names belong to which endpoint.
  for (auto& [k, v] : o.items()) {
    bool known = false;
    for (std::string_view c : common) known = known || k == c;
    bool wrong = (chat && (k == "prompt" || k == "best_of" || k == "echo" || k == "suffix")) ||
                 (!chat && (k == "messages" || k == "max_completion_tokens" || k == "response_format" ||
                            k == "top_logprobs" || k == "metadata" || k == "store"));
    if (!known || wrong) {
      if (k == "tools" || k == "tool_choice" || k == "functions" || k == "function_call" || k == "parallel_tool_calls")
        bad(k, "tool calls are not supported");
      bad(k, std::string("unknown field for /v1/") + (chat ? "chat/completions" : "completions"));
    }
  }
  check_harmless(o);
  if (o.contains("suffix")) bad("suffix", "suffix is not supported");

  JsonReader f = body_fields(o, common);
  OpenAiRequest r;
  r.endpoint = endpoint;
  r.model = f.string("model");
  r.stream = f.boolean_or("stream", false);
  if (o.contains("stream_options")) {
    const json& so = o["stream_options"];
    if (!r.stream) bad("stream_options", "only allowed with \"stream\": true");
    JsonReader sf = body_fields(so, {"include_usage"}, "stream_options.");
    r.include_usage = sf.boolean_or("include_usage", false);
  }
  if (o.contains("n")) r.n = static_cast<int>(f.integer_or("n", 1, 1, 128));
  if (chat) {
    // OpenAI's chat shape: logprobs true, then top_logprobs 0..20 alternatives.
    const bool lp = o.contains("logprobs") && f.boolean_or("logprobs", false);
    if (o.contains("top_logprobs")) {
      if (!lp) bad("top_logprobs", "needs \"logprobs\": true");
      r.logprobs = static_cast<int>(f.integer_or("top_logprobs", 0, 0, 20));
    } else if (lp) {
      r.logprobs = 0;
    }
  } else if (o.contains("logprobs")) {
    // The completions (legacy) shape: logprobs = how many alternatives, 0..20.
    if (!o["logprobs"].is_number_integer()) bad("logprobs", "expected an integer 0..20 (alternatives per token)");
    r.logprobs = static_cast<int>(f.integer_or("logprobs", 0, 0, 20));
  }
  if (o.contains("keep_alive")) r.keep_alive_s = parse_keep_alive(o["keep_alive"]);

  json p = json::object();
  if (chat) {
    if (!o.contains("messages")) bad("messages", "required");
    p["messages"] = parse_messages(o["messages"]);
  } else {
    if (!o.contains("prompt")) bad("prompt", "required");
    const json& pr = o["prompt"];
    if (pr.is_string()) {
      p["prompt"] = pr;
    } else if (pr.is_array() && pr.size() == 1 && pr[0].is_string()) {
      p["prompt"] = pr[0];
    } else {
      bad("prompt", "expected a string (or an array holding one string)");
    }
  }
  const char* max_name = chat && o.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (chat && o.contains("max_completion_tokens") && o.contains("max_tokens"))
    bad("max_completion_tokens", "give max_tokens or max_completion_tokens, not both");
  if (o.contains(max_name)) p["max_tokens"] = f.integer_or(max_name, 16, 1, 1 << 20);
  else if (!chat) p["max_tokens"] = 16;  // OpenAI's default for /v1/completions
  if (o.contains("temperature")) p["temperature"] = f.number_or("temperature", 1, 0, 2);
  if (o.contains("top_p")) {
    double tp = f.number_or("top_p", 1, 0, 1);
    if (tp <= 0) bad("top_p", "expected a number in (0, 1]");
    p["top_p"] = tp;
  }
  if (o.contains("top_k")) p["top_k"] = f.integer_or("top_k", 0, 0, 1 << 20);
  if (o.contains("seed")) p["seed"] = f.integer_or("seed", 0, INT64_MIN, INT64_MAX);
  if (o.contains("stop")) p["stop"] = parse_stop(o["stop"]);
  if (o.contains("ignore_eos")) p["ignore_eos"] = f.boolean_or("ignore_eos", false);
  if (o.contains("batch_invariant")) p["batch_invariant"] = f.boolean_or("batch_invariant", false);
  if (o.contains("adapter_scale")) p["adapter_scale"] = f.number_or("adapter_scale", 1, 0, 100);
  if (r.n > 1) p["n"] = r.n;
  if (r.logprobs >= 0) p["logprobs"] = r.logprobs;
  r.plugin = std::move(p);
  return r;
}

}  // namespace wb::daemon
