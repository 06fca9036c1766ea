#include "serving_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "wb/llama/adapter_io.h"
#include "wb/llama/lora.h"
#include "wb/llama/model.h"
#include "wb/llama/model_io.h"
#include "wb/llama/sp_trainer.h"
#include "wb/llama/weights.h"

namespace servingtest {

fs::path serving_plugin_dir() { return fs::path(WB_SERVING_TEST_PLUGIN_DIR); }

// ---- SSE -----------------------------------------------------------------------------------

Sse parse_sse(const std::string& body) {
  Sse s;
  std::size_t i = 0;
  while (i < body.size()) {
    std::size_t nl = body.find('\n', i);
    if (nl == std::string::npos) nl = body.size();
    std::string line = body.substr(i, nl - i);
    i = nl + 1;
    if (line.rfind("data: ", 0) != 0) continue;
    std::string data = line.substr(6);
    if (data == "[DONE]") {
      s.done = true;
      continue;
    }
    s.events.push_back(json::parse(data));
  }
  return s;
}

std::string Sse::text() const {
  std::string t;
  for (auto& e : events) {
    if (!e.contains("choices") || e["choices"].empty()) continue;
    const json& c = e["choices"][0];
    if (c.contains("text")) t += c["text"].get<std::string>();
    if (c.contains("delta") && c["delta"].contains("content")) t += c["delta"]["content"].get<std::string>();
  }
  return t;
}

std::string Sse::finish_reason() const {
  std::string r;
  for (auto& e : events)
    if (e.contains("choices") && !e["choices"].empty() && e["choices"][0]["finish_reason"].is_string())
      r = e["choices"][0]["finish_reason"].get<std::string>();
  return r;
}

// ---- raw HTTP ------------------------------------------------------------------------------

std::string http_request(const std::string& method, const std::string& target, const std::string& body,
                         const std::vector<std::string>& headers) {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (auto& h : headers) r += h + "\r\n";
  if (!body.empty() || method == "POST")
    r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + body;
}

namespace {

std::string dechunk(const std::string& in) {
  std::string out;
  std::size_t i = 0;
  while (i < in.size()) {
    std::size_t crlf = in.find("\r\n", i);
    if (crlf == std::string::npos) break;
    std::size_t n = std::stoul(in.substr(i, crlf - i), nullptr, 16);
    if (n == 0) break;
    out += in.substr(crlf + 2, n);
    i = crlf + 2 + n + 2;
  }
  return out;
}

}  // namespace

wbtest::HttpResult tcp_exchange(std::uint16_t port, const std::string& bytes, const std::string& host) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    ::close(fd);
    throw std::runtime_error("not an IPv4 address: " + host);
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    int e = errno;
    ::close(fd);
    throw std::runtime_error("connect " + host + ":" + std::to_string(port) + ": " + std::strerror(e));
  }
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  std::string all;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    all.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  wbtest::HttpResult r;
  std::size_t end = all.find("\r\n\r\n");
  if (end == std::string::npos) throw std::runtime_error("no HTTP response from the TCP listener: '" + all + "'");
  std::string head = all.substr(0, end);
  r.status = std::stoi(head.substr(9, 3));
  std::size_t i = head.find("\r\n");
  while (i != std::string::npos && i < head.size()) {
    std::size_t next = head.find("\r\n", i + 2);
    std::string line = head.substr(i + 2, next == std::string::npos ? std::string::npos : next - i - 2);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string k = line.substr(0, colon);
      for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      r.headers[k] = v;
    }
    i = next;
  }
  r.chunked = r.headers["transfer-encoding"] == "chunked";
  r.body = r.chunked ? dechunk(all.substr(end + 4)) : all.substr(end + 4);
  return r;
}

std::uint16_t free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free TCP port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// ---- the daemon ----------------------------------------------------------------------------

namespace {

// A small corpus for the tokenizer (deterministic).
void write_corpus(const fs::path& p) {
  std::ofstream out(p);
  const char* words[] = {"the", "cat", "sat", "on", "a", "mat", "hello", "world", "model", "adapter", "serves",
                         "tokens", "quickly", "and", "then", "stops", "once", "upon", "time", "story"};
  std::uint64_t x = 12345;
  for (int line = 0; line < 400; ++line) {
    for (int w = 0; w < 8; ++w) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      out << (w ? " " : "") << words[(x >> 33) % 20];
    }
    out << ".\n";
  }
}

wb::llama::LlamaConfig tiny_config(std::int64_t vocab, bool slow) {
  wb::llama::LlamaConfig c;
  c.hidden_size = slow ? 256 : 64;
  c.intermediate_size = slow ? 688 : 172;
  c.num_hidden_layers = slow ? 4 : 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.vocab_size = vocab;
  c.max_position_embeddings = slow ? 2048 : 256;
  c.rope_theta = 10000.0;
  return c;
}

constexpr std::int64_t kVocab = 320;

}  // namespace

