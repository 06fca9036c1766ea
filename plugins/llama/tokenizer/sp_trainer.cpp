// SentencePiece training for small demo tokenizers.
#include "wb/llama/sp_trainer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <unordered_map>

#include "wb/llama/tokenizer.h"

namespace wb::llama {

namespace {

// Feeds the corpus line by line (so the path needs no escaping for the trainer's flag parser).
class LineIterator : public sentencepiece::SentenceIterator {
 public:
  explicit LineIterator(const std::filesystem::path& path) : in_(path) { Next(); }
  bool done() const override { return done_; }
  void Next() override {
    while (std::getline(in_, line_)) {
      if (!line_.empty() && line_.back() == '\r') line_.pop_back();
      if (!line_.empty()) return;
    }
    done_ = true;
  }
  const std::string& value() const override { return line_; }
  sentencepiece::util::Status status() const override {
    if (in_.bad()) return {sentencepiece::util::StatusCode::kInternal, "read error"};
    return {};
  }

 private:
  std::ifstream in_;
  std::string line_;
  bool done_ = false;
};

// Temp file + rename, so a reader never sees half a model. (wb_tokenizer does not link wb_llama,
// whose file_io.h does the same with fsync.)
void write_atomic(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw TokenizerError("cannot write " + path.string(), ErrorKind::io);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw TokenizerError("cannot write " + path.string() + ": " + ec.message(), ErrorKind::io);
  }
}

}  // namespace

void train_sentencepiece(const std::filesystem::path& corpus,
                         const std::filesystem::path& model_out, const SpTrainOptions& o) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(corpus, ec)) {
    throw TokenizerError("tokenizer corpus " + corpus.string() + " does not exist or is not a file",
                         ErrorKind::not_found);
  }
  if (std::filesystem::file_size(corpus, ec) == 0) {
    throw TokenizerError("tokenizer corpus " + corpus.string() + " is empty");
  }
  std::string symbols;
  for (const auto& s : o.user_defined_symbols) {
    if (s.find(',') != std::string::npos) {
      throw TokenizerError("user-defined symbol '" + s + "' contains a comma");
    }
    symbols += (symbols.empty() ? "" : ",") + s;
  }
  // Llama 2's own settings where they matter: identity normalization, no whitespace collapsing,
  // split digits, dummy prefix, byte fallback.
  const std::unordered_map<std::string, std::string> args = {
      {"minloglevel", "1"},  // warnings and errors only (the trainer is chatty at INFO)
      {"model_type", o.model_type},
      {"vocab_size", std::to_string(o.vocab_size)},
      {"character_coverage", std::to_string(o.character_coverage)},
      {"byte_fallback", o.byte_fallback ? "true" : "false"},
      {"unk_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"pad_id", std::to_string(o.pad_id)},
      {"num_threads", "1"},
      {"input_sentence_size", "0"},
      {"shuffle_input_sentence", "false"},
      {"max_sentence_length", std::to_string(o.max_sentence_length)},
      {"split_digits", "true"},
      {"add_dummy_prefix", "true"},
      {"remove_extra_whitespaces", "false"},
      {"normalization_rule_name", "identity"},
      {"allow_whitespace_only_pieces", "true"},
      {"user_defined_symbols", symbols},
  };
  std::string model;
  {
    // The seed and the trainer's logging are process-wide; serialize training runs.
    static std::mutex mu;
    std::lock_guard<std::mutex> lock(mu);
    sentencepiece::SetRandomGeneratorSeed(o.seed);
    LineIterator lines(corpus);
    const auto status = sentencepiece::SentencePieceTrainer::Train(args, &lines, &model);
    if (!status.ok()) {
      throw TokenizerError("training a tokenizer on " + corpus.string() +
                           " failed: " + status.ToString());
    }
  }
  // Check the result loads before publishing it.
  Tokenizer::from_serialized(model, model_out.string());
  write_atomic(model_out, model);
}

}  // namespace wb::llama
