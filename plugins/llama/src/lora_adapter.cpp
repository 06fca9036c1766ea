// LoRA adapters (shapes, PEFT init, names, conversion to/from PeftAdapter) and the scalar head.
#include "wb/llama/lora.h"

#include <cmath>
#include <stdexcept>

namespace wb::llama {

template <typename T>
LoraAdapter<T> LoraAdapter<T>::zeros(const LlamaConfig& c, const LoraConfig& lc) {
  c.validate();
  lc.validate();
  LoraAdapter<T> a;
  a.config = lc;
  a.layers.resize(c.num_hidden_layers);
  for (auto& layer : a.layers)
    for (LoraModule m : all_lora_modules()) {
      if (!lc.targets(m)) continue;
      auto [in, out] = linear_shape(c, m);
      layer[static_cast<int>(m)].A = Tensor<T>({lc.r, in});
      layer[static_cast<int>(m)].B = Tensor<T>({out, lc.r});
    }
  return a;
}

template <typename T>
LoraAdapter<T> LoraAdapter<T>::init(const LlamaConfig& c, const LoraConfig& lc, uint64_t seed) {
  LoraAdapter<T> a = zeros(c, lc);
  for (size_t l = 0; l < a.layers.size(); ++l)
    for (LoraModule m : all_lora_modules()) {
      Pair& p = a.layers[l][static_cast<int>(m)];
      if (!p.present()) continue;
      // kaiming_uniform_(a=sqrt(5)) on [r, in] gives bound 1/sqrt(in), as PEFT does.
      const double bound = 1.0 / std::sqrt(double(p.A.shape[1]));
      fill_uniform(p.A.data, tensor_seed(seed, key(l, m, false)), bound);
    }
  return a;
}

template <typename T>
const typename LoraAdapter<T>::Pair* LoraAdapter<T>::pair(int64_t layer, LoraModule m) const {
  if (layer < 0 || layer >= static_cast<int64_t>(layers.size())) return nullptr;
  const Pair& p = layers[layer][static_cast<int>(m)];
  return p.present() ? &p : nullptr;
}

template <typename T>
std::string LoraAdapter<T>::key(int64_t layer, LoraModule m, bool is_b) {
  return lora_tensor_key(LoraKey{layer, m, is_b ? LoraMatrix::B : LoraMatrix::A});
}

template <typename T>
void LoraAdapter<T>::for_each(const std::function<void(const std::string&, Tensor<T>&)>& f) {
  for (size_t l = 0; l < layers.size(); ++l)
    for (LoraModule m : all_lora_modules()) {
      Pair& p = layers[l][static_cast<int>(m)];
      if (!p.present()) continue;
      f(key(l, m, false), p.A);
      f(key(l, m, true), p.B);
    }
}

template <typename T>
void LoraAdapter<T>::for_each(
    const std::function<void(const std::string&, const Tensor<T>&)>& f) const {
  const_cast<LoraAdapter<T>*>(this)->for_each(
      [&](const std::string& n, Tensor<T>& t) { f(n, static_cast<const Tensor<T>&>(t)); });
}

template <typename T>
int64_t LoraAdapter<T>::numel() const {
  int64_t n = 0;
  for_each([&](const std::string&, const Tensor<T>& t) { n += t.numel(); });
  return n;
}

template <typename T>
void LoraAdapter<T>::check_shapes(const LlamaConfig& c) const {
  if (static_cast<int64_t>(layers.size()) != c.num_hidden_layers)
    throw std::invalid_argument("lora adapter: has " + std::to_string(layers.size()) +
                                " layers, the model has " + std::to_string(c.num_hidden_layers));
  for (size_t l = 0; l < layers.size(); ++l)
    for (LoraModule m : all_lora_modules()) {
      const Pair& p = layers[l][static_cast<int>(m)];
      if (!config.targets(m)) {
        if (p.present() || !p.B.empty())
          throw std::invalid_argument("lora adapter: tensor " + key(l, m, false) +
                                      " present for a module not in target_modules");
        continue;
      }
      auto [in, out] = linear_shape(c, m);
      const std::vector<int64_t> a{config.r, in}, b{out, config.r};
      if (p.A.shape != a || p.A.numel() != config.r * in)
        throw std::invalid_argument("lora adapter: " + key(l, m, false) + " has shape " +
                                    p.A.shape_string() + ", expected [" + std::to_string(config.r) +
                                    ", " + std::to_string(in) + "]");
      if (p.B.shape != b || p.B.numel() != out * config.r)
        throw std::invalid_argument("lora adapter: " + key(l, m, true) + " has shape " +
                                    p.B.shape_string() + ", expected [" + std::to_string(out) +
                                    ", " + std::to_string(config.r) + "]");
    }
}

template <typename T>
LoraAdapter<T> LoraAdapter<T>::from_peft(const PeftAdapter& p, const LlamaConfig& c) {
  LoraAdapter<T> a = zeros(c, p.config);
  std::vector<char> seen;
  for (const LoraTensor& t : p.tensors) {
    if (t.key.layer < 0 || t.key.layer >= c.num_hidden_layers)
      throw std::invalid_argument("lora adapter: " + lora_tensor_key(t.key) + " names layer " +
                                  std::to_string(t.key.layer) + " but the model has " +
                                  std::to_string(c.num_hidden_layers));
    Pair& pr = a.layers[t.key.layer][static_cast<int>(t.key.module)];
    if (!pr.present())
      throw std::invalid_argument("lora adapter: " + lora_tensor_key(t.key) +
                                  " is for a module not in target_modules");
    Tensor<T>& dst = t.key.matrix == LoraMatrix::A ? pr.A : pr.B;
    if (t.shape != dst.shape || static_cast<int64_t>(t.data.size()) != dst.numel())
      throw std::invalid_argument("lora adapter: " + lora_tensor_key(t.key) + " has shape " +
                                  Tensor<float>(t.shape).shape_string() + ", the model needs " +
                                  dst.shape_string());
    for (size_t i = 0; i < t.data.size(); ++i) dst.data[i] = static_cast<T>(t.data[i]);
  }
  // Every targeted (layer, module) needs both matrices.
  for (size_t l = 0; l < a.layers.size(); ++l)
    for (LoraModule m : all_lora_modules()) {
      if (!p.config.targets(m)) continue;
      for (LoraMatrix mx : {LoraMatrix::A, LoraMatrix::B})
        if (!p.find(LoraKey{static_cast<int64_t>(l), m, mx}))
          throw std::invalid_argument("lora adapter: missing tensor " +
                                      lora_tensor_key(LoraKey{static_cast<int64_t>(l), m, mx}));
    }
  return a;
}

template <typename T>
PeftAdapter LoraAdapter<T>::to_peft() const {
  PeftAdapter p;
  p.config = config;
  for (size_t l = 0; l < layers.size(); ++l)
    for (LoraModule m : all_lora_modules()) {
      const Pair& pr = layers[l][static_cast<int>(m)];
      if (!pr.present()) continue;
      for (LoraMatrix mx : {LoraMatrix::A, LoraMatrix::B}) {
        const Tensor<T>& src = mx == LoraMatrix::A ? pr.A : pr.B;
        LoraTensor t;
        t.key = LoraKey{static_cast<int64_t>(l), m, mx};
        t.shape = src.shape;
        t.data.assign(src.data.begin(), src.data.end());
        p.tensors.push_back(std::move(t));
      }
    }
  return p;
}

template <typename T>
ScalarHead<T> ScalarHead<T>::zeros(int64_t hidden) {
  if (hidden < 1) throw std::invalid_argument("scalar head: hidden size must be >= 1");
  ScalarHead<T> h;
  h.weight = Tensor<T>({hidden});
  h.bias = Tensor<T>({1});
  return h;
}

template <typename T>
ScalarHead<T> ScalarHead<T>::random(int64_t hidden, uint64_t seed, double std) {
  ScalarHead<T> h = zeros(hidden);
  fill_normal(h.weight.data, tensor_seed(seed, "score.weight"), std);
  return h;
}

template <typename T>
void ScalarHead<T>::for_each(const std::function<void(const std::string&, Tensor<T>&)>& f) {
  f("score.weight", weight);
  f("score.bias", bias);
}

template <typename T>
void ScalarHead<T>::for_each(
    const std::function<void(const std::string&, const Tensor<T>&)>& f) const {
  f("score.weight", weight);
  f("score.bias", bias);
}

template struct LoraAdapter<float>;
template struct LoraAdapter<double>;
template struct ScalarHead<float>;
template struct ScalarHead<double>;

}  // namespace wb::llama
