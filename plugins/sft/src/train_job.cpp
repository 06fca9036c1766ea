#include "train_job.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "wb/plugin/data_parallel.h"
#include "wb/plugin/loop_driver.h"
#include "wb/plugin/model_store.h"
#include "wb/plugin/spec.h"
#include "wb/plugin/training_options.h"
#include "specs.h"
#include "train_data.h"
#include "train_device.h"
#include "wb/llama/train_loop.h"
#include "wb/llama/adapter_io.h"
#include "wb/llama/checkpoint.h"
#include "wb/llama/model_io.h"
#include "wb/llama/trainer.h"

namespace wb::sft {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Tokenized micro-batches of one split of a dataset. Empty when the split has no rows.
std::vector<llama::TrainBatch> load_batches(const plugin::JobHost& job, const TrainSpec& s, const llama::Tokenizer& tok,
                                            const std::string& dataset, const std::string& split, bool shuffle) {
  std::vector<json> rows;
  std::vector<int64_t> indices;
  job.rows(dataset, split, [&](int64_t index, const json& row) {
    rows.push_back(row);
    indices.push_back(index);
    return true;
  });
  if (rows.empty()) return {};
  std::vector<Example> ex;
  if (s.kind == "pretrain") {
    std::vector<std::string> texts;
    texts.reserve(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) texts.push_back(row_text(rows[i], indices[i]));
    ex = text_examples(tok, texts, s.context_length);
  } else {
    int64_t truncated = 0;
    ex = sft_examples(tok, rows, indices, s.context_length, &truncated);
    if (truncated)
      job.log(WB_LOG_WARN, std::to_string(truncated) + " conversations of " + dataset + " exceed context_length " +
                               std::to_string(s.context_length) + " and were truncated");
  }
  return pack(ex, s.batch_size, s.context_length, s.seed, shuffle);
}

}  // namespace

namespace {
wb_status train(const plugin::JobHost& job, const std::string& kind, const TrainSpec& s, plugin::DataParallel& dp);
}

wb_status run_train(const plugin::JobHost& job, const std::string& kind, const json& spec_json) {
  const TrainSpec s = parse_train_spec(kind, spec_json);
  // world > 1: this process is one of the job's mpirun ranks (wb/plugin/data_parallel.h).
  plugin::DataParallel dp(s.world);
  const wb_status st = train(job, kind, s, dp);
  dp.ended(st == WB_OK || st == WB_CANCELLED || st == WB_INTERRUPTED);
  return st;
}

