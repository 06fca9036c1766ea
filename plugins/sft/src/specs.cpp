#include "specs.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "wb/plugin/adapter_base.h"
#include "wb/plugin/data_parallel.h"
#include "wb/plugin/device.h"
#include "wb/plugin/error.h"
#include "wb/plugin/fields.h"
#include "wb/plugin/host.h"
#include "wb/plugin/spec.h"
#include "wb/plugin/training_options.h"
#include "spec_fields.h"
#include "train_device.h"
#include "wb/llama/presets.h"

namespace wb::sft {
namespace fs = std::filesystem;
using nlohmann::json;

const char* const kJobKinds[] = {"pretrain", "sft", "model_init", "model_import", "model_export", "eval", nullptr};

namespace {

// Names become directory names under <data_dir>/models|adapters.
void check_name(const std::string& field, const std::string& name) {
  if (name.size() > 128) plugin::spec_fail(field, "longer than 128 characters");
  if (name.front() == '.' || name.front() == '-') plugin::spec_fail(field, "must not start with '.' or '-'");
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      plugin::spec_fail(field, "may contain only letters, digits, '-', '_' and '.', got '" + name + "'");
}

}  // namespace

InitSpec parse_init_spec(const json& spec) {
  plugin::FieldReader r(kModelInitFields, spec);
  (void)r.job_id();
  (void)r.resume_from();
  InitSpec s;
  s.name = r.string("name");
  check_name("name", s.name);
  s.preset = r.optional_string("preset").value_or("");
  if (!s.preset.empty()) {
    try {
      (void)llama::preset_config(s.preset);
    } catch (const std::exception& e) {
      plugin::spec_fail("preset", e.what());
    }
  }
  if (auto c = r.optional_object("config")) s.config = *c;
  if (s.preset.empty() && s.config.is_null()) plugin::spec_fail("preset", "missing: give a preset or a config");
  s.tokenizer = r.optional_string("tokenizer").value_or("");
  s.tokenizer_corpus = r.optional_string("tokenizer_corpus").value_or("");
  if (!s.tokenizer.empty() && !s.tokenizer_corpus.empty())
    plugin::spec_fail("tokenizer_corpus", "give either tokenizer or tokenizer_corpus, not both");
  s.vocab_size = r.optional_integer("vocab_size").value_or(0);
  if (s.vocab_size && s.tokenizer_corpus.empty()) plugin::spec_fail("vocab_size", "only used with tokenizer_corpus");
  s.seed = static_cast<uint64_t>(r.integer("seed"));
  r.finish();
  return s;
}

ImportSpec parse_import_spec(const json& spec) {
  plugin::FieldReader r(kModelImportFields, spec);
  (void)r.job_id();
  (void)r.resume_from();
  ImportSpec s;
  s.name = r.string("name");
  check_name("name", s.name);
  s.path = r.string("path");
  r.finish();
  return s;
}

ExportSpec parse_export_spec(const json& spec) {
  plugin::FieldReader r(kModelExportFields, spec);
  (void)r.job_id();
  (void)r.resume_from();
  ExportSpec s;
  s.model = r.string("model");
  s.out = r.string("out");
  if (!fs::path(s.out).is_absolute()) plugin::spec_fail("out", "must be an absolute path, got '" + s.out + "'");
  // "/x/out/" names the folder "/x/out" (the export is staged beside it, not inside it).
  fs::path out = fs::path(s.out).lexically_normal();
  if (!out.has_filename() && out.has_relative_path()) out = out.parent_path();
  s.out = out.string();
  s.format = r.string("format");
  s.adapter = r.optional_string("adapter").value_or("");
  s.dtype = r.string("dtype");
  r.finish();
  return s;
}

TrainSpec parse_train_spec(const std::string& kind, const json& spec) {
  const plugin::JobFields* table = sft_fields_of(kind);
  if (!table || (kind != "pretrain" && kind != "sft")) throw plugin::PluginError(WB_INVALID, "unknown job kind '" + kind + "'");
  plugin::FieldReader r(*table, spec);
  const auto job_id = r.job_id();
  TrainSpec s;
  s.kind = kind;
  s.resume_from = r.resume_from();
  s.model = r.string("model");
  s.dataset = r.string("dataset");
  s.eval_dataset = r.optional_string("eval_dataset").value_or("");
  // Without "output" the result is named "<kind>-<job id>" (known once the daemon runs the job;
  // `wb train` prints it at submission).
  const auto output = r.optional_string("output");
  s.output = output.value_or("");
  if (s.output.empty() && job_id) s.output = default_output(kind, *job_id);
  if (!s.output.empty() || output) check_name("output", s.output);
  s.epochs = r.integer("epochs");
  s.max_steps = r.optional_integer("max_steps");
  s.batch_size = r.integer("batch_size");
  s.context_length = r.integer("context_length");
  s.lr = r.number("lr");
  s.min_lr = r.number("min_lr");
  if (s.min_lr > s.lr) plugin::spec_fail("min_lr", "must not exceed lr");
  s.schedule = r.string("schedule");
  s.warmup = r.number("warmup");
  if (s.warmup >= 1 && s.warmup != static_cast<double>(static_cast<int64_t>(s.warmup)))
    plugin::spec_fail("warmup", "a step count (>= 1) must be an integer; a fraction must be < 1");
  s.weight_decay = r.number("weight_decay");
  s.clip = r.number("clip");
  s.grad_accum = r.integer("grad_accum");
  s.seed = static_cast<uint64_t>(r.integer("seed"));
  s.eval_every = r.integer("eval_every");
  s.eval_batches = r.integer("eval_batches");
  s.log_every = r.integer("log_every");
  s.checkpoint_every = r.integer("checkpoint_every");
  s.device = r.device();  // "" when absent or null: the daemon's default
  s.world = r.integer("world");
  s.reshard = r.boolean("reshard");
  if (kind == "sft") {
    s.method = r.string("method");
    const bool lora = s.method == "lora";
    const std::optional<int64_t> rank = r.integer("rank");
    auto alpha = r.optional_number("alpha");
    const std::optional<double> dropout = r.number("dropout");
    auto targets = r.optional_strings("target_modules");
    if (!lora) {
      for (const char* f : {"rank", "alpha", "dropout", "target_modules"})
        if (spec.contains(f)) plugin::spec_fail(f, "only used with method lora");
    }
    s.lora = plugin::lora_from_spec(rank, alpha, dropout, targets);
  }
  r.finish();
  return s;
}

EvalSpec parse_eval_spec(const json& spec) {
  plugin::FieldReader r(kEvalFields, spec);
  (void)r.job_id();
  (void)r.resume_from();
  EvalSpec s;
  s.model = r.string("model");
  s.adapter = r.optional_string("adapter").value_or("");
  s.dataset = r.optional_string("dataset").value_or("");
  s.suite_dir = r.optional_string("suite_dir").value_or("");
  if (s.dataset.empty() == s.suite_dir.empty()) plugin::spec_fail("dataset", "give exactly one of dataset or suite_dir");
  s.split = r.string("split");
  s.max_tokens = r.integer("max_tokens");
  s.limit = r.integer("limit");
  s.batch = r.integer("batch");
  s.device = r.device();  // "" when absent or null: the daemon's default
  s.multi_turn = r.boolean("multi_turn");
  s.attention_share = r.boolean("attention_share");
  r.finish();
  return s;
}

namespace {

json require(const std::string& field, const std::string& kind, const std::string& name) {
  auto rec = plugin::Host::lookup(kind, name);
  if (!rec) plugin::spec_fail(field, "unknown " + kind + " '" + name + "'");
  return *rec;
}

void require_free(const std::string& field, const std::string& kind, const std::string& name) {
  if (plugin::Host::lookup(kind, name)) plugin::spec_fail(field, kind + " '" + name + "' already exists");
}

int64_t mem_available_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (f >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return -1;
}

}  // namespace

void validate_spec(const std::string& kind, const json& spec) {
  if (kind == "model_init") {
    InitSpec s = parse_init_spec(spec);
    require_free("name", "model", s.name);
    if (!s.tokenizer.empty() && !fs::is_regular_file(s.tokenizer))
      plugin::spec_fail("tokenizer", "no such file: " + s.tokenizer);
    if (!s.tokenizer_corpus.empty() && !fs::is_regular_file(s.tokenizer_corpus))
      plugin::spec_fail("tokenizer_corpus", "no such file: " + s.tokenizer_corpus);
    if (s.preset == "7b") {
      // fp32 weights + working memory; refuse at submission rather than die in the middle.
      const int64_t need = llama::preset_config("7b").parameter_count() * 4 * 11 / 10;
      const int64_t have = mem_available_bytes();
      if (have >= 0 && have < need)
        plugin::spec_fail("preset", "7b needs about " + std::to_string(need >> 30) + " GiB of memory, MemAvailable is " +
                                std::to_string(have >> 30) + " GiB");
    }
  } else if (kind == "model_import") {
    ImportSpec s = parse_import_spec(spec);
    require_free("name", "model", s.name);
    if (!fs::is_directory(s.path)) plugin::spec_fail("path", "not a directory: " + s.path);
  } else if (kind == "model_export") {
    ExportSpec s = parse_export_spec(spec);
    require("model", "model", s.model);
    if (!s.adapter.empty()) plugin::check_adapter_base("adapter", s.adapter, require("adapter", "adapter", s.adapter), s.model);
    if (fs::exists(s.out) && !(fs::is_directory(s.out) && fs::is_empty(s.out)))
      plugin::spec_fail("out", "exists and is not an empty directory: " + s.out);
  } else if (kind == "pretrain" || kind == "sft") {
    TrainSpec s = parse_train_spec(kind, spec);
    require("model", "model", s.model);
    json ds = require("dataset", "dataset", s.dataset);
    // pretrain reads text documents (a prompt dataset's prompts count as text too).
    auto fits = [&](const json& d) {
      const std::string k = d.value("kind", "");
      return kind == "sft" ? k == "sft" : (k == "text" || k == "prompt");
    };
    const std::string want = kind == "sft" ? "an sft" : "a text (or prompt)";
    if (!fits(ds))
      plugin::spec_fail("dataset", "'" + s.dataset + "' is a " + ds.value("kind", "?") + " dataset; " + kind + " needs " + want +
                               " dataset");
    if (!s.eval_dataset.empty()) {
      json e = require("eval_dataset", "dataset", s.eval_dataset);
      if (!fits(e)) plugin::spec_fail("eval_dataset", "must be " + want + " dataset");
    }
    if (!s.output.empty()) require_free("output", kind == "sft" && s.method == "lora" ? "adapter" : "model", s.output);
    choose_train_device(s);  // "cuda" that cannot run here is refused at submission
    plugin::check_world(s.world);
  } else if (kind == "eval") {
    EvalSpec s = parse_eval_spec(spec);
    require("model", "model", s.model);
    if (!s.adapter.empty()) require("adapter", "adapter", s.adapter);
    if (!s.dataset.empty()) require("dataset", "dataset", s.dataset);
    if (!s.suite_dir.empty() && !fs::is_regular_file(fs::path(s.suite_dir) / "sft_eval.jsonl"))
      plugin::spec_fail("suite_dir", "no sft_eval.jsonl in " + s.suite_dir);
    choose_eval_device(s);  // "cuda" that cannot run here is refused at submission
  } else {
    throw plugin::PluginError(WB_INVALID, "unknown job kind '" + kind + "'");
  }
}

}  // namespace wb::sft
