// Elementwise helpers the engine needs between ops: residual adds and dtype conversion.
#pragma once

#include <cstdint>

#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"

namespace wb::cuda {

// y[i] += x[i] for i < count.
template <typename T>
void add_inplace(Context& ctx, T* y, const T* x, int64_t count);

// dst[i] = To(src[i]) (fp32 accumulate / round to nearest).
template <typename To, typename From>
void convert(Context& ctx, To* dst, const From* src, int64_t count);

}  // namespace wb::cuda
