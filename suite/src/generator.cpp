#include "wb/suite/generator.h"

#include <fstream>
#include <stdexcept>

#include "wb/suite/chat.h"
#include "wb/suite/corpus.h"
#include "wb/suite/datasets.h"
#include "wb/suite/dialogues.h"
#include "wb/suite/split.h"
#include "wb/suite/world.h"

namespace wb::suite {
namespace {

constexpr int kSuiteVersion = 1;

std::string jsonl(const std::vector<Row>& rows) {
  std::string out;
  for (const auto& r : rows) out += r.dump() + "\n";
  return out;
}

std::string lines_text(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Chat text of an SFT/GAtt row, for the tokenizer corpus: the whole conversation, rendered.
std::string chat_text(const Row& row) {
  std::vector<Message> ms = messages_from_row(nlohmann::json(row));
  const std::string last = ms.back().content;
  ms.pop_back();
  return render_prompt(ms) + " " + last;
}

}  // namespace

Sizes Sizes::small() {
  Sizes s;
  s.name = "small";
  s.pretrain_lines = 2000;
  s.sft_train = 400, s.sft_eval = 120;
  s.sft_persona_train = 100;
  s.pref_helpful_train = 300, s.pref_helpful_eval = 100;
  s.pref_safety_train = 200, s.pref_safety_eval = 80;
  s.prompts_train = 200, s.prompts_eval = 80;
  s.gatt_train = 100, s.gatt_eval = 40;
  s.dialogues_train = 60, s.dialogues_eval = 40;
  s.rlhf_eval_safe = 40, s.rlhf_eval_unsafe = 40;
  return s;
}

Sizes Sizes::demo() {
  Sizes s;
  s.name = "demo";
  s.pretrain_lines = 12000;
  s.sft_train = 3000, s.sft_eval = 300;
  s.sft_persona_train = 1500;
  s.pref_helpful_train = 2000, s.pref_helpful_eval = 400;
  s.pref_safety_train = 1000, s.pref_safety_eval = 300;
  s.prompts_train = 1000, s.prompts_eval = 300;
  s.gatt_train = 600, s.gatt_eval = 120;
  s.dialogues_train = 600, s.dialogues_eval = 120;
  s.rlhf_eval_safe = 150, s.rlhf_eval_unsafe = 150;
  return s;
}

Sizes Sizes::named(const std::string& name) {
  if (name == "small") return small();
  if (name == "demo") return demo();
  throw std::invalid_argument("size '" + name + "': expected one of small, demo");
}

void Sizes::validate() const {
  const std::pair<const char*, int> counts[] = {
      {"pretrain_lines", pretrain_lines}, {"sft_train", sft_train}, {"sft_eval", sft_eval},
      {"sft_persona_train", sft_persona_train},
      {"pref_helpful_train", pref_helpful_train}, {"pref_helpful_eval", pref_helpful_eval},
      {"pref_safety_train", pref_safety_train}, {"pref_safety_eval", pref_safety_eval},
      {"prompts_train", prompts_train}, {"prompts_eval", prompts_eval},
      {"gatt_train", gatt_train}, {"gatt_eval", gatt_eval},
      {"dialogues_train", dialogues_train}, {"dialogues_eval", dialogues_eval},
      {"rlhf_eval_safe", rlhf_eval_safe}, {"rlhf_eval_unsafe", rlhf_eval_unsafe}};
  for (const auto& [name, n] : counts)
    if (n < 0 || n > 10'000'000)
      throw std::invalid_argument(std::string(name) + ": " + std::to_string(n) + " is out of range 0..10000000");
  const std::pair<const char*, double> fractions[] = {
      {"sft_unsafe_fraction", sft_unsafe_fraction},
      {"prompts_unsafe_fraction", prompts_unsafe_fraction},
      {"safety_unsafe_fraction", safety_unsafe_fraction}};
  for (const auto& [name, f] : fractions)
    if (!(f >= 0.0 && f <= 1.0)) throw std::invalid_argument(std::string(name) + ": must be in [0, 1]");
  if (static_cast<size_t>(rlhf_eval_unsafe) > heldout_unsafe_tasks().size())
    throw std::invalid_argument("rlhf_eval_unsafe: " + std::to_string(rlhf_eval_unsafe) + " exceeds the " +
                                std::to_string(heldout_unsafe_tasks().size()) + " held-out unsafe prompts");
  if (!(eval_fraction > 0.0 && eval_fraction <= 0.5))
    throw std::invalid_argument("eval_fraction: must be in (0, 0.5]");
}

Generated generate(uint64_t seed, const Sizes& sz) {
  sz.validate();
  const Pools pools(seed, sz.eval_fraction);
  Generated g;
  nlohmann::ordered_json counts;

  auto rows_file = [&](const std::string& name, const char* kind, const std::vector<Row>& rows) {
    g.files[name] = jsonl(rows);
    counts[name] = {{"kind", kind}, {"rows", rows.size()}};
  };
  // One sampler and one random stream per file, so files are independent of each other's sizes.
  auto build = [&](const std::string& name, Side side, auto&& make) {
    Rng rng = Rng::derive(seed, name);
    Sampler sampler(pools, side, task_families(), rng);
    return make(sampler, rng);
  };

  Rng pre_rng = Rng::derive(seed, "pretrain.txt");
  const std::vector<std::string> pretrain = pretrain_lines(pre_rng, sz.pretrain_lines);
  g.files["pretrain.txt"] = lines_text(pretrain);
  counts["pretrain.txt"] = {{"kind", "text"}, {"lines", pretrain.size()}};

  std::vector<std::string> tok_lines = pretrain;
  for (Side side : {Side::train, Side::eval}) {
    const bool train = side == Side::train;
    const std::string sfx = train ? "_train.jsonl" : "_eval.jsonl";
    const auto sft = build("sft" + sfx, side, [&](Sampler& s, Rng& r) {
      return make_sft(s, r, train ? sz.sft_train : sz.sft_eval, sz.sft_unsafe_fraction);
    });
    // Train side only; the tokenizer does not see them (the dialogues hold the same texts).
    if (train)
      rows_file("sft_persona" + sfx, "sft", build("sft_persona" + sfx, side, [&](Sampler& s, Rng& r) {
                  return make_persona_sft(s, r, sz.sft_persona_train);
                }));
    const auto helpful = build("pref_helpful" + sfx, side, [&](Sampler& s, Rng& r) {
      return make_pref_helpful(s, r, train ? sz.pref_helpful_train : sz.pref_helpful_eval);
    });
    const auto safety = build("pref_safety" + sfx, side, [&](Sampler& s, Rng& r) {
      return make_pref_safety(s, r, train ? sz.pref_safety_train : sz.pref_safety_eval,
                              sz.safety_unsafe_fraction);
    });
    const auto prompts = build("prompts" + sfx, side, [&](Sampler& s, Rng& r) {
      return make_prompts(s, r, train ? sz.prompts_train : sz.prompts_eval, sz.prompts_unsafe_fraction);
    });
    const auto gatt = build("gatt" + sfx, side, [&](Sampler& s, Rng& r) {
      return make_gatt(s, r, train ? sz.gatt_train : sz.gatt_eval);
    });
    rows_file("sft" + sfx, "sft", sft);
    rows_file("pref_helpful" + sfx, "preference", helpful);
    rows_file("pref_safety" + sfx, "preference", safety);
    rows_file("prompts" + sfx, "prompt", prompts);
    const auto dialogues = build("dialogues" + sfx, side, [&](Sampler& s, Rng& r) {
      return make_dialogues(s, r, train ? sz.dialogues_train : sz.dialogues_eval);
    });
    rows_file("gatt" + sfx, "sft", gatt);
    rows_file("dialogues" + sfx, "sft", dialogues);
    if (train) {
      // The tokenizer sees the chat markers, the answer format and every response, train side only.
      for (const auto& r : sft) tok_lines.push_back(chat_text(r));
      for (const auto& r : gatt) tok_lines.push_back(chat_text(r));
      for (const auto& r : dialogues) tok_lines.push_back(chat_text(r));
      for (const auto& r : helpful) tok_lines.push_back(r["rejected"].get<std::string>());
      for (const auto& r : safety) tok_lines.push_back(r["rejected"].get<std::string>());
    }
  }
  rows_file("rlhf_eval.jsonl", "prompt", build("rlhf_eval.jsonl", Side::eval, [&](Sampler& s, Rng& r) {
              return make_rlhf_eval(s, r, sz.rlhf_eval_safe, sz.rlhf_eval_unsafe);
            }));
  g.files["tokenizer_corpus.txt"] = tokenizer_text(tok_lines);
  counts["tokenizer_corpus.txt"] = {{"kind", "text"}, {"lines", tok_lines.size() + 1}};

  nlohmann::ordered_json pool_sizes;
  for (Family f : all_families())
    pool_sizes[std::string(family_name(f))] = {{"train", pools.get(f, Side::train).size()},
                                               {"eval", pools.get(f, Side::eval).size()}};
  const World& w = World::get();
  nlohmann::ordered_json& m = g.manifest;
  m["suite"] = "workbench-synthetic";
  m["version"] = kSuiteVersion;
  m["seed"] = seed;
  m["size"] = sz.name;
  m["files"] = counts;
  m["pools"] = pool_sizes;
  m["world"] = {{"words", w.words().size()},
                {"countries", w.countries().size()},
                {"add_operands", {0, w.add_max()}},
                {"unsafe_things", w.unsafe_things().size()}};
  m["refusal"] = kRefusal;
  // What marks a prompt unsafe, for components that classify prompts without linking wb_suite.
  nlohmann::ordered_json keywords = nlohmann::ordered_json::array();
  for (const auto& u : w.unsafe_things()) keywords.push_back(u.keyword);
  m["unsafe_keywords"] = keywords;
  nlohmann::ordered_json ins = nlohmann::ordered_json::object();
  for (Instruction i : all_instructions()) ins[std::string(instruction_name(i))] = instruction_text(i);
  m["instructions"] = ins;
  m["fractions"] = {{"eval", sz.eval_fraction},
                    {"sft_unsafe", sz.sft_unsafe_fraction},
                    {"prompts_unsafe", sz.prompts_unsafe_fraction},
                    {"safety_unsafe", sz.safety_unsafe_fraction}};
  g.files["manifest.json"] = m.dump(2) + "\n";
  return g;
}

void write_files(const Generated& g, const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create directory '" + dir.string() + "': " + ec.message());
  for (const auto& [name, text] : g.files) {
    const auto path = dir / name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) throw std::runtime_error("cannot write '" + path.string() + "'");
  }
}

}  // namespace wb::suite
