#include "spec_fields.h"

#include "wb/plugin/data_parallel.h"

namespace wb::sft {

using plugin::Field;
using plugin::required;
using T = plugin::FieldType;

namespace {

const std::vector<std::string> kDevices = {"auto", "cpu", "cuda"};

Field device_field() {
  return {"device", T::String, nullptr, "auto | cpu | cuda (default: the daemon's device setting)", kDevices};
}

// The fields pretrain and sft share; `lr` is the kind's default learning rate.
std::vector<Field> train_fields(const char* dataset_help, double lr) {
  std::vector<Field> f = {
      {"model", T::String, required, "the registered model to train"},
      {"dataset", T::String, required, dataset_help},
      {"eval_dataset", T::String, nullptr, "a dataset of the same kind for eval loss (default: the dataset's eval split)"},
      {"output", T::String, nullptr, "name of the new model or adapter (default: <kind>-<job id>)"},
      {"epochs", T::Integer, 1, "passes over the dataset (ignored when max_steps is set)", {}, 1, 100000},
      {"max_steps", T::Integer, nullptr, "optimizer steps (default: from epochs)", {}, 1, 100000000},
      {"batch_size", T::Integer, 8, "packed rows of context_length tokens per micro-batch", {}, 1, 65536},
      {"context_length", T::Integer, 256, "tokens per packed row", {}, 2, 1 << 20},
      {"lr", T::Number, lr, "peak learning rate", {}, 0.0, 10.0},
      {"min_lr", T::Number, 0.0, "learning rate at the end of the cosine schedule", {}, 0.0, 10.0},
      {"schedule", T::String, "cosine", "learning-rate schedule", {"cosine", "constant"}},
      {"warmup", T::Number, 0.0, "warm-up: a step count (>= 1) or a fraction of the run (< 1)", {}, 0.0, 1e9},
      {"weight_decay", T::Number, 0.0, "AdamW decoupled weight decay", {}, 0.0, 10.0},
      {"clip", T::Number, 1.0, "global gradient-norm clip", {}, 0.0},
      {"grad_accum", T::Integer, 1, "micro-batches per optimizer step", {}, 1, 4096},
      {"seed", T::Integer, 0, "seed of initialisation, shuffling and dropout", {}, 0},
      {"eval_every", T::Integer, 0, "steps between evaluations (0: at the start and the end only)", {}, 0},
      {"eval_batches", T::Integer, 8, "eval micro-batches per evaluation (0: all)", {}, 0},
      {"log_every", T::Integer, 1, "steps between logged metrics", {}, 1},
      {"checkpoint_every", T::Integer, 0, "steps between checkpoints (0: only when interrupted)", {}, 0},
      device_field(),
  };
  for (Field& x : plugin::data_parallel_fields()) f.push_back(std::move(x));
  return f;
}

plugin::JobFields sft_table() {
  plugin::JobFields k{"sft", "supervised fine-tuning on prompt/answer rows (Llama 2 chat template, loss on answers)",
                      train_fields("an sft dataset (prompt, answer, optional system)", 1e-3)};
  k.fields.push_back({"method", T::String, "lora", "lora (an adapter) or full (a new model)", {"lora", "full"}});
  k.fields.push_back({"rank", T::Integer, 8, "LoRA rank (method lora)", {}, 1, 4096});
  k.fields.push_back({"alpha", T::Number, nullptr, "LoRA alpha (default: 2 x rank)", {}, 1e-9, 1e6});
  k.fields.push_back({"dropout", T::Number, 0.0, "LoRA dropout (method lora)", {}, 0.0, 0.999});
  k.fields.push_back({"target_modules", T::Strings, nullptr,
                      "LoRA modules: q_proj k_proj v_proj o_proj gate_proj up_proj down_proj, or all-linear (the default)"});
  return k;
}

}  // namespace

const plugin::JobFields kModelInitFields{
    "model_init",
    "create a model from a preset or an HF config, with a tokenizer copied or trained",
    {
        {"name", T::String, required, "name of the new model"},
        {"preset", T::String, nullptr, "tiny | 15m | 110m | 7b (give a preset, a config or both)"},
        {"config", T::Object, nullptr, "HF config keys, overriding the preset's"},
        {"tokenizer", T::String, nullptr, "a tokenizer.model to copy in"},
        {"tokenizer_corpus", T::String, nullptr, "or: a text file to train a SentencePiece tokenizer on"},
        {"vocab_size", T::Integer, nullptr, "vocabulary of the trained tokenizer (default: the config's)", {}, 260, 1 << 20},
        {"seed", T::Integer, 0, "seed of the weight initialisation", {}, 0},
    }};

const plugin::JobFields kModelImportFields{
    "model_import",
    "copy an HF Llama directory into the data directory and register it",
    {
        {"name", T::String, required, "name of the imported model"},
        {"path", T::String, required, "the HF model directory (config.json, safetensors, tokenizer.model)"},
    }};

const plugin::JobFields kModelExportFields{
    "model_export",
    "write a model (an adapter merged in) as an HF directory or a GGUF file",
    {
        {"model", T::String, required, "the model to export"},
        {"out", T::String, required, "absolute path of the output folder (new or empty)"},
        {"format", T::String, "hf", "output format", {"hf", "gguf"}},
        {"adapter", T::String, nullptr, "an adapter of the model to merge in first"},
        {"dtype", T::String, "f32", "weight type written", {"f32", "f16"}},
    }};

const plugin::JobFields kPretrainFields{"pretrain", "train every weight of a model on text (next-token loss)",
                                        train_fields("a text dataset (or prompt rows, read as text)", 3e-3)};

const plugin::JobFields kSftFields = sft_table();

const plugin::JobFields kEvalFields{
    "eval",
    "generate greedily on held-out prompts and grade them with the suite's checker",
    {
        {"model", T::String, required, "the model to evaluate"},
        {"adapter", T::String, nullptr, "an adapter of the model to apply"},
        {"dataset", T::String, nullptr, "an sft dataset to evaluate on (give this or suite_dir)"},
        {"suite_dir", T::String, nullptr, "or: a suite directory holding sft_eval.jsonl"},
        {"split", T::String, "auto", "rows evaluated (auto: eval when the dataset has one)", {"auto", "eval", "train", "all"}},
        {"max_tokens", T::Integer, 24, "tokens generated per prompt", {}, 1, 4096},
        {"limit", T::Integer, 0, "prompts evaluated (0: all)", {}, 0},
        {"batch", T::Integer, 16, "prompts generated together", {}, 1, 1024},
        device_field(),
        {"multi_turn", T::Boolean, false, "grade the suite's persona dialogues turn by turn (adherence and content per turn)"},
        {"attention_share", T::Boolean, true,
         "multi_turn: report the share of attention on the system instruction per turn and layer, with an SVG heatmap"},
    }};

const std::vector<const plugin::JobFields*>& sft_job_fields() {
  static const std::vector<const plugin::JobFields*> all = {&kPretrainFields,    &kSftFields,        &kModelInitFields,
                                                            &kModelImportFields, &kModelExportFields, &kEvalFields};
  return all;
}

const plugin::JobFields* sft_fields_of(const std::string& kind) {
  for (const auto* k : sft_job_fields())
    if (k->kind == kind) return k;
  return nullptr;
}

}  // namespace wb::sft
