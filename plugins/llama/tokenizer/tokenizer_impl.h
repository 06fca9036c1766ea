// Private to wb_tokenizer: the state behind Tokenizer, shared by tokenizer.cpp and
// stream_decoder.cpp.
#pragma once

#include <sentencepiece_processor.h>

#include <string>
#include <vector>

#include "wb/llama/tokenizer.h"

namespace wb::llama {

struct Tokenizer::Impl {
  enum class Kind : uint8_t { Normal, Control, Unknown, Byte };

  sentencepiece::SentencePieceProcessor sp;
  std::string label;
  int32_t vocab = 0;
  // Per id: its kind, the byte it stands for (Byte) and its surface with "▁" -> " " (Normal).
  std::vector<Kind> kind;
  std::vector<int16_t> byte;
  std::vector<std::string> surface;
  std::vector<bool> leading_space;  // Normal piece that starts with "▁"
  // How decoding treats a "▁" at the start of the text (SentencePiece's is_bos_ws rule):
  // None: kept; Once: the first such piece loses it; AllLeading: every such piece loses it while
  // the text is still empty (models trained with remove_extra_whitespaces).
  enum class Strip : uint8_t { None, Once, AllLeading };
  Strip strip = Strip::Once;
  std::string unk_surface;

  // Fills the tables above from `sp` once the model is loaded.
  void index();
};

}  // namespace wb::llama
