// Units behind the serving routes, without a daemon: the OpenAI request validation, the CLI's
// server-sent-event reader, the bearer token comparison and the Prometheus histogram.
#include <catch2/catch.hpp>

#include "http/api_error.h"
#include "http/tcp_listener.h"
#include "serving/openai_request.h"
#include "serving/serving_metrics.h"
#include "wb/json/reader.h"
#include "wb/cli/sse_reader.h"

using nlohmann::json;
using namespace wb::daemon;

namespace {

std::string rejection(const json& body, Endpoint e) {
  try {
    parse_openai_request(body.dump(), e);
  } catch (const ApiError& err) {
    CHECK(err.status() == 400);
    return err.what();
  } catch (const wb::JsonFieldError& err) {  // answered 400 invalid_request by the daemon
    return err.what();
  }
  return "";
}

}  // namespace

TEST_CASE("serving units: OpenAI requests become plugin requests") {
  OpenAiRequest r = parse_openai_request(
      R"({"model":"a","prompt":["hi"],"max_tokens":5,"temperature":0.5,"top_p":0.9,"top_k":3,"seed":4,
          "stop":"\n","stream":true,"stream_options":{"include_usage":true},"n":1,"user":"u","adapter_scale":0.5,
          "logprobs":null,"presence_penalty":0})",
      Endpoint::Completions);
  CHECK(r.model == "a");
  CHECK(r.stream);
  CHECK(r.include_usage);
  CHECK(r.n == 1);
  CHECK(r.logprobs == -1);
  CHECK_FALSE(r.keep_alive_s);
  // n, logprobs (both shapes) and keep_alive reach the plugin request / the residency.
  OpenAiRequest m = parse_openai_request(R"({"model":"a","prompt":"x","n":3,"logprobs":2,"keep_alive":"5m"})",
                                         Endpoint::Completions);
  CHECK(m.plugin["n"] == 3);
  CHECK(m.plugin["logprobs"] == 2);
  CHECK(m.keep_alive_s == 300.0);
  // batch_invariant (extension) reaches the plugin request; a non-boolean is a 400 naming it.
  CHECK(parse_openai_request(R"({"model":"a","prompt":"x","batch_invariant":true})", Endpoint::Completions)
            .plugin["batch_invariant"] == true);
  CHECK(rejection({{"model", "a"}, {"prompt", "x"}, {"batch_invariant", "yes"}}, Endpoint::Completions)
            .find("batch_invariant") != std::string::npos);
  OpenAiRequest h = parse_openai_request(
      R"({"model":"a","messages":[{"role":"user","content":"u"}],"logprobs":true,"keep_alive":-1})", Endpoint::Chat);
  CHECK(h.plugin["logprobs"] == 0);
  CHECK(h.keep_alive_s == -1.0);
  CHECK(parse_openai_request(R"({"model":"a","messages":[{"role":"user","content":"u"}],"logprobs":true,"top_logprobs":5})",
                             Endpoint::Chat).plugin["logprobs"] == 5);
  CHECK_FALSE(parse_openai_request(R"({"model":"a","messages":[{"role":"user","content":"u"}],"logprobs":false})",
                                   Endpoint::Chat).plugin.contains("logprobs"));
  CHECK(r.plugin == json{{"prompt", "hi"}, {"max_tokens", 5}, {"temperature", 0.5}, {"top_p", 0.9}, {"top_k", 3},
                         {"seed", 4}, {"stop", {"\n"}}, {"adapter_scale", 0.5}});
  // Completions default to OpenAI's 16 tokens; chat leaves the length to the context.
  CHECK(parse_openai_request(R"({"model":"a","prompt":"x"})", Endpoint::Completions).plugin["max_tokens"] == 16);
  OpenAiRequest c = parse_openai_request(
      R"({"model":"a","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"u1"}]},
          {"role":"assistant","content":"a1"},{"role":"user","content":"u2","name":"bob"}],"max_completion_tokens":7})",
      Endpoint::Chat);
  CHECK(c.plugin["messages"].size() == 4);
  CHECK(c.plugin["messages"][1]["content"] == "u1");
  CHECK(c.plugin["max_tokens"] == 7);
  CHECK_FALSE(c.plugin.contains("name"));
}

