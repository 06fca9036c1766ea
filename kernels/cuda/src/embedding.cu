// Embedding gather (forward) and scatter-add (backward).
#include "common.cuh"
#include "wb/cuda/stream.h"
#include "wb/kernels/embedding.h"

namespace wb::cuda {
namespace {
using dev::to_f;

constexpr int kThreads = 256;

// One block row per token: x[i, c] = table[tokens[i], c].
template <typename T>
__global__ void embedding_forward_kernel(T* x, const int32_t* tokens, const T* table, int64_t n,
                                         int64_t d) {
  for (int64_t i = blockIdx.x; i < n; i += gridDim.x) {
    const T* row = table + int64_t(tokens[i]) * d;
    for (int64_t c = threadIdx.x; c < d; c += blockDim.x) x[i * d + c] = row[c];
  }
}

// dtable[tokens[i], c] += dx[i, c]; repeated tokens collide, hence atomicAdd.
template <typename T>
__global__ void embedding_backward_kernel(float* dtable, const T* dx, const int32_t* tokens,
                                          int64_t n, int64_t d) {
  for (int64_t i = blockIdx.x; i < n; i += gridDim.x) {
    float* row = dtable + int64_t(tokens[i]) * d;
    for (int64_t c = threadIdx.x; c < d; c += blockDim.x) atomicAdd(&row[c], to_f(dx[i * d + c]));
  }
}

}  // namespace
}  // namespace wb::cuda

namespace wb::kernels {
using namespace wb::cuda;

template <typename T>
void embedding_forward(T* x, const int32_t* tokens, const T* table, int64_t n,
                       int64_t d, Context& ctx) {
  if (n <= 0) return;
  embedding_forward_kernel<<<blocks_for(n, 1), kThreads, 0, ctx.s()>>>(x, tokens, table, n, d);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void embedding_backward(acc_t<T>* dtable, const T* dx, const int32_t* tokens,
                        int64_t n, int64_t d, Context& ctx) {
  if (n <= 0) return;
  embedding_backward_kernel<<<blocks_for(n, 1), kThreads, 0, ctx.s()>>>(dtable, dx, tokens, n,
                                                                         d);
  WB_CUDA_CHECK_LAUNCH();
}

#define WB_INST(T)                                                                       \
  template void embedding_forward<T>(T*, const int32_t*, const T*, int64_t, int64_t, Context&); \
  template void embedding_backward<T>(float*, const T*, const int32_t*, int64_t, int64_t, Context&);
WB_FOR_EACH_DTYPE(WB_INST)
#undef WB_INST

}  // namespace wb::kernels
