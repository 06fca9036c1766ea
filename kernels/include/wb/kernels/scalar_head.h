// Scalar head (reward / value models): one score per sequence read at a chosen row of the final
// (normed) hidden states:  r_s = dot(h[index_s, :], w) + b.  index_s is the row of sequence s's
// last real token (never a pad); indices are in the backend's memory (host for the CPU, device
// for CUDA). Scores, b, the head's weight gradient dw and db are accumulators (precision.h):
// fp32 for 16-bit T; h, w and dh are in the storage type.
//   dw += sum_s dr_s * h[index_s,:]     db += sum_s dr_s     dh[index_s,:] += dr_s * w
#pragma once

#include <cstdint>

#include "wb/kernels/device.h"
#include "wb/kernels/precision.h"

namespace wb::kernels {

template <typename T>
void scalar_head_forward(acc_t<T>* r, const T* h, const int32_t* index, int64_t n_seqs,
                         const T* w, acc_t<T> b, int64_t d);
template <typename T>
void scalar_head_forward(acc_t<T>* r, const T* h, const int32_t* index, int64_t n_seqs,
                         const T* w, acc_t<T> b, int64_t d, cuda::Context& ctx);

// dw, db, dh may be null (skipped).
template <typename T>
void scalar_head_backward(acc_t<T>* dw, acc_t<T>* db, T* dh, const acc_t<T>* dr, const T* h,
                          const int32_t* index, int64_t n_seqs, const T* w, int64_t d);
template <typename T>
void scalar_head_backward(acc_t<T>* dw, acc_t<T>* db, T* dh, const acc_t<T>* dr, const T* h,
                          const int32_t* index, int64_t n_seqs, const T* w, int64_t d,
                          cuda::Context& ctx);

}  // namespace wb::kernels
