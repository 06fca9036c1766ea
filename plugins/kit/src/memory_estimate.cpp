#include "wb/plugin/memory_estimate.h"

#include <limits>

namespace wb::plugin {

namespace {

// Saturating arithmetic: a spec's numbers may multiply past 2^64.
std::uint64_t mul(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return std::numeric_limits<std::uint64_t>::max();
  return a * b;
}
std::uint64_t add(std::uint64_t a, std::uint64_t b) {
  return b > std::numeric_limits<std::uint64_t>::max() - a ? std::numeric_limits<std::uint64_t>::max() : a + b;
}
std::uint64_t u(std::int64_t v) { return v > 0 ? static_cast<std::uint64_t>(v) : 0; }

}  // namespace

nlohmann::json MemoryEstimate::to_json() const {
  std::uint64_t sum = add(add(weights, optimizer), add(activations, kv));
  return {{"bytes", sum},
          {"parts", {{"weights", weights}, {"optimizer", optimizer}, {"activations", activations}, {"kv", kv}}}};
}

MemoryEstimate estimate_training(const llama::LlamaConfig& c, std::int64_t batch, std::int64_t context,
                                 std::int64_t trainable) {
  MemoryEstimate e;
  e.weights = mul(u(c.parameter_count()), 4);
  e.optimizer = mul(u(trainable), 12);
  const std::uint64_t tokens = mul(u(batch), u(context));
  const std::uint64_t per_layer_token =
      add(u(8 * c.hidden_size + 2 * c.kv_dim() + 3 * c.intermediate_size), mul(u(c.num_attention_heads), u(context)));
  e.activations = add(mul(mul(tokens, mul(per_layer_token, u(c.num_hidden_layers))), 4),
                      mul(mul(tokens, u(c.vocab_size)), 8));
  return e;
}

MemoryEstimate estimate_generation(const llama::LlamaConfig& c, std::int64_t batch, std::int64_t context) {
  MemoryEstimate e;
  e.weights = mul(u(c.parameter_count()), 4);
  e.kv = mul(mul(mul(u(batch), u(context)), mul(u(c.num_hidden_layers), u(2 * c.kv_dim()))), 4);
  e.activations = mul(mul(u(batch), u(c.vocab_size)), 8);
  return e;
}

}  // namespace wb::plugin
