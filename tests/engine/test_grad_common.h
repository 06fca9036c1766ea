// Shared by the engine's gradient and forward tests: a tiny GQA config, packed batches with a
// loss mask, the loss evaluated through the real engine, and a central-difference checker.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "wb/llama/backward.h"
#include "wb/llama/forward.h"
#include "wb/llama/loss.h"
#include "wb/llama/model.h"

namespace wbtest {

using namespace wb::llama;

// 2 layers, 4 query heads over 2 kv heads (GQA), head_dim 4, untied embeddings.
inline LlamaConfig tiny_config() {
  LlamaConfig c;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.vocab_size = 37;
  c.max_position_embeddings = 64;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.tie_word_embeddings = false;
  return c;
}

// A deterministic pseudo-random token stream.
inline std::vector<int32_t> tokens_for(uint64_t seed, int64_t n, int64_t vocab) {
  std::vector<int32_t> t(n);
  uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (auto& x : t) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<int32_t>((s >> 33) % static_cast<uint64_t>(vocab));
  }
  return t;
}

// Packed sequences of the given lengths, next-token targets inside each sequence (the last
// token of a sequence has none), and a mask that also drops each sequence's first target (a
// "prompt" token) so masking is exercised.
struct LmBatch {
  Batch batch;
  std::vector<int32_t> targets;
  std::vector<double> mask;
};

inline LmBatch lm_batch(const std::vector<int64_t>& lens, int64_t vocab, uint64_t seed = 7) {
  std::vector<std::vector<int32_t>> seqs;
  for (size_t i = 0; i < lens.size(); ++i) seqs.push_back(tokens_for(seed + i, lens[i], vocab));
  LmBatch lb;
  lb.batch = Batch::pack(seqs);
  for (const auto& s : seqs)
    for (size_t i = 0; i < s.size(); ++i) {
      lb.targets.push_back(i + 1 < s.size() ? s[i + 1] : -1);
      lb.mask.push_back(i == 0 ? 0.0 : 1.0);
    }
  return lb;
}

// Randomizes every LoRA B (fresh adapters have B = 0, which would make dA vanish).
template <typename T>
void randomize_b(LoraAdapter<T>& a, uint64_t seed, double std) {
  for (auto& layer : a.layers)
    for (auto& p : layer)
      if (p.present()) fill_normal(p.B.data, seed++, std);
}

// What a case's loss is made of.
struct LossSpec {
  const LmBatch* lm = nullptr;             // token cross-entropy over this batch
  std::vector<std::pair<int, int>> pairs;  // ranking pairs (chosen seq, rejected seq) on the head
  std::vector<double> margins;
};

// forward + loss (+ backward into g when non-null). Returns the loss.
inline double eval_loss(const Model<double>& m, const Batch& batch, const LossSpec& spec,
                        ForwardOptions opts, Workspace<double>& ws, Gradients<double>* g) {
  const bool use_head = !spec.pairs.empty();
  opts.logits = spec.lm != nullptr;
  opts.head = use_head;
  opts.for_backward = g != nullptr;
  forward(m, batch, ws, opts);
  double loss = 0;
  std::vector<double> dlogits, dhead;
  if (spec.lm) {
    dlogits.resize(ws.logits.size());
    loss += token_cross_entropy<double>(ws.logits.data(), batch.n_tokens(), m.config.vocab_size,
                                        spec.lm->targets, spec.lm->mask, dlogits.data());
  }
  if (use_head) {
    const size_t P = spec.pairs.size();
    std::vector<double> rc(P), rr(P), dc(P), dr(P);
    for (size_t p = 0; p < P; ++p) {
      rc[p] = ws.head_values[spec.pairs[p].first];
      rr[p] = ws.head_values[spec.pairs[p].second];
    }
    loss += ranking_loss<double>(rc.data(), rr.data(), spec.margins.data(), P, dc.data(), dr.data());
    dhead.assign(batch.n_seqs(), 0.0);
    for (size_t p = 0; p < P; ++p) {
      dhead[spec.pairs[p].first] += dc[p];
      dhead[spec.pairs[p].second] += dr[p];
    }
  }
  if (g) backward<double>(m, ws, spec.lm ? dlogits.data() : nullptr, use_head ? dhead.data() : nullptr, *g);
  return loss;
}

struct GradCheckResult {
  double max_rel = 0;
  std::string worst;
  int checked = 0;
};

// Compares the analytic gradient of each Param against central differences (the fourth-order
// five-point stencil (-f(x+2h) + 8f(x+h) - 8f(x-h) + f(x-2h)) / 12h, h = 1e-3: truncation
// ~h^4, round-off ~1e-16/h, both far below the gradients checked) on up to
// `samples` entries per tensor (always the first and last, the rest spread by a stride).
// rel = |analytic - numeric| / max(|analytic|, |numeric|, floor) with floor = 1e-6.
inline GradCheckResult grad_check(std::vector<Param<double>>& params,
                                  const std::function<double()>& loss, int samples,
                                  double eps = 1e-3) {
  GradCheckResult r;
  for (auto& p : params) {
    std::vector<int64_t> idx;
    if (p.numel <= samples) {
      for (int64_t i = 0; i < p.numel; ++i) idx.push_back(i);
    } else {
      for (int s = 0; s < samples; ++s) idx.push_back((s * (p.numel - 1)) / (samples - 1));
    }
    for (int64_t i : idx) {
      const double v = p.value[i];
      auto at = [&](double x) {
        p.value[i] = x;
        return loss();
      };
      const double num =
          (-at(v + 2 * eps) + 8 * at(v + eps) - 8 * at(v - eps) + at(v - 2 * eps)) / (12 * eps);
      p.value[i] = v;
      const double ana = p.grad[i];
      const double rel = std::abs(ana - num) / std::max({std::abs(ana), std::abs(num), 1e-6});
      ++r.checked;
      if (rel > r.max_rel) {
        r.max_rel = rel;
        r.worst = p.name + "[" + std::to_string(i) + "] analytic " + std::to_string(ana) +
                  " numeric " + std::to_string(num);
      }
    }
  }
  return r;
}

}  // namespace wbtest
