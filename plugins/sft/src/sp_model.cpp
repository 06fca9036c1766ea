#include "sp_model.h"

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace wb::sft {
namespace {

// A bounds-checked protobuf wire-format reader over [p, end).
struct Wire {
  const uint8_t* p;
  const uint8_t* end;
  const std::string* label;

  [[noreturn]] void fail(const char* what) const { throw std::runtime_error(*label + ": not a SentencePiece model (" + what + ")"); }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) fail("truncated varint");
      const uint8_t b = *p++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("varint too long");
  }
  Wire sub() {
    const uint64_t n = varint();
    if (n > static_cast<uint64_t>(end - p)) fail("field past the end");
    Wire w{p, p + n, label};
    p += n;
    return w;
  }
  void skip(uint32_t wire_type) {
    switch (wire_type) {
      case 0: varint(); break;
      case 1: if (end - p < 8) fail("truncated"); p += 8; break;
      case 2: sub(); break;
      case 5: if (end - p < 4) fail("truncated"); p += 4; break;
      default: fail("unknown wire type");
    }
  }
};

}  // namespace

std::vector<SpPiece> read_sp_pieces(const std::filesystem::path& model_file) {
  std::ifstream f(model_file, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + model_file.string());
  std::stringstream ss;
  ss << f.rdbuf();
  return read_sp_pieces(ss.str(), model_file.string());
}

std::vector<SpPiece> read_sp_pieces(std::string_view bytes, const std::string& label) {
  Wire w{reinterpret_cast<const uint8_t*>(bytes.data()), reinterpret_cast<const uint8_t*>(bytes.data()) + bytes.size(),
         &label};
  std::vector<SpPiece> out;
  while (w.p < w.end) {
    const uint64_t tag = w.varint();
    if ((tag >> 3) == 1 && (tag & 7) == 2) {
      Wire pw = w.sub();
      SpPiece piece;
      while (pw.p < pw.end) {
        const uint64_t t = pw.varint();
        if ((t >> 3) == 1 && (t & 7) == 2) {
          Wire s = pw.sub();
          piece.piece.assign(reinterpret_cast<const char*>(s.p), static_cast<size_t>(s.end - s.p));
        } else if ((t >> 3) == 2 && (t & 7) == 5) {
          if (pw.end - pw.p < 4) pw.fail("truncated score");
          std::memcpy(&piece.score, pw.p, 4);
          pw.p += 4;
        } else if ((t >> 3) == 3 && (t & 7) == 0) {
          const uint64_t ty = pw.varint();
          if (ty < 1 || ty > 6) pw.fail("bad piece type");
          piece.type = static_cast<SpPieceType>(ty);
        } else {
          pw.skip(static_cast<uint32_t>(t & 7));
        }
      }
      out.push_back(std::move(piece));
    } else {
      w.skip(static_cast<uint32_t>(tag & 7));
    }
  }
  if (out.empty()) throw std::runtime_error(label + ": not a SentencePiece model (no pieces)");
  return out;
}

}  // namespace wb::sft
