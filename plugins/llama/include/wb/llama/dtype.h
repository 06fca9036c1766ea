// DType: the element types workbench stores weights in (F32, F16, BF16), their sizes and names,
// and exact scalar/array conversions to and from float.
//
// Conversions follow IEEE 754: float -> half/bfloat16 rounds to nearest, ties to even; values
// too large become +-Inf; NaN stays NaN (quiet, sign kept); subnormals are produced and read
// exactly. half/bfloat16 -> float is exact.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace wb::llama {

enum class DType { F32, F16, BF16 };

// Bytes per element: 4, 2, 2.
size_t dtype_size(DType t);

// The names safetensors uses: "F32", "F16", "BF16".
std::string_view dtype_name(DType t);
// Inverse of dtype_name; nullopt for any other name (safetensors types workbench does not read).
std::optional<DType> dtype_from_name(std::string_view name);

// The names HF config.json uses in "torch_dtype": "float32", "float16", "bfloat16".
std::string_view dtype_torch_name(DType t);
// Inverse of dtype_torch_name; nullopt for any other name.
std::optional<DType> dtype_from_torch_name(std::string_view name);

// Scalar conversions (bit patterns for the 16-bit types).
uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);
float bf16_to_f32(uint16_t b);

// Array conversions between raw little-endian storage of `src_type` and float. `src`/`dst`
// need no alignment (they are read/written with memcpy), so they may point into a mapped file.
// n is the element count.
void convert_to_f32(DType src_type, const void* src, float* dst, size_t n);
void convert_to_f64(DType src_type, const void* src, double* dst, size_t n);
void convert_from_f32(const float* src, DType dst_type, void* dst, size_t n);

}  // namespace wb::llama
