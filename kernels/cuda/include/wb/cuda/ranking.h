// Pairwise ranking loss (reward models) on device, mirroring wb/llama/loss.h ranking_loss and
// reward_centering, so a training step needs no host round trip for the scores:
//   z_p     = r_c[p] - r_r[p] - margin[p]
//   loss    = mean_p softplus(-z_p)  [+ coef * mean_p (r_c[p] + r_r[p])^2  when coef > 0]
//   dr_c[p] = -sigmoid(-z_p) / P     [+ 2 coef (r_c[p] + r_r[p]) / P]
//   dr_r[p] = +sigmoid(-z_p) / P     [+ 2 coef (r_c[p] + r_r[p]) / P]
// P is small (pairs per micro-batch), so one thread walks the pairs in order in double precision,
// the CPU's exact arithmetic and order.
#pragma once

#include <cstdint>

#include "wb/cuda/stream.h"

namespace wb::cuda {

// r[2P]: chosen scores then rejected scores (device fp32). margin[P] (device; null: 0).
// *loss is overwritten, or added to with accumulate. dr[2P] is overwritten with dloss/dr (may be
// null). n_pairs <= 0 enqueues nothing.
void ranking_loss(Context& ctx, float* loss, float* dr, const float* r, const float* margin,
                  int64_t n_pairs, double centering, bool accumulate);

}  // namespace wb::cuda
