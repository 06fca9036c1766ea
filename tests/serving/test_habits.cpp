// OpenAI habits against the real daemon + serve plugin: stream_options.include_usage, logprobs
// (chat and completions shapes, streamed and not; values checked against the engine's own log
// softmax computed here), and n > 1 (choices share one prefill: the plugin's prefill counter).
#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "serving_fixture.h"
#include "wb/llama/batch.h"
#include "wb/llama/chat_template.h"
#include "wb/llama/forward.h"
#include "wb/llama/model_io.h"
#include "wb/llama/tokenizer.h"

using namespace servingtest;
namespace ll = wb::llama;

namespace {

// The engine's next-token distribution after `ids`: log softmax of the full forward's last row.
std::vector<double> next_log_probs(const ll::Model<float>& m, const std::vector<int32_t>& ids) {
  ll::Workspace<float> ws;
  ll::forward(m, ll::Batch::pack({ids}), ws, ll::ForwardOptions{});
  const auto V = static_cast<std::size_t>(m.config.vocab_size);
  const float* row = ws.logits.data() + (ids.size() - 1) * V;
  double mx = row[0];
  for (std::size_t i = 0; i < V; ++i) mx = std::max(mx, double(row[i]));
  double sum = 0;
  for (std::size_t i = 0; i < V; ++i) sum += std::exp(double(row[i]) - mx);
  std::vector<double> out(V);
  for (std::size_t i = 0; i < V; ++i) out[i] = double(row[i]) - mx - std::log(sum);
  return out;
}

int32_t best(const std::vector<double>& lp) {
  return int32_t(std::max_element(lp.begin(), lp.end()) - lp.begin());
}

// The token's text as the tokenizer's piece says it ("▁" is a space); empty for control tokens.
std::string piece_text(const ll::Tokenizer& tok, int32_t id) {
  if (tok.is_control(id)) return "";
  if (tok.is_byte(id)) return std::string(1, char(tok.byte_value(id)));
  std::string p = tok.id_to_piece(id), out;
  for (std::size_t i = 0; i < p.size();) {
    if (p.compare(i, 3, "\xE2\x96\x81") == 0) {
      out += ' ';
      i += 3;
    } else {
      out += p[i++];
    }
  }
  return out;
}

// The token's text as JSON shows it: a byte piece above 0x7F alone is not UTF-8 (U+FFFD).
std::string shown_text(const ll::Tokenizer& tok, int32_t id) {
  if (tok.is_byte(id) && tok.byte_value(id) >= 0x80) return "\xEF\xBF\xBD";
  return piece_text(tok, id);
}

Sse chat_stream(ServingDaemon& d, json body) {
  body["stream"] = true;
  auto r = wbtest::http(d.socket(), "POST", "/v1/chat/completions", body.dump());
  REQUIRE(r.status == 200);
  return parse_sse(r.body);
}

}  // namespace

