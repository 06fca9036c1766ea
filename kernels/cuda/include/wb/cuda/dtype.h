// Storage types of the CUDA backend: fp32, fp16 (__half) and bf16 (__nv_bfloat16). Tensors are
// stored in one of these; every kernel accumulates in fp32. Ops are templates over the storage
// type T, explicitly instantiated for exactly these three in src/*.cu.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <string>
#include <vector>

namespace wb::cuda {

using bf16 = __nv_bfloat16;
using fp16 = __half;

enum class DType { f32, f16, bf16 };

template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<fp16> { static constexpr DType value = DType::f16; };
template <> struct dtype_of<bf16> { static constexpr DType value = DType::bf16; };

// "float32" | "float16" | "bfloat16" (HF torch_dtype names); throws std::invalid_argument otherwise.
DType parse_dtype(const std::string& name);
const char* dtype_name(DType t);

// Unit roundoff of the type (2^-24, 2^-11, 2^-8): tests scale their tolerances by it.
double unit_roundoff(DType t);

// Host-side conversions (round to nearest even), usable from plain C++.
std::vector<float> to_float(const std::vector<bf16>& v);
std::vector<float> to_float(const std::vector<fp16>& v);
inline std::vector<float> to_float(const std::vector<float>& v) { return v; }
template <typename T> std::vector<T> from_float(const std::vector<float>& v);

}  // namespace wb::cuda