TEST_CASE("serving units: OpenAI requests are refused naming the field") {
  const auto C = Endpoint::Completions, H = Endpoint::Chat;
  CHECK(rejection({{"model", "a"}, {"prompt", "x"}, {"n", 0}}, C).find("'n'") != std::string::npos);
  CHECK(rejection({{"model", "a"}, {"prompt", "x"}, {"frequency_penalty", 1}}, C).find("'frequency_penalty'") != std::string::npos);
  CHECK(rejection({{"model", "a"}, {"prompt", "x"}, {"messages", json::array()}}, C).find("'messages'") != std::string::npos);
  CHECK(rejection({{"model", "a"}, {"prompt", {1, 2}}}, C).find("'prompt'") != std::string::npos);
  CHECK(rejection({{"model", "a"}, {"prompt", "x"}, {"top_p", 0}}, C).find("'top_p'") != std::string::npos);
  CHECK(rejection({{"model", "a"}, {"prompt", "x"}, {"stream_options", {{"include_usage", true}}}}, C).find("'stream_options'") != std::string::npos);
  CHECK(rejection({{"model", 3}, {"prompt", "x"}}, C).find("'model'") != std::string::npos);
  CHECK(rejection({{"model", "a"}, {"prompt", "x"}}, H).find("'prompt'") != std::string::npos);
  CHECK(rejection({{"model", "a"}, {"messages", {{{"role", "user"}, {"content", "x"}}, {{"role", "user"}, {"content", "y"}}}}}, H)
            .find("messages[1].role") != std::string::npos);
  CHECK(rejection({{"model", "a"}, {"messages", {{{"role", "user"}, {"content", "x"}}, {{"role", "system"}, {"content", "y"}}}}}, H)
            .find("messages[1].role") != std::string::npos);
  CHECK(rejection({{"model", "a"}, {"messages", {{{"role", "user"}, {"content", "x"}}, {{"role", "assistant"}, {"content", "y"}}}}}, H)
            .find("last message") != std::string::npos);
  CHECK(rejection({{"model", "a"}, {"messages", {{{"role", "user"}, {"content", {{{"type", "image_url"}}}}}}}}, H)
            .find("content[0]") != std::string::npos);
  CHECK(rejection({{"model", "a"}, {"messages", {{{"role", "user"}, {"content", "x"}, {"tool_calls", 1}}}}}, H)
            .find("messages[0].tool_calls") != std::string::npos);
  CHECK(rejection({{"model", "a"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}, {"max_tokens", 1},
                   {"max_completion_tokens", 1}}, H).find("not both") != std::string::npos);
  CHECK(rejection(json::array(), C).find("object") != std::string::npos);
}

TEST_CASE("serving units: the SSE reader splits events in any piece size") {
  const std::string body = "data: {\"a\":1}\n\n: comment\r\nevent: x\r\ndata: two\r\ndata: lines\r\n\r\ndata: [DONE]\n\n";
  for (std::size_t piece : {1u, 2u, 7u, 1000u}) {
    std::vector<std::string> got;
    wb::cli::SseReader r([&](const std::string& d) {
      got.push_back(d);
      return d != "[DONE]";
    });
    for (std::size_t i = 0; i < body.size(); i += piece) r.feed(std::string_view(body).substr(i, piece));
    CHECK(got == std::vector<std::string>{"{\"a\":1}", "two\nlines", "[DONE]"});
    CHECK_FALSE(r.feed("data: more\n\n"));  // stopped
  }
}

TEST_CASE("serving units: token comparison and histograms") {
  CHECK(constant_time_equal("s3cret", "s3cret"));
  CHECK_FALSE(constant_time_equal("s3cre", "s3cret"));
  CHECK_FALSE(constant_time_equal("s3cret!", "s3cret"));
  CHECK_FALSE(constant_time_equal("", "s3cret"));
  CHECK_FALSE(constant_time_equal("S3cret", "s3cret"));
  Histogram h({0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  CHECK(h.render("x", "help") ==
        "# HELP x help\n# TYPE x histogram\nx_bucket{le=\"0.1\"} 1\nx_bucket{le=\"1\"} 2\nx_bucket{le=\"+Inf\"} 3\n"
        "x_sum 5.55\nx_count 3\n");
  json stats = {{"model", "m"}, {"running", 2}, {"queued", 1}, {"tokens_per_s", 10.5}, {"adapter_bytes", 100},
                {"adapters", {{{"name", "a"}, {"version", 3}, {"refs", 1}, {"resident", false}},
                              {{"name", "a"}, {"version", 4}, {"refs", 0}, {"resident", true}}}},
                {"metrics", {{"requests_rejected", 2}}}};
  std::string g = render_plugin_gauges(stats);
  CHECK(g.find("workbench_serving_adapters_resident 1\n") != std::string::npos);
  CHECK(g.find("workbench_serving_adapter_refs{adapter=\"a\",version=\"3\",resident=\"false\"} 1\n") != std::string::npos);
  CHECK(g.find("workbench_serving_running 2\n") != std::string::npos);
  CHECK(g.find("workbench_serving_rejected_total 2\n") != std::string::npos);
  CHECK(render_plugin_gauges({{"model", nullptr}}).find("workbench_serving_model_loaded 0\n") != std::string::npos);
}
