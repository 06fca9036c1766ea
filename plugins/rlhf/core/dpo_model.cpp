#include "wb/rlhf/dpo_model.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "wb/llama/backward.h"
#include "wb/llama/forward.h"

namespace wb::rlhf {
namespace {

void check_rows(const llama::Batch& batch, const AnswerRows& rows) {
  const auto n = static_cast<size_t>(batch.n_tokens());
  if (rows.targets.size() != n || rows.mask.size() != n)
    throw std::invalid_argument("dpo: " + std::to_string(n) + " rows in the batch but " +
                                std::to_string(rows.targets.size()) + " targets and " +
                                std::to_string(rows.mask.size()) + " mask entries");
}

// Per sequence: sum of log softmax(logits_i)[target_i] over masked rows; when dlogp is non-null,
// dlogits[i] = dlogp[seq(i)] * (onehot(target_i) - softmax(logits_i)) on those rows, 0 elsewhere.
template <typename T>
std::vector<double> logprobs_from_logits(const llama::Batch& batch, const AnswerRows& rows, const T* logits,
                                         int64_t V, const std::vector<double>* dlogp, std::vector<T>* dlogits) {
  const int64_t S = batch.n_seqs();
  std::vector<double> out(static_cast<size_t>(S), 0.0);
  if (dlogits) dlogits->assign(static_cast<size_t>(batch.n_tokens() * V), T(0));
  for (int64_t s = 0; s < S; ++s) {
    for (int64_t i = batch.cu_seqlens[s]; i < batch.cu_seqlens[s + 1]; ++i) {
      const int32_t t = rows.targets[static_cast<size_t>(i)];
      if (t < 0 || rows.mask[static_cast<size_t>(i)] == 0) continue;
      if (t >= V) throw std::invalid_argument("dpo: target " + std::to_string(t) + " >= vocab " + std::to_string(V));
      const T* row = logits + i * V;
      double mx = row[0];
      for (int64_t v = 1; v < V; ++v) mx = std::max(mx, double(row[v]));
      double z = 0;
      for (int64_t v = 0; v < V; ++v) z += std::exp(double(row[v]) - mx);
      const double lse = mx + std::log(z);
      out[static_cast<size_t>(s)] += double(row[t]) - lse;
      if (dlogits) {
        const double g = (*dlogp)[static_cast<size_t>(s)];
        T* d = dlogits->data() + i * V;
        for (int64_t v = 0; v < V; ++v) d[v] = static_cast<T>(-g * std::exp(double(row[v]) - lse));
        d[t] += static_cast<T>(g);
      }
    }
  }
  return out;
}

}  // namespace

template <typename T>
std::vector<double> answer_logprobs(const llama::Model<T>& m, const llama::Batch& batch, const AnswerRows& rows,
                                    llama::Workspace<T>& ws,
                                    const std::vector<const llama::LoraAdapter<T>*>& adapters) {
  check_rows(batch, rows);
  llama::ForwardOptions opts;
  opts.logits = true;
  llama::forward(m, batch, ws, opts, adapters);
  return logprobs_from_logits<T>(batch, rows, ws.logits.data(), m.config.vocab_size, nullptr, nullptr);
}

template <typename T>
DpoBatchResult dpo_forward_backward(const llama::Model<T>& m, const llama::Batch& batch, const AnswerRows& rows,
                                    const std::vector<double>& ref_logprobs, double beta, llama::Workspace<T>& ws,
                                    llama::Gradients<T>* grads) {
  check_rows(batch, rows);
  const int64_t S = batch.n_seqs();
  if (S % 2 != 0) throw std::invalid_argument("dpo: sequences come in (chosen, rejected) pairs, got " + std::to_string(S));
  if (static_cast<int64_t>(ref_logprobs.size()) != S)
    throw std::invalid_argument("dpo: " + std::to_string(ref_logprobs.size()) + " reference log-probs for " +
                                std::to_string(S) + " sequences");
  llama::ForwardOptions opts;
  opts.logits = true;
  opts.for_backward = grads != nullptr;
  llama::forward(m, batch, ws, opts);
  const int64_t V = m.config.vocab_size;
  const auto pol = logprobs_from_logits<T>(batch, rows, ws.logits.data(), V, nullptr, nullptr);
  std::vector<DpoPair> pairs(static_cast<size_t>(S / 2));
  for (size_t p = 0; p < pairs.size(); ++p)
    pairs[p] = DpoPair{pol[2 * p], pol[2 * p + 1], ref_logprobs[2 * p], ref_logprobs[2 * p + 1]};
  DpoBatchResult r = dpo_batch(pairs, beta);
  if (grads) {
    std::vector<double> dlogp(static_cast<size_t>(S));
    for (size_t p = 0; p < pairs.size(); ++p) {
      dlogp[2 * p] = r.pairs[p].d_policy_chosen;
      dlogp[2 * p + 1] = r.pairs[p].d_policy_rejected;
    }
    std::vector<T> dlogits;
    logprobs_from_logits<T>(batch, rows, ws.logits.data(), V, &dlogp, &dlogits);
    llama::backward<T>(m, ws, dlogits.data(), nullptr, *grads);
  }
  return r;
}

template std::vector<double> answer_logprobs<float>(const llama::Model<float>&, const llama::Batch&, const AnswerRows&,
                                                    llama::Workspace<float>&,
                                                    const std::vector<const llama::LoraAdapter<float>*>&);
template std::vector<double> answer_logprobs<double>(const llama::Model<double>&, const llama::Batch&,
                                                     const AnswerRows&, llama::Workspace<double>&,
                                                     const std::vector<const llama::LoraAdapter<double>*>&);
template DpoBatchResult dpo_forward_backward<float>(const llama::Model<float>&, const llama::Batch&, const AnswerRows&,
                                                    const std::vector<double>&, double, llama::Workspace<float>&,
                                                    llama::Gradients<float>*);
template DpoBatchResult dpo_forward_backward<double>(const llama::Model<double>&, const llama::Batch&,
                                                     const AnswerRows&, const std::vector<double>&, double,
                                                     llama::Workspace<double>&, llama::Gradients<double>*);

}  // namespace wb::rlhf
