// CPU embedding lookup and its scatter-add backward.
#include "wb/kernels/embedding.h"

#include <cstring>

namespace wb::kernels {

// Below this many elements a loop runs on one thread (team start-up costs more than it saves).
constexpr int64_t kParallelMin = 1 << 20;

template <typename T>
void embedding_forward(T* x, const int32_t* tokens, const T* table, int64_t n, int64_t d) {
#pragma omp parallel for schedule(static) if (n * d > kParallelMin)
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(x + i * d, table + static_cast<int64_t>(tokens[i]) * d, sizeof(T) * d);
}

template <typename T>
void embedding_backward(acc_t<T>* dtable, const T* dx, const int32_t* tokens, int64_t n, int64_t d) {
  // Parallel over columns: each thread owns a column slice, rows summed in index order, so the
  // result is deterministic even when a token repeats.
#pragma omp parallel for schedule(static) if (n * d > kParallelMin)
  for (int64_t j = 0; j < d; ++j)
    for (int64_t i = 0; i < n; ++i) dtable[static_cast<int64_t>(tokens[i]) * d + j] += dx[i * d + j];
}

template void embedding_forward<float>(float*, const int32_t*, const float*, int64_t, int64_t);
template void embedding_forward<double>(double*, const int32_t*, const double*, int64_t, int64_t);
template void embedding_backward<float>(float*, const float*, const int32_t*, int64_t, int64_t);
template void embedding_backward<double>(double*, const double*, const int32_t*, int64_t, int64_t);

}  // namespace wb::kernels