void write_tiny_model(const fs::path& src, bool slow) {
  // Tokenizer trained on the corpus, random weights (large enough that greedy outputs differ
  // between adapters).
  fs::create_directories(src);
  const fs::path corpus = src.parent_path() / (src.filename().string() + "-corpus.txt");
  write_corpus(corpus);
  wb::llama::SpTrainOptions so;
  so.vocab_size = kVocab;
  wb::llama::train_sentencepiece(corpus, src / "tokenizer.model", so);
  wb::llama::Model<float> m;
  m.config = tiny_config(kVocab, slow);
  m.weights = wb::llama::Weights<float>::random(m.config, 5, 0.15);
  for (auto& l : m.weights.layers) {
    std::fill(l.input_layernorm.data.begin(), l.input_layernorm.data.end(), 1.0f);
    std::fill(l.post_attention_layernorm.data.begin(), l.post_attention_layernorm.data.end(), 1.0f);
  }
  std::fill(m.weights.norm.data.begin(), m.weights.norm.data.end(), 1.0f);
  wb::llama::save_model(src, m);
}

void write_tiny_adapter(const fs::path& out, std::uint64_t seed, int rank, bool slow, const std::string& base_model) {
  const auto c = tiny_config(kVocab, slow);
  wb::llama::LoraConfig lc;
  lc.r = rank;
  lc.lora_alpha = 2.0 * rank;
  lc.target_modules = {wb::llama::LoraModule::Q, wb::llama::LoraModule::V, wb::llama::LoraModule::O,
                       wb::llama::LoraModule::Down};
  auto a = wb::llama::LoraAdapter<float>::init(c, lc, seed);
  std::uint64_t k = 0;
  a.for_each([&](const std::string& name, wb::llama::Tensor<float>& t) {
    if (name.find("lora_B") != std::string::npos)
      wb::llama::fill_normal(t.data, wb::llama::tensor_seed(seed + 7, name) + k++, 0.3);
  });
  wb::llama::save_adapter(out, a, base_model);
}

ServingDaemon::ServingDaemon(const std::string& config_toml, bool slow, const std::string& model)
    : tmp("wb-serving"),
      process(tmp.path() / "data", tmp.path() / "run/wb.sock", {serving_plugin_dir()},
              // These tests check the CPU engine's exact, batch-invariant outputs: pin the device, or
              // the daemon's default (auto) would serve on a GPU where one answers (tests/serve/gpu).
              wbtest::config_args(tmp.path(), "device = \"cpu\"\n" + config_toml)),
      slow_(slow),
      model_(model) {
  // The model, imported by the sft plugin's model_import job.
  fs::path src = dir() / "tiny-src";
  write_tiny_model(src, slow_);

  process.start();
  Reply r = post("/v1/jobs", {{"kind", "model_import"}, {"spec", {{"name", model_}, {"path", src.string()}}}});
  INFO(r.text);
  REQUIRE(r.status == 201);
  const std::int64_t id = r.body["id"].get<std::int64_t>();
  json job;
  wbtest::eventually([&] {
    job = get("/v1/jobs/" + std::to_string(id)).body;
    const std::string s = job.value("state", "");
    return s == "succeeded" || s == "failed" || s == "cancelled";
  }, std::chrono::seconds(60));
  INFO(job.dump());
  REQUIRE(job.value("state", "") == "succeeded");
}

Reply ServingDaemon::get(const std::string& t) { return wbtest::to_reply(wbtest::http(socket(), "GET", t)); }
Reply ServingDaemon::del(const std::string& t) { return wbtest::to_reply(wbtest::http(socket(), "DELETE", t)); }
Reply ServingDaemon::post(const std::string& t, const json& body) {
  return wbtest::to_reply(wbtest::http(socket(), "POST", t, body.dump()));
}

json ServingDaemon::serve(const json& extra) {
  json body = extra;
  body["model"] = model_;
  Reply r = post("/v1/serving", body);
  INFO(r.text);
  REQUIRE(r.status == 200);
  return r.body;
}

fs::path ServingDaemon::write_adapter(const std::string& dirname, std::uint64_t seed, int rank) {
  fs::path out = dir() / "adapters" / dirname;
  write_tiny_adapter(out, seed, rank, slow_, model_);
  return out;
}

Reply ServingDaemon::load_adapter(const std::string& name, const fs::path& path) {
  json body = json::object();
  if (!path.empty()) body["path"] = path.string();
  return post("/v1/adapters/" + name + "/load", body);
}

json ServingDaemon::stats() {
  Reply r = get("/v1/serving");
  REQUIRE(r.status == 200);
  return r.body;
}

Reply ServingDaemon::complete(const json& body) { return post("/v1/completions", body); }
Reply ServingDaemon::chat(const json& body) { return post("/v1/chat/completions", body); }

Sse ServingDaemon::complete_stream(json body, int* status) {
  body["stream"] = true;
  auto r = wbtest::http(socket(), "POST", "/v1/completions", body.dump());
  if (status) *status = r.status;
  if (r.status != 200) return {};
  return parse_sse(r.body);
}

}  // namespace servingtest