namespace {

wb_status train(const plugin::JobHost& job, const std::string& kind, const TrainSpec& s, plugin::DataParallel& dp) {
  const bool lora = kind == "sft" && s.method == "lora";
  llama::DeviceChoice device = choose_train_device(s);
  job.progress(0.0, "load");
  const fs::path base_dir = plugin::registered_model_path(s.model, job.handle());
  llama::Model<float> model = llama::load_model<float>(base_dir);
  const llama::Tokenizer tok = plugin::model_tokenizer(base_dir, s.model);
  if (tok.vocab_size() != model.config.vocab_size)
    throw std::runtime_error("model '" + s.model + "': tokenizer vocabulary differs from config vocab_size");
  if (s.context_length > model.config.max_position_embeddings)
    plugin::spec_fail("context_length", "exceeds the model's max_position_embeddings " +
                                    std::to_string(model.config.max_position_embeddings));

  job.progress(0.01, "data");
  // The dataset's eval split is never trained on, even when eval_dataset is given.
  auto train = load_batches(job, s, tok, s.dataset, "train", true);
  if (train.empty()) throw std::runtime_error("dataset '" + s.dataset + "' has no training rows");
  auto eval = s.eval_dataset.empty() ? load_batches(job, s, tok, s.dataset, "eval", false)
                                     : load_batches(job, s, tok, s.eval_dataset, "", false);
  int64_t train_tokens = 0;
  for (const auto& b : train) train_tokens += target_count(b);
  // An epoch is one pass over the data by all ranks together.
  const int64_t steps_per_epoch =
      std::max<int64_t>(1, static_cast<int64_t>(train.size()) / (s.grad_accum * dp.world()));
  const int64_t total = s.max_steps ? *s.max_steps : steps_per_epoch * s.epochs;
  job.info(kind + " " + s.model + " -> " + s.output + ": " + std::to_string(train.size()) + " micro-batches (" +
           std::to_string(train_tokens) + " target tokens), " + std::to_string(eval.size()) + " eval micro-batches, " +
           std::to_string(total) + " steps" + (lora ? ", LoRA r=" + std::to_string(s.lora.r) : ", full") +
           (dp.world() > 1 ? ", " + std::to_string(dp.world()) + " data-parallel ranks of " +
                                 std::to_string(s.grad_accum) + " micro-batches per step each"
                           : std::string()));
  if (eval.empty()) job.log(WB_LOG_WARN, "no eval rows: eval_loss is not reported");
  // Full training keeps 20 bytes per parameter on the GPU: a model too large for it trains on
  // the CPU when the job did not ask for cuda itself, and fails saying why when it did.
  if (const std::string why = llama::fit_gpu_memory(device, s.device, model.weights.numel(), !lora); !why.empty())
    throw std::runtime_error("device cuda: " + why + "; set device to cpu or auto");
  job.info("device: " + device.note);

  if (lora) {
    model.lora = llama::LoraAdapter<float>::init(model.config, s.lora, s.seed);
    model.trainable = {.lora = true};
  } else {
    model.trainable = {.full = true};
  }

  llama::TrainerConfig tc = plugin::trainer_config(s, total);
  // Each rank feeds its own share of every step's micro-batches.
  plugin::ShardedData data(std::move(train), dp.world(), dp.rank(), s.grad_accum, s.reshard);
  // On the GPU the loss is read back only on the steps that log it (log_every and the last).
  if (device.cuda) dp.use_rank_device();  // a data-parallel rank's own GPU
  const std::unique_ptr<llama::TrainLoop> trainer = llama::make_train_loop(device, model, data, tc, s.log_every);

  const fs::path ckpt = job.dir() / "checkpoint";
  if (!s.resume_from.empty() && llama::checkpoint_exists(s.resume_from)) {
    trainer->load(s.resume_from);
    job.info("resumed from " + s.resume_from + " at step " + std::to_string(trainer->steps_done()));
  }
  // After the checkpoint: rank 0's weights (and so its checkpoint's) are broadcast to the others.
  trainer->set_collectives(dp.collectives());
  // Only rank 0 writes checkpoints, evaluates and registers the result.
  auto save_checkpoint = [&] {
    if (!dp.leader()) return;
    trainer->save(ckpt);
    job.checkpoint(ckpt);
  };

  auto report_eval = [&](int64_t step) -> double {
    if (eval.empty() || !dp.leader()) return NAN;
    job.progress(static_cast<double>(step) / static_cast<double>(total), "eval");
    const double l = trainer->eval_loss(eval, s.eval_batches);
    if (std::isfinite(l)) job.metric(step, "eval_loss", l);
    return l;
  };
  double first_eval = NAN, last_eval = NAN, last_train = NAN;
  if (trainer->steps_done() == 0) first_eval = report_eval(0);

  const plugin::LoopPlan plan{total, s.log_every, s.eval_every, s.checkpoint_every, /*log_tokens_per_s=*/true,
                              dp.collectives()};
  const wb_status loop_status = plugin::drive_loop(job, *trainer, plan, [&](int64_t step) { last_eval = report_eval(step); },
                                           save_checkpoint, last_train);
  if (loop_status != WB_OK) return loop_status;
  last_eval = report_eval(total);
  // The final trainable state (the adapter's exact fp32 values, optimizer moments) stays in the
  // job's checkpoint: a crash before registration finishes from it without retraining.
  if (lora) save_checkpoint();
  trainer->sync_model();
  if (!dp.leader()) return WB_OK;  // rank 0 publishes the weights every rank holds

  job.progress(1.0, "save");
  json result = {{"kind", kind}, {"output", s.output}, {"steps", total}, {"method", kind == "sft" ? s.method : "full"},
                 {"device", device.cuda ? "cuda" : "cpu"}};
  if (std::isfinite(last_train)) result["train_loss"] = last_train;
  if (std::isfinite(first_eval)) result["eval_loss_start"] = first_eval;
  if (std::isfinite(last_eval)) result["eval_loss"] = last_eval;
  if (lora) {
    json record = {{"base_model", s.model},
                   {"rank", s.lora.r},
                   {"alpha", s.lora.lora_alpha},
                   {"target_modules", plugin::lora_module_names(s.lora)},
                   {"kind", "policy"}};
    result["path"] = plugin::publish_adapter(job, s.output, record, [&](const fs::path& dir) {
                       llama::save_adapter(dir, *model.lora, s.model);
                     }).string();
  } else {
    result["path"] = plugin::publish_model(job, s.output, [&](const fs::path& dir) {
                       llama::save_model(dir, model);
                       for (const char* f : {"tokenizer.model", "tokenizer_config.json"})
                         if (fs::exists(base_dir / f)) fs::copy_file(base_dir / f, dir / f);
                     }).string();
  }
  std::ofstream(job.dir() / "result.json") << result.dump(2) << "\n";
  job.info("result " + result.dump());
  return WB_OK;
}

}  // namespace

}  // namespace wb::sft
