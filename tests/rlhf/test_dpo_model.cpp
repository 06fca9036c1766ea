// DPO through a tiny real model: the policy LoRA's gradient of the DPO loss matches finite
// differences in double, and a fresh policy adapter (B = 0) over the base equals the reference
// exactly at step 0 (log ratios 0, loss log 2).
#include <catch2/catch.hpp>

#include <cmath>

#include "test_grad_common.h"
#include "wb/rlhf/dpo_model.h"

using namespace wbtest;
using wb::rlhf::AnswerRows;
using wb::rlhf::answer_logprobs;
using wb::rlhf::dpo_forward_backward;

namespace {

// Two pairs: each sequence is 3 prompt tokens + an answer; only answer rows are counted.
struct PairBatch {
  Batch batch;
  AnswerRows rows;
};

PairBatch pair_batch(int64_t vocab) {
  const std::vector<int64_t> answer_lens{3, 4, 2, 3};
  std::vector<std::vector<int32_t>> seqs;
  PairBatch pb;
  for (size_t s = 0; s < answer_lens.size(); ++s) {
    const auto prompt = tokens_for(100 + s / 2, 3, vocab);  // chosen and rejected share the prompt
    auto seq = prompt;
    const auto answer = tokens_for(200 + s, answer_lens[s], vocab);
    seq.insert(seq.end(), answer.begin(), answer.end());
    for (size_t i = 0; i < seq.size(); ++i) {
      pb.rows.targets.push_back(i + 1 < seq.size() ? seq[i + 1] : -1);
      pb.rows.mask.push_back(i + 1 >= prompt.size() && i + 1 < seq.size() ? 1.0 : 0.0);
    }
    seqs.push_back(seq);
  }
  pb.batch = Batch::pack(seqs);
  return pb;
}

LoraConfig policy_lora() {
  LoraConfig lc;
  lc.r = 2;
  lc.lora_alpha = 4.0;
  lc.target_modules = all_lora_modules();
  return lc;
}

}  // namespace

TEST_CASE("DPO at step 0: a fresh policy LoRA over the base equals the reference exactly", "[dpo]") {
  Model<double> m;
  m.config = tiny_config();
  m.weights = Weights<double>::random(m.config, 21, 0.2);
  m.lora = LoraAdapter<double>::init(m.config, policy_lora(), 22);  // B = 0
  m.trainable.lora = true;
  const PairBatch pb = pair_batch(m.config.vocab_size);
  Workspace<double> ws;
  const std::vector<const LoraAdapter<double>*> off(4, nullptr);
  const auto ref = answer_logprobs(m, pb.batch, pb.rows, ws, off);
  Gradients<double> g = Gradients<double>::for_model(m);
  g.zero();
  const auto r = dpo_forward_backward(m, pb.batch, pb.rows, ref, 0.1, ws, &g);
  for (const auto& p : r.pairs) {
    CHECK(p.chosen_log_ratio == 0.0);
    CHECK(p.rejected_log_ratio == 0.0);
  }
  CHECK(r.loss == std::log(2.0));
}

TEST_CASE("DPO gradient through a tiny model's LoRA matches finite differences in double", "[dpo][grad]") {
  Model<double> m;
  m.config = tiny_config();
  m.weights = Weights<double>::random(m.config, 31, 0.2);
  m.lora = LoraAdapter<double>::init(m.config, policy_lora(), 32);
  randomize_b(*m.lora, 33, 0.2);  // the policy has moved away from the reference
  m.trainable.lora = true;
  const PairBatch pb = pair_batch(m.config.vocab_size);
  Workspace<double> ws;
  const auto ref = answer_logprobs(m, pb.batch, pb.rows, ws, std::vector<const LoraAdapter<double>*>(4, nullptr));
  const double beta = 0.5;
  Gradients<double> g = Gradients<double>::for_model(m);
  g.zero();
  const auto r = dpo_forward_backward(m, pb.batch, pb.rows, ref, beta, ws, &g);
  CHECK(r.chosen_log_ratio != 0.0);
  auto params = parameters(m, g);
  Workspace<double> ws2;
  const GradCheckResult gc = grad_check(
      params, [&] { return dpo_forward_backward<double>(m, pb.batch, pb.rows, ref, beta, ws2, nullptr).loss; },
      1 << 30);
  INFO(gc.worst);
  CHECK(gc.checked == m.lora->numel());
  CHECK(gc.max_rel < 1e-5);
}
