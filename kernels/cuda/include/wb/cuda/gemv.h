// Small-batch linear layers for decode: y[n, out] = in(x)[n, in] * W[out, in]^T for n <= 4 rows,
// reading W once with 128-bit loads and accumulating in fp32 (one warp per output row). At one
// row cuBLAS leaves much of the HBM bandwidth unused; this kernel streams W at close to it.
// The input x is staged in shared memory once per block, optionally transformed on the way:
//   gemv          in(x) = x                                    (accumulate: y += ...)
//   gemv_rmsnorm  in(x) = rmsnorm(x) * norm_w, rounded to T — the bits rmsnorm_forward writes
// and the output optionally combined in pairs (swiglu = true): W has 2*out rows (gate rows, then
// up rows, as a fused [gate; up] weight) and y[i, r] = silu(g) * u with g = row r's and u = row
// out + r's products, each rounded to T first — the bits swiglu_forward would give.
// So a decode layer is gemv_rmsnorm(qkv), rope, attention, gemv(o, accumulate),
// gemv_rmsnorm(gate_up, swiglu), gemv(down, accumulate).
#pragma once

#include <cstdint>

#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"

namespace wb::cuda {

constexpr int64_t kGemvMaxRows = 4;

// Whether gemv/gemv_rmsnorm take n rows of width `in` (n <= kGemvMaxRows, staged input fits in
// shared memory); otherwise use rmsnorm_forward + linear_forward.
template <typename T>
bool gemv_fits(int64_t n, int64_t in);

template <typename T>
void gemv(Context& ctx, T* y, const T* x, const T* w, int64_t n, int64_t in, int64_t out,
          bool accumulate = false);

// norm_w[in]; eps as rmsnorm_forward. swiglu: see the header comment (y is [n, out]).
template <typename T>
void gemv_rmsnorm(Context& ctx, T* y, const T* x, const T* norm_w, float eps, const T* w,
                  int64_t n, int64_t in, int64_t out, bool swiglu = false);

}  // namespace wb::cuda
