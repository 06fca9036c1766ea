// CPU LoRA low-rank update: two thin gemm() calls forward, four backward.
#include "wb/kernels/lora.h"

#include "wb/kernels/gemm.h"

namespace wb::kernels {

template <typename T>
void lora_forward(T* y, T* t, const T* x, const T* A, const T* B, int64_t n, int64_t in,
                  int64_t out, int64_t r, acc_t<T> scale) {
  // t[n,r] = x[n,in] A[r,in]^T
  gemm<T>(false, true, n, r, in, T(1), x, in, A, in, T(0), t, r);
  // y[n,out] += scale * t[n,r] B[out,r]^T
  gemm<T>(false, true, n, out, r, scale, t, r, B, r, T(1), y, out);
}

template <typename T>
void lora_backward(T* dx, acc_t<T>* dA, acc_t<T>* dB, T* dt_scratch, const T* dy, const T* x, const T* t,
                   const T* A, const T* B, int64_t n, int64_t in, int64_t out, int64_t r,
                   acc_t<T> scale) {
  // dB[out,r] += scale * dy^T t
  if (dB) gemm<T>(true, false, out, r, n, scale, dy, out, t, r, T(1), dB, r);
  if (!dA && !dx) return;
  // dt[n,r] = scale * dy[n,out] B[out,r]
  gemm<T>(false, false, n, r, out, scale, dy, out, B, r, T(0), dt_scratch, r);
  // dA[r,in] += dt^T x
  if (dA) gemm<T>(true, false, r, in, n, T(1), dt_scratch, r, x, in, T(1), dA, in);
  // dx[n,in] += dt A
  if (dx) gemm<T>(false, false, n, in, r, T(1), dt_scratch, r, A, in, T(1), dx, in);
}

template void lora_forward<float>(float*, float*, const float*, const float*, const float*, int64_t, int64_t, int64_t, int64_t, float);
template void lora_forward<double>(double*, double*, const double*, const double*, const double*, int64_t, int64_t, int64_t, int64_t, double);
template void lora_backward<float>(float*, float*, float*, float*, const float*, const float*, const float*, const float*, const float*, int64_t, int64_t, int64_t, int64_t, float);
template void lora_backward<double>(double*, double*, double*, double*, const double*, const double*, const double*, const double*, const double*, int64_t, int64_t, int64_t, int64_t, double);

}  // namespace wb::kernels
