#include "ppo_job.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "ppo_spec.h"
#include "rl_inputs.h"
#include "wb/llama/adapter_io.h"
#include "wb/llama/checkpoint.h"
#include "wb/llama/decode_backend.h"
#include "wb/llama/head_scorer.h"
#include "wb/plugin/device.h"
#include "wb/plugin/model_store.h"
#include "wb/plugin/spec.h"
#include "wb/rlhf/dpo_data.h"
#include "wb/rlhf/ppo_step.h"

namespace wb::rlhf {
namespace fs = std::filesystem;
using nlohmann::json;
using plugin::JobHost;

namespace {

// Answers decoded together on the GPU decoder (its KV caches are allocated for this many).
constexpr int64_t kPpoDecodeGroup = 64;

void report(const JobHost& job, const PpoIterationStats& st) {
  const int64_t i = st.iteration;
  job.metric(i, "reward_raw", st.reward_raw);
  job.metric(i, "reward_logit", st.reward_logit);
  job.metric(i, "reward_whitened", st.reward_whitened);
  job.metric(i, "kl", st.kl);
  job.metric(i, "entropy", st.entropy);
  job.metric(i, "policy_loss", st.policy_loss);
  job.metric(i, "value_loss", st.value_loss);
  job.metric(i, "clip_fraction", st.clip_fraction);
  job.metric(i, "value_clip_fraction", st.value_clip_fraction);
  job.metric(i, "approx_kl", st.approx_kl);
  job.metric(i, "ratio", st.first_ratio);
  job.metric(i, "response_length", st.response_length);
  job.metric(i, "generation_seconds", st.generation_seconds);
  job.metric(i, "training_seconds", st.training_seconds);
  const double total = st.generation_seconds + st.training_seconds;
  job.metric(i, "generation_share", total > 0 ? st.generation_seconds / total : 0.0);
}

}  // namespace

wb_status run_ppo(const JobHost& job, const json& spec_json) {
  const PpoSpec s = parse_ppo_spec(spec_json);
  if (s.output.empty()) plugin::spec_fail("output", "missing and no job id to name it after");
  llama::DeviceChoice device = plugin::choose_device(s.device, "");
  job.progress(0.0, "load");
  PolicyAndReference pr = load_policy_and_reference(job, s);
  plugin::fit_gpu_memory(device, s.device, pr.model.weights.numel(), false, "PPO training");
  job.info("device: " + device.note);
  // The trainer mounts the policy itself: the base carries no adapter.
  llama::LoraAdapter<float> policy = std::move(*pr.model.lora);
  pr.model.lora.reset();
  pr.model.trainable = {};
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
  // Every iteration's prompts, drawn up front from the seed (exact resume).
  const std::vector<size_t> draws = dpo_draws(ps.prompts.size(), s.iterations * s.batch, s.seed);

  PpoConfig pc;
  pc.sampling.samples_per_prompt = 1;
  pc.sampling.temperature = s.temperature;
  pc.sampling.max_new_tokens = s.max_new_tokens;
  pc.sampling.seed = s.seed;
  pc.gate.safety_threshold = s.safety_threshold;
  pc.beta = s.beta;
  pc.gamma = s.gamma;
  pc.lambda = s.lambda;
  pc.clip = s.clip;
  pc.value_clip = s.value_clip;
  pc.mini_batch = s.mini_batch;
  pc.epochs = s.ppo_epochs;
  pc.lr = s.lr;
  pc.value_lr = s.value_lr;
  PpoModels models;
  models.reference = pr.reference ? &*pr.reference : nullptr;
  models.helpfulness = helpful.view();
  models.safety = safe.view();
  PpoTrainer trainer(pr.model, models, std::move(policy), pc, device.cuda);
  // On the GPU the answers decode on the serving decoder and the reward models score on the GPU
  // scorer (as rejection_sampling does); recomputation and updates run on the trainer's device model.
  std::unique_ptr<llama::DecodeBackend> decoder;
  std::unique_ptr<llama::HeadScorer> scorer;
  if (device.cuda) {
    llama::DecodeBackendOptions o;
    o.gpu_dtype = "fp32";
    o.max_seqs = kPpoDecodeGroup;
    // KV caches are allocated up front: as long as the longest prompt and its answer, not the context.
    size_t longest = 0;
    for (const Prompt& p : ps.prompts) longest = std::max(longest, p.tokens.size());
    o.max_context = std::min<int64_t>(cfg.max_position_embeddings, static_cast<int64_t>(longest) + s.max_new_tokens + 1);
    decoder = llama::make_decode_backend(device, pr.model, o);
    scorer = llama::make_head_scorer(device, std::shared_ptr<const llama::Model<float>>(std::shared_ptr<void>(), &pr.model));
    trainer.set_device({decoder.get(), scorer.get(), kPpoDecodeGroup});
  }
  job.info("ppo " + s.model + (s.adapter.empty() ? "" : " + " + s.adapter) + " -> " + s.output + ": reference " +
           reference_mode_name(s.reference) + ", rewards " + s.helpfulness + " / " + s.safety + ", " +
           std::to_string(ps.prompts.size()) + " prompts (" + std::to_string(ps.unsafe) + " tagged unsafe), " +
           std::to_string(s.iterations) + " iterations of " + std::to_string(s.batch) + " answers, beta " +
           std::to_string(s.beta));

  const fs::path ckpt = job.dir() / "checkpoint";
  if (!s.resume_from.empty() && llama::checkpoint_exists(s.resume_from)) {
    trainer.load(s.resume_from);
    job.info("resumed from " + s.resume_from + " at iteration " + std::to_string(trainer.iterations()));
  }
  auto save_checkpoint = [&] {
    trainer.save(ckpt);
    job.checkpoint(ckpt);
  };
  PpoIterationStats last;
  while (trainer.iterations() < s.iterations) {
    if (job.shutting_down()) {
      save_checkpoint();
      return WB_INTERRUPTED;
    }
    if (job.cancelled()) return WB_CANCELLED;
    const int64_t i = trainer.iterations();
    std::vector<Prompt> batch;
    for (int64_t b = 0; b < s.batch; ++b) batch.push_back(ps.prompts[draws[static_cast<size_t>(i * s.batch + b)]]);
    last = trainer.iterate(batch);
    report(job, last);
    const int64_t done = trainer.iterations();
    // Phase "ppo": the CLI's progress bar derives the rate and the ETA from these fractions.
    job.progress(static_cast<double>(done) / static_cast<double>(s.iterations), "ppo");
    if (s.checkpoint_every > 0 && done % s.checkpoint_every == 0 && done < s.iterations) save_checkpoint();
  }
  save_checkpoint();  // the final state: a crash before registration finishes from it

  job.progress(1.0, "save");
  json result = {{"kind", "ppo"}, {"output", s.output}, {"base_model", s.model}, {"iterations", s.iterations},
                 {"reference", reference_mode_name(s.reference)}, {"beta", s.beta},
                 {"device", device.cuda ? "cuda" : "cpu"}};
  if (last.iteration > 0)
    result["last"] = {{"reward_raw", last.reward_raw}, {"kl", last.kl}, {"entropy", last.entropy},
                      {"value_loss", last.value_loss}, {"response_length", last.response_length}};
  const llama::LoraConfig& lc = trainer.policy().config;
  const json record = {{"base_model", s.model},
                       {"rank", lc.r},
                       {"alpha", lc.lora_alpha},
                       {"target_modules", plugin::lora_module_names(lc)},
                       {"kind", "policy"}};
  result["path"] = plugin::publish_adapter(job, s.output, record, [&](const fs::path& dir) {
                     llama::save_adapter(dir, trainer.policy(), s.model);
                   }).string();
  std::ofstream(job.dir() / "result.json") << result.dump(2) << "\n";
  job.info("result " + result.dump());
  return WB_OK;
}

}  // namespace wb::rlhf
