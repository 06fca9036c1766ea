#include "wb/cuda/dtype.h"

#include <stdexcept>

namespace wb::cuda {

DType parse_dtype(const std::string& name) {
  if (name == "float32") return DType::f32;
  if (name == "float16") return DType::f16;
  if (name == "bfloat16") return DType::bf16;
  throw std::invalid_argument("dtype must be float32, float16 or bfloat16, got \"" + name + "\"");
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::f16: return "float16";
    case DType::bf16: return "bfloat16";
  }
  return "?";
}

double unit_roundoff(DType t) {
  switch (t) {
    case DType::f32: return 1.0 / (1 << 24);
    case DType::f16: return 1.0 / (1 << 11);
    case DType::bf16: return 1.0 / (1 << 8);
  }
  return 1.0;
}

// cuda_bf16.h / cuda_fp16.h conversions are __host__ __device__: round to nearest even.
std::vector<float> to_float(const std::vector<bf16>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = __bfloat162float(v[i]);
  return out;
}
std::vector<float> to_float(const std::vector<fp16>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = __half2float(v[i]);
  return out;
}
template <> std::vector<float> from_float<float>(const std::vector<float>& v) { return v; }
template <> std::vector<bf16> from_float<bf16>(const std::vector<float>& v) {
  std::vector<bf16> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = __float2bfloat16_rn(v[i]);
  return out;
}
template <> std::vector<fp16> from_float<fp16>(const std::vector<float>& v) {
  std::vector<fp16> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = __float2half_rn(v[i]);
  return out;
}

}  // namespace wb::cuda
