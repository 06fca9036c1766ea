#include "wb/llama/dtype.h"

#include <bit>
#include <cstring>

namespace wb::llama {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
  }
  return 0;
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
  }
  return "?";
}

std::optional<DType> dtype_from_name(std::string_view name) {
  if (name == "F32") return DType::F32;
  if (name == "F16") return DType::F16;
  if (name == "BF16") return DType::BF16;
  return std::nullopt;
}

std::string_view dtype_torch_name(DType t) {
  switch (t) {
    case DType::F32: return "float32";
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
  }
  return "?";
}

std::optional<DType> dtype_from_torch_name(std::string_view name) {
  if (name == "float32") return DType::F32;
  if (name == "float16") return DType::F16;
  if (name == "bfloat16") return DType::BF16;
  return std::nullopt;
}

// float -> half. Works on the bit pattern so every case is explicit:
// sign | exponent (8 bits, bias 127) | mantissa (23 bits)  ->  sign | exp (5, bias 15) | man (10).
uint16_t f32_to_f16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t exp = (x >> 23) & 0xFFu;
  uint32_t man = x & 0x7FFFFFu;

  if (exp == 0xFF) {  // Inf or NaN; NaN keeps its top payload bits and is made quiet.
    if (man == 0) return sign | 0x7C00u;
    return static_cast<uint16_t>(sign | 0x7E00u | (man >> 13));
  }
  const int32_t e = static_cast<int32_t>(exp) - 127 + 15;  // rebiased exponent
  if (e >= 0x1F) return sign | 0x7C00u;                    // overflow -> Inf
  if (e <= 0) {
    // Subnormal half (or zero): value = man_full * 2^(exp-150); half subnormal unit is 2^-24,
    // so the half mantissa is man_full >> (126 - exp), rounded to nearest even.
    if (e < -10) return sign;  // below half the smallest subnormal: rounds to zero
    man |= 0x800000u;          // implicit leading 1
    const uint32_t shift = static_cast<uint32_t>(14 - e);  // = 126 - exp, in [14, 24]
    uint32_t half_man = man >> shift;
    const uint32_t rem = man & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half_man & 1u))) ++half_man;  // may carry into exp 1
    return static_cast<uint16_t>(sign | half_man);
  }
  // Normal: keep the top 10 mantissa bits, round to nearest even on the 13 dropped bits.
  uint32_t h = (static_cast<uint32_t>(e) << 10) | (man >> 13);
  const uint32_t rem = man & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry may round up to Inf: correct
  return static_cast<uint16_t>(sign | h);
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t man = h & 0x3FFu;
  uint32_t x;
  if (exp == 0x1F) {
    x = sign | 0x7F800000u | (man << 13);  // Inf / NaN (payload kept)
  } else if (exp == 0) {
    if (man == 0) {
      x = sign;
    } else {  // subnormal: normalize into a float normal
      int32_t e = -1;
      do {
        man <<= 1;
        ++e;
      } while ((man & 0x400u) == 0);
      man &= 0x3FFu;
      x = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | (man << 13);
    }
  } else {
    x = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  return std::bit_cast<float>(x);
}

// bfloat16 is the top half of a float: round the dropped 16 bits to nearest even.
uint16_t f32_to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7F800000u) == 0x7F800000u && (x & 0x7FFFFFu) != 0) {
    return static_cast<uint16_t>((x >> 16) | 0x0040u);  // NaN: keep sign/payload top, force quiet
  }
  const uint32_t lsb = (x >> 16) & 1u;
  const uint32_t rounded = x + 0x7FFFu + lsb;  // overflow into the exponent rounds up (to Inf)
  return static_cast<uint16_t>(rounded >> 16);
}

float bf16_to_f32(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

namespace {

template <typename Out>
void convert_to(DType src_type, const void* src, Out* dst, size_t n) {
  const auto* p = static_cast<const unsigned char*>(src);
  switch (src_type) {
    case DType::F32:
      for (size_t i = 0; i < n; ++i) {
        float v;
        std::memcpy(&v, p + 4 * i, 4);
        dst[i] = static_cast<Out>(v);
      }
      return;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, p + 2 * i, 2);
        dst[i] = static_cast<Out>(f16_to_f32(v));
      }
      return;
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, p + 2 * i, 2);
        dst[i] = static_cast<Out>(bf16_to_f32(v));
      }
      return;
  }
}

}  // namespace

void convert_to_f32(DType src_type, const void* src, float* dst, size_t n) {
  convert_to(src_type, src, dst, n);
}

void convert_to_f64(DType src_type, const void* src, double* dst, size_t n) {
  convert_to(src_type, src, dst, n);
}

void convert_from_f32(const float* src, DType dst_type, void* dst, size_t n) {
  auto* p = static_cast<unsigned char*>(dst);
  switch (dst_type) {
    case DType::F32:
      std::memcpy(p, src, 4 * n);
      return;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) {
        const uint16_t v = f32_to_f16(src[i]);
        std::memcpy(p + 2 * i, &v, 2);
      }
      return;
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) {
        const uint16_t v = f32_to_bf16(src[i]);
        std::memcpy(p + 2 * i, &v, 2);
      }
      return;
  }
}

}  // namespace wb::llama
