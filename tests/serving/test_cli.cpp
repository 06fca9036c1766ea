// wb serve / adapter / generate / chat against a real daemon: the streamed text equals the
// OpenAI route's answer, chat keeps the conversation, --json everywhere, errors exit 1.
#include <catch2/catch.hpp>

#include "harness.h"
#include "serving_fixture.h"

using namespace servingtest;

TEST_CASE("serving: wb serve, adapter, generate and chat") {
  ServingDaemon d;
  auto wb = [&](const std::vector<std::string>& args, const std::string& input = "") {
    return wbtest::wb(d.socket(), args, input);
  };
  auto r = wb({"generate", "hello"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("wb serve start") != std::string::npos);

  r = wb({"serve", "start", "--model", "tiny", "--device", "gpu"});
  CHECK(r.exit_code != 0);  // not one of cpu, cuda, auto: refused by the CLI
  CHECK(r.err.find("gpu") != std::string::npos);
  r = wb({"serve", "start", "--model", "tiny", "--max-batch", "4", "--device", "cpu"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("tiny") != std::string::npos);
  CHECK(r.out.find("cpu") != std::string::npos);  // the device line
  const fs::path a = d.write_adapter("a", 11);
  r = wb({"adapter", "load", "a", a.string(), "--scale", "0.5"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  r = wb({"--json", "serve", "status"});
  json st = json::parse(r.out);
  CHECK(st["model"] == "tiny");
  CHECK(st["adapters"][0]["name"] == "a");
  CHECK(st["adapters"][0]["scale"] == 0.5);
  r = wb({"adapter", "list"});
  CHECK(r.out.find("yes") != std::string::npos);

  // generate streams exactly what the route answers.
  Reply plain = d.complete({{"model", "a"}, {"prompt", "the cat"}, {"max_tokens", 10}, {"temperature", 0}});
  REQUIRE(plain.status == 200);
  r = wb({"generate", "--adapter", "a", "--max-tokens", "10", "--temperature", "0", "the cat"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == plain.body["choices"][0]["text"].get<std::string>() + "\n");
  r = wb({"--json", "generate", "--adapter", "a", "--max-tokens", "10", "--temperature", "0", "the cat"});
  CHECK(json::parse(r.out)["choices"][0]["text"] == plain.body["choices"][0]["text"]);

  // chat: two turns; the second request carries the first answer.
  json msgs = {{{"role", "system"}, {"content", "be brief"}}, {{"role", "user"}, {"content", "hello"}}};
  auto chat = [&](const json& m) {
    Reply c = d.chat({{"model", "a"}, {"messages", m}, {"max_tokens", 6}, {"temperature", 0}});
    REQUIRE(c.status == 200);
    return c.body["choices"][0]["message"]["content"].get<std::string>();
  };
  const std::string first = chat(msgs);
  msgs.push_back({{"role", "assistant"}, {"content", first}});
  msgs.push_back({{"role", "user"}, {"content", "and then"}});
  const std::string second = chat(msgs);
  r = wb({"chat", "--adapter", "a", "--system", "be brief", "--max-tokens", "6", "--temperature", "0"},
         "hello\nand then\n/exit\n");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // An empty answer is said as such rather than left as a blank line.
  auto shown = [](const std::string& a) { return a.empty() ? "(empty answer: the model stopped at once, finish_reason stop)" : a; };
  CHECK(r.out == shown(first) + "\n" + shown(second) + "\n");

  // wb status sums the serving block up in words.
  r = wb({"status"});
  INFO(r.out);
  CHECK(r.out.find("\nserving:  model tiny on cpu, 1 adapter, 0 running, 0 queued\n") != std::string::npos);

  r = wb({"generate", "--adapter", "ghost", "x"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("unknown adapter 'ghost'") != std::string::npos);
  r = wb({"adapter", "unload", "a"});
  CHECK(r.exit_code == 0);
  r = wb({"generate", "--adapter", "a", "x"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("adapter 'a' is not loaded; load it with `wb adapter load a`") != std::string::npos);
  r = wb({"--json", "adapter", "list"});
  CHECK(json::parse(r.out)["adapters"][0]["loaded"] == false);
  r = wb({"serve", "stop"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "stopped serving tiny\n");
  r = wb({"serve", "status"});
  CHECK(r.out.find("no model is being served") != std::string::npos);
}

TEST_CASE("serving: batch invariance from [serving], wb serve start and the route's body") {
  ServingDaemon d("[serving]\nbatch_invariant = true\n");
  auto wb = [&](const std::vector<std::string>& args) { return wbtest::wb(d.socket(), args); };
  auto started = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"--json", "serve", "start", "--model", "tiny", "--device", "cpu"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = wb(args);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out);
  };
  { const json st0 = started({}); INFO(st0.dump()); CHECK(st0["batch_invariant"] == true); }  // the config's setting
  CHECK(started({"--no-batch-invariant"})["batch_invariant"] == false);
  CHECK(started({"--batch-invariant"})["batch_invariant"] == true);
  auto r = wb({"serve", "status"});
  CHECK(r.out.find("batch invariant") != std::string::npos);

  // A bad value is refused naming the field; the served model stays as it was.
  Reply bad = d.post("/v1/serving", {{"model", "tiny"}, {"batch_invariant", "yes"}});
  CHECK(bad.status == 400);
  CHECK(bad.body.dump().find("batch_invariant") != std::string::npos);
  CHECK(d.stats()["batch_invariant"] == true);
  Reply off = d.post("/v1/serving", {{"model", "tiny"}, {"batch_invariant", false}});
  REQUIRE(off.status == 200);
  CHECK(off.body["batch_invariant"] == false);
  // Served either way: a greedy completion answers.
  Reply c = d.complete({{"model", "tiny"}, {"prompt", "the cat"}, {"max_tokens", 4}, {"temperature", 0}});
  CHECK(c.status == 200);
}
