// Tokenizer: a SentencePiece model (Llama 2's tokenizer.model or one trained by sp_trainer.h),
// and StreamDecoder, which turns a stream of ids into text as soon as it is complete UTF-8.
//
//   Tokenizer tok("tokenizer.model");                      // throws TokenizerError
//   std::vector<int32_t> ids = tok.encode("Hello world", /*bos=*/true);   // {1, 15043, 3186}
//   std::string text = tok.decode(ids);                      // "Hello world"
//
//   StreamDecoder sd(tok);
//   for (int32_t id : generated) std::cout << sd.push(id);  // only complete characters
//   std::cout << sd.finish();
//
// Control tokens (<s>, </s>) decode to nothing; text that spells "</s>" is ordinary text and
// never encodes to a control id. Thread-safety: a const Tokenizer may be used from many threads.
// Link: wb_tokenizer (libsentencepiece); the engine library wb_llama does not depend on it.
#pragma once

#include "wb/engine_error.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wb::llama {

// An EngineError of kind invalid_input unless the throw site says otherwise (not_found for a missing file, io for a failed write).
class TokenizerError : public EngineError {
 public:
  explicit TokenizerError(const std::string& message, ErrorKind kind = ErrorKind::invalid_input) : EngineError(kind, message) {}
};

class Tokenizer {
 public:
  // Loads a SentencePiece model file. Throws TokenizerError naming the path when it is missing
  // or not a valid model.
  explicit Tokenizer(const std::filesystem::path& model_path);
  // Loads from the bytes of a model file; `label` names it in errors.
  static Tokenizer from_serialized(std::string_view model_bytes, std::string label = "<memory>");

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Encodes UTF-8 text (SentencePiece adds its dummy-prefix space: "Hello" -> "▁Hello").
  // Throws TokenizerError on invalid input the library rejects.
  std::vector<int32_t> encode(std::string_view text, bool add_bos = false,
                              bool add_eos = false) const;
  // Like encode(), plus the byte span [begin, end) of `text` each id covers (0-width for
  // inserted pieces such as the dummy-prefix space).
  struct Span {
    uint32_t begin = 0;
    uint32_t end = 0;
  };
  std::vector<int32_t> encode_with_offsets(std::string_view text, std::vector<Span>& spans) const;

  // Decodes ids to UTF-8 text (control ids vanish; incomplete byte sequences become U+FFFD).
  // Throws TokenizerError for an id outside [0, vocab_size).
  std::string decode(std::span<const int32_t> ids) const;

  int32_t vocab_size() const;
  int32_t bos_id() const;
  int32_t eos_id() const;
  int32_t pad_id() const;  // -1 when the model has none
  int32_t unk_id() const;

  // The piece string ("▁Hello", "<0x41>", "<s>"). Throws TokenizerError for an out-of-range id.
  std::string id_to_piece(int32_t id) const;
  // unk_id() when `piece` is not in the vocabulary.
  int32_t piece_to_id(std::string_view piece) const;

  bool is_control(int32_t id) const;
  bool is_unknown(int32_t id) const;
  // Byte-fallback piece "<0xNN>".
  bool is_byte(int32_t id) const;
  // The byte a byte-fallback piece stands for; -1 when `id` is not a byte piece.
  int byte_value(int32_t id) const;
  // Whether the model strips the leading "▁" of the first piece when decoding (true for Llama).
  bool strips_leading_space() const;
  // The text <unk> decodes to (" ⁇ " by default).
  const std::string& unk_surface() const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  void check_id(int32_t id) const;
  std::unique_ptr<Impl> impl_;
  friend class StreamDecoder;
};

// Incremental decoding for streaming. The concatenation of everything push() and finish()
// return equals tok.decode(all ids) exactly: the leading "▁" is dropped only at the start of the
// text (SentencePiece's rule: the first piece, or the pieces before any text for models that
// remove extra whitespace), "▁" becomes a space, byte-fallback pieces are held back until they
// form a complete UTF-8 character (invalid sequences become U+FFFD, as SentencePiece does).
// The Tokenizer must outlive the decoder.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok);
  // Returns the text completed by `id` (often empty while bytes are pending).
  std::string push(int32_t id);
  // Flushes bytes still pending (as U+FFFD) and returns them; the decoder can then be reused as
  // if new (equivalent to reset() after).
  std::string finish();
  void reset();
  // Bytes of text emitted so far.
  size_t emitted_bytes() const { return emitted_; }

 private:
  std::string drain_bytes(bool at_end);

  const Tokenizer* tok_;
  std::string pending_;  // raw bytes from byte-fallback pieces not yet emitted
  size_t emitted_ = 0;
  bool at_bos_ = true;        // a leading "▁" would still be dropped
  bool bos_ws_seen_ = false;  // the previous piece dropped one
};

}  // namespace wb::llama
