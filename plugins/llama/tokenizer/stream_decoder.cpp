// StreamDecoder: SentencePiece's decoding rules applied one id at a time.
//
// SentencePiece (0.1.97, SentencePieceProcessor::Decode) builds the text left to right:
// control ids add nothing; <unk> adds its surface; a normal piece adds itself with "▁" -> " ",
// dropping its leading "▁" while "at the beginning" (is_bos_ws: the text is still empty and the
// previous piece did not already drop one); a run of byte pieces is decoded as
// UTF-8 character by character, each structurally invalid byte becoming U+FFFD. We do the same,
// holding back bytes that may still complete a character until the run ends.
#include "tokenizer_impl.h"

namespace wb::llama {

namespace {

const char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

bool is_trail(uint8_t c) { return (c & 0xC0) == 0x80; }

}  // namespace

StreamDecoder::StreamDecoder(const Tokenizer& tok) : tok_(&tok) {}

void StreamDecoder::reset() {
  pending_.clear();
  emitted_ = 0;
  at_bos_ = true;
  bos_ws_seen_ = false;
}

std::string StreamDecoder::drain_bytes(bool at_end) {
  std::string out;
  size_t i = 0;
  const size_t n = pending_.size();
  while (i < n) {
    const auto c = static_cast<uint8_t>(pending_[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    const size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool trails_ok = len != 0;
    for (size_t k = 1; trails_ok && k < len && i + k < n; ++k) {
      trails_ok = is_trail(static_cast<uint8_t>(pending_[i + k]));
    }
    if (!trails_ok) {  // can never become valid: one U+FFFD for this byte, go on with the next
      out += kReplacement;
      ++i;
      continue;
    }
    if (i + len > n) {  // incomplete: wait for more bytes unless the run has ended
      if (!at_end) break;
      out += kReplacement;
      ++i;
      continue;
    }
    uint32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<uint8_t>(pending_[i + k]) & 0x3F);
    const uint32_t min_cp = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    const bool valid = cp >= min_cp && cp <= 0x10FFFF && !(cp >= 0xD800 && cp < 0xE000);
    if (valid) {
      out.append(pending_, i, len);
      i += len;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  pending_.erase(0, i);
  return out;
}

std::string StreamDecoder::push(int32_t id) {
  tok_->check_id(id);
  using Impl = Tokenizer::Impl;
  const Impl& t = *tok_->impl_;
  if (t.kind[id] == Impl::Kind::Byte) {
    pending_ += static_cast<char>(t.byte[id]);
    std::string out = drain_bytes(false);
    emitted_ += out.size();
    return out;
  }
  // Any other piece ends a run of bytes.
  std::string out = drain_bytes(true);
  if (bos_ws_seen_ || emitted_ + out.size() > 0) at_bos_ = false;
  bos_ws_seen_ = false;
  switch (t.kind[id]) {
    case Impl::Kind::Control:
      break;
    case Impl::Kind::Unknown:
      out += t.unk_surface;
      break;
    case Impl::Kind::Normal:
    case Impl::Kind::Byte: {
      const std::string& s = t.surface[id];
      if (at_bos_ && t.strip != Impl::Strip::None && t.leading_space[id]) {
        out.append(s, 1, std::string::npos);
        bos_ws_seen_ = t.strip == Impl::Strip::Once;
      } else {
        out += s;
      }
      break;
    }
  }
  emitted_ += out.size();
  return out;
}

std::string StreamDecoder::finish() {
  std::string out = drain_bytes(true);
  reset();
  return out;
}

}  // namespace wb::llama
