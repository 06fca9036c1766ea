// The wb-engine tool end to end (build/bin/wb-engine, run as a child process): init with the
// Llama 2 tokenizer, tokenize (text and chat), forward's raw float32 logits equal the in-process
// forward, generate --json equals generate(), merge writes a loadable model, bad input fails
// with a message and a non-zero status. Skipped where wb-engine is built without the tokenizer
// (engine-only builds without sentencepiece or CLI11) or the Llama 2 tokenizer asset is absent.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "runtime_test_util.h"
#include "wb_skip.h"
#include "wb/llama/adapter_io.h"
#include "wb/llama/forward.h"
#include "wb/llama/generate.h"
#include "wb/llama/model_io.h"

using namespace wb::llama;
using namespace wb::llama::testing;
namespace fs = std::filesystem;

namespace {

#ifdef WB_ENGINE_TOOL  // tests/engine/CMakeLists.txt: wb-engine, when built with the tokenizer
const fs::path kTool = WB_ENGINE_TOOL;
#else
const fs::path kTool;
#endif
const fs::path kTokenizer = fs::path(WB_SOURCE_DIR) / ".." / "shared" / "assets" / "llama2-tokenizer" / "tokenizer.model";

struct Run {
  int status = -1;
  std::string out;
};

// Runs the tool with `args` (already shell-quoted where needed), capturing stdout + stderr.
Run tool(const std::string& args) {
  Run r;
  const std::string cmd = "'" + kTool.string() + "' " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

}  // namespace

TEST_CASE("wb-engine init, tokenize, forward, generate, merge", "[generate][tool]") {
  if (kTool.empty()) WB_SKIP("wb-engine is not built with the tokenizer here (needs CLI11 and sentencepiece)");
  if (!fs::exists(kTokenizer)) WB_SKIP((kTokenizer.string() + " is absent").c_str());
  REQUIRE(fs::exists(kTool));
  TempDir tmp("tool");
  const fs::path model = tmp.path() / "m";
  Run r = tool("init --preset tiny --seed 5 --out " + q(model) + " --tokenizer " + q(kTokenizer));
  REQUIRE(r.status == 0);
  CHECK(fs::exists(model / "tokenizer.model"));
  const Model<float> m = load_model<float>(model);
  CHECK(m.config.vocab_size == 32000);

  r = tool("tokenize --tokenizer " + q(kTokenizer) + " 'Hello world'");
  REQUIRE(r.status == 0);
  CHECK(nlohmann::json::parse(r.out) == nlohmann::json::array({1, 15043, 3186}));
  std::ofstream(tmp.path() / "chat.json") << R"([{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},{"role":"user","content":"Bye"}])";
  r = tool("tokenize --tokenizer " + q(kTokenizer) + " --chat-json " + q(tmp.path() / "chat.json"));
  REQUIRE(r.status == 0);
  const auto chat = nlohmann::json::parse(r.out).get<std::vector<int>>();
  CHECK(chat.front() == 1);
  CHECK(std::count(chat.begin(), chat.end(), 1) == 2);  // one BOS per turn pair
  CHECK(std::count(chat.begin(), chat.end(), 2) == 1);  // EOS after the finished answer

  r = tool("forward --model " + q(model) + " --tokens 1,15043,3186 --out " + q(tmp.path() / "logits.bin"));
  REQUIRE(r.status == 0);
  std::ifstream f(tmp.path() / "logits.bin", std::ios::binary);
  std::vector<float> got(3 * 32000);
  f.read(reinterpret_cast<char*>(got.data()), static_cast<std::streamsize>(got.size() * sizeof(float)));
  CHECK(f.gcount() == static_cast<std::streamsize>(got.size() * sizeof(float)));
  Workspace<float> ws;
  forward(m, Batch::pack({{1, 15043, 3186}}), ws, ForwardOptions{});
  CHECK(std::memcmp(got.data(), ws.logits.data(), got.size() * sizeof(float)) == 0);

  r = tool("generate --model " + q(model) + " --prompt-ids 1,15043 --max-tokens 6 --temperature 0.7 --seed 9 --json");
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  GenerateRequest req;
  req.prompt = {1, 15043};
  req.max_tokens = 6;
  req.sampling.temperature = 0.7;
  req.sampling.seed = 9;
  CHECK(j["tokens"].get<std::vector<int32_t>>() == generate(m, {req})[0].tokens);
  r = tool("generate --model " + q(model) + " --prompt 'Once upon a time' --max-tokens 4 --temperature 0");
  CHECK(r.status == 0);
  // A chat prompt is the template's ids: the same tokens as generating from those ids.
  r = tool("generate --model " + q(model) + " --chat-json " + q(tmp.path() / "chat.json") +
           " --max-tokens 3 --temperature 0 --json");
  REQUIRE(r.status == 0);
  GenerateRequest creq;
  creq.prompt = std::vector<int32_t>(chat.begin(), chat.end());
  creq.max_tokens = 3;
  creq.sampling.temperature = 0;
  CHECK(nlohmann::json::parse(r.out)["tokens"].get<std::vector<int32_t>>() == generate(m, {creq})[0].tokens);
  std::ofstream(tmp.path() / "ends_with_answer.json") << R"([{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}])";
  r = tool("generate --model " + q(model) + " --chat-json " + q(tmp.path() / "ends_with_answer.json"));
  CHECK(r.status != 0);
  CHECK_THAT(r.out, Catch::Contains("user message"));

  // Merge an adapter written here.
  LoraConfig lc;
  lc.r = 2;
  lc.lora_alpha = 4;
  lc.target_modules = {LoraModule::V};
  LoraAdapter<float> a = LoraAdapter<float>::init(m.config, lc, 3);
  save_adapter(tmp.path() / "a", a);
  r = tool("merge --model " + q(model) + " --adapter " + q(tmp.path() / "a") + " --out " + q(tmp.path() / "merged"));
  REQUIRE(r.status == 0);
  CHECK(load_model<float>(tmp.path() / "merged").config.vocab_size == 32000);

  // Bad input: a clear message and a non-zero status.
  r = tool("forward --model " + q(model) + " --tokens 1,abc --out " + q(tmp.path() / "x.bin"));
  CHECK(r.status != 0);
  CHECK_THAT(r.out, Catch::Contains("abc"));
  r = tool("forward --model " + q(model) + " --tokens 1,99999 --out " + q(tmp.path() / "x.bin"));
  CHECK(r.status != 0);
  CHECK_FALSE(fs::exists(tmp.path() / "x.bin"));
  r = tool("init --preset nope --out " + q(tmp.path() / "n"));
  CHECK(r.status != 0);
  CHECK_THAT(r.out, Catch::Contains("nope"));
  r = tool("merge --model " + q(model) + " --adapter " + q(tmp.path() / "a") + " --out " + q(tmp.path() / "merged"));
  CHECK(r.status != 0);
  CHECK_THAT(r.out, Catch::Contains("already exists"));
}
