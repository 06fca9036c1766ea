// Train a small SentencePiece model (BPE by default) from a UTF-8 text corpus, one sentence per
// line, with Llama-style ids (unk 0, bos 1, eos 2) and byte fallback so any text encodes.
// Training is deterministic: one thread, no input sampling or shuffling, fixed seed.
//
//   SpTrainOptions o; o.vocab_size = 512;
//   train_sentencepiece("corpus.txt", "out/tokenizer.model", o);
//   Tokenizer tok("out/tokenizer.model");
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace wb::llama {

struct SpTrainOptions {
  int32_t vocab_size = 1024;          // includes control, byte (256) and user-defined pieces
  std::string model_type = "bpe";     // "bpe" | "unigram" | "char" | "word"
  double character_coverage = 1.0;
  bool byte_fallback = true;
  int32_t pad_id = 3;                 // -1 for no pad piece
  int32_t max_sentence_length = 16384;
  std::vector<std::string> user_defined_symbols;
  uint32_t seed = 42;
};

// Trains on `corpus` and writes the model to `model_out` atomically (no .vocab file). Throws
// TokenizerError (tokenizer.h) naming the corpus when it is missing/empty or training fails
// (e.g. a vocab_size too large for the corpus, or too small for the 256 byte pieces).
void train_sentencepiece(const std::filesystem::path& corpus,
                         const std::filesystem::path& model_out, const SpTrainOptions& options);

}  // namespace wb::llama
