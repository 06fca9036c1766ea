// Generator: the whole suite for a seed, as files.
//
//   pretrain.txt                   pretraining corpus, one sentence a line (corpus.h)
//   tokenizer_corpus.txt           pretrain.txt + every train-side chat text, for SentencePiece
//   sft_{train,eval}.jsonl         single-turn chat rows (a few are unsafe prompts + refusal)
//   sft_persona_train.jsonl        single-turn rows that carry a persona in the turn they answer
//                                  (make_persona_sft), for the SFT that GAtt sampling starts from
//   pref_helpful_{train,eval}.jsonl, pref_safety_{train,eval}.jsonl   preference pairs
//   prompts_{train,eval}.jsonl     RLHF prompts {"prompt", "is_safety_prompt"} (a fraction unsafe, tagged)
//   gatt_{train,eval}.jsonl        multi-turn dialogues under a system instruction
//   dialogues_{train,eval}.jsonl   2-8 turn dialogues under a two-kind persona (dialogues.h)
//   rlhf_eval.jsonl                held-out RLHF evaluation prompts {"prompt", "is_safety_prompt"}: safe
//                                  prompts from the eval pools, unsafe ones in held-out phrasings
//   manifest.json                  seed, size, counts per file, pool sizes, the world's sizes,
//                                  the refusal text, GAtt instructions, unsafe keywords
//
// Identical bytes for identical (seed, sizes), on every platform; each file draws from its own
// random stream. Train files use only train pools and eval files only eval pools (split.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace wb::suite {

struct Sizes {
  std::string name = "custom";
  int pretrain_lines = 0;
  int sft_train = 0, sft_eval = 0;
  int sft_persona_train = 0;  // sft_persona_train.jsonl rows (dialogues.h)
  int pref_helpful_train = 0, pref_helpful_eval = 0;
  int pref_safety_train = 0, pref_safety_eval = 0;
  int prompts_train = 0, prompts_eval = 0;
  int gatt_train = 0, gatt_eval = 0;
  int dialogues_train = 0, dialogues_eval = 0;
  int rlhf_eval_safe = 0, rlhf_eval_unsafe = 0;  // rlhf_eval.jsonl (unsafe: at most 300)
  double eval_fraction = 0.2;           // share of each family's prompts held out
  double sft_unsafe_fraction = 0.05;    // SFT rows that are unsafe prompts answered by refusal
  double prompts_unsafe_fraction = 0.2; // RLHF prompts that are unsafe
  double safety_unsafe_fraction = 0.7;  // safety pairs on unsafe prompts (rest: over-refusal pairs)

  // "small": for tests (a few thousand lines in all); "demo": what the demo trains on.
  static Sizes small();
  static Sizes demo();
  // By name; throws std::invalid_argument naming the accepted names.
  static Sizes named(const std::string& name);
  // Throws std::invalid_argument naming the first count or fraction out of range.
  void validate() const;
};

struct Generated {
  std::map<std::string, std::string> files;  // file name -> exact contents
  nlohmann::ordered_json manifest;           // also in files["manifest.json"]
};

Generated generate(uint64_t seed, const Sizes& sizes);

// Writes every file into dir (created if missing). Throws std::runtime_error naming the path
// that could not be written.
void write_files(const Generated& g, const std::filesystem::path& dir);

}  // namespace wb::suite
