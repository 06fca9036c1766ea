// Scalar head (reward / value models) on device, mirroring wb/kernels/scalar_head.h: one score
// per sequence read at the row of its last real token,
//   r_s = dot(h[index_s, :], w) + b
//   dw += sum_s dr_s * h[index_s, :],  db += sum_s dr_s,  dh[index_s, :] += dr_s * w
// index is a DEVICE array here (the CPU takes host memory). Scores and the head's gradients are
// fp32 (w's master copy and the loss live in fp32); h and dh are in the storage type.
#pragma once

#include <cstdint>

#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"

namespace wb::cuda {

// r[n_seqs] = h[index[s], :] . w + b. One warp per sequence.
template <typename T>
void scalar_head_forward(Context& ctx, float* r, const T* h, const int32_t* index,
                         int64_t n_seqs, const T* w, float b, int64_t d);

// dw[d] (fp32), db[1] (fp32), dh[n, d] accumulate; any may be null.
template <typename T>
void scalar_head_backward(Context& ctx, float* dw, float* db, T* dh, const float* dr, const T* h,
                          const int32_t* index, int64_t n_seqs, const T* w, int64_t d);

}  // namespace wb::cuda
