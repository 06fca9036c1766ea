// The OpenAI routes against the real daemon + serve plugin: completions and chat (plain and
// streamed), model = base or adapter, usage and finish_reason, validation errors, unknown
// models, 503 before a model is served, 429 when the queue is full, /v1/models and /metrics.
#include <catch2/catch.hpp>

#include <thread>

#include "serving_fixture.h"

using namespace servingtest;

TEST_CASE("serving: completions and chat, plain and streamed, base and adapter") {
  ServingDaemon d;
  // Nothing served yet: a clear 503.
  Reply none = d.complete({{"model", "tiny"}, {"prompt", "hello"}});
  CHECK(none.status == 503);
  CHECK(none.text.find("wb serve start") != std::string::npos);

  json st = d.serve({{"max_batch", 4}});
  CHECK(st["model"] == "tiny");
  CHECK(st["serving"] == true);

  json req = {{"model", "tiny"}, {"prompt", "the cat sat on"}, {"max_tokens", 6}, {"temperature", 0}};
  Reply plain = d.complete(req);
  INFO(plain.text);
  REQUIRE(plain.status == 200);
  CHECK(plain.body["object"] == "text_completion");
  CHECK(plain.body["model"] == "tiny");
  CHECK(plain.body["id"].get<std::string>().rfind("cmpl-", 0) == 0);
  CHECK(plain.body["created"].is_number_integer());
  const json& choice = plain.body["choices"][0];
  CHECK((choice["finish_reason"] == "length" || choice["finish_reason"] == "stop"));
  const json& usage = plain.body["usage"];
  CHECK(usage["prompt_tokens"].get<int>() > 0);
  CHECK(usage["completion_tokens"].get<int>() <= 6);
  CHECK(usage["total_tokens"] == usage["prompt_tokens"].get<int>() + usage["completion_tokens"].get<int>());

  // Streaming gives the same greedy text, in SSE chunks ending with [DONE]; no usage unless asked.
  int status = 0;
  Sse s = d.complete_stream(req, &status);
  REQUIRE(status == 200);
  CHECK(s.done);
  CHECK(s.text() == choice["text"].get<std::string>());
  CHECK(s.finish_reason() == choice["finish_reason"].get<std::string>());
  REQUIRE(!s.events.empty());
  for (const json& e : s.events) CHECK_FALSE(e.contains("usage"));
  CHECK(s.events.front()["object"] == "text_completion");

  // An adapter changes the greedy output; model = adapter name.
  REQUIRE(d.load_adapter("a", d.write_adapter("a", 11)).status == 200);
  json areq = req;
  areq["model"] = "a";
  areq["max_tokens"] = 12;
  json breq = req;
  breq["max_tokens"] = 12;
  Reply with_a = d.complete(areq);
  Reply base = d.complete(breq);
  REQUIRE(with_a.status == 200);
  CHECK(with_a.body["model"] == "a");
  CHECK(with_a.body["choices"][0]["text"] != base.body["choices"][0]["text"]);
  // adapter_scale 0 turns the adapter off: the base model's output.
  areq["adapter_scale"] = 0;
  Reply scaled = d.complete(areq);
  REQUIRE(scaled.status == 200);
  CHECK(scaled.body["choices"][0]["text"] == base.body["choices"][0]["text"]);

  // Chat: Llama 2 template, message answer, and the streamed deltas.
  json chat = {{"model", "a"},
               {"messages", {{{"role", "system"}, {"content", "be brief"}}, {{"role", "user"}, {"content", "hello world"}}}},
               {"max_tokens", 8},
               {"temperature", 0}};
  Reply c = d.chat(chat);
  INFO(c.text);
  REQUIRE(c.status == 200);
  CHECK(c.body["object"] == "chat.completion");
  CHECK(c.body["choices"][0]["message"]["role"] == "assistant");
  CHECK(c.body["id"].get<std::string>().rfind("chatcmpl-", 0) == 0);
  chat["stream"] = true;
  auto raw = wbtest::http(d.socket(), "POST", "/v1/chat/completions", chat.dump());
  REQUIRE(raw.status == 200);
  CHECK(raw.headers["content-type"] == "text/event-stream");
  Sse cs = parse_sse(raw.body);
  CHECK(cs.done);
  CHECK(cs.events.front()["object"] == "chat.completion.chunk");
  CHECK(cs.events.front()["choices"][0]["delta"]["role"] == "assistant");
  CHECK(cs.text() == c.body["choices"][0]["message"]["content"].get<std::string>());

  // Seeded sampling is reproducible.
  json sampled = {{"model", "tiny"}, {"prompt", "hello"}, {"max_tokens", 8}, {"temperature", 0.9}, {"top_p", 0.95},
                  {"top_k", 40}, {"seed", 7}};
  CHECK(d.complete(sampled).body["choices"][0]["text"] == d.complete(sampled).body["choices"][0]["text"]);

  // /v1/models lists what a request may name (OpenAI shape) beside the registry.
  Reply models = d.get("/v1/models");
  CHECK(models.body["object"] == "list");
  std::vector<std::string> ids;
  for (auto& m : models.body["data"]) ids.push_back(m["id"]);
  CHECK(ids == std::vector<std::string>{"tiny", "a"});
  CHECK(models.body["models"][0]["name"] == "tiny");
}

