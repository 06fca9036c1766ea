// Text in and out (a model directory with the Llama 2 tokenizer.model): text prompts, chat
// messages through the Llama 2 template, streamed text that concatenates to the decoded tokens,
// and stop strings that cut the text (also across token boundaries).
#include <catch2/catch.hpp>

#include "engine.h"
#include "wb/plugin/error.h"
#include "serve_fixture.h"
#include "wb/llama/chat_template.h"
#include "wb/llama/tokenizer.h"
#include "wb_skip.h"

using namespace servetest;
using wb::serve::Engine;
using wb::serve::ModelOptions;

namespace {

const fs::path kTokenizer = fs::path(WB_SOURCE_DIR) / ".." / "shared" / "assets" / "llama2-tokenizer" / "tokenizer.model";

uint64_t submit(Engine& e, Collector& c, const json& req) {
  return e.submit(req, [&c](const std::string& ev) { return c.on_event(ev); });
}

}  // namespace

TEST_CASE("text prompts, chat messages and stop strings") {
  if (!fs::exists(kTokenizer)) WB_SKIP("the Llama 2 tokenizer asset is missing");
  TempDir dir("wb-serve-text");
  const auto config = tiny_config(32000);
  write_model(dir / "model", config, 21);
  fs::copy_file(kTokenizer, dir / "model" / "tokenizer.model");
  Engine e(ModelOptions::from_json({{"name", "tiny"}, {"path", (dir / "model").string()}}));
  const wb::llama::Tokenizer tok(kTokenizer);

  // The streamed text is exactly the decoded tokens.
  Collector plain;
  submit(e, plain, {{"prompt", "Once upon a time"}, {"temperature", 0}, {"max_tokens", 24}, {"ignore_eos", true}});
  const json done = plain.wait();
  REQUIRE(done["finish_reason"] == "length");
  CHECK(done["usage"]["prompt_tokens"] == tok.encode("Once upon a time", true).size());
  REQUIRE(plain.tokens.size() == 24);
  const std::string full = tok.decode(plain.tokens);
  CHECK(plain.text() == full);

  // A stop string taken from the middle of that output: the text ends right before it.
  size_t cut = full.size() / 2;  // three ASCII bytes there (whole characters)
  auto ascii = [&](size_t i) { return i + 3 <= full.size() && (full[i] & 0x80) == 0 && (full[i + 1] & 0x80) == 0 && (full[i + 2] & 0x80) == 0; };
  while (cut < full.size() && !ascii(cut)) ++cut;
  REQUIRE(cut < full.size());
  const std::string stop = full.substr(cut, 3);
  const size_t first = full.find(stop);
  Collector stopped;
  submit(e, stopped, {{"prompt", "Once upon a time"}, {"temperature", 0}, {"max_tokens", 24}, {"ignore_eos", true},
                      {"stop", {"\x01never", stop}}});
  CHECK(stopped.wait()["finish_reason"] == "stop");
  CHECK(stopped.text() == full.substr(0, first));

  // Chat messages are rendered with the Llama 2 template.
  const std::vector<wb::llama::ChatMessage> msgs = {{"system", "Be brief."}, {"user", "Hi there"}};
  Collector chat;
  submit(e, chat, {{"messages", {{{"role", "system"}, {"content", "Be brief."}}, {{"role", "user"}, {"content", "Hi there"}}}},
                   {"max_tokens", 4}, {"seed", 1}});
  CHECK(chat.wait()["usage"]["prompt_tokens"] == wb::llama::render_llama2_chat(tok, msgs).ids.size());
  try {
    e.submit({{"messages", {{{"role", "assistant"}, {"content", "x"}}}}}, [](const std::string&) { return true; });
    FAIL("a dialog starting with the assistant was accepted");
  } catch (const wb::plugin::PluginError& err) {
    CHECK(err.status() == WB_INVALID);
  }
}
