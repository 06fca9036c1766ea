// Base weights: HF names/shapes, deterministic random init, traversal.
#include "wb/llama/weights.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <stdexcept>

namespace wb::llama {

namespace {
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
// Uniform in (0, 1): 53 random bits, offset by half a step so log() never sees 0.
double uniform01(uint64_t& state) {
  return (double(splitmix64(state) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
}  // namespace

std::string linear_path(LoraModule m) {
  return std::string(lora_module_parent(m)) + "." + std::string(lora_module_name(m));
}

std::pair<int64_t, int64_t> linear_shape(const LlamaConfig& c, LoraModule m) {
  const int64_t D = c.hidden_size, F = c.intermediate_size;
  const int64_t Q = c.num_attention_heads * c.head_dim(), KV = c.kv_dim();
  switch (m) {
    case LoraModule::Q: return {D, Q};
    case LoraModule::K: return {D, KV};
    case LoraModule::V: return {D, KV};
    case LoraModule::O: return {Q, D};
    case LoraModule::Gate: return {D, F};
    case LoraModule::Up: return {D, F};
    case LoraModule::Down: return {F, D};
  }
  throw std::invalid_argument("linear_shape: unknown module");
}

template <typename T>
Tensor<T>& LayerWeights<T>::linear(LoraModule m) {
  switch (m) {
    case LoraModule::Q: return q_proj;
    case LoraModule::K: return k_proj;
    case LoraModule::V: return v_proj;
    case LoraModule::O: return o_proj;
    case LoraModule::Gate: return gate_proj;
    case LoraModule::Up: return up_proj;
    case LoraModule::Down: return down_proj;
  }
  throw std::invalid_argument("LayerWeights::linear: unknown module");
}

template <typename T>
const Tensor<T>& LayerWeights<T>::linear(LoraModule m) const {
  return const_cast<LayerWeights<T>*>(this)->linear(m);
}

template <typename T>
const T* LayerWeights<T>::linear_ptr(LoraModule m) const {
  if (!packed()) return linear(m).ptr();
  const int64_t D = q_proj.shape.at(1);
  switch (m) {
    case LoraModule::Q: return qkv_proj.ptr();
    case LoraModule::K: return qkv_proj.ptr() + q_proj.shape.at(0) * D;
    case LoraModule::V: return qkv_proj.ptr() + (q_proj.shape.at(0) + k_proj.shape.at(0)) * D;
    case LoraModule::Gate: return gate_up_proj.ptr();
    case LoraModule::Up: return gate_up_proj.ptr() + gate_proj.shape.at(0) * D;
    default: return linear(m).ptr();
  }
}

namespace {
// Concatenates the parts' rows into one matrix and frees each part's values (keeping its shape).
template <typename T>
Tensor<T> pack_rows(std::initializer_list<Tensor<T>*> parts) {
  int64_t rows = 0, cols = parts.begin()[0]->shape.at(1);
  for (auto* p : parts) rows += p->shape.at(0);
  Tensor<T> out({rows, cols});
  T* at = out.ptr();
  for (auto* p : parts) {
    at = std::copy(p->data.begin(), p->data.end(), at);
    std::vector<T>().swap(p->data);
  }
  return out;
}
// The reverse: each part gets its rows back; the fused matrix is freed.
template <typename T>
void unpack_rows(Tensor<T>& fused, std::initializer_list<Tensor<T>*> parts) {
  const T* at = fused.ptr();
  for (auto* p : parts) {
    p->data.assign(at, at + Tensor<T>::count(p->shape));
    at += p->numel();
  }
  fused = Tensor<T>();
}
}  // namespace

template <typename T>
void Weights<T>::pack_fused() {
  for (auto& l : layers) {
    if (l.packed()) continue;
    l.qkv_proj = pack_rows<T>({&l.q_proj, &l.k_proj, &l.v_proj});
    l.gate_up_proj = pack_rows<T>({&l.gate_proj, &l.up_proj});
  }
}

template <typename T>
void Weights<T>::unpack_fused() {
  for (auto& l : layers) {
    if (!l.packed()) continue;
    unpack_rows<T>(l.qkv_proj, {&l.q_proj, &l.k_proj, &l.v_proj});
    unpack_rows<T>(l.gate_up_proj, {&l.gate_proj, &l.up_proj});
  }
}

template <typename T>
Weights<T> Weights<T>::zeros(const LlamaConfig& c) {
  c.validate();
  const int64_t D = c.hidden_size, V = c.vocab_size;
  Weights<T> w;
  w.embed_tokens = Tensor<T>({V, D});
  w.layers.resize(c.num_hidden_layers);
  for (auto& l : w.layers) {
    l.input_layernorm = Tensor<T>({D});
    l.post_attention_layernorm = Tensor<T>({D});
    for (LoraModule m : all_lora_modules()) {
      auto [in, out] = linear_shape(c, m);
      l.linear(m) = Tensor<T>({out, in});
    }
  }
  w.norm = Tensor<T>({D});
  if (!c.tie_word_embeddings) w.lm_head = Tensor<T>({V, D});
  return w;
}

template <typename T>
Weights<T> Weights<T>::random(const LlamaConfig& c, uint64_t seed, double std) {
  Weights<T> w = zeros(c);
  w.for_each([&](const std::string& name, Tensor<T>& t) {
    if (t.shape.size() == 1) {  // the RMSNorm gains
      for (T& x : t.data) x = T(1);
    } else {
      fill_normal(t.data, tensor_seed(seed, name), std);
    }
  });
  return w;
}

namespace {
// Every present tensor with its HF name in for_each order, packed or not (packed q/k/v and
// gate/up tensors have their shapes and no data).
template <typename T>
void visit_tensors(const Weights<T>& cw, const std::function<void(const std::string&, Tensor<T>&)>& f) {
  auto& w = const_cast<Weights<T>&>(cw);
  f("model.embed_tokens.weight", w.embed_tokens);
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    auto& l = w.layers[i];
    f(p + "input_layernorm.weight", l.input_layernorm);
    for (LoraModule m : {LoraModule::Q, LoraModule::K, LoraModule::V, LoraModule::O})
      f(p + linear_path(m) + ".weight", l.linear(m));
    f(p + "post_attention_layernorm.weight", l.post_attention_layernorm);
    for (LoraModule m : {LoraModule::Gate, LoraModule::Up, LoraModule::Down})
      f(p + linear_path(m) + ".weight", l.linear(m));
  }
  f("model.norm.weight", w.norm);
  if (!w.lm_head.empty()) f("lm_head.weight", w.lm_head);
}
// Values a tensor stands for: its shape's count when packed weights keep them in a fused matrix
// (check_shapes verified the fused sizes), else what it holds.
template <typename T>
int64_t values(const Tensor<T>& t, bool packed) {
  return packed && t.empty() && t.shape.size() == 2 ? Tensor<T>::count(t.shape) : t.numel();
}
}  // namespace

template <typename T>
void Weights<T>::for_each(const std::function<void(const std::string&, Tensor<T>&)>& f) {
  if (packed())
    throw std::logic_error("weights: packed for inference (q/k/v and gate/up fused); unpack_fused() "
                           "before reading them by name");
  visit_tensors(*this, f);
}

template <typename T>
void Weights<T>::for_each(
    const std::function<void(const std::string&, const Tensor<T>&)>& f) const {
  const_cast<Weights<T>*>(this)->for_each(
      [&](const std::string& n, Tensor<T>& t) { f(n, static_cast<const Tensor<T>&>(t)); });
}

namespace {
// The tensors a config needs, in for_each order, without allocating them.
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_shapes(const LlamaConfig& c) {
  const int64_t D = c.hidden_size, V = c.vocab_size;
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  out.push_back({"model.embed_tokens.weight", {V, D}});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    auto lin = [&](LoraModule m) {
      auto [in, o] = linear_shape(c, m);
      out.push_back({p + linear_path(m) + ".weight", {o, in}});
    };
    out.push_back({p + "input_layernorm.weight", {D}});
    for (LoraModule m : {LoraModule::Q, LoraModule::K, LoraModule::V, LoraModule::O}) lin(m);
    out.push_back({p + "post_attention_layernorm.weight", {D}});
    for (LoraModule m : {LoraModule::Gate, LoraModule::Up, LoraModule::Down}) lin(m);
  }
  out.push_back({"model.norm.weight", {D}});
  if (!c.tie_word_embeddings) out.push_back({"lm_head.weight", {V, D}});
  return out;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}
}  // namespace

template <typename T>
void Weights<T>::check_shapes(const LlamaConfig& c) const {
  const auto want = expected_shapes(c);
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    if (l.packed() && (l.qkv_proj.numel() != Tensor<T>::count(l.q_proj.shape) + Tensor<T>::count(l.k_proj.shape) +
                                                 Tensor<T>::count(l.v_proj.shape) ||
                       l.gate_up_proj.numel() != Tensor<T>::count(l.gate_proj.shape) + Tensor<T>::count(l.up_proj.shape)))
      throw std::invalid_argument("weights: layer " + std::to_string(i) +
                                  "'s fused q/k/v or gate/up matrix does not match its tensors' shapes");
  }
  std::vector<std::pair<std::string, const Tensor<T>*>> have;
  visit_tensors<T>(*this, [&](const std::string& n, Tensor<T>& t) { have.emplace_back(n, &t); });
  if (c.tie_word_embeddings && !lm_head.empty())
    throw std::invalid_argument("weights: lm_head.weight present but tie_word_embeddings is true");
  if (!c.tie_word_embeddings && lm_head.empty())
    throw std::invalid_argument("weights: lm_head.weight missing and tie_word_embeddings is false");
  if (have.size() != want.size())
    throw std::invalid_argument("weights: expected " + std::to_string(want.size()) +
                                " tensors for the config, found " + std::to_string(have.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    const Tensor<T>& t = *have[i].second;
    if (have[i].first != want[i].first || t.shape != want[i].second ||
        values(t, packed()) != Tensor<T>::count(want[i].second))
      throw std::invalid_argument("weights: tensor '" + want[i].first + "' has shape " +
                                  t.shape_string() + " (" + std::to_string(t.numel()) +
                                  " values), the config needs " + shape_str(want[i].second));
  }
}

template <typename T>
int64_t Weights<T>::numel() const {
  int64_t n = 0;
  visit_tensors<T>(*this, [&](const std::string&, Tensor<T>& t) { n += values(t, packed()); });
  return n;
}

uint64_t tensor_seed(uint64_t seed, const std::string& name) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (unsigned char ch : name) {
    h ^= ch;
    h *= 0x100000001b3ULL;
  }
  uint64_t s = seed ^ h;
  return splitmix64(s);
}

template <typename T>
void fill_normal(std::vector<T>& out, uint64_t stream_seed, double std) {
  uint64_t state = stream_seed;
  for (size_t i = 0; i < out.size(); ++i) {  // Box-Muller, one value per pair of uniforms
    const double u1 = uniform01(state), u2 = uniform01(state);
    out[i] = static_cast<T>(std * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
  }
}

template <typename T>
void fill_uniform(std::vector<T>& out, uint64_t stream_seed, double bound) {
  uint64_t state = stream_seed;
  for (auto& x : out) x = static_cast<T>((2.0 * uniform01(state) - 1.0) * bound);
}

template struct LayerWeights<float>;
template struct LayerWeights<double>;
template struct Weights<float>;
template struct Weights<double>;
template void fill_normal<float>(std::vector<float>&, uint64_t, double);
template void fill_normal<double>(std::vector<double>&, uint64_t, double);
template void fill_uniform<float>(std::vector<float>&, uint64_t, double);
template void fill_uniform<double>(std::vector<double>&, uint64_t, double);

}  // namespace wb::llama