TEST_CASE("serving: bad requests get clear 400s and unknown names 404") {
  ServingDaemon d;
  d.serve();
  auto expect = [&](const json& body, int code, const std::string& needle, bool chat = false) {
    Reply r = chat ? d.chat(body) : d.complete(body);
    INFO(body.dump() << " -> " << r.text);
    CHECK(r.status == code);
    CHECK(r.text.find(needle) != std::string::npos);
  };
  expect({{"model", "nope"}, {"prompt", "x"}}, 404, "nope");
  expect({{"prompt", "x"}}, 400, "'model'");
  expect({{"model", "tiny"}}, 400, "'prompt'");
  expect({{"model", "tiny"}, {"prompt", "x"}, {"n", 0}}, 400, "'n'");
  expect({{"model", "tiny"}, {"prompt", "x"}, {"n", 129}}, 400, "'n'");
  expect({{"model", "tiny"}, {"prompt", "x"}, {"n", 9}}, 400, "is 9, more than max_batch (8)");
  expect({{"model", "tiny"}, {"prompt", "x"}, {"logprobs", 21}}, 400, "'logprobs'");
  expect({{"model", "tiny"}, {"prompt", "x"}, {"logprobs", true}}, 400, "'logprobs'");
  expect({{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}, {"top_logprobs", 2}}, 400,
         "'top_logprobs': needs", true);
  expect({{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}, {"logprobs", true},
          {"top_logprobs", 21}}, 400, "'top_logprobs'", true);
  expect({{"model", "tiny"}, {"prompt", "x"}, {"keep_alive", "5 parsecs"}}, 400, "'keep_alive'");
  expect({{"model", "tiny"}, {"prompt", "x"}, {"presence_penalty", 0.5}}, 400, "presence_penalty");
  expect({{"model", "tiny"}, {"prompt", "x"}, {"bogus", 1}}, 400, "'bogus'");
  expect({{"model", "tiny"}, {"prompt", "x"}, {"temperature", "hot"}}, 400, "'temperature'");
  expect({{"model", "tiny"}, {"prompt", "x"}, {"max_tokens", 0}}, 400, "'max_tokens'");
  expect({{"model", "tiny"}, {"prompt", "x"}, {"stop", {"a", "b", "c", "d", "e"}}}, 400, "'stop'");
  expect({{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}}, 400, "'messages'");
  expect({{"model", "tiny"}, {"messages", json::array()}}, 400, "'messages'", true);
  expect({{"model", "tiny"}, {"messages", {{{"role", "assistant"}, {"content", "x"}}}}}, 400, "messages[0].role", true);
  expect({{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}, {"tools", json::array()}}, 400,
         "tool calls", true);
  // Harmless OpenAI defaults are accepted.
  Reply ok = d.complete({{"model", "tiny"}, {"prompt", "x"}, {"max_tokens", 2}, {"n", 1}, {"user", "u"},
                         {"presence_penalty", 0}, {"frequency_penalty", 0}, {"logprobs", nullptr}, {"echo", false}});
  CHECK(ok.status == 200);
  Reply bad_json = wbtest::to_reply(wbtest::http(d.socket(), "POST", "/v1/completions", "{\"model\":"));
  CHECK(bad_json.status == 400);
  CHECK(bad_json.body["error"]["code"] == "invalid_json");

  // Adapters: unknown name without a path, missing folder, wrong shapes; unload of an unknown one.
  Reply r = d.load_adapter("ghost");
  CHECK(r.status == 404);
  CHECK(r.text.find("ghost") != std::string::npos);
  r = d.load_adapter("ghost", d.dir() / "no-such-dir");
  CHECK(r.status == 400);
  CHECK(d.post("/v1/adapters/ghost/unload", json::object()).status == 404);
  CHECK(d.post("/v1/adapters/x/load", {{"path", "relative/dir"}}).status == 400);
  CHECK(d.post("/v1/adapters/x/load", {{"pathh", "/tmp"}}).status == 400);
  CHECK(d.get("/v1/adapters").body["adapters"].empty());  // nothing half-registered
  CHECK(d.post("/v1/serving", {{"model", "missing"}}).status == 404);
  CHECK(d.post("/v1/serving", {{"model", "tiny"}, {"max_batch", 0}}).status == 400);

  // The device: a bad value or type is a 400 naming the field, and the resident model stays.
  Reply bad_device = d.post("/v1/serving", {{"model", "tiny"}, {"device", "gpu"}});
  CHECK(bad_device.status == 400);
  CHECK(bad_device.text.find("device") != std::string::npos);
  CHECK(d.post("/v1/serving", {{"model", "tiny"}, {"device", 1}}).status == 400);
  CHECK(d.post("/v1/serving", {{"model", "tiny"}, {"gpu_dtype", "fp8"}}).status == 400);
  CHECK(d.get("/v1/serving").body["serving"] == true);
  // "cuda" serves on the GPU where one answers, else it is refused with the reason.
  Reply cuda = d.post("/v1/serving", {{"model", "tiny"}, {"device", "cuda"}});
  if (cuda.status == 200) {
    CHECK(cuda.body["device"] == "cuda");
  } else {
    CHECK(cuda.status == 400);
    CHECK(cuda.text.find("device") != std::string::npos);
    CHECK(d.get("/v1/serving").body["device"] == "cpu");
  }
  Reply cpu = d.post("/v1/serving", {{"model", "tiny"}, {"device", "cpu"}});
  CHECK(cpu.status == 200);
  CHECK(cpu.body["device"] == "cpu");
}

