// Model construction/validation, gradient buffers for the trainable set, parameter listing.
#include "wb/llama/model.h"

#include <stdexcept>

namespace wb::llama {

template <typename T>
Model<T> Model<T>::random(const LlamaConfig& c, uint64_t seed) {
  c.validate();
  Model<T> m;
  m.config = c;
  m.weights = Weights<T>::random(c, seed);
  return m;
}

template <typename T>
void Model<T>::validate() const {
  config.validate();
  weights.check_shapes(config);
  if (lora) lora->check_shapes(config);
  if (head) {
    if (head->weight.shape != std::vector<int64_t>{config.hidden_size} ||
        head->weight.numel() != config.hidden_size || head->bias.numel() != 1)
      throw std::invalid_argument("model: scalar head has shape " + head->weight.shape_string() +
                                  ", expected [" + std::to_string(config.hidden_size) + "]");
  }
  if (trainable.lora && !lora)
    throw std::invalid_argument("model: trainable.lora is set but the model has no LoRA adapter");
  if (trainable.head && !head)
    throw std::invalid_argument("model: trainable.head is set but the model has no scalar head");
}

template <typename T>
Gradients<T> Gradients<T>::for_model(const Model<T>& m) {
  m.validate();
  Gradients<T> g;
  if (m.trainable.full) g.full = Weights<T>::zeros(m.config);
  if (m.trainable.lora) g.lora = LoraAdapter<T>::zeros(m.config, m.lora->config);
  if (m.trainable.head) g.head = ScalarHead<T>::zeros(m.config.hidden_size);
  return g;
}

template <typename T>
void Gradients<T>::zero() {
  auto z = [](const std::string&, Tensor<T>& t) { std::fill(t.data.begin(), t.data.end(), T(0)); };
  if (full) full->for_each(z);
  if (lora) lora->for_each(z);
  if (head) head->for_each(z);
}

bool decays(const std::string& name) {
  const bool is_norm = name.find("norm") != std::string::npos;
  const bool is_bias = name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0;
  return !is_norm && !is_bias;
}

namespace {

// Pairs the tensors of two identically shaped structures visited in the same order.
template <typename T, typename S>
void pair_up(S& values, S& grads, std::vector<Param<T>>& out) {
  std::vector<std::pair<std::string, Tensor<T>*>> v, g;
  values.for_each([&](const std::string& n, Tensor<T>& t) { v.emplace_back(n, &t); });
  grads.for_each([&](const std::string& n, Tensor<T>& t) { g.emplace_back(n, &t); });
  if (v.size() != g.size())
    throw std::invalid_argument("parameters: gradients do not match the model's trainable set");
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i].first != g[i].first || v[i].second->numel() != g[i].second->numel())
      throw std::invalid_argument("parameters: gradient for '" + v[i].first +
                                  "' is missing or has another shape");
    out.push_back(Param<T>{v[i].first, v[i].second->ptr(), g[i].second->ptr(),
                           v[i].second->numel(), decays(v[i].first)});
  }
}
}  // namespace

template <typename T>
std::vector<Param<T>> parameters(Model<T>& m, Gradients<T>& g) {
  std::vector<Param<T>> out;
  if (m.trainable.full) {
    if (!g.full) throw std::invalid_argument("parameters: no gradients for the full weights");
    pair_up<T>(m.weights, *g.full, out);
  }
  if (m.trainable.lora) {
    if (!m.lora || !g.lora) throw std::invalid_argument("parameters: no LoRA adapter/gradients");
    pair_up<T>(*m.lora, *g.lora, out);
  }
  if (m.trainable.head) {
    if (!m.head || !g.head) throw std::invalid_argument("parameters: no scalar head/gradients");
    pair_up<T>(*m.head, *g.head, out);
  }
  return out;
}

template struct Model<float>;
template struct Model<double>;
template struct Gradients<float>;
template struct Gradients<double>;
template std::vector<Param<float>> parameters<float>(Model<float>&, Gradients<float>&);
template std::vector<Param<double>> parameters<double>(Model<double>&, Gradients<double>&);

}  // namespace wb::llama
