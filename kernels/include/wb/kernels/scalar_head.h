// Scalar head (reward / value models): one score per sequence read at a chosen row of the final
// (normed) hidden states:  r_s = dot(h[index_s, :], w) + b.  index_s is the row of sequence s's
// last real token (never a pad); indices are HOST memory.
//   dw += sum_s dr_s * h[index_s,:]     db += sum_s dr_s     dh[index_s,:] += dr_s * w
#pragma once

#include <cstdint>

namespace wb::kernels {

template <typename T>
void scalar_head_forward(T* r, const T* h, const int32_t* index, int64_t n_seqs, const T* w,
                         T b, int64_t d);

// dw, db, dh may be null (skipped).
template <typename T>
void scalar_head_backward(T* dw, T* db, T* dh, const T* dr, const T* h, const int32_t* index,
                          int64_t n_seqs, const T* w, int64_t d);

}  // namespace wb::kernels
