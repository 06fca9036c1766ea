// CPU scalar head: a dot product per sequence at its last real token.
#include "wb/kernels/scalar_head.h"

namespace wb::kernels {

template <typename T>
void scalar_head_forward(acc_t<T>* r, const T* h, const int32_t* index, int64_t n_seqs,
                         const T* w, acc_t<T> b, int64_t d) {
  for (int64_t s = 0; s < n_seqs; ++s) {
    const T* row = h + static_cast<int64_t>(index[s]) * d;
    double acc = 0;
    for (int64_t j = 0; j < d; ++j) acc += double(row[j]) * double(w[j]);
    r[s] = static_cast<T>(acc) + b;
  }
}

template <typename T>
void scalar_head_backward(acc_t<T>* dw, acc_t<T>* db, T* dh, const acc_t<T>* dr, const T* h,
                          const int32_t* index,
                          int64_t n_seqs, const T* w, int64_t d) {
  for (int64_t s = 0; s < n_seqs; ++s) {
    const int64_t row = index[s];
    if (dw)
      for (int64_t j = 0; j < d; ++j) dw[j] += dr[s] * h[row * d + j];
    if (db) db[0] += dr[s];
    if (dh)
      for (int64_t j = 0; j < d; ++j) dh[row * d + j] += dr[s] * w[j];
  }
}

template void scalar_head_forward<float>(float*, const float*, const int32_t*, int64_t, const float*, float, int64_t);
template void scalar_head_forward<double>(double*, const double*, const int32_t*, int64_t, const double*, double, int64_t);
template void scalar_head_backward<float>(float*, float*, float*, const float*, const float*, const int32_t*, int64_t, const float*, int64_t);
template void scalar_head_backward<double>(double*, double*, double*, const double*, const double*, const int32_t*, int64_t, const double*, int64_t);

}  // namespace wb::kernels
