// specs.h — the job specs of the sft plugin, parsed strictly (spec_reader.h), and their
// submission-time checks against the daemon's registry.
//
//   model_init   {"name", "preset": tiny|15m|110m|7b and/or "config": {HF config keys},
//                 "tokenizer": path | "tokenizer_corpus": text file (+ "vocab_size"), "seed"}
//   model_import {"name", "path"}                      HF Llama dir, copied into the data dir
//   model_export {"model", "out", "format": hf|gguf, "adapter"?, "dtype": f32|f16}
//   pretrain/sft {"model", "dataset", "eval_dataset"?, "epochs" | "max_steps", "batch_size",
//                 "context_length", "lr", "min_lr", "schedule": cosine|constant, "warmup" (steps
//                 >= 1, or a fraction < 1), "weight_decay", "clip", "grad_accum", "seed",
//                 "eval_every", "eval_batches", "log_every", "checkpoint_every", "output",
//                 "device": auto|cpu|cuda (default: the daemon's device; train_device.h),
//                 "world" (data-parallel ranks), "reshard";
//                 sft only: "method": lora|full, "rank", "alpha", "dropout", "target_modules"}
//   eval         {"model", "adapter"?, "dataset" | "suite_dir", "split", "max_tokens", "limit",
//                 "batch", "device": auto|cpu|cuda (as for training; train_device.h)}
// The daemon adds "job_id" (and "resume_from") when it runs a job; those are accepted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/llama/peft_config.h"

namespace wb::sft {

struct InitSpec {
  std::string name;
  std::string preset;                      // may be empty when config is given
  nlohmann::json config;                   // HF config keys overriding the preset (or all of it)
  std::string tokenizer;                   // tokenizer.model to copy in
  std::string tokenizer_corpus;            // or: train a SentencePiece model on this file
  int64_t vocab_size = 0;                  // for tokenizer_corpus (0: the config's vocab)
  uint64_t seed = 0;
};

struct ImportSpec {
  std::string name;
  std::string path;
};

struct ExportSpec {
  std::string model;
  std::string out;
  std::string format = "hf";  // hf | gguf
  std::string adapter;        // merged first when set
  std::string dtype = "f32";  // f32 | f16
};

struct TrainSpec {
  std::string kind;  // "pretrain" | "sft"
  std::string model, dataset, eval_dataset, output;
  int64_t epochs = 1;
  std::optional<int64_t> max_steps;
  int64_t batch_size = 8;         // packed rows of context_length tokens per micro-batch
  int64_t context_length = 256;
  double lr = 1e-3, min_lr = 0.0;
  std::string schedule = "cosine";
  double warmup = 0;              // >= 1: steps; in [0, 1): fraction of the run
  double weight_decay = 0.0, clip = 1.0;
  int64_t grad_accum = 1;
  uint64_t seed = 0;
  int64_t eval_every = 0;         // 0: at the start and the end only
  int64_t eval_batches = 8;       // micro-batches of the eval set per evaluation (0: all)
  int64_t log_every = 1;
  int64_t checkpoint_every = 0;   // 0: only when interrupted
  std::string method = "full";    // sft: lora | full; pretrain: full
  llama::LoraConfig lora;         // rank/alpha/dropout/target_modules
  std::string resume_from;        // set by the daemon
  std::string device;             // auto | cpu | cuda; empty: the daemon's setting (train_device.h)
  int64_t world = 1;              // ranks of a data-parallel run (wb/plugin/data_parallel.h)
  bool reshard = false;           // resume a checkpoint of another world size
};

struct EvalSpec {
  std::string model, adapter, dataset, suite_dir;
  std::string split = "auto";     // eval | train | all | auto (eval when the dataset has one)
  int64_t max_tokens = 24;
  int64_t limit = 0;              // 0: every item
  int64_t batch = 16;             // prompts generated together
  std::string device;             // auto | cpu | cuda; empty: the daemon's setting (train_device.h)
  bool multi_turn = false;        // persona dialogues graded per turn (multi_turn_eval.h)
  bool attention_share = true;    // multi_turn: attention on the system instruction per turn and layer
};

// Parsers: plugin::SpecError naming the field for any malformed or unknown field.
InitSpec parse_init_spec(const nlohmann::json& spec);
ImportSpec parse_import_spec(const nlohmann::json& spec);
ExportSpec parse_export_spec(const nlohmann::json& spec);
// A train spec without "output" names its result "<kind>-<job id>" ("sft-4"); at validate() time
// (no job id yet) the output stays empty.
TrainSpec parse_train_spec(const std::string& kind, const nlohmann::json& spec);
inline std::string default_output(const std::string& kind, int64_t job_id) { return kind + "-" + std::to_string(job_id); }
EvalSpec parse_eval_spec(const nlohmann::json& spec);

// Job kinds this plugin runs, NULL-terminated for wb_plugin::job_kinds.
extern const char* const kJobKinds[];

// Parses `spec` for `kind` and checks it against the registry (plugin::Host::lookup): the model,
// adapter and datasets named must exist, an output name must be free, paths must exist, and a
// 7b init must fit in MemAvailable. Throws plugin::SpecError naming the field.
void validate_spec(const std::string& kind, const nlohmann::json& spec);

}  // namespace wb::sft
