// Tokenizer over libsentencepiece.
#include "wb/llama/tokenizer.h"

#include <filesystem>

#include "tokenizer_impl.h"

namespace wb::llama {

namespace {

const std::string kSpace = "\xE2\x96\x81";  // U+2581 "▁", SentencePiece's space symbol

std::string replace_space_symbol(const std::string& piece) {
  std::string out;
  out.reserve(piece.size());
  for (size_t i = 0; i < piece.size();) {
    if (piece.compare(i, kSpace.size(), kSpace) == 0) {
      out += ' ';
      i += kSpace.size();
    } else {
      out += piece[i++];
    }
  }
  return out;
}

// "<0x4A>" -> 0x4A.
int parse_byte_piece(const std::string& piece) {
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return -1;
  return std::stoi(piece.substr(3, 2), nullptr, 16);
}

}  // namespace

void Tokenizer::Impl::index() {
  vocab = sp.GetPieceSize();
  kind.assign(vocab, Kind::Normal);
  byte.assign(vocab, -1);
  surface.assign(vocab, std::string());
  leading_space.assign(vocab, false);
  int32_t probe = -1;  // a normal piece starting with "▁" and longer than it
  for (int32_t id = 0; id < vocab; ++id) {
    const std::string& piece = sp.IdToPiece(id);
    if (sp.IsControl(id)) {
      kind[id] = Kind::Control;
    } else if (sp.IsUnknown(id)) {
      kind[id] = Kind::Unknown;
    } else if (sp.IsByte(id)) {
      kind[id] = Kind::Byte;
      byte[id] = static_cast<int16_t>(parse_byte_piece(piece));
    } else {
      surface[id] = replace_space_symbol(piece);
      leading_space[id] = piece.compare(0, kSpace.size(), kSpace) == 0;
      if (probe < 0 && leading_space[id] && piece.size() > kSpace.size()) probe = id;
    }
  }
  // How decoding drops a leading "▁" depends on the model's normalizer spec, which the public
  // API does not expose: ask the library directly.
  auto decoded = [&](std::vector<int> ids) {
    std::string text;
    return sp.Decode(ids, &text).ok() ? text : std::string("?");
  };
  if (probe >= 0) {
    if (decoded({probe}) == surface[probe]) {
      strip = Strip::None;
    } else {
      strip = Strip::Once;
      const int space = sp.PieceToId(kSpace);
      if (space >= 0 && space < vocab && kind[space] == Kind::Normal && space != sp.unk_id() &&
          decoded({space, probe}) == surface[probe].substr(1)) {
        strip = Strip::AllLeading;
      }
    }
  }
  const int unk = sp.unk_id();
  if (unk >= 0 && unk < vocab) {
    if (!sp.Decode(std::vector<int>{unk}, &unk_surface).ok()) unk_surface = " \xE2\x81\x87 ";
  }
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Tokenizer::Tokenizer(const std::filesystem::path& model_path) : impl_(std::make_unique<Impl>()) {
  impl_->label = model_path.string();
  std::error_code ec;
  if (!std::filesystem::exists(model_path, ec)) {
    throw TokenizerError("tokenizer model " + model_path.string() + " does not exist", ErrorKind::not_found);
  }
  if (std::filesystem::is_directory(model_path, ec)) {
    throw TokenizerError("tokenizer model " + model_path.string() + " is a directory");
  }
  const auto status = impl_->sp.Load(model_path.string());
  if (!status.ok()) {
    throw TokenizerError("cannot load tokenizer model " + model_path.string() + ": " +
                         status.ToString());
  }
  impl_->index();
}

Tokenizer Tokenizer::from_serialized(std::string_view model_bytes, std::string label) {
  auto impl = std::make_unique<Impl>();
  impl->label = std::move(label);
  const auto status = impl->sp.LoadFromSerializedProto(model_bytes);
  if (!status.ok()) {
    throw TokenizerError("cannot load tokenizer model " + impl->label + ": " + status.ToString());
  }
  impl->index();
  return Tokenizer(std::move(impl));
}

Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos, bool add_eos) const {
  std::vector<int> ids;
  const auto status = impl_->sp.Encode(text, &ids);
  if (!status.ok()) throw TokenizerError("cannot encode text: " + status.ToString());
  std::vector<int32_t> out;
  out.reserve(ids.size() + 2);
  if (add_bos) out.push_back(bos_id());
  out.insert(out.end(), ids.begin(), ids.end());
  if (add_eos) out.push_back(eos_id());
  return out;
}

std::vector<int32_t> Tokenizer::encode_with_offsets(std::string_view text,
                                                    std::vector<Span>& spans) const {
  const auto spt = impl_->sp.EncodeAsImmutableProto(text);
  std::vector<int32_t> ids;
  spans.clear();
  const size_t n = spt.pieces_size();
  ids.reserve(n);
  spans.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const auto p = spt.pieces(static_cast<int>(i));
    ids.push_back(static_cast<int32_t>(p.id()));
    spans.push_back({p.begin(), p.end()});
  }
  return ids;
}

void Tokenizer::check_id(int32_t id) const {
  if (id < 0 || id >= impl_->vocab) {
    throw TokenizerError("token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                         std::to_string(impl_->vocab) + ")");
  }
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  for (int32_t id : ids) check_id(id);
  std::string text;
  const auto status = impl_->sp.Decode(std::vector<int>(ids.begin(), ids.end()), &text);
  if (!status.ok()) throw TokenizerError("cannot decode ids: " + status.ToString());
  return text;
}

int32_t Tokenizer::vocab_size() const { return impl_->vocab; }
int32_t Tokenizer::bos_id() const { return impl_->sp.bos_id(); }
int32_t Tokenizer::eos_id() const { return impl_->sp.eos_id(); }
int32_t Tokenizer::pad_id() const { return impl_->sp.pad_id(); }
int32_t Tokenizer::unk_id() const { return impl_->sp.unk_id(); }

std::string Tokenizer::id_to_piece(int32_t id) const {
  check_id(id);
  return impl_->sp.IdToPiece(id);
}

int32_t Tokenizer::piece_to_id(std::string_view piece) const { return impl_->sp.PieceToId(piece); }

bool Tokenizer::is_control(int32_t id) const {
  check_id(id);
  return impl_->kind[id] == Impl::Kind::Control;
}
bool Tokenizer::is_unknown(int32_t id) const {
  check_id(id);
  return impl_->kind[id] == Impl::Kind::Unknown;
}
bool Tokenizer::is_byte(int32_t id) const {
  check_id(id);
  return impl_->kind[id] == Impl::Kind::Byte;
}
int Tokenizer::byte_value(int32_t id) const {
  check_id(id);
  return impl_->byte[id];
}
bool Tokenizer::strips_leading_space() const { return impl_->strip != Impl::Strip::None; }
const std::string& Tokenizer::unk_surface() const { return impl_->unk_surface; }

}  // namespace wb::llama
