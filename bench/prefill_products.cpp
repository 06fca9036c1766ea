#include "prefill_products.h"

#include <algorithm>
#include <chrono>

#include "wb/kernels/gemm.h"
#include "wb/llama/rng.h"

namespace wb::bench {

PrefillProducts::PrefillProducts(const llama::Model<float>& m, int64_t tokens) : m_(m), T_(tokens) {
  const auto& c = m.config;
  const int64_t widest = std::max({c.hidden_size, c.intermediate_size, c.num_attention_heads * c.head_dim()});
  in_.resize(static_cast<size_t>(T_ * widest));
  out_.resize(static_cast<size_t>(T_ * std::max(widest, c.vocab_size)));
  scores_.resize(static_cast<size_t>(T_ * T_));
  att_.resize(static_cast<size_t>(T_ * c.num_attention_heads * c.head_dim()));
  llama::Rng rng(3);
  for (float& v : in_) v = static_cast<float>(rng.uniform() - 0.5f);
}

double PrefillProducts::run_seconds() {
  const auto& c = m_.config;
  const int64_t T = T_, H = c.num_attention_heads, KV = c.num_key_value_heads, hd = c.head_dim();
  const int64_t ldq = H * hd, ldkv = KV * hd;
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& w : m_.weights.layers) {
    for (llama::LoraModule mod : llama::all_lora_modules()) {
      auto [in, out] = llama::linear_shape(c, mod);
      kernels::gemm<float>(false, true, T, out, in, 1.0f, in_.data(), in, w.linear_ptr(mod), in, 0.0f,
                           out_.data(), out);
    }
    for (int64_t h = 0; h < H; ++h) {  // q, k, v read from the input buffer with the engine's strides
      const int64_t g = h / (H / KV);
      kernels::gemm<float>(false, true, T, T, hd, 1.0f, in_.data() + h * hd, ldq, out_.data() + g * hd, ldkv, 0.0f,
                           scores_.data(), T);
      kernels::gemm<float>(false, false, T, hd, T, 1.0f, scores_.data(), T, out_.data() + g * hd, ldkv, 0.0f,
                           att_.data() + h * hd, ldq);
    }
  }
  kernels::gemm<float>(false, true, 1, c.vocab_size, c.hidden_size, 1.0f, in_.data(), c.hidden_size,
                       m_.weights.output_embedding().ptr(), c.hidden_size, 0.0f, out_.data(), c.vocab_size);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double PrefillProducts::useful_flops() const {
  const auto& c = m_.config;
  const double T = static_cast<double>(T_), D = static_cast<double>(c.hidden_size);
  const double QD = static_cast<double>(c.num_attention_heads * c.head_dim()), KVD = static_cast<double>(c.kv_dim());
  const double P = D * (2 * QD + 2 * KVD) + 3 * D * static_cast<double>(c.intermediate_size);
  return static_cast<double>(c.num_hidden_layers) * (2 * P * T + 2 * QD * T * (T + 1)) +
         2 * D * static_cast<double>(c.vocab_size);
}

}  // namespace wb::bench
