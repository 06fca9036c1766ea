// The vectorised exp row (vexp.h), one definition so its per-ISA clones are resolved once.
#include "vexp.h"

#include <algorithm>

namespace wb::kernels::detail {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
double exp_sub_row(float* out, const float* in, int64_t n, float sub) {
  double sum = 0;
  for (int64_t b = 0; b < n; b += 1024) {
    const int64_t e = std::min<int64_t>(n, b + 1024);
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t j = b; j < e; ++j) {
      const float v = vexp(in[j] - sub);
      out[j] = v;
      s += v;
    }
    sum += double(s);
  }
  return sum;
}

}  // namespace wb::kernels::detail
