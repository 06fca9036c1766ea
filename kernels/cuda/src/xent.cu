// Softmax cross-entropy (forward loss, backward dlogits) and a row softmax. One block per row.
#include "common.cuh"
#include "wb/cuda/stream.h"
#include "wb/kernels/xent.h"

namespace wb::cuda {
namespace {
using dev::from_f;
using dev::to_f;

constexpr int kThreads = 512;

// max and log-sum-exp of one row, every thread of the block gets both.
template <typename T>
__device__ void row_lse(const T* x, int64_t vocab, float* scratch, float& m, float& lse) {
  float mx = -INFINITY;
  for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x) mx = fmaxf(mx, to_f(x[c]));
  mx = dev::block_max(mx, scratch);
  float s = 0.0f;
  for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x) s += __expf(to_f(x[c]) - mx);
  s = dev::block_sum(s, scratch);
  m = mx;
  lse = mx + logf(s);
}

template <typename T>
__global__ void xent_forward_kernel(float* losses, const T* logits, const int32_t* targets,
                                    int64_t n, int64_t vocab) {
  __shared__ float scratch[32];
  for (int64_t row = blockIdx.x; row < n; row += gridDim.x) {
    const int32_t t = targets[row];
    if (t < 0) {  // masked row (uniform across the block, so no divergence at the barriers)
      if (threadIdx.x == 0) losses[row] = 0.0f;
      continue;
    }
    float m, lse;
    row_lse(logits + row * vocab, vocab, scratch, m, lse);
    if (threadIdx.x == 0) losses[row] = lse - to_f(logits[row * vocab + t]);
  }
}

// inplace: d == logits and the gradient replaces the row (masked rows zeroed); otherwise d += .
template <typename T>
__global__ void xent_backward_kernel(T* dlogits, const T* logits, const int32_t* targets,
                                     const float* dloss, int64_t n, int64_t vocab, bool inplace) {
  __shared__ float scratch[32];
  for (int64_t row = blockIdx.x; row < n; row += gridDim.x) {
    const int32_t t = targets[row];
    T* d = dlogits + row * vocab;
    if (t < 0) {
      if (inplace)
        for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x) d[c] = from_f<T>(0.0f);
      continue;
    }
    const T* x = logits + row * vocab;
    float m, lse;
    row_lse(x, vocab, scratch, m, lse);
    const float dl = dloss[row];
    // Each element is read before the same thread writes it, so d may alias x.
    for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x) {
      const float g = dl * (__expf(to_f(x[c]) - lse) - (c == t ? 1.0f : 0.0f));
      d[c] = from_f<T>(inplace ? g : to_f(d[c]) + g);
    }
  }
}

template <typename T>
__global__ void softmax_kernel(T* x, int64_t n, int64_t vocab) {
  __shared__ float scratch[32];
  for (int64_t row = blockIdx.x; row < n; row += gridDim.x) {
    T* r = x + row * vocab;
    float m, lse;
    row_lse(r, vocab, scratch, m, lse);
    __syncthreads();  // every thread has read the row before any writes it
    for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x)
      r[c] = from_f<T>(__expf(to_f(r[c]) - lse));
  }
}

// log softmax(inv_temp * x)[t] per row; masked rows (t < 0) get 0.
template <typename T>
__global__ void logprob_forward_kernel(float* logp, const T* logits, const int32_t* targets,
                                       int64_t n, int64_t vocab, float inv_temp) {
  __shared__ float scratch[32];
  for (int64_t row = blockIdx.x; row < n; row += gridDim.x) {
    const int32_t t = targets[row];
    if (t < 0) {
      if (threadIdx.x == 0) logp[row] = 0.0f;
      continue;
    }
    const T* x = logits + row * vocab;
    float mx = -INFINITY;
    for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x) mx = fmaxf(mx, inv_temp * to_f(x[c]));
    mx = dev::block_max(mx, scratch);
    float s = 0.0f;
    for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x) s += expf(inv_temp * to_f(x[c]) - mx);
    s = dev::block_sum(s, scratch);
    if (threadIdx.x == 0) logp[row] = inv_temp * to_f(x[t]) - mx - logf(s);
  }
}

// d = coef * inv_temp * (onehot - softmax(inv_temp * x)), assigned; masked rows zeroed.
template <typename T>
__global__ void logprob_backward_kernel(T* dlogits, const T* logits, const int32_t* targets,
                                        const float* coef, int64_t n, int64_t vocab,
                                        float inv_temp) {
  __shared__ float scratch[32];
  for (int64_t row = blockIdx.x; row < n; row += gridDim.x) {
    const int32_t t = targets[row];
    T* d = dlogits + row * vocab;
    if (t < 0) {
      for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x) d[c] = from_f<T>(0.0f);
      continue;
    }
    const T* x = logits + row * vocab;
    float mx = -INFINITY;
    for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x) mx = fmaxf(mx, inv_temp * to_f(x[c]));
    mx = dev::block_max(mx, scratch);
    float s = 0.0f;
    for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x) s += expf(inv_temp * to_f(x[c]) - mx);
    s = dev::block_sum(s, scratch);  // also a barrier: every read of the row above is done
    const float lse = mx + logf(s);
    const float g = coef[row] * inv_temp;
    // Each element is read before the same thread writes it, so d may alias x.
    for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x)
      d[c] = from_f<T>(g * ((c == t ? 1.0f : 0.0f) - expf(inv_temp * to_f(x[c]) - lse)));
  }
}

