// sp_model.h — the vocabulary of a SentencePiece model file (tokenizer.model) with each piece's
// score and type, read straight from its protobuf (ModelProto field 1: repeated SentencePiece
// {1: piece, 2: score, 3: type}). The Tokenizer API does not expose scores; GGUF needs them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace wb::sft {

// SentencePiece's piece types (sentencepiece_model.proto), which GGUF's token_type reuses.
enum class SpPieceType : int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

struct SpPiece {
  std::string piece;
  float score = 0;
  SpPieceType type = SpPieceType::Normal;
};

// Throws std::runtime_error naming the file when it is unreadable or not a SentencePiece model.
std::vector<SpPiece> read_sp_pieces(const std::filesystem::path& model_file);
// The same over the bytes of a model file; `label` names it in errors (fuzz/fuzz_sp_model.cpp).
std::vector<SpPiece> read_sp_pieces(std::string_view bytes, const std::string& label);

}  // namespace wb::sft
