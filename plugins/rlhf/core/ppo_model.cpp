#include "wb/rlhf/ppo_model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "wb/llama/backward.h"
#include "wb/llama/forward.h"

namespace wb::rlhf {
namespace {

void check_temperature(double t) {
  if (!std::isfinite(t) || t <= 0)
    throw std::invalid_argument("ppo: temperature must be > 0, got " + std::to_string(t));
}

void check_tokens(const ResponseBatch& rb, size_t n, const char* what) {
  if (static_cast<int64_t>(n) != rb.n_response_tokens())
    throw std::invalid_argument(std::string("ppo: ") + std::to_string(n) + " " + what + " for " +
                                std::to_string(rb.n_response_tokens()) + " response tokens");
}

// Per response token: log softmax(row / T)[target] and, when wanted, the entropy of that row.
// With d_logp non-null, dlogits gets d_logp[i] / T * (onehot(target) - softmax(row / T)) on the
// row of token i, 0 on every other row.
template <typename T>
std::vector<double> logprobs_of_rows(const ResponseBatch& rb, const T* logits, int64_t V, double temperature,
                                     std::vector<double>* entropy, const std::vector<double>* d_logp,
                                     std::vector<T>* dlogits) {
  const size_t n = rb.targets.size();
  std::vector<double> out(n);
  if (entropy) entropy->assign(n, 0.0);
  if (dlogits) dlogits->assign(static_cast<size_t>(rb.batch.n_tokens() * V), T(0));
  for (size_t i = 0; i < n; ++i) {
    const int32_t t = rb.targets[i];
    if (t < 0 || t >= V) throw std::invalid_argument("ppo: response token " + std::to_string(t) + " outside the vocabulary");
    const T* row = logits + static_cast<int64_t>(rb.rows[i]) * V;
    double mx = double(row[0]) / temperature;
    for (int64_t v = 1; v < V; ++v) mx = std::max(mx, double(row[v]) / temperature);
    double z = 0;
    for (int64_t v = 0; v < V; ++v) z += std::exp(double(row[v]) / temperature - mx);
    const double lse = mx + std::log(z);
    out[i] = double(row[t]) / temperature - lse;
    if (entropy) (*entropy)[i] = softmax_entropy(row, V, temperature);
    if (dlogits) {
      const double g = (*d_logp)[i] / temperature;
      T* d = dlogits->data() + static_cast<int64_t>(rb.rows[i]) * V;
      for (int64_t v = 0; v < V; ++v) d[v] = static_cast<T>(-g * std::exp(double(row[v]) / temperature - lse));
      d[t] += static_cast<T>(g);
    }
  }
  return out;
}

template <typename T>
std::vector<double> values_of_rows(const ResponseBatch& rb, const T* hidden, int64_t D, const llama::ScalarHead<T>& head) {
  if (head.weight.numel() != D || head.bias.numel() != 1)
    throw std::invalid_argument("ppo: value head of width " + std::to_string(head.weight.numel()) +
                                " for hidden size " + std::to_string(D));
  std::vector<double> v(rb.rows.size());
  for (size_t i = 0; i < rb.rows.size(); ++i) {
    const T* h = hidden + static_cast<int64_t>(rb.rows[i]) * D;
    double s = double(head.bias.data[0]);
    for (int64_t d = 0; d < D; ++d) s += double(head.weight.data[d]) * double(h[d]);
    v[i] = s;
  }
  return v;
}

template <typename T>
std::vector<const llama::LoraAdapter<T>*> every_sequence(const ResponseBatch& rb, const llama::LoraAdapter<T>* a) {
  return std::vector<const llama::LoraAdapter<T>*>(static_cast<size_t>(rb.batch.n_seqs()), a);
}

}  // namespace

ResponseBatch ResponseBatch::make(const std::vector<std::vector<int32_t>>& prompts,
                                  const std::vector<std::vector<int32_t>>& responses) {
  if (prompts.size() != responses.size())
    throw std::invalid_argument("ppo: " + std::to_string(prompts.size()) + " prompts for " +
                                std::to_string(responses.size()) + " responses");
  if (prompts.empty()) throw std::invalid_argument("ppo: no responses");
  ResponseBatch rb;
  std::vector<std::vector<int32_t>> seqs;
  seqs.reserve(prompts.size());
  rb.offsets.push_back(0);
  int64_t begin = 0;
  for (size_t s = 0; s < prompts.size(); ++s) {
    if (prompts[s].empty()) throw std::invalid_argument("ppo: prompt " + std::to_string(s) + " is empty");
    if (responses[s].empty()) throw std::invalid_argument("ppo: response " + std::to_string(s) + " is empty");
    const int64_t P = static_cast<int64_t>(prompts[s].size());
    for (size_t j = 0; j < responses[s].size(); ++j) {
      rb.rows.push_back(static_cast<int32_t>(begin + P + static_cast<int64_t>(j) - 1));
      rb.targets.push_back(responses[s][j]);
    }
    rb.offsets.push_back(static_cast<int64_t>(rb.targets.size()));
    std::vector<int32_t> seq = prompts[s];
    seq.insert(seq.end(), responses[s].begin(), responses[s].end());
    begin += static_cast<int64_t>(seq.size());
    seqs.push_back(std::move(seq));
  }
  rb.batch = llama::Batch::pack(seqs);
  return rb;
}

template <typename T>
std::vector<double> response_logprobs(const llama::Model<T>& m, const ResponseBatch& rb, llama::Workspace<T>& ws,
                                      const llama::LoraAdapter<T>* adapter, double temperature,
                                      std::vector<double>* entropy) {
  check_temperature(temperature);
  llama::ForwardOptions opts;
  opts.logits = true;
  llama::forward(m, rb.batch, ws, opts, every_sequence(rb, adapter));
  return logprobs_of_rows<T>(rb, ws.logits.data(), m.config.vocab_size, temperature, entropy, nullptr, nullptr);
}

template <typename T>
std::vector<double> response_values(const llama::Model<T>& m, const ResponseBatch& rb, llama::Workspace<T>& ws,
                                    const llama::LoraAdapter<T>* adapter, const llama::ScalarHead<T>& head) {
  llama::ForwardOptions opts;
  opts.logits = false;
  llama::forward(m, rb.batch, ws, opts, every_sequence(rb, adapter));
  return values_of_rows<T>(rb, ws.hidden.data(), m.config.hidden_size, head);
}

template <typename T>
PolicyLossResult policy_forward_backward(const llama::Model<T>& m, const ResponseBatch& rb,
                                         const std::vector<double>& old_logp, const std::vector<double>& advantages,
                                         double clip, double temperature, llama::Workspace<T>& ws,
                                         llama::Gradients<T>* grads, double* entropy) {
  check_temperature(temperature);
  check_tokens(rb, old_logp.size(), "old log-probs");
  check_tokens(rb, advantages.size(), "advantages");
  llama::ForwardOptions opts;
  opts.logits = true;
  opts.for_backward = grads != nullptr;
  llama::forward(m, rb.batch, ws, opts);
  const int64_t V = m.config.vocab_size;
  std::vector<double> ent;
  const auto logp = logprobs_of_rows<T>(rb, ws.logits.data(), V, temperature, entropy ? &ent : nullptr, nullptr, nullptr);
  PolicyLossResult r = clipped_policy_loss(logp, old_logp, advantages, clip);
  if (entropy) {
    *entropy = 0;
    for (double e : ent) *entropy += e / static_cast<double>(ent.size());
  }
  if (grads) {
    std::vector<T> dlogits;
    logprobs_of_rows<T>(rb, ws.logits.data(), V, temperature, nullptr, &r.d_logp, &dlogits);
    llama::backward<T>(m, ws, dlogits.data(), nullptr, *grads);
  }
  return r;
}

template <typename T>
ValueLossResult value_forward_backward(const llama::Model<T>& m, const ResponseBatch& rb,
                                       const std::vector<double>& old_values, const std::vector<double>& returns,
                                       double clip, llama::Workspace<T>& ws, llama::Gradients<T>* grads) {
  if (!m.head) throw std::invalid_argument("ppo: the value model has no scalar head");
  check_tokens(rb, old_values.size(), "old values");
  check_tokens(rb, returns.size(), "returns");
  llama::ForwardOptions opts;
  opts.logits = false;
  opts.for_backward = grads != nullptr;
  llama::forward(m, rb.batch, ws, opts);
  const int64_t D = m.config.hidden_size;
  const auto values = values_of_rows<T>(rb, ws.hidden.data(), D, *m.head);
  ValueLossResult r = clipped_value_loss(values, old_values, returns, clip);
  if (grads) {
    // The head is read on every response row: its gradient and dhidden are formed here, and the
    // engine carries dhidden down through the layers (backward_hidden).
    std::vector<T> dhidden(static_cast<size_t>(rb.batch.n_tokens() * D), T(0));
    llama::ScalarHead<T>* gh = (m.trainable.head && grads->head) ? &*grads->head : nullptr;
    for (size_t i = 0; i < rb.rows.size(); ++i) {
      const double g = r.d_values[i];
      if (g == 0) continue;
      const T* h = ws.hidden.data() + static_cast<int64_t>(rb.rows[i]) * D;
      T* dh = dhidden.data() + static_cast<int64_t>(rb.rows[i]) * D;
      for (int64_t d = 0; d < D; ++d) {
        dh[d] += static_cast<T>(g * double(m.head->weight.data[d]));
        if (gh) gh->weight.data[d] += static_cast<T>(g * double(h[d]));
      }
      if (gh) gh->bias.data[0] += static_cast<T>(g);
    }
    llama::backward_hidden<T>(m, ws, nullptr, nullptr, dhidden.data(), *grads);
  }
  return r;
}

#define WB_PPO_MODEL_INSTANTIATE(T)                                                                                  \
  template std::vector<double> response_logprobs<T>(const llama::Model<T>&, const ResponseBatch&,                  \
                                                    llama::Workspace<T>&, const llama::LoraAdapter<T>*, double,     \
                                                    std::vector<double>*);                                          \
  template std::vector<double> response_values<T>(const llama::Model<T>&, const ResponseBatch&,                    \
                                                  llama::Workspace<T>&, const llama::LoraAdapter<T>*,               \
                                                  const llama::ScalarHead<T>&);                                     \
  template PolicyLossResult policy_forward_backward<T>(const llama::Model<T>&, const ResponseBatch&,               \
                                                       const std::vector<double>&, const std::vector<double>&,     \
                                                       double, double, llama::Workspace<T>&,                        \
                                                       llama::Gradients<T>*, double*);                              \
  template ValueLossResult value_forward_backward<T>(const llama::Model<T>&, const ResponseBatch&,                 \
                                                     const std::vector<double>&, const std::vector<double>&,       \
                                                     double, llama::Workspace<T>&, llama::Gradients<T>*);
WB_PPO_MODEL_INSTANTIATE(float)
WB_PPO_MODEL_INSTANTIATE(double)
#undef WB_PPO_MODEL_INSTANTIATE

}  // namespace wb::rlhf
