// Rejection sampling on the GPU: rounds whose answers decode on the engine's GPU decoder
// (make_decode_backend, fp32) and whose reward models score on its GPU scorer (make_head_scorer)
// keep the same answers as the CPU engine's rounds, with the same rewards within tolerance.
// Skipped without a CUDA device.
//
// Tolerance: both devices compute in fp32; they differ in summation order only, about 1e-6
// relative per logit and score on this 2-layer model, so scores are compared to 1e-4 relative
// (and 1e-4 absolute near 0). The answers must be identical: the host draws each token with the
// same sampler and seed from the two devices' logits, and a draw changes only when its uniform
// number falls within ~1e-6 of a boundary of the cumulative distribution (odds of about 1e-4 over
// the few hundred draws here).
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>

#include "rlhf_tiny.h"
#include "wb/llama/decode_backend.h"
#include "wb/llama/device.h"
#include "wb/llama/head_scorer.h"
#include "wb/rlhf/rejection_sampling.h"
#include "wb_skip.h"

using namespace rlhftest;
using namespace wb::rlhf;

namespace {

void require_cuda() {
  const std::string why = wb::llama::cuda_unavailable();
  if (!why.empty()) WB_SKIP(("no CUDA device: " + why).c_str());
}

bool close(double a, double b) { return std::abs(a - b) <= 1e-4 * std::max(1.0, std::abs(b)); }

}  // namespace

TEST_CASE("rejection-sampling rounds on the GPU decoder and scorer keep the CPU's answers and rewards", "[rlhf][rs][gpu]") {
  require_cuda();
  const Model<float> base = tiny_base(401);
  const auto help = head_preferring(base, 9, 2.0);
  const auto safe = ScalarHead<float>::random(base.config.hidden_size, 402, 1.0);
  const auto safety_adapter = moved_lora(base.config, 403, 0.1);  // a reward model with an adapter
  auto ps = prompts(5, 3, base.config.vocab_size, 404);
  ps[1].unsafe = true;
  const auto policy = moved_lora(base.config, 405);
  RejectionSamplingConfig cfg;
  cfg.k = 4;
  cfg.temperature = 1.2;
  cfg.max_new_tokens = 6;
  cfg.seed = 17;

  RejectionSampler on_cpu(base, {nullptr, &help}, {&safety_adapter, &safe}, cfg);
  RejectionSampler on_gpu(base, {nullptr, &help}, {&safety_adapter, &safe}, cfg);
  const wb::llama::DeviceChoice d = wb::llama::choose_device("cuda", "cpu", "");
  REQUIRE(d.cuda);
  wb::llama::DecodeBackendOptions o;
  o.gpu_dtype = "fp32";
  o.max_seqs = 8;  // 20 answers a round: three groups
  auto decoder = wb::llama::make_decode_backend(d, base, o);
  auto scorer = wb::llama::make_head_scorer(d, std::shared_ptr<const Model<float>>(std::shared_ptr<void>(), &base));
  on_gpu.set_device({decoder.get(), scorer.get(), 8});

  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    const RejectionRoundStats c = on_cpu.round(&policy, ps);
    const RejectionRoundStats g = on_gpu.round(&policy, ps);
    REQUIRE(g.max_at_n.size() == c.max_at_n.size());
    for (size_t n = 0; n < c.max_at_n.size(); ++n) {
      CHECK(close(g.max_at_n[n], c.max_at_n[n]));
      CHECK(close(g.median_at_n[n], c.median_at_n[n]));
    }
    CHECK(close(g.mean_kept, c.mean_kept));
    CHECK(g.replaced == c.replaced);
    for (size_t p = 0; p < ps.size(); ++p) {
      INFO("prompt " << p);
      const KeptAnswer& a = on_gpu.best()[p];
      const KeptAnswer& b = on_cpu.best()[p];
      CHECK(a.response == b.response);
      CHECK(a.eos == b.eos);
      CHECK(a.round == b.round);
      CHECK(close(a.scores.helpfulness, b.scores.helpfulness));
      CHECK(close(a.scores.safety, b.scores.safety));
      CHECK(close(a.scores.combined, b.scores.combined));
    }
  }
  CHECK(scorer->adapter_uploads() > 0);  // the safety model's adapter went to the device
}
