#include "reward_job.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "wb/plugin/data_parallel.h"
#include "wb/plugin/loop_driver.h"
#include "wb/plugin/model_store.h"
#include "wb/plugin/device.h"
#include "reward_spec.h"
#include "wb/plugin/spec.h"
#include "wb/plugin/training_options.h"
#include "wb/llama/adapter_io.h"
#include "wb/llama/checkpoint.h"
#include "wb/llama/model_io.h"
#include "wb/llama/train_loop.h"
#include "wb/llama/trainer.h"
#include "wb/reward/pair_eval.h"
#include "wb/reward/reward_config.h"
#include "wb/reward/scoring.h"

namespace wb::reward {
namespace fs = std::filesystem;
using nlohmann::json;
using plugin::JobHost;
using plugin::trainer_config;

namespace {

std::vector<EncodedPair> load_pairs(const JobHost& job, const llama::Tokenizer& tok, const std::string& dataset,
                                    const std::string& split, int64_t max_len) {
  std::vector<EncodedPair> out;
  job.rows(dataset, split, [&](int64_t index, const json& row) {
    try {
      out.push_back(encode_pair(tok, parse_preference_row(row, index), max_len, index));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("dataset '" + dataset + "' " + e.what());
    }
    return true;
  });
  return out;
}

void report(const JobHost& job, int64_t step, const PairAccuracy& acc, bool safety_head) {
  if (auto l = acc.loss()) job.metric(step, "eval_loss", *l);
  if (auto a = acc.all.value()) job.metric(step, "eval_accuracy", *a);
  for (size_t k = 0; k < acc.by_rating.size(); ++k) {
    const Rate& r = acc.by_rating[k];
    if (!r.n) continue;
    job.metric(step, "eval_accuracy_rating_" + std::to_string(k), *r.value());
    job.metric(step, "eval_count_rating_" + std::to_string(k), static_cast<double>(r.n));
  }
  if (!safety_head) return;
  for (const auto& [label, r] : acc.by_safety) {
    job.metric(step, "eval_accuracy_safety_" + label, *r.value());
    job.metric(step, "eval_count_safety_" + label, static_cast<double>(r.n));
  }
  if (auto a = acc.safety_prompts.value()) job.metric(step, "eval_accuracy_safety_prompts", *a);
}

}  // namespace

namespace {
wb_status train(const JobHost& job, const RewardSpec& s, plugin::DataParallel& dp);
}

wb_status run_reward(const JobHost& job, const json& spec_json) {
  const RewardSpec s = parse_reward_spec(spec_json);
  // world > 1: this process is one of the job's mpirun ranks (wb/plugin/data_parallel.h).
  plugin::DataParallel dp(s.world);
  const wb_status st = train(job, s, dp);
  dp.ended(st == WB_OK || st == WB_CANCELLED || st == WB_INTERRUPTED);
  return st;
}

namespace {

wb_status train(const JobHost& job, const RewardSpec& s, plugin::DataParallel& dp) {
  job.progress(0.0, "load");
  const fs::path base_dir = plugin::registered_model_path(s.model, job.handle());
  llama::Model<float> model = llama::load_model<float>(base_dir);
  const llama::Tokenizer tok = plugin::model_tokenizer(base_dir, s.model);
  if (tok.vocab_size() != model.config.vocab_size)
    throw std::runtime_error("model '" + s.model + "': tokenizer vocabulary differs from config vocab_size");
  const int64_t ctx = model.config.max_position_embeddings;
  const int64_t max_len = s.max_len ? s.max_len : std::min<int64_t>(256, ctx);
  if (max_len > ctx) plugin::spec_fail("max_len", "exceeds the model's context of " + std::to_string(ctx));

  job.progress(0.01, "data");
  std::vector<std::vector<EncodedPair>> pools;
  std::vector<size_t> sizes;
  std::vector<double> ratios;
  std::vector<EncodedPair> eval;
  int64_t train_pairs = 0;
  for (const auto& d : s.datasets) {
    pools.push_back(load_pairs(job, tok, d.name, "train", max_len));
    sizes.push_back(pools.back().size());
    ratios.push_back(d.ratio);
    train_pairs += static_cast<int64_t>(pools.back().size());
    for (auto& p : load_pairs(job, tok, d.name, "eval", max_len)) eval.push_back(std::move(p));
  }
  for (const auto& name : s.eval_datasets)
    for (auto& p : load_pairs(job, tok, name, "", max_len)) eval.push_back(std::move(p));
  if (train_pairs == 0) throw std::runtime_error("the datasets have no training pairs");
  // A step takes grad_accum micro-batches on each rank.
  const int64_t per_step = s.batch * s.grad_accum * dp.world();
  const int64_t steps_per_epoch = (train_pairs + per_step - 1) / per_step;
  const int64_t total = s.max_steps ? *s.max_steps : steps_per_epoch * s.epochs;

  // Every micro-batch of the run, drawn up front from the seed (exact resume).
  std::vector<llama::TrainBatch> batches;
  {
    const auto draws = mix_draws(sizes, ratios, total * per_step, s.seed);
    std::vector<const EncodedPair*> group;
    for (const auto& [pool, index] : draws) {
      group.push_back(&pools[pool][index]);
      if (static_cast<int64_t>(group.size()) == s.batch) {
        batches.push_back(pair_batch(group, s.margins));
        group.clear();
      }
    }
  }
  std::string mix;
  for (const auto& d : s.datasets) {
    std::ostringstream r;
    r << d.ratio;
    mix += (mix.empty() ? "" : ", ") + d.name + " ratio " + r.str();
  }
  job.info("reward (" + s.head + ") " + s.model + (s.adapter.empty() ? "" : " + " + s.adapter) + " -> " + s.output +
           ": " + std::to_string(train_pairs) + " training pairs (" + mix + "), " + std::to_string(eval.size()) +
           " held-out pairs, " + std::to_string(total) + " steps of " + std::to_string(per_step) + " pairs");
  if (eval.empty()) job.log(WB_LOG_WARN, "no held-out pairs: eval metrics are not reported");

  if (!s.adapter.empty()) {
    model.lora = llama::load_adapter(plugin::registered_adapter_path(s.adapter, job.handle()), model.config);
  } else {
    model.lora = llama::LoraAdapter<float>::init(model.config, s.lora, s.seed);
  }
  model.head = llama::ScalarHead<float>::random(model.config.hidden_size, s.seed + 1);
  model.trainable = {.lora = true, .head = true};

  llama::TrainerConfig tc = trainer_config(s, total);
  tc.loss = llama::LossKind::kRanking;
  tc.centering = s.centering;
  // Each rank feeds its own share of every step's micro-batches.
  plugin::ShardedData data(std::move(batches), dp.world(), dp.rank(), s.grad_accum, s.reshard);
  // The engine's CPU Trainer, or its GPU trainer in fp32 (wb/llama/train_loop.h); both write the
  // CPU's checkpoint format, so a run resumes on either device. Held-out evaluation runs on the
  // CPU model, synced from the GPU first.
  llama::DeviceChoice device =
      plugin::choose_device(s.device, reward_cpu_only(s, s.adapter.empty() ? nullptr : &model.lora->config));
  plugin::fit_gpu_memory(device, s.device, model.weights.numel(), /*full=*/false);
  job.info("device: " + device.note + (device.cuda ? "; eval runs on the CPU" : ""));
  if (device.cuda) dp.use_rank_device();  // a data-parallel rank's own GPU
  const std::unique_ptr<llama::TrainLoop> trainer = llama::make_train_loop(device, model, data, tc, s.log_every);

  const fs::path ckpt = job.dir() / "checkpoint";
  if (!s.resume_from.empty() && llama::checkpoint_exists(s.resume_from)) {
    trainer->load(s.resume_from);
    job.info("resumed from " + s.resume_from + " at step " + std::to_string(trainer->steps_done()));
  }
  // After the checkpoint: rank 0's weights are broadcast to the others.
  trainer->set_collectives(dp.collectives());
  // Only rank 0 writes checkpoints, evaluates and registers the result.
  auto save_checkpoint = [&] {
    if (!dp.leader()) return;
    trainer->save(ckpt);
    job.checkpoint(ckpt);
  };
  const bool safety_head = s.head == "safety";
  auto evaluate = [&](int64_t step) -> std::optional<PairAccuracy> {
    if (eval.empty() || !dp.leader()) return std::nullopt;
    job.progress(static_cast<double>(step) / static_cast<double>(total), "eval");
    trainer->sync_model();
    PairAccuracy acc = accuracy_of(eval, score_pairs(model, &*model.lora, *model.head, eval), s.margins);
    report(job, step, acc, safety_head);
    return acc;
  };
  std::optional<PairAccuracy> first, last;
  if (trainer->steps_done() == 0) first = evaluate(0);

  double last_train = NAN;
  const plugin::LoopPlan plan{total, s.log_every, s.eval_every, s.checkpoint_every, /*log_tokens_per_s=*/false,
                              dp.collectives()};
  const wb_status loop_status =
      plugin::drive_loop(job, *trainer, plan, [&](int64_t step) { evaluate(step); }, save_checkpoint, last_train);
  if (loop_status != WB_OK) return loop_status;
  last = evaluate(total);
  // The final state stays in the checkpoint: a crash before registration finishes from it.
  save_checkpoint();  // also brings the GPU loop's weights into `model` for the save below
  if (!dp.leader()) return WB_OK;  // rank 0 publishes the weights every rank holds

  job.progress(1.0, "save");
  json result = {{"kind", "reward"}, {"head", s.head}, {"output", s.output}, {"steps", total},
                 {"device", device.cuda ? "cuda" : "cpu"}};
  if (std::isfinite(last_train)) result["train_loss"] = last_train;
  if (first) result["eval_start"] = first->to_json();
  if (last) result["eval"] = last->to_json();
  const json record = {{"base_model", s.model},
                       {"rank", model.lora->config.r},
                       {"alpha", model.lora->config.lora_alpha},
                       {"target_modules", plugin::lora_module_names(model.lora->config)},
                       {"kind", reward_kind(s.head)}};
  RewardConfig rc;
  rc.head = s.head;
  rc.max_len = max_len;
  rc.base_model = s.model;
  for (size_t k = 0; k < 4; ++k) rc.margins[k] = s.margins[k];
  rc.centering = s.centering;
  result["path"] = plugin::publish_adapter(job, s.output, record, [&](const fs::path& dir) {
                     llama::save_adapter(dir, *model.lora, s.model);
                     save_reward_head(dir, *model.head);
                     save_reward_config(dir, rc);
                   }).string();
  std::ofstream(job.dir() / "result.json") << result.dump(2) << "\n";
  job.info("result " + result.dump());
  return WB_OK;
}

}  // namespace

}  // namespace wb::reward
