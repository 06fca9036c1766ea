// Independent reference: the engine writes a random model (config.json + model.safetensors via
// the formats layer) and a PEFT adapter, reloads them, and compares its logits and LoRA gradients
// with tests/engine/torch_reference/llama_ref.py, a from-scratch PyTorch implementation run by
// Debian's /usr/bin/python3. Skipped (CTest "Skipped", exit 77) when torch cannot be imported.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>

#include "test_grad_common.h"
#include "wb/llama/model_io.h"
#include "wb/llama/peft_adapter.h"
#include "wb_skip.h"
#include "wb_temp_dir.h"

using namespace wbtest;
namespace fs = std::filesystem;

namespace {

bool torch_available() {
  return std::system("/usr/bin/python3 -c 'import torch, numpy' > /dev/null 2>&1") == 0;
}

// max |a - b| / max |b|
double rel_err(const float* a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    num = std::max(num, std::abs(double(a[i]) - b[i]));
    den = std::max(den, std::abs(b[i]));
  }
  return num / std::max(den, 1e-30);
}


struct RefCase {
  LlamaConfig config;
  DType store_as = DType::F32;
  bool rslora = false;
  std::vector<int64_t> lens;
};

// Writes model + adapter with the engine, runs llama_ref.py, and compares base logits, LoRA
// logits, the loss and every LoRA gradient.
void compare_with_torch(const RefCase& rc) {
  TempDir tmp;
  const LlamaConfig& c = rc.config;
  // Write a random model and adapter with the engine, then read both back through the formats.
  {
    Model<float> m0;
    m0.config = c;
    m0.weights = Weights<float>::random(c, 42, 0.1);
    save_model(tmp.path() / "model", m0, rc.store_as);
    LoraConfig lc;
    lc.r = 4;
    lc.lora_alpha = 8.0;
    lc.use_rslora = rc.rslora;
    lc.target_modules = all_lora_modules();
    LoraAdapter<float> a = LoraAdapter<float>::init(c, lc, 3);
    randomize_b(a, 5, 0.1);
    save_peft_adapter(tmp.path() / "adapter", a.to_peft());
  }
  Model<float> m = load_model<float>(tmp.path() / "model");
  REQUIRE(m.config.num_key_value_heads == c.num_key_value_heads);
  REQUIRE(m.config.tie_word_embeddings == c.tie_word_embeddings);
  m.lora = LoraAdapter<float>::from_peft(load_peft_adapter(tmp.path() / "adapter"), m.config);
  REQUIRE(m.lora->config.use_rslora == rc.rslora);
  m.trainable.lora = true;

  const LmBatch lb = lm_batch(rc.lens, c.vocab_size, 21);
  const int64_t S = lb.batch.n_seqs();
  nlohmann::json bj;
  bj["tokens"] = lb.batch.tokens;
  bj["cu_seqlens"] = lb.batch.cu_seqlens;
  bj["targets"] = lb.targets;
  bj["mask"] = lb.mask;
  std::ofstream(tmp.path() / "batch.json") << bj.dump();

  const std::string cmd = "/usr/bin/python3 '" WB_SOURCE_DIR
                          "/tests/engine/torch_reference/llama_ref.py' '" +
                          (tmp.path() / "model").string() + "' '" + (tmp.path() / "adapter").string() +
                          "' '" + (tmp.path() / "batch.json").string() + "' '" +
                          (tmp.path() / "ref.json").string() + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  nlohmann::json ref;
  std::ifstream(tmp.path() / "ref.json") >> ref;

  const int64_t N = lb.batch.n_tokens();
  // Base model (adapter off: nullptr for every sequence).
  Workspace<float> ws;
  ForwardOptions fo;
  forward(m, lb.batch, ws, fo, std::vector<const LoraAdapter<float>*>(S, nullptr));
  const auto base_ref = ref["base_logits"].get<std::vector<double>>();
  REQUIRE(static_cast<int64_t>(base_ref.size()) == N * c.vocab_size);
  const double base_err = rel_err(ws.logits.data(), base_ref);
  CAPTURE(base_err);
  CHECK(base_err < 1e-5);

  // With the adapter: logits, loss and every LoRA gradient.
  fo.for_backward = true;
  forward(m, lb.batch, ws, fo);
  const double lora_err = rel_err(ws.logits.data(), ref["lora_logits"].get<std::vector<double>>());
  CAPTURE(lora_err);
  CHECK(lora_err < 1e-5);
  std::vector<float> mask(lb.mask.begin(), lb.mask.end());
  std::vector<float> dlogits(N * c.vocab_size);
  const float loss = token_cross_entropy<float>(ws.logits.data(), N, c.vocab_size, lb.targets,
                                                mask, dlogits.data());
  CHECK(loss == Approx(ref["loss"].get<double>()).epsilon(1e-5));
  Gradients<float> g = Gradients<float>::for_model(m);
  g.zero();
  backward<float>(m, ws, dlogits.data(), nullptr, g);
  int checked = 0;
  double worst = 0;
  std::string worst_name;
  g.lora->for_each([&](const std::string& name, const Tensor<float>& t) {
    REQUIRE(ref["grads"].contains(name));
    const double e = rel_err(t.ptr(), ref["grads"][name].get<std::vector<double>>());
    if (e > worst) worst = e, worst_name = name;
    ++checked;
  });
  CAPTURE(worst, worst_name);
  CHECK(checked == c.num_hidden_layers * 7 * 2);
  CHECK(worst < 1e-4);
}

}  // namespace

TEST_CASE("logits and LoRA gradients match an independent PyTorch implementation", "[torch]") {
  if (!torch_available()) WB_SKIP("/usr/bin/python3 cannot import torch (Debian python3-torch)");
  RefCase rc;
  LlamaConfig& c = rc.config;
  c.hidden_size = 64;
  c.intermediate_size = 160;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 8;
  c.num_key_value_heads = 2;  // GQA
  c.vocab_size = 101;
  c.max_position_embeddings = 128;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 500.0;  // small theta: the rotation varies strongly over the short sequences
  c.tie_word_embeddings = false;
  rc.lens = {7, 12, 5};
  compare_with_torch(rc);
}

TEST_CASE("PyTorch agreement with tied embeddings, bf16 storage, rsLoRA and no GQA", "[torch]") {
  if (!torch_available()) WB_SKIP("/usr/bin/python3 cannot import torch (Debian python3-torch)");
  RefCase rc;
  LlamaConfig& c = rc.config;
  c.hidden_size = 48;
  c.intermediate_size = 128;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 4;
  c.vocab_size = 67;
  c.max_position_embeddings = 64;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 10000.0;
  c.tie_word_embeddings = true;
  rc.store_as = DType::BF16;
  rc.rslora = true;
  rc.lens = {3, 16};
  compare_with_torch(rc);
}