TEST_CASE("serving: stream_options.include_usage adds a last chunk with usage and no choices") {
  ServingDaemon d;
  d.serve();
  json req = {{"model", "tiny"}, {"prompt", "the cat sat on"}, {"max_tokens", 5}, {"temperature", 0}};
  Reply plain = d.complete(req);
  REQUIRE(plain.status == 200);
  req["stream_options"] = {{"include_usage", true}};
  Sse s = d.complete_stream(req);
  REQUIRE(s.done);
  REQUIRE(s.events.size() >= 2);
  const json& last = s.events.back();
  CHECK(last["choices"] == json::array());
  CHECK(last["usage"] == plain.body["usage"]);
  for (std::size_t i = 0; i + 1 < s.events.size(); ++i) {
    CHECK(s.events[i]["usage"].is_null());  // as OpenAI: null on every other chunk
    CHECK(s.events[i]["choices"].size() == 1);
  }
  CHECK(s.text() == plain.body["choices"][0]["text"].get<std::string>());
  // include_usage false: no usage at all.
  req["stream_options"] = {{"include_usage", false}};
  for (const json& e : d.complete_stream(req).events) CHECK_FALSE(e.contains("usage"));
  // Chat: the same.
  json chat = {{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", "hello world"}}}}, {"max_tokens", 4},
               {"temperature", 0}, {"stream_options", {{"include_usage", true}}}};
  Sse cs = chat_stream(d, chat);
  CHECK(cs.events.back()["choices"] == json::array());
  CHECK(cs.events.back()["usage"]["completion_tokens"].get<int>() >= 1);
}

TEST_CASE("serving: logprobs are the engine's log softmax, chat and completions, streamed and not") {
  ServingDaemon d;
  d.serve();
  const fs::path dir = d.get("/v1/models/tiny").body["path"].get<std::string>();
  const auto model = ll::load_model<float>(dir);
  const ll::Tokenizer tok(dir / "tokenizer.model");

  // Completions (legacy shape): greedy, so the test can follow the same path with its forward.
  json req = {{"model", "tiny"}, {"prompt", "the cat sat on"}, {"max_tokens", 6}, {"temperature", 0},
              {"ignore_eos", true}, {"logprobs", 3}};
  Reply r = d.complete(req);
  INFO(r.text);
  REQUIRE(r.status == 200);
  const json lp = r.body["choices"][0]["logprobs"];
  REQUIRE(lp["tokens"].size() == 6);
  REQUIRE(lp["token_logprobs"].size() == 6);
  REQUIRE(lp["top_logprobs"].size() == 6);
  REQUIRE(lp["text_offset"].size() == 6);
  std::vector<int32_t> ids = tok.encode("the cat sat on", /*add_bos=*/true);
  std::size_t offset = 0;
  for (std::size_t i = 0; i < 6; ++i) {
    const auto want = next_log_probs(model, ids);
    const int32_t t = best(want);
    CHECK(lp["token_logprobs"][i].get<double>() == Approx(want[size_t(t)]).margin(1e-4));
    CHECK(lp["tokens"][i] == shown_text(tok, t));
    CHECK(lp["top_logprobs"][i].size() <= 3);
    CHECK(lp["top_logprobs"][i].contains(shown_text(tok, t)));
    for (auto& [text, v] : lp["top_logprobs"][i].items()) CHECK(v.get<double>() <= want[size_t(t)] + 1e-4);
    CHECK(lp["text_offset"][i].get<std::size_t>() >= offset);
    offset = lp["text_offset"][i].get<std::size_t>();
    ids.push_back(t);
  }
  // Streamed: the same values, one token per chunk.
  Sse s = d.complete_stream(req);
  json streamed = json::array();
  for (const json& e : s.events)
    if (!e["choices"].empty() && e["choices"][0]["logprobs"].is_object())
      for (const json& v : e["choices"][0]["logprobs"]["token_logprobs"]) streamed.push_back(v);
  CHECK(streamed == lp["token_logprobs"]);

  // Chat (OpenAI's content[] shape), top_logprobs 2.
  json chat = {{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", "hello world"}}}}, {"max_tokens", 4},
               {"temperature", 0}, {"ignore_eos", true}, {"logprobs", true}, {"top_logprobs", 2}};
  Reply c = d.chat(chat);
  INFO(c.text);
  REQUIRE(c.status == 200);
  const json content = c.body["choices"][0]["logprobs"]["content"];
  REQUIRE(content.size() == 4);
  const std::vector<ll::ChatMessage> msgs = {{"user", "hello world"}};
  std::vector<int32_t> cids = ll::render_llama2_chat(tok, msgs).ids;
  for (std::size_t i = 0; i < 4; ++i) {
    const auto want = next_log_probs(model, cids);
    const int32_t t = best(want);
    const json& e = content[i];
    CHECK(e["logprob"].get<double>() == Approx(want[size_t(t)]).margin(1e-4));
    CHECK(e["token"] == shown_text(tok, t));
    json bytes = json::array();
    for (unsigned char ch : piece_text(tok, t)) bytes.push_back(int(ch));
    CHECK(e["bytes"] == bytes);
    REQUIRE(e["top_logprobs"].size() == 2);
    CHECK(e["top_logprobs"][0]["logprob"].get<double>() == Approx(want[size_t(t)]).margin(1e-4));
    CHECK(e["top_logprobs"][1]["logprob"].get<double>() <= e["top_logprobs"][0]["logprob"].get<double>());
    cids.push_back(t);
  }
  Sse cs = chat_stream(d, chat);
  json sc = json::array();
  for (const json& e : cs.events)
    if (!e["choices"].empty() && e["choices"][0]["logprobs"].is_object())
      for (const json& v : e["choices"][0]["logprobs"]["content"]) sc.push_back(v);
  CHECK(sc == content);
  // Without logprobs: null, as OpenAI.
  chat.erase("logprobs");
  chat.erase("top_logprobs");
  CHECK(d.chat(chat).body["choices"][0]["logprobs"].is_null());
}

TEST_CASE("serving: n choices share one prefill, streamed and not, greedy choices agree") {
  ServingDaemon d;
  d.serve({{"max_batch", 4}});
  auto metric = [&](const char* name) { return d.stats()["metrics"][name].get<std::int64_t>(); };

  json greedy = {{"model", "tiny"}, {"prompt", "the cat sat on the mat"}, {"max_tokens", 6}, {"temperature", 0}};
  Reply one = d.complete(greedy);
  REQUIRE(one.status == 200);
  const auto prompt_tokens = one.body["usage"]["prompt_tokens"].get<std::int64_t>();

  const auto prefill0 = metric("prefill_tokens_total"), forked0 = metric("forked_sequences_total");
  greedy["n"] = 3;
  Reply three = d.complete(greedy);
  INFO(three.text);
  REQUIRE(three.status == 200);
  REQUIRE(three.body["choices"].size() == 3);
  std::int64_t completion = 0;
  for (int i = 0; i < 3; ++i) {
    const json& c = three.body["choices"][i];
    CHECK(c["index"] == i);
    CHECK(c["text"] == one.body["choices"][0]["text"]);  // greedy: every choice is the same answer
    CHECK(c["finish_reason"] == one.body["choices"][0]["finish_reason"]);
  }
  completion = one.body["usage"]["completion_tokens"].get<std::int64_t>() * 3;
  CHECK(three.body["usage"]["prompt_tokens"] == prompt_tokens);  // the prompt counts once
  CHECK(three.body["usage"]["completion_tokens"] == completion);
  // The prompt went through the model once; the other two choices are copies of its cache.
  CHECK(metric("prefill_tokens_total") - prefill0 == prompt_tokens);
  CHECK(metric("forked_sequences_total") - forked0 == 2);

  // Sampled: choice 0 is the n = 1 answer for the seed; the choices differ from one another.
  json sampled = {{"model", "tiny"}, {"prompt", "the cat"}, {"max_tokens", 8}, {"temperature", 1.5}, {"seed", 3}};
  const std::string alone = d.complete(sampled).body["choices"][0]["text"];
  sampled["n"] = 3;
  Reply many = d.complete(sampled);
  REQUIRE(many.status == 200);
  CHECK(many.body["choices"][0]["text"] == alone);
  std::set<std::string> texts;
  for (const json& c : many.body["choices"]) texts.insert(c["text"].get<std::string>());
  CHECK(texts.size() > 1);

  // Streamed: chunks of both indexes, a finish chunk each, texts equal to the plain answer.
  json st = {{"model", "tiny"}, {"prompt", "the cat sat on the mat"}, {"max_tokens", 6}, {"temperature", 0}, {"n", 2}};
  Sse s = d.complete_stream(st);
  REQUIRE(s.done);
  std::map<int, std::string> by_index;
  std::map<int, std::string> finish;
  for (const json& e : s.events)
    for (const json& c : e["choices"]) {
      by_index[c["index"].get<int>()] += c["text"].get<std::string>();
      if (c["finish_reason"].is_string()) finish[c["index"].get<int>()] = c["finish_reason"];
    }
  CHECK(by_index.size() == 2);
  CHECK(by_index[0] == one.body["choices"][0]["text"].get<std::string>());
  CHECK(by_index[1] == by_index[0]);
  CHECK(finish.size() == 2);

  // Chat, n = 2: two assistant messages; streamed, each index's first delta has the role.
  json chat = {{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", "hello"}}}}, {"max_tokens", 3},
               {"temperature", 0}, {"n", 2}};
  Reply c = d.chat(chat);
  REQUIRE(c.status == 200);
  REQUIRE(c.body["choices"].size() == 2);
  CHECK(c.body["choices"][1]["message"] == c.body["choices"][0]["message"]);
  Sse cs = chat_stream(d, chat);
  std::set<int> roles;
  for (const json& e : cs.events)
    for (const json& ch : e["choices"])
      if (ch["delta"].contains("role")) roles.insert(ch["index"].get<int>());
  CHECK(roles == std::set<int>{0, 1});

  // n over max_batch is refused naming the field; the cap of the daemon too.
  Reply big = d.complete({{"model", "tiny"}, {"prompt", "x"}, {"n", 5}});
  CHECK(big.status == 400);
  CHECK(big.text.find("is 5, more than max_batch (4)") != std::string::npos);
}
