#include "specs.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "wb/plugin/adapter_base.h"
#include "wb/plugin/device.h"
#include "wb/plugin/host.h"
#include "wb/plugin/spec.h"
#include "wb/plugin/training_options.h"
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

void allow_daemon_fields(plugin::SpecReader& r) {
  r.allow("job_id");
  r.allow("resume_from");
}

}  // namespace

InitSpec parse_init_spec(const json& spec) {
  plugin::SpecReader r(spec);
  allow_daemon_fields(r);
  InitSpec s;
  s.name = r.string("name");
  check_name("name", s.name);
  s.preset = r.string_or("preset", "");
  if (!s.preset.empty()) {
    try {
      (void)llama::preset_config(s.preset);
    } catch (const std::exception& e) {
      plugin::spec_fail("preset", e.what());
    }
  }
  if (auto c = r.optional_object("config")) s.config = *c;
  if (s.preset.empty() && s.config.is_null()) plugin::spec_fail("preset", "missing: give a preset or a config");
  s.tokenizer = r.string_or("tokenizer", "");
  s.tokenizer_corpus = r.string_or("tokenizer_corpus", "");
  if (!s.tokenizer.empty() && !s.tokenizer_corpus.empty())
    plugin::spec_fail("tokenizer_corpus", "give either tokenizer or tokenizer_corpus, not both");
  s.vocab_size = r.integer_or("vocab_size", 0, 260, 1 << 20);
  if (s.vocab_size && s.tokenizer_corpus.empty()) plugin::spec_fail("vocab_size", "only used with tokenizer_corpus");
  s.seed = static_cast<uint64_t>(r.integer_or("seed", 0, 0));
  r.finish();
  return s;
}

ImportSpec parse_import_spec(const json& spec) {
  plugin::SpecReader r(spec);
  allow_daemon_fields(r);
  ImportSpec s;
  s.name = r.string("name");
  check_name("name", s.name);
  s.path = r.string("path");
  r.finish();
  return s;
}

ExportSpec parse_export_spec(const json& spec) {
  plugin::SpecReader r(spec);
  allow_daemon_fields(r);
  ExportSpec s;
  s.model = r.string("model");
  s.out = r.string("out");
  if (!fs::path(s.out).is_absolute()) plugin::spec_fail("out", "must be an absolute path, got '" + s.out + "'");
  // "/x/out/" names the folder "/x/out" (the export is staged beside it, not inside it).
  fs::path out = fs::path(s.out).lexically_normal();
  if (!out.has_filename() && out.has_relative_path()) out = out.parent_path();
  s.out = out.string();
  s.format = r.one_of_or("format", {"hf", "gguf"}, "hf");
  s.adapter = r.string_or("adapter", "");
  s.dtype = r.one_of_or("dtype", {"f32", "f16"}, "f32");
  r.finish();
  return s;
}

TrainSpec parse_train_spec(const std::string& kind, const json& spec) {
  plugin::SpecReader r(spec);
  const auto job_id = r.optional_integer("job_id", 1);
  TrainSpec s;
  s.kind = kind;
  s.resume_from = r.string_or("resume_from", "");
  s.model = r.string("model");
  s.dataset = r.string("dataset");
  s.eval_dataset = r.string_or("eval_dataset", "");
  // Without "output" the result is named "<kind>-<job id>" (known once the daemon runs the job;
  // `wb train` prints it at submission).
  s.output = r.string_or("output", "");
  if (s.output.empty() && job_id) s.output = default_output(kind, *job_id);
  if (!s.output.empty() || spec.contains("output")) check_name("output", s.output);
  s.epochs = r.integer_or("epochs", 1, 1, 100000);
  s.max_steps = r.optional_integer("max_steps", 1, 100000000);
  s.batch_size = r.integer_or("batch_size", 8, 1, 65536);
  s.context_length = r.integer_or("context_length", 256, 2, 1 << 20);
  s.lr = r.number_or("lr", kind == "sft" ? 1e-3 : 3e-3, 0.0, 10.0);
  s.min_lr = r.number_or("min_lr", 0.0, 0.0, 10.0);
  if (s.min_lr > s.lr) plugin::spec_fail("min_lr", "must not exceed lr");
  s.schedule = r.one_of_or("schedule", {"cosine", "constant"}, "cosine");
  s.warmup = r.number_or("warmup", 0.0, 0.0, 1e9);
  if (s.warmup >= 1 && s.warmup != static_cast<double>(static_cast<int64_t>(s.warmup)))
    plugin::spec_fail("warmup", "a step count (>= 1) must be an integer; a fraction must be < 1");
  s.weight_decay = r.number_or("weight_decay", 0.0, 0.0, 10.0);
  s.clip = r.number_or("clip", 1.0, 0.0);
  s.grad_accum = r.integer_or("grad_accum", 1, 1, 4096);
  s.seed = static_cast<uint64_t>(r.integer_or("seed", 0, 0));
  s.eval_every = r.integer_or("eval_every", 0, 0);
  s.eval_batches = r.integer_or("eval_batches", 8, 0);
  s.log_every = r.integer_or("log_every", 1, 1);
  s.checkpoint_every = r.integer_or("checkpoint_every", 0, 0);
  s.device = plugin::read_device(r);  // "" when absent or null: the daemon's default
  if (kind == "sft") {
    s.method = r.one_of_or("method", {"lora", "full"}, "lora");
    const bool lora = s.method == "lora";
    auto rank = r.optional_integer("rank", 1, 4096);
    auto alpha = r.optional_number("alpha", 1e-9, 1e6);
    auto dropout = r.optional_number("dropout", 0.0, 0.999);
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
  plugin::SpecReader r(spec);
  allow_daemon_fields(r);
  EvalSpec s;
  s.model = r.string("model");
  s.adapter = r.string_or("adapter", "");
  s.dataset = r.string_or("dataset", "");
  s.suite_dir = r.string_or("suite_dir", "");
  if (s.dataset.empty() == s.suite_dir.empty()) plugin::spec_fail("dataset", "give exactly one of dataset or suite_dir");
  s.split = r.one_of_or("split", {"auto", "eval", "train", "all"}, "auto");
  s.max_tokens = r.integer_or("max_tokens", 24, 1, 4096);
  s.limit = r.integer_or("limit", 0, 0);
  s.batch = r.integer_or("batch", 16, 1, 1024);
  s.device = plugin::read_device(r);  // "" when absent or null: the daemon's default
  s.multi_turn = r.boolean_or("multi_turn", false);
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
    const std::string want = kind == "sft" ? "sft" : "prompt";
    if (ds.value("kind", "") != want)
      plugin::spec_fail("dataset", "'" + s.dataset + "' is a " + ds.value("kind", "?") + " dataset; " + kind + " needs a " + want +
                               " dataset");
    if (!s.eval_dataset.empty()) {
      json e = require("eval_dataset", "dataset", s.eval_dataset);
      if (e.value("kind", "") != want) plugin::spec_fail("eval_dataset", "must be a " + want + " dataset");
    }
    if (!s.output.empty()) require_free("output", kind == "sft" && s.method == "lora" ? "adapter" : "model", s.output);
    choose_train_device(s);  // "cuda" that cannot run here is refused at submission
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