TEST_CASE("serving: a full queue answers 429 with Retry-After, /metrics counts requests") {
  ServingDaemon d;
  d.serve({{"max_batch", 1}, {"max_queue", 1}});
  // Eight long requests at once against one batch slot and one queue place: some are refused
  // at once with 429 and Retry-After, the others run to their length.
  json longreq = {{"model", "tiny"}, {"prompt", "once upon a time"}, {"max_tokens", 240}, {"temperature", 0.8},
                  {"seed", 1}, {"stream", true}, {"ignore_eos", true}};
  constexpr int kClients = 8;
  std::vector<wbtest::HttpResult> results(kClients);
  std::vector<std::thread> bg;
  for (int i = 0; i < kClients; ++i)
    bg.emplace_back([&, i] { results[i] = wbtest::http(d.socket(), "POST", "/v1/completions", longreq.dump()); });
  for (auto& t : bg) t.join();
  int ok = 0, busy = 0;
  for (auto& r : results) {
    INFO(r.status << " " << r.body.substr(0, 200));
    if (r.status == 200) {
      ++ok;
      Sse s = parse_sse(r.body);
      CHECK(s.done);
      CHECK(s.finish_reason() == "length");
    } else {
      ++busy;
      CHECK(r.status == 429);
      CHECK(r.headers["retry-after"] == "1");
      CHECK(r.body.find("queue_full") != std::string::npos);
    }
  }
  CHECK(ok >= 1);
  CHECK(busy >= 1);

  auto metrics = wbtest::http(d.socket(), "GET", "/metrics");
  REQUIRE(metrics.status == 200);
  const std::string& m = metrics.body;
  INFO(m);
  auto has = [&](const std::string& line) { return m.find(line + "\n") != std::string::npos; };
  CHECK(has("workbench_serving_requests_total{endpoint=\"completions\",finish_reason=\"length\"} " + std::to_string(ok)));
  CHECK(has("workbench_serving_completion_tokens_total " + std::to_string(240 * ok)));
  CHECK(has("workbench_serving_request_duration_seconds_count " + std::to_string(ok)));
  CHECK(has("workbench_serving_time_to_first_token_seconds_bucket{le=\"+Inf\"} " + std::to_string(ok)));
  CHECK(has("workbench_serving_model_loaded 1"));
  CHECK(has("workbench_serving_adapters_resident 0"));
  CHECK(has("workbench_serving_rejected_total " + std::to_string(busy)));
  CHECK(has("workbench_http_requests_total{route=\"/v1/completions\",status=\"429\"} " + std::to_string(busy)));
}

TEST_CASE("serving: [serving] model in the config is loaded at start") {
  ServingDaemon d("[serving]\nmodel = \"tiny\"\nmax_batch = 3\n");
  // The first start came before "tiny" was registered: logged, and the daemon kept serving.
  CHECK(d.process.log_text().find("serving.model 'tiny' was not loaded") != std::string::npos);
  CHECK(d.stats()["serving"] == false);
  REQUIRE(d.process.terminate() == 0);
  d.process.start();
  json st = d.stats();
  CHECK(st["serving"] == true);
  CHECK(st["model"] == "tiny");
  CHECK(st["max_batch"] == 3);
}
