#include "dpo_job.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "dpo_spec.h"
#include "wb/llama/adapter_io.h"
#include "wb/llama/checkpoint.h"
#include "wb/plugin/device.h"
#include "wb/plugin/loop_driver.h"
#include "wb/plugin/model_store.h"
#include "wb/plugin/spec.h"
#include "wb/plugin/training_options.h"
#include "wb/rlhf/dpo_trainer.h"

namespace wb::rlhf {
namespace fs = std::filesystem;
using nlohmann::json;
using plugin::JobHost;

namespace {

struct Pairs {
  std::vector<DpoExample> examples;
  int64_t skipped = 0;
};

Pairs load_pairs(const JobHost& job, const llama::Tokenizer& tok, const std::string& dataset, const std::string& split,
                 int64_t max_len) {
  Pairs out;
  job.rows(dataset, split, [&](int64_t index, const json& row) {
    try {
      auto e = encode_dpo_pair(tok, parse_preference_text(row, index), max_len, index);
      if (e) out.examples.push_back(std::move(*e));
      else ++out.skipped;
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("dataset '" + dataset + "' " + e.what());
    }
    return true;
  });
  return out;
}

std::vector<DpoBatch> batches_of(const std::vector<DpoExample>& ex, const std::vector<size_t>& order, int64_t batch) {
  std::vector<DpoBatch> out;
  std::vector<const DpoExample*> group;
  for (size_t i : order) {
    group.push_back(&ex[i]);
    if (static_cast<int64_t>(group.size()) == batch) {
      out.push_back(pack_dpo_batch(group));
      group.clear();
    }
  }
  if (!group.empty()) out.push_back(pack_dpo_batch(group));
  return out;
}

void report(const JobHost& job, int64_t step, const std::string& prefix, const DpoMetrics& m, bool loss) {
  if (loss) job.metric(step, prefix + "loss", m.loss);
  job.metric(step, prefix + "margin", m.margin);
  job.metric(step, prefix + "accuracy", m.accuracy);
  job.metric(step, prefix + "chosen_log_ratio", m.chosen_log_ratio);
  job.metric(step, prefix + "rejected_log_ratio", m.rejected_log_ratio);
}

json metrics_json(const DpoMetrics& m) {
  return {{"loss", m.loss}, {"margin", m.margin}, {"accuracy", m.accuracy},
          {"chosen_log_ratio", m.chosen_log_ratio}, {"rejected_log_ratio", m.rejected_log_ratio}, {"pairs", m.pairs}};
}

// The reference and the policy on one base (reference.h). For mode merged with an SFT adapter,
// the derived base is merged and registered once; a resumed run finds it registered.
PolicyAndReference load_policy(const JobHost& job, const DpoSpec& s, std::string& base_name) {
  const fs::path model_path = plugin::registered_model_path(s.model, job.handle());
  if (s.reference == ReferenceMode::kAdapter) {
    base_name = s.model;
    return adapter_reference(model_path, plugin::registered_adapter_path(s.adapter, job.handle()));
  }
  base_name = s.model;
  fs::path base_path = model_path;
  if (!s.adapter.empty()) {
    base_name = derived_base_name(s);
    if (plugin::Host::lookup("model", base_name, job.handle())) {
      base_path = plugin::registered_model_path(base_name, job.handle());
      job.info("derived base '" + base_name + "' already registered (resumed run): reusing it");
    } else {
      job.progress(0.0, "merge");
      const fs::path adapter_path = plugin::registered_adapter_path(s.adapter, job.handle());
      base_path = plugin::publish_model(job, base_name, [&](const fs::path& dir) {
        write_derived_base(model_path, adapter_path, dir);
      });
      job.info("derived base '" + base_name + "' = " + s.model + " + " + s.adapter + " merged in f32");
    }
  }
  return merged_reference(base_path, s.lora, s.seed);
}

}  // namespace

wb_status run_dpo(const JobHost& job, const json& spec_json) {
  const DpoSpec s = parse_dpo_spec(spec_json);
  if (s.output.empty()) plugin::spec_fail("output", "missing and no job id to name it after");
  llama::DeviceChoice device = plugin::choose_device(s.device, "");
  job.progress(0.0, "load");
  std::string base_name;
  PolicyAndReference pr = load_policy(job, s, base_name);
  plugin::fit_gpu_memory(device, s.device, pr.model.weights.numel(), false, "DPO training");
  job.info("device: " + device.note);
  const llama::Tokenizer tok = plugin::model_tokenizer(plugin::registered_model_path(s.model, job.handle()), s.model);
  if (tok.vocab_size() != pr.model.config.vocab_size)
    throw std::runtime_error("model '" + s.model + "': tokenizer vocabulary differs from config vocab_size");
  const int64_t ctx = pr.model.config.max_position_embeddings;
  const int64_t max_len = s.max_seq_len ? s.max_seq_len : std::min<int64_t>(256, ctx);
  if (max_len > ctx) plugin::spec_fail("max_seq_len", "exceeds the model's context of " + std::to_string(ctx));

  job.progress(0.01, "data");
  const Pairs train = load_pairs(job, tok, s.dataset, "train", max_len);
  const Pairs eval = load_pairs(job, tok, s.dataset, "eval", max_len);
  if (train.examples.empty())
    throw std::runtime_error("dataset '" + s.dataset + "' has no training pairs" +
                             (train.skipped ? " that fit max_seq_len " + std::to_string(max_len) : std::string()));
  const auto n_train = static_cast<int64_t>(train.examples.size());
  const int64_t per_step = s.batch_size * s.grad_accum;
  const int64_t total = s.max_steps ? *s.max_steps : s.epochs * ((n_train + per_step - 1) / per_step);
  // Every micro-batch of the run, drawn up front from the seed (exact resume).
  std::vector<DpoBatch> batches = batches_of(train.examples, dpo_draws(train.examples.size(), total * per_step, s.seed),
                                             s.batch_size);
  std::vector<size_t> eval_order(eval.examples.size());
  for (size_t i = 0; i < eval_order.size(); ++i) eval_order[i] = i;
  const std::vector<DpoBatch> eval_batches = batches_of(eval.examples, eval_order, s.batch_size);
  job.info("dpo " + s.model + (s.adapter.empty() ? "" : " + " + s.adapter) + " -> " + s.output + ": reference " +
           reference_mode_name(s.reference) + " over '" + base_name + "', beta " + std::to_string(s.beta) + ", " +
           std::to_string(n_train) + " training pairs, " + std::to_string(eval.examples.size()) + " held-out pairs, " +
           std::to_string(total) + " steps of " + std::to_string(per_step) + " pairs");
  if (train.skipped + eval.skipped > 0)
    job.log(WB_LOG_WARN, std::to_string(train.skipped + eval.skipped) + " pairs skipped: no answer token left within max_seq_len " +
                             std::to_string(max_len));

  DpoTrainer trainer(pr, std::move(batches), s.beta, plugin::trainer_config(s, total), device.cuda);
  trainer.on_step = [&](const llama::StepStats& st, const DpoMetrics& m) {
    if (st.step % s.log_every == 0 || st.step == total) report(job, st.step, "", m, /*loss=*/false);
  };
  const fs::path ckpt = job.dir() / "checkpoint";
  if (!s.resume_from.empty() && llama::checkpoint_exists(s.resume_from)) {
    trainer.load(s.resume_from);
    job.info("resumed from " + s.resume_from + " at step " + std::to_string(trainer.steps_done()));
  }
  auto save_checkpoint = [&] {
    trainer.save(ckpt);
    job.checkpoint(ckpt);
  };
  auto evaluate = [&](int64_t step) -> std::optional<DpoMetrics> {
    if (eval_batches.empty()) return std::nullopt;
    job.progress(static_cast<double>(step) / static_cast<double>(total), "eval");
    const DpoMetrics m = trainer.evaluate(eval_batches);
    report(job, step, "eval_", m, /*loss=*/true);
    return m;
  };
  std::optional<DpoMetrics> first;
  if (trainer.steps_done() == 0) first = evaluate(0);

  double last_train = NAN;
  const plugin::LoopPlan plan{total, s.log_every, 0, s.checkpoint_every, /*log_tokens_per_s=*/true};
  const wb_status st = plugin::drive_loop(job, trainer, plan, [](int64_t) {}, save_checkpoint, last_train);
  if (st != WB_OK) return st;
  const std::optional<DpoMetrics> last = evaluate(total);
  save_checkpoint();  // the final state: a crash before registration finishes from it
  trainer.sync_model();  // the trained policy in pr.model.lora (the GPU's copied back)

  job.progress(1.0, "save");
  json result = {{"kind", "dpo"}, {"output", s.output}, {"base_model", base_name}, {"steps", total},
                 {"reference", reference_mode_name(s.reference)}, {"beta", s.beta},
                 {"device", device.cuda ? "cuda" : "cpu"}};
  if (std::isfinite(last_train)) result["train_loss"] = last_train;
  if (first) result["eval_start"] = metrics_json(*first);
  if (last) result["eval"] = metrics_json(*last);
  const llama::LoraConfig& lc = pr.model.lora->config;
  const json record = {{"base_model", base_name},
                       {"rank", lc.r},
                       {"alpha", lc.lora_alpha},
                       {"target_modules", plugin::lora_module_names(lc)},
                       {"kind", "policy"}};
  result["path"] = plugin::publish_adapter(job, s.output, record, [&](const fs::path& dir) {
                     llama::save_adapter(dir, *pr.model.lora, base_name);
                   }).string();
  std::ofstream(job.dir() / "result.json") << result.dump(2) << "\n";
  job.info("result " + result.dump());
  return WB_OK;
}

}  // namespace wb::rlhf
