#include "rs_job.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "rl_inputs.h"
#include "rs_data.h"
#include "rs_spec.h"
#include "wb/llama/adapter_io.h"
#include "wb/llama/checkpoint.h"
#include "wb/llama/decode_backend.h"
#include "wb/llama/head_scorer.h"
#include "wb/llama/train_loop.h"
#include "wb/plugin/device.h"
#include "wb/plugin/model_store.h"
#include "wb/plugin/spec.h"
#include "wb/plugin/training_options.h"

namespace wb::rlhf {
namespace fs = std::filesystem;
using nlohmann::json;
using plugin::JobHost;

namespace {

// Sequences decoding together on the GPU decoder (its KV caches are allocated up front for them).
constexpr int64_t kRsDecodeGroup = 64;

// What plugin::trainer_config reads: constant rate, no warm-up, no accumulation.
struct SftOptions {
  int64_t grad_accum = 1;
  std::string schedule = "constant";
  double lr = 0, min_lr = 0, warmup = 0, weight_decay = 0, clip = 1;
  uint64_t seed = 0;
};

void report_round(const JobHost& job, const RejectionRoundStats& st) {
  const int64_t step = st.round + 1;
  for (size_t n = 0; n < st.max_at_n.size(); ++n) {
    job.metric(step, "max_reward_n" + std::to_string(n + 1), st.max_at_n[n]);
    job.metric(step, "median_reward_n" + std::to_string(n + 1), st.median_at_n[n]);
  }
  job.metric(step, "kept_reward", st.mean_kept);
  job.metric(step, "replaced", static_cast<double>(st.replaced));
  job.metric(step, "generation_seconds", st.generation_seconds);
  job.metric(step, "scoring_seconds", st.scoring_seconds);
}

}  // namespace

wb_status run_rs(const JobHost& job, const json& spec_json) {
  const RsSpec s = parse_rs_spec(spec_json);
  if (s.output.empty()) plugin::spec_fail("output", "missing and no job id to name it after");
  llama::DeviceChoice device = plugin::choose_device(s.device, "");
  job.progress(0.0, "load");
  PolicyAndReference pr = load_policy_and_reference(job, s);
  plugin::fit_gpu_memory(device, s.device, pr.model.weights.numel(), false, "rejection sampling");
  job.info("device: " + device.note);
  const llama::LlamaConfig& cfg = pr.model.config;
  const LoadedRewardModel helpful = load_reward_model(job, s.helpfulness, cfg);
  const LoadedRewardModel safe = load_reward_model(job, s.safety, cfg);
  const llama::Tokenizer tok = plugin::model_tokenizer(plugin::registered_model_path(s.model, job.handle()), s.model);
  if (tok.vocab_size() != cfg.vocab_size)
    throw std::runtime_error("model '" + s.model + "': tokenizer vocabulary differs from config vocab_size");
  job.progress(0.01, "data");
  const PromptSet ps = load_prompts(job, tok, s.dataset, s.safety_tags, cfg.max_position_embeddings);
  if (ps.skipped > 0)
    job.log(WB_LOG_WARN, std::to_string(ps.skipped) + " prompts skipped: no room for an answer in the context");

  RejectionSamplingConfig rc;
  rc.k = s.k;
  rc.temperature = s.temperature;
  rc.max_new_tokens = s.max_new_tokens;
  rc.seed = s.seed;
  rc.gate.safety_threshold = s.safety_threshold;
  RejectionSampler sampler(pr.model, helpful.view(), safe.view(), rc);
  // On the GPU the answers decode on the serving decoder and the reward models score on the GPU
  // scorer (fp32 copies of the base), and the SFT pass trains on the GPU trainer; on the CPU all
  // three read pr.model in place.
  std::unique_ptr<llama::DecodeBackend> decoder;
  std::unique_ptr<llama::HeadScorer> scorer;
  if (device.cuda) {
    llama::DecodeBackendOptions o;
    o.gpu_dtype = "fp32";
    o.max_seqs = kRsDecodeGroup;
    // KV caches are allocated up front: as long as the longest prompt and its answer, not the context.
    size_t longest = 0;
    for (const Prompt& p : ps.prompts) longest = std::max(longest, p.tokens.size());
    o.max_context = std::min<int64_t>(cfg.max_position_embeddings, static_cast<int64_t>(longest) + s.max_new_tokens + 1);
    decoder = llama::make_decode_backend(device, pr.model, o);
    scorer = llama::make_head_scorer(device, std::shared_ptr<const llama::Model<float>>(std::shared_ptr<void>(), &pr.model));
    sampler.set_device({decoder.get(), scorer.get(), kRsDecodeGroup});
  }
  const auto n = static_cast<int64_t>(ps.prompts.size());
  const int64_t per_round = s.epochs * ((n + s.batch_size - 1) / s.batch_size);
  const int64_t total = s.rounds * per_round;
  SftOptions so;
  so.lr = s.lr;
  so.weight_decay = s.weight_decay;
  so.clip = s.clip;
  so.seed = s.seed;
  RoundData data;
  const std::unique_ptr<llama::TrainLoop> trainer =
      llama::make_train_loop(device, pr.model, data, plugin::trainer_config(so, total), /*loss_every=*/1);
  job.info("rejection sampling " + s.model + (s.adapter.empty() ? "" : " + " + s.adapter) + " -> " + s.output + ": " +
           std::to_string(s.rounds) + " rounds of best of " + std::to_string(s.k) + " at T " +
           std::to_string(s.temperature) + " over " + std::to_string(n) + " prompts (" + std::to_string(ps.unsafe) +
           " tagged unsafe), rewards " + s.helpfulness + " / " + s.safety + ", then " + std::to_string(per_round) +
           " SFT steps per round");

  const fs::path ckpt = job.dir() / "checkpoint";
  const fs::path kept_file = job.dir() / "rs_state.json";
  if (!s.resume_from.empty() && llama::checkpoint_exists(s.resume_from)) {
    trainer->load(s.resume_from);
    job.info("resumed from " + s.resume_from + " at SFT step " + std::to_string(trainer->steps_done()));
  }
  if (load_kept(kept_file, sampler, ps.prompts.size()))
    job.info("kept answers of " + std::to_string(sampler.rounds()) + " rounds restored");
  auto save_checkpoint = [&] {
    trainer->save(ckpt);
    job.checkpoint(ckpt);
  };

  int64_t loaded_round = -1;
  double last_loss = NAN;
  while (trainer->steps_done() < total) {
    if (job.shutting_down()) {
      save_checkpoint();
      return WB_INTERRUPTED;
    }
    if (job.cancelled()) return WB_CANCELLED;
    const int64_t step = trainer->steps_done();
    const int64_t round = step / per_round;
    if (round != loaded_round) {
      if (sampler.rounds() == round) {
        job.progress(static_cast<double>(step) / static_cast<double>(total), "sampling");
        trainer->sync_model();  // the policy as trained so far, in pr.model.lora
        const RejectionRoundStats st = sampler.round(&*pr.model.lora, ps.prompts);
        report_round(job, st);
        save_kept(kept_file, sampler);
        job.info("round " + std::to_string(round + 1) + ": best of " + std::to_string(s.k) + " mean " +
                 std::to_string(st.max_at_n.back()) + ", median " + std::to_string(st.median_at_n.back()) +
                 ", kept mean " + std::to_string(st.mean_kept) + ", " + std::to_string(st.replaced) + " replaced");
        continue;  // check cancel / shutdown again before training
      }
      if (sampler.rounds() != round + 1)
        throw std::runtime_error(kept_file.string() + ": holds " + std::to_string(sampler.rounds()) +
                                 " rounds, the checkpoint is in round " + std::to_string(round + 1));
      data.set(kept_answer_batches(ps.prompts, sampler.best(), s.batch_size, per_round,
                                   s.seed + static_cast<uint64_t>(round)),
               /*keep_index=*/step % per_round != 0);
      loaded_round = round;
    }
    const llama::StepStats st = trainer->step().stats;
    last_loss = st.loss;
    if (!std::isfinite(st.loss)) throw std::runtime_error("training diverged: loss " + std::to_string(st.loss));
    job.metric(st.step, "train_loss", st.loss);
    job.metric(st.step, "lr", st.lr);
    job.metric(st.step, "grad_norm", st.grad_norm);
    job.progress(static_cast<double>(st.step) / static_cast<double>(total), "sft");  // the CLI derives the ETA
    const bool round_end = st.step % per_round == 0;
    if (st.step < total && (round_end || (s.checkpoint_every > 0 && st.step % s.checkpoint_every == 0)))
      save_checkpoint();
  }
  save_checkpoint();  // the final state (and the trained policy in pr.model): a crash before registration finishes from it

  job.progress(1.0, "save");
  json result = {{"kind", "rejection_sampling"}, {"output", s.output}, {"base_model", s.model},
                 {"rounds", s.rounds}, {"k", s.k}, {"sft_steps", total}, {"device", device.cuda ? "cuda" : "cpu"}};
  if (std::isfinite(last_loss)) result["train_loss"] = last_loss;
  double kept = 0;
  for (const auto& k : sampler.best()) kept += k.scores.combined / static_cast<double>(n);
  result["kept_reward"] = kept;
  const llama::LoraConfig& lc = pr.model.lora->config;
  const json record = {{"base_model", s.model},
                       {"rank", lc.r},
                       {"alpha", lc.lora_alpha},
                       {"target_modules", plugin::lora_module_names(lc)},
                       {"kind", "policy"}};
  result["path"] = plugin::publish_adapter(job, s.output, record, [&](const fs::path& dir) {
                     llama::save_adapter(dir, *pr.model.lora, s.model);
                   }).string();
  std::ofstream(job.dir() / "result.json") << result.dump(2) << "\n";
  job.info("result " + result.dump());
  return WB_OK;
}

}  // namespace wb::rlhf
