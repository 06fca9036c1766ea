#include "label_job.h"

#include <filesystem>
#include <fstream>

#include "requests.h"
#include "resolve.h"
#include "wb/plugin/fields.h"
#include "wb/plugin/spec.h"
#include "spec_fields.h"
#include "wb/reward/pair_sampler.h"
#include "wb/reward/synthetic_label.h"

namespace wb::reward {
namespace fs = std::filesystem;
using nlohmann::json;
using plugin::Host;
using plugin::spec_fail;
using plugin::SpecReader;

namespace {

struct LabelSpec {
  std::string model, prompts, split, output;
  SideRequest a, b;
  int64_t max_tokens = 24, limit = 0, batch = 16;
  uint64_t seed = 0;
  bool keep_identical = false;
  std::string resume_from;
};

LabelSpec parse(const json& spec) {
  plugin::FieldReader r(kLabelSyntheticFields, spec);
  (void)r.job_id();
  LabelSpec s;
  s.resume_from = r.resume_from();
  s.model = r.string("model");
  s.prompts = r.string("prompts");
  const std::string split = r.string("split");
  s.split = split == "all" ? "" : split;
  s.output = r.string("output");
  (void)r.take("a", plugin::FieldType::Object);
  (void)r.take("b", plugin::FieldType::Object);
  s.a = parse_side(spec, "a");
  s.b = parse_side(spec, "b");
  s.max_tokens = r.integer("max_tokens");
  s.seed = static_cast<uint64_t>(r.integer("seed"));
  s.limit = r.integer("limit");
  s.batch = r.integer("batch");
  s.keep_identical = r.boolean("keep_identical");
  r.finish();
  return s;
}

struct Prompt {
  std::string user, system;
};

struct Progress {
  int64_t next = 0, pairs = 0, identical = 0, unknown = 0, correct_a = 0, correct_b = 0, graded = 0;
  std::array<int64_t, 4> ratings{};
  json to_json() const {
    return {{"next", next},         {"pairs", pairs},         {"identical", identical}, {"unknown", unknown},
            {"correct_a", correct_a}, {"correct_b", correct_b}, {"graded", graded},     {"ratings", ratings}};
  }
  static Progress from_json(const json& j) {
    Progress p;
    p.next = j.at("next");
    p.pairs = j.at("pairs");
    p.identical = j.at("identical");
    p.unknown = j.at("unknown");
    p.correct_a = j.at("correct_a");
    p.correct_b = j.at("correct_b");
    p.graded = j.at("graded");
    p.ratings = j.at("ratings").get<std::array<int64_t, 4>>();
    return p;
  }
};

}  // namespace

void validate_label_synthetic(const json& spec) {
  const LabelSpec s = parse(spec);
  if (!Host::lookup("model", s.model)) spec_fail("model", "unknown model '" + s.model + "'");
  for (const auto* side : {&s.a, &s.b})
    if (!side->adapter.empty() && !Host::lookup("adapter", side->adapter))
      spec_fail(side == &s.a ? "a.adapter" : "b.adapter", "unknown adapter '" + side->adapter + "'");
  auto p = Host::lookup("dataset", s.prompts);
  if (!p) spec_fail("prompts", "unknown dataset '" + s.prompts + "'");
  if (p->value("kind", "") != "prompt") spec_fail("prompts", "'" + s.prompts + "' is not a prompt dataset");
  if (auto o = Host::lookup("dataset", s.output); o && o->value("kind", "") != "preference")
    spec_fail("output", "'" + s.output + "' exists and is not a preference dataset");
}

wb_status run_label_synthetic(const plugin::JobHost& job, const json& spec) {
  const LabelSpec s = parse(spec);
  job.progress(0.0, "load");
  const auto base = resolve_model(s.model, job.handle());
  std::shared_ptr<const LoadedAdapter> ad_a, ad_b;
  if (!s.a.adapter.empty()) ad_a = resolve_adapter("a.adapter", s.a.adapter, *base, job.handle());
  if (!s.b.adapter.empty()) ad_b = resolve_adapter("b.adapter", s.b.adapter, *base, job.handle());
  const SamplerSide side_a{ad_a ? &ad_a->lora : nullptr, s.a.temperature};
  const SamplerSide side_b{ad_b ? &ad_b->lora : nullptr, s.b.temperature};
  const std::string model_a = side_label(s.model, s.a.adapter, s.a.temperature);
  const std::string model_b = side_label(s.model, s.b.adapter, s.b.temperature);

  std::vector<Prompt> prompts;
  job.rows(s.prompts, s.split, [&](int64_t index, const json& row) {
    if (!row.contains("prompt") || !row["prompt"].is_string())
      throw std::invalid_argument("dataset '" + s.prompts + "' row " + std::to_string(index) + ": no string 'prompt'");
    prompts.push_back({row["prompt"].get<std::string>(), row.value("system", "")});
    return s.limit == 0 || static_cast<int64_t>(prompts.size()) < s.limit;
  });
  if (prompts.empty()) throw std::runtime_error("dataset '" + s.prompts + "' has no rows in that split");

  Progress pr;
  const fs::path ckpt = job.dir() / "label_progress.json";
  if (!s.resume_from.empty() && fs::exists(s.resume_from)) {
    std::ifstream in(s.resume_from);
    pr = Progress::from_json(json::parse(in));
    job.info("resumed at prompt " + std::to_string(pr.next));
  }
  job.info("labeling " + std::to_string(prompts.size()) + " prompts of " + s.prompts + ": a = " + model_a +
           ", b = " + model_b + "; annotator \"" + kSyntheticAnnotator + "\"");

  const int64_t n = static_cast<int64_t>(prompts.size());
  while (pr.next < n) {
    if (job.cancelled()) return job.shutting_down() ? WB_INTERRUPTED : WB_CANCELLED;
    const int64_t end = std::min(n, pr.next + s.batch);
    std::vector<std::string> texts;
    for (int64_t i = pr.next; i < end; ++i) {
      const Prompt& p = prompts[static_cast<size_t>(i)];
      // Meta's template folds a system message into the first user turn exactly like this.
      texts.push_back(p.system.empty() ? p.user : "<<SYS>>\n" + p.system + "\n<</SYS>>\n\n" + p.user);
    }
    // Seeds continue across batches: prompt i uses seed + 2i / seed + 2i + 1.
    const auto pairs = sample_pairs(*base, texts, side_a, side_b, s.max_tokens, s.seed + 2 * static_cast<uint64_t>(pr.next));
    for (int64_t i = pr.next; i < end; ++i) {
      const Prompt& p = prompts[static_cast<size_t>(i)];
      const SampledPair& sp = pairs[static_cast<size_t>(i - pr.next)];
      llama::Rng coin(s.seed ^ (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(i + 1)));
      const auto label = synthetic_label(p.user, sp.a, sp.b, coin, p.system);
      if (!label) {
        ++pr.unknown;
        continue;
      }
      ++pr.graded;
      pr.correct_a += label->correct_a ? 1 : 0;
      pr.correct_b += label->correct_b ? 1 : 0;
      if (sp.a == sp.b && !s.keep_identical) {
        ++pr.identical;
        continue;
      }
      if (sp.a.empty() || sp.b.empty()) {  // storage refuses empty responses
        ++pr.identical;
        continue;
      }
      const json c = {{"prompt", texts[static_cast<size_t>(i - pr.next)]},
                      {"response_a", sp.a},
                      {"response_b", sp.b},
                      {"chosen", std::string(1, label->chosen)},
                      {"rating", label->rating},
                      {"safety", label->safety},
                      {"is_safety_prompt", label->is_safety_prompt},
                      {"annotator", kSyntheticAnnotator},
                      {"source", "model"},
                      {"model_a", model_a},
                      {"model_b", model_b}};
      job.insert_comparison(s.output, c);
      ++pr.pairs;
      ++pr.ratings[static_cast<size_t>(label->rating)];
    }
    pr.next = end;
    {
      const fs::path tmp = job.dir() / "label_progress.json.tmp";
      std::ofstream(tmp) << pr.to_json().dump() << "\n";
      fs::rename(tmp, ckpt);
    }
    job.checkpoint(ckpt);
    job.progress(static_cast<double>(end) / static_cast<double>(n), "label");
  }
  job.metric(pr.pairs, "pairs", static_cast<double>(pr.pairs));
  job.metric(pr.pairs, "skipped_identical", static_cast<double>(pr.identical));
  job.metric(pr.pairs, "skipped_unknown", static_cast<double>(pr.unknown));
  for (size_t k = 0; k < 4; ++k) job.metric(pr.pairs, "rating_" + std::to_string(k), static_cast<double>(pr.ratings[k]));
  if (pr.graded) {
    job.metric(pr.pairs, "accuracy_a", static_cast<double>(pr.correct_a) / static_cast<double>(pr.graded));
    job.metric(pr.pairs, "accuracy_b", static_cast<double>(pr.correct_b) / static_cast<double>(pr.graded));
  }
  job.info("result " + pr.to_json().dump());
  return WB_OK;
}

}  // namespace wb::reward
