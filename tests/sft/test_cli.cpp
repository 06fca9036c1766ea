// Integration through the real `wb`: model init/list/show, train sft --follow, eval's table, and a
// bad --set rejected naming the field.
#include <catch2/catch.hpp>

#include <fstream>

#include "sft_fixture.h"

using namespace sfttest;

namespace {

using Run = WbRun;

Run wb_at(const std::string& socket, const std::string& args) { return run_wb(socket, args); }

Run wb(const SftDaemon& d, const std::string& args) { return wb_at(d.socket(), args); }

}  // namespace

TEST_CASE("wb model/train/eval drive the sft plugin end to end", "[sft][integration][cli]") {
  // Without a daemon, `wb model list` is a plain error (1), not a usage error (2): the command exists.
  CHECK(wb_at("/nonexistent/wb.sock", "model list").code == 1);
  SftDaemon d;
  d.import_sft("chat", "sft_train.jsonl");
  d.import_sft("chat-eval", "sft_eval.jsonl");

  Run init = wb(d, "model init tiny1 --tokenizer-corpus " + (d.suite_dir() / "tokenizer_corpus.txt").string() +
                       " --vocab-size 400 --set config.hidden_size=64 --set config.intermediate_size=176"
                       " --set config.num_hidden_layers=2 --set config.max_position_embeddings=128 --preset tiny");
  INFO(init.out);
  REQUIRE(init.code == 0);
  CHECK_THAT(init.out, Catch::Contains("vocab:") && Catch::Contains("400"));
  Run list = wb(d, "model list");
  CHECK(list.code == 0);
  CHECK_THAT(list.out, Catch::Contains("tiny1"));
  Run json_show = wb(d, "--json model show tiny1");
  CHECK(json::parse(json_show.out)["config"]["num_hidden_layers"] == 2);

  Run train = wb(d, "train sft --follow --set model=tiny1 --set dataset=chat --set output=cli-lora --set max_steps=5"
                    " --set batch_size=2 --set context_length=64 --set eval_batches=1");
  INFO(train.out);
  CHECK(train.code == 0);
  CHECK_THAT(train.out, Catch::Contains("train_loss") && Catch::Contains("succeeded"));

  // Without --set output the adapter is named "sft-<job id>", printed at submission.
  Run unnamed = wb(d, "train sft --follow --set model=tiny1 --set dataset=chat --set max_steps=1"
                      " --set batch_size=2 --set context_length=64 --set eval_batches=1");
  INFO(unnamed.out);
  CHECK(unnamed.code == 0);
  const auto at = unnamed.out.find("(output sft-");
  REQUIRE(at != std::string::npos);
  const std::string named = unnamed.out.substr(at + 8, unnamed.out.find(')', at) - at - 8);
  CHECK_THAT(wb(d, "adapter list").out, Catch::Contains(named));

  Run ev = wb(d, "eval --model tiny1 --adapter cli-lora --dataset chat-eval --limit 6 --max-tokens 4");
  INFO(ev.out);
  CHECK(ev.code == 0);
  CHECK_THAT(ev.out, Catch::Contains("ACCURACY") && Catch::Contains("FORMAT") && Catch::Contains("cli-lora"));
  // Prompts the checker does not recognise are shown as ungraded, not as failures.
  {
    const auto file = d.data_dir().parent_path() / "free.jsonl";
    std::ofstream(file) << "{\"prompt\":\"Tell me about the sea.\"}\n{\"prompt\":\"Hello there!\"}\n";
    REQUIRE(wb(d, "dataset import free " + file.string() + " --kind prompt").code == 0);
    Run fr = wb(d, "eval --model tiny1 --dataset free --max-tokens 2");
    INFO(fr.out);
    CHECK(fr.code == 0);
    CHECK_THAT(fr.out, Catch::Contains("UNGRADED") && Catch::Contains("2 of 2 prompts are not suite tasks"));
    const json fj = json::parse(wb(d, "--json eval --model tiny1 --dataset free --max-tokens 2").out);
    CHECK(fj["graded"] == 0);
    CHECK(fj["ungraded"] == 2);
  }
  Run evj = wb(d, "--json eval --model tiny1 --dataset chat-eval --limit 3 --max-tokens 2");
  CHECK(evj.code == 0);
  CHECK(json::parse(evj.out)["n"] == 3);

  // A typed folder with a trailing slash names the folder (the export once staged inside it and
  // failed with "cannot remove: Directory not empty").
  const auto out_dir = d.data_dir().parent_path() / "export-out";
  std::filesystem::create_directories(out_dir);
  Run ex = wb(d, "model export tiny1 " + out_dir.string() + "/ --adapter cli-lora");
  INFO(ex.out);
  CHECK(ex.code == 0);
  CHECK(std::filesystem::is_regular_file(out_dir / "config.json"));
  CHECK_THAT(ex.out, Catch::Contains("to " + out_dir.string() + "\n"));

  // An adapter trained on another model is refused by export as by serving, reward and label.
  REQUIRE(wb(d, "model init tiny2 --tokenizer-corpus " + (d.suite_dir() / "tokenizer_corpus.txt").string() +
                    " --vocab-size 400 --set config.hidden_size=64 --set config.intermediate_size=176"
                    " --set config.num_hidden_layers=2 --set config.max_position_embeddings=128 --preset tiny")
              .code == 0);
  const auto other_out = d.data_dir().parent_path() / "export-other";
  Run mismatch = wb(d, "model export tiny2 " + other_out.string() + " --adapter cli-lora");
  CHECK(mismatch.code == 1);
  CHECK_THAT(mismatch.out, Catch::Contains("adapter 'cli-lora' was trained on model 'tiny1', not 'tiny2'"));
  CHECK_FALSE(std::filesystem::exists(other_out));

  Run bad = wb(d, "train sft --set model=tiny1 --set dataset=chat --set output=x --set rank=0");
  CHECK(bad.code == 1);
  CHECK_THAT(bad.out, Catch::Contains("field 'rank'"));
  Run missing = wb(d, "train sft --set model=nope --set dataset=chat --set output=x");
  CHECK(missing.code == 1);
  CHECK_THAT(missing.out, Catch::Contains("unknown model 'nope'"));
}