// ent = lse(z) - sum softmax(z) z with z = inv_temp * x; masked rows 0.
template <typename T>
__global__ void entropy_forward_kernel(float* ent, const T* logits, const int32_t* targets,
                                       int64_t n, int64_t vocab, float inv_temp) {
  __shared__ float scratch[32];
  for (int64_t row = blockIdx.x; row < n; row += gridDim.x) {
    if (targets[row] < 0) {
      if (threadIdx.x == 0) ent[row] = 0.0f;
      continue;
    }
    const T* x = logits + row * vocab;
    float mx = -INFINITY;
    for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x) mx = fmaxf(mx, inv_temp * to_f(x[c]));
    mx = dev::block_max(mx, scratch);
    float s = 0.0f, pz = 0.0f;
    for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x) {
      const float z = inv_temp * to_f(x[c]);
      const float e = expf(z - mx);
      s += e;
      pz += e * (z - mx);  // shifted by mx: the same entropy, no cancellation against lse
    }
    s = dev::block_sum(s, scratch);
    pz = dev::block_sum(pz, scratch);
    if (threadIdx.x == 0) ent[row] = logf(s) - pz / s;
  }
}

}  // namespace
}  // namespace wb::cuda

namespace wb::kernels {
using namespace wb::cuda;

template <typename T>
void cross_entropy_forward(acc_t<T>* losses, const T* logits, const int32_t* targets,
                           int64_t n, int64_t vocab, Context& ctx) {
  if (n <= 0) return;
  xent_forward_kernel<<<blocks_for(n, 1), kThreads, 0, ctx.s()>>>(losses, logits, targets, n,
                                                                   vocab);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void cross_entropy_backward(T* dlogits, const T* logits, const int32_t* targets,
                            const acc_t<T>* dloss, int64_t n, int64_t vocab, Context& ctx) {
  if (n <= 0) return;
  xent_backward_kernel<<<blocks_for(n, 1), kThreads, 0, ctx.s()>>>(dlogits, logits, targets,
                                                                    dloss, n, vocab, false);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void cross_entropy_backward_inplace(T* logits, const int32_t* targets,
                                    const acc_t<T>* dloss, int64_t n, int64_t vocab, Context& ctx) {
  if (n <= 0) return;
  xent_backward_kernel<<<blocks_for(n, 1), kThreads, 0, ctx.s()>>>(logits, logits, targets,
                                                                    dloss, n, vocab, true);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void softmax_forward(T* x, int64_t n, int64_t vocab, Context& ctx) {
  if (n <= 0) return;
  softmax_kernel<<<blocks_for(n, 1), kThreads, 0, ctx.s()>>>(x, n, vocab);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void token_logprob_forward(acc_t<T>* logp, const T* logits, const int32_t* targets, int64_t n,
                           int64_t vocab, acc_t<T> inv_temp, Context& ctx) {
  if (n <= 0) return;
  logprob_forward_kernel<<<blocks_for(n, 1), kThreads, 0, ctx.s()>>>(logp, logits, targets, n,
                                                                      vocab, inv_temp);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void token_logprob_backward(T* dlogits, const T* logits, const int32_t* targets,
                            const acc_t<T>* coef, int64_t n, int64_t vocab, acc_t<T> inv_temp,
                            Context& ctx) {
  if (n <= 0) return;
  logprob_backward_kernel<<<blocks_for(n, 1), kThreads, 0, ctx.s()>>>(dlogits, logits, targets,
                                                                       coef, n, vocab, inv_temp);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void token_entropy_forward(acc_t<T>* ent, const T* logits, const int32_t* targets, int64_t n,
                           int64_t vocab, acc_t<T> inv_temp, Context& ctx) {
  if (n <= 0) return;
  entropy_forward_kernel<<<blocks_for(n, 1), kThreads, 0, ctx.s()>>>(ent, logits, targets, n,
                                                                      vocab, inv_temp);
  WB_CUDA_CHECK_LAUNCH();
}

#define WB_INST(T)                                                                             \
  template void cross_entropy_forward<T>(float*, const T*, const int32_t*, int64_t,  \
                                         int64_t, Context&);                                             \
  template void cross_entropy_backward<T>(T*, const T*, const int32_t*, const float*, \
                                          int64_t, int64_t, Context&);                                   \
  template void cross_entropy_backward_inplace<T>(T*, const int32_t*, const float*,  \
                                                  int64_t, int64_t, Context&);                           \
  template void softmax_forward<T>(T*, int64_t, int64_t, Context&);                              \
  template void token_logprob_forward<T>(float*, const T*, const int32_t*, int64_t, int64_t,     \
                                         float, Context&);                                       \
  template void token_logprob_backward<T>(T*, const T*, const int32_t*, const float*, int64_t,   \
                                          int64_t, float, Context&);                             \
  template void token_entropy_forward<T>(float*, const T*, const int32_t*, int64_t, int64_t,     \
                                         float, Context&);
WB_FOR_EACH_DTYPE(WB_INST)
#undef WB_INST

}  // namespace wb::kernels
