// wb-suite: generate the synthetic task suite, and grade model outputs against it.
//
//   wb-suite generate --seed S --out DIR [--size small|demo] [--sft-train N ...]
//   wb-suite grade --file RESULTS.jsonl        lines {"prompt","response"[,"system"]}
//   wb-suite check --prompt TEXT --response TEXT [--system TEXT]
//
// Prints JSON on stdout; errors go to stderr with exit status 1 (2 for usage errors).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "wb/suite/checker.h"
#include "wb/suite/generator.h"
#include "wb/suite/grader.h"

namespace {

struct Overrides {
  std::optional<int> pretrain_lines, sft_train, sft_eval, sft_persona_train, pref_helpful_train, pref_helpful_eval,
      pref_safety_train, pref_safety_eval, prompts_train, prompts_eval, gatt_train, gatt_eval,
      dialogues_train, dialogues_eval,
      rlhf_eval_safe, rlhf_eval_unsafe;
  std::optional<double> eval_fraction;
};

void apply(const Overrides& o, wb::suite::Sizes& s) {
  auto set = [&](const std::optional<int>& v, int& field) {
    if (v) {
      field = *v;
      s.name = "custom";
    }
  };
  set(o.pretrain_lines, s.pretrain_lines);
  set(o.sft_train, s.sft_train);
  set(o.sft_eval, s.sft_eval);
  set(o.sft_persona_train, s.sft_persona_train);
  set(o.pref_helpful_train, s.pref_helpful_train);
  set(o.pref_helpful_eval, s.pref_helpful_eval);
  set(o.pref_safety_train, s.pref_safety_train);
  set(o.pref_safety_eval, s.pref_safety_eval);
  set(o.prompts_train, s.prompts_train);
  set(o.prompts_eval, s.prompts_eval);
  set(o.gatt_train, s.gatt_train);
  set(o.gatt_eval, s.gatt_eval);
  set(o.dialogues_train, s.dialogues_train);
  set(o.dialogues_eval, s.dialogues_eval);
  set(o.rlhf_eval_safe, s.rlhf_eval_safe);
  set(o.rlhf_eval_unsafe, s.rlhf_eval_unsafe);
  if (o.eval_fraction) {
    s.eval_fraction = *o.eval_fraction;
    s.name = "custom";
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wb-suite: the workbench synthetic task suite (generate data, grade outputs)"};
  app.require_subcommand(1);

  auto* gen = app.add_subcommand("generate", "write the suite's data files into a directory");
  uint64_t seed = 1;
  std::string out_dir, size = "demo";
  Overrides o;
  gen->add_option("--seed", seed, "random seed (same seed, same bytes)")->required();
  gen->add_option("--out", out_dir, "output directory (created if missing)")->required();
  gen->add_option("--size", size, "preset sizes")->check(CLI::IsMember({"small", "demo"}));
  gen->add_option("--pretrain-lines", o.pretrain_lines, "override: pretrain.txt lines");
  gen->add_option("--sft-train", o.sft_train, "override: sft_train.jsonl rows");
  gen->add_option("--sft-eval", o.sft_eval, "override: sft_eval.jsonl rows");
  gen->add_option("--pref-helpful-train", o.pref_helpful_train, "override");
  gen->add_option("--pref-helpful-eval", o.pref_helpful_eval, "override");
  gen->add_option("--pref-safety-train", o.pref_safety_train, "override");
  gen->add_option("--pref-safety-eval", o.pref_safety_eval, "override");
  gen->add_option("--prompts-train", o.prompts_train, "override");
  gen->add_option("--prompts-eval", o.prompts_eval, "override");
  gen->add_option("--gatt-train", o.gatt_train, "override");
  gen->add_option("--gatt-eval", o.gatt_eval, "override");
  gen->add_option("--sft-persona-train", o.sft_persona_train,
                  "override: sft_persona_train.jsonl rows (the persona in the turn answered)");
  gen->add_option("--dialogues-train", o.dialogues_train, "override");
  gen->add_option("--dialogues-eval", o.dialogues_eval, "override");
  gen->add_option("--rlhf-eval-safe", o.rlhf_eval_safe, "override: safe prompts in rlhf_eval.jsonl");
  gen->add_option("--rlhf-eval-unsafe", o.rlhf_eval_unsafe, "override: unsafe prompts in rlhf_eval.jsonl (at most 300)");
  gen->add_option("--eval-fraction", o.eval_fraction, "share of each family's prompts held out (0, 0.5]");

  auto* grade = app.add_subcommand("grade", "grade a results JSONL file and print the aggregate");
  std::string file;
  bool per_line = false;
  grade->add_option("--file", file, "results JSONL ({\"prompt\",\"response\"[,\"system\"]} per line)")
      ->required();
  grade->add_flag("--per-line", per_line, "also print each line's verdict (JSONL) before the aggregate");

  auto* chk = app.add_subcommand("check", "grade one response and print the verdict");
  std::string prompt, response, system;
  chk->add_option("--prompt", prompt, "the prompt (plain or Llama 2 rendered text)")->required();
  chk->add_option("--response", response, "the model's response")->required();
  chk->add_option("--system", system, "a system instruction (overrides one in the prompt)");

  CLI11_PARSE(app, argc, argv);

  try {
    if (*gen) {
      wb::suite::Sizes sizes = wb::suite::Sizes::named(size);
      apply(o, sizes);
      const auto g = wb::suite::generate(seed, sizes);
      wb::suite::write_files(g, out_dir);
      std::cout << g.manifest.dump(2) << "\n";
    } else if (*grade) {
      std::ifstream in(file);
      if (!in) throw std::runtime_error("cannot open '" + file + "'");
      if (per_line) {
        std::string line;
        long number = 0;
        wb::suite::Report report;
        std::vector<wb::suite::Verdict> verdicts;
        while (std::getline(in, line)) {
          ++number;
          if (wb::suite::trim(line).empty()) continue;
          wb::suite::ResultLine r;
          try {
            r = wb::suite::parse_result_line(line);
          } catch (const std::invalid_argument& e) {
            throw std::invalid_argument("line " + std::to_string(number) + ": " + e.what());
          }
          verdicts.push_back(wb::suite::check(r.prompt, r.response, r.system));
        }
        for (const auto& v : verdicts) {
          report.add(v);
          std::cout << v.to_json().dump() << "\n";
        }
        std::cout << report.to_json().dump(2) << "\n";
      } else {
        std::cout << wb::suite::grade_jsonl(in).to_json().dump(2) << "\n";
      }
    } else if (*chk) {
      std::cout << wb::suite::check(prompt, response, system).to_json().dump(2) << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "wb-suite: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
