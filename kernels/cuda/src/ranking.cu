// Pairwise ranking loss with the reward-centering term: one thread, pairs in order, in double
// (the CPU's loss.cpp arithmetic, line for line).
#include "common.cuh"
#include "wb/cuda/ranking.h"

namespace wb::cuda {
namespace {

__global__ void ranking_loss_kernel(float* loss, float* dr, const float* r, const float* margin,
                                    int64_t P, double coef, bool accumulate) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  const float* rc = r;
  const float* rr = r + P;
  double total = 0.0, centered = 0.0;
  for (int64_t p = 0; p < P; ++p) {
    const double z = double(rc[p]) - double(rr[p]) - (margin ? double(margin[p]) : 0.0);
    // -log sigmoid(z) = softplus(-z), without overflow
    total += z > 0 ? log1p(exp(-z)) : -z + log1p(exp(z));
    const double sig_neg = z > 0 ? exp(-z) / (1.0 + exp(-z)) : 1.0 / (1.0 + exp(z));
    const double g = -sig_neg / double(P);
    float gc = float(g), gr = float(-g);
    if (coef > 0) {
      const double s = double(rc[p]) + double(rr[p]);
      centered += s * s;
      const double gs = 2.0 * coef * s / double(P);
      // The CPU adds the centering gradient to the already-rounded float (loss.cpp).
      gc += float(gs);
      gr += float(gs);
    }
    if (dr) {
      dr[p] = gc;
      dr[P + p] = gr;
    }
  }
  float value = float(total / double(P));
  if (coef > 0) value += float(coef * centered / double(P));
  *loss = accumulate ? *loss + value : value;
}

}  // namespace

void ranking_loss(Context& ctx, float* loss, float* dr, const float* r, const float* margin,
                  int64_t n_pairs, double centering, bool accumulate) {
  if (n_pairs <= 0) return;
  ranking_loss_kernel<<<1, 32, 0, ctx.s()>>>(loss, dr, r, margin, n_pairs, centering, accumulate);
  WB_CUDA_CHECK_LAUNCH();
}

}  // namespace wb::cuda
