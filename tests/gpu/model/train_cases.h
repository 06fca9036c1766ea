// Shared by the GPU trainer tests (test_gpu_trainer_*.cpp): the micro-batches (SFT-like token
// batches with prompt masks; chosen/rejected pair batches with margins and a padded sequence),
// the trainer config (2 micro-batches, warm-up + cosine, weight decay, optional clipping, an AdamW
// eps that keeps final-weight comparisons well conditioned), every
// trainable tensor of a model by name, and the lockstep run that compares a GpuTrainer with the
// CPU Trainer step by step.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "tiny_model.h"
#include "wb/llama/batch.h"
#include "wb/llama/cuda/trainer.h"
#include "wb/llama/model.h"
#include "wb/llama/trainer.h"

namespace gputest {

namespace llama = wb::llama;

// A packed micro-batch of SFT-like sequences: next-token targets (-1 at each end), the first two
// rows of every sequence masked out as "prompt", one row weighted 0.5.
inline llama::TrainBatch sft_micro_batch(const std::vector<std::vector<int32_t>>& seqs) {
  llama::TrainBatch tb;
  tb.batch = llama::Batch::pack(seqs);
  for (const auto& s : seqs)
    for (size_t i = 0; i < s.size(); ++i) {
      tb.targets.push_back(i + 1 < s.size() ? s[i + 1] : -1);
      tb.mask.push_back(i < 2 ? 0.0f : 1.0f);
    }
  tb.mask[tb.mask.size() - 3] = 0.5f;
  return tb;
}

inline std::vector<llama::TrainBatch> sft_batches() {
  return {sft_micro_batch({{1, 5, 9, 33, 2, 71, 12}, {1, 7, 7, 40, 96, 3, 18, 55, 60, 11, 4}}),
          sft_micro_batch({{1, 44, 8, 19, 23, 5, 90, 61, 2}}),
          sft_micro_batch({{1, 3, 3, 87, 14}, {1, 62, 30, 9, 9, 41}, {1, 77, 6, 12, 50, 2, 8, 4}})};
}

// chosen_0..chosen_{P-1} then rejected_0.. packed, with margins (empty: none). When pad_last,
// the last rejected sequence carries two padding rows: its head reads the row before them.
inline llama::TrainBatch pair_batch(const std::vector<std::vector<int32_t>>& chosen,
                                    const std::vector<std::vector<int32_t>>& rejected,
                                    std::vector<float> margins, bool pad_last) {
  std::vector<std::vector<int32_t>> seqs = chosen;
  seqs.insert(seqs.end(), rejected.begin(), rejected.end());
  if (pad_last) {
    seqs.back().push_back(0);
    seqs.back().push_back(0);
  }
  llama::TrainBatch tb;
  tb.batch = llama::Batch::pack(seqs);
  if (pad_last) tb.batch.last_index.back() -= 2;
  tb.margins = std::move(margins);
  return tb;
}

inline std::vector<llama::TrainBatch> ranking_batches() {
  return {pair_batch({{1, 5, 9, 33, 2}, {1, 44, 8, 19, 23, 5, 90}}, {{1, 5, 9, 12}, {1, 44, 7, 7, 3}},
                     {0.5f, 1.0f}, /*pad_last=*/true),
          pair_batch({{1, 62, 30, 9, 9, 41}}, {{1, 62, 31, 2}}, {}, false),
          pair_batch({{1, 3, 3, 87}, {1, 77, 6, 12, 50, 2}, {1, 18, 55}},
                     {{1, 3, 4}, {1, 77, 6, 12, 51, 2, 8}, {1, 18, 60, 60}}, {0.0f, 2.0f, 0.25f},
                     false)};
}

// AdamW's eps in every GPU-vs-CPU training comparison. Not the default 1e-8: with it, Adam's
// update m/(sqrt(v)+eps) is about +-lr whatever the gradient's size, so an element whose gradient
// is within fp32 roundoff of zero moves in a direction the roundoff decides, and the final
// weights of two correct trainers differ by more than the 1e-3 the tests allow (on the CPU,
// roundoff-sized gradient noise gives up to 1e-2 on these cases). With eps = 1e-3 a gradient
// difference dg changes a step by at most lr * dg / eps: roundoff-sized noise then stays under
// 1e-4, and the elements with |g| >> 1e-3 still take Adam's normalized steps.
// test_gpu_trainer_tolerance.cpp measures both on the CPU with perturbed gradients.
constexpr double kCompareAdamEps = 1e-3;

// total steps; clip 0: no clipping. Two micro-batches per step, warm-up 2 then cosine.
inline llama::TrainerConfig train_config(int64_t total, double clip, double lr = 2e-2,
                                         llama::LossKind loss = llama::LossKind::kTokenCE,
                                         double centering = 0) {
  llama::TrainerConfig tc;
  tc.loss = loss;
  tc.total_steps = total;
  tc.micro_batches = 2;
  tc.schedule.lr = lr;
  tc.schedule.min_lr = lr / 10;
  tc.schedule.warmup_steps = 2;
  tc.adamw.weight_decay = 0.05;
  tc.adamw.max_grad_norm = clip;
  tc.adamw.eps = kCompareAdamEps;
  tc.centering = centering;
  tc.seed = 9;
  return tc;
}

// The models the tests train: the tiny model (seed 21) fully trainable (full_model), with a fresh
// PEFT-style adapter trainable (lora_model: B = 0), and as a reward model (reward_model: that
// adapter plus a scalar head, seed 17, bias 0.25) with the trainable set tr.
inline llama::Model<float> full_model(bool tied) {
  auto c = tiny();
  c.tie_word_embeddings = tied;
  auto m = llama::Model<float>::random(c, 21);
  m.trainable = {.full = true};
  return m;
}

inline llama::Model<float> lora_model() {
  auto m = tiny_with_fresh_lora();
  m.trainable = {.lora = true};
  return m;
}

inline llama::Model<float> reward_model(llama::Trainable tr) {
  auto m = tiny_with_fresh_lora();
  m.head = llama::ScalarHead<float>::random(m.config.hidden_size, 17, 0.1);
  m.head->bias.data[0] = 0.25f;
  m.trainable = tr;
  return m;
}

// m with a trained-looking adapter: every B (fresh: 0, which hides the adapter's share of the
// forward and of the gradient passed down) set to small nonzero values.
inline llama::Model<float> with_nonzero_b(llama::Model<float> m) {
  m.lora->for_each([](const std::string& name, llama::Tensor<float>& t) {
    if (name.find("lora_B") != std::string::npos)
      for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = 0.01f * float(int(i % 7) - 3);
  });
  return m;
}

// The full-training tests' peak rate; the reward tests' ranking config (centering on).
constexpr double kFullLr = 1e-2;
constexpr double kCentering = 0.05;
inline llama::TrainerConfig ranking_config(int64_t total, double clip) {
  return train_config(total, clip, 2e-2, llama::LossKind::kRanking, kCentering);
}

// Every trainable tensor of m (its trainable set), by CPU parameter name.
inline std::map<std::string, std::vector<float>> trainable_values(const llama::Model<float>& m) {
  std::map<std::string, std::vector<float>> out;
  auto put = [&](const std::string& name, const llama::Tensor<float>& t) { out[name] = t.data; };
  if (m.trainable.full) m.weights.for_each(put);
  if (m.trainable.lora && m.lora) m.lora->for_each(put);
  if (m.trainable.head && m.head) m.head->for_each(put);
  return out;
}

// The largest per-tensor error max|got - want| / max(max|want|, floor) over every trainable
// tensor (floor keeps a near-zero tensor, e.g. a bias, from turning roundoff into a large ratio);
// infinity on a missing tensor, a size mismatch or a NaN.
inline double max_tensor_err(const llama::Model<float>& got, const llama::Model<float>& want,
                             double floor = 1e-2) {
  const auto g = trainable_values(got), w = trainable_values(want);
  if (g.size() != w.size()) return INFINITY;
  double worst = 0;
  for (const auto& [name, wv] : w) {
    auto it = g.find(name);
    if (it == g.end() || it->second.size() != wv.size()) return INFINITY;
    double num = 0, den = floor;
    for (size_t i = 0; i < wv.size(); ++i) {
      if (std::isnan(it->second[i])) return INFINITY;
      num = std::max(num, std::fabs(double(it->second[i]) - double(wv[i])));
      den = std::max(den, std::fabs(double(wv[i])));
    }
    worst = std::max(worst, num / den);
  }
  return worst;
}

// Runs k steps of both trainers side by side: the same lr and tokens every step; where the GPU
// step read its loss back, loss and gradient norm within rel (relative). With clipping on, the
// GPU reads the norm every step, so it is compared every step. Returns the CPU stats.
template <typename T>
std::vector<llama::StepStats> lockstep(llama::Trainer& cpu, wb::gpu::GpuTrainer<T>& gpu, int64_t k,
                                       double rel) {
  std::vector<llama::StepStats> out;
  for (int64_t s = 0; s < k; ++s) {
    const llama::StepStats want = cpu.step();
    const wb::gpu::GpuStepStats got = gpu.step();
    INFO("step " << got.step);
    REQUIRE(got.step == want.step);
    CHECK(got.lr == Approx(want.lr).epsilon(1e-12));
    CHECK(got.tokens == want.tokens);
    if (got.loss_read) CHECK(got.loss == Approx(want.loss).epsilon(rel));
    else CHECK(std::isnan(got.loss));
    if (got.loss_read || gpu.config().adamw.max_grad_norm > 0)
      CHECK(got.grad_norm == Approx(want.grad_norm).epsilon(rel));
    out.push_back(want);
  }
  return out;
}

}  // namespace gputest
