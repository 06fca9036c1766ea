// The matrix products of one prefill, timed alone: what bench_decode compares its prefill with
// (the share of this machine's sgemm that the engine reaches on the same products, in the same
// process, so the figure needs no other machine).
#pragma once

#include <cstdint>
#include <vector>

#include "wb/llama/model.h"

namespace wb::bench {

// Inputs and outputs for the products of a `tokens`-token prefill of `m` (random values; the
// weights are the model's own, so they come from memory as in the real pass).
class PrefillProducts {
 public:
  PrefillProducts(const llama::Model<float>& m, int64_t tokens);
  // Runs every product once through OpenBLAS (wb::kernels::gemm) and returns the wall seconds:
  // per layer the seven linears as separate sgemm calls [tokens, in] x W^T, per head QK^T and
  // PV over the full [tokens, tokens] score square (as the engine computes them), and the LM
  // head for the last token (one row: gemv).
  double run_seconds();
  // Useful FLOPs of the same prefill: linears, causal attention over T(T+1)/2 scores per head,
  // one LM-head row (the figure achieved GFLOP/s is computed from).
  double useful_flops() const;

 private:
  const llama::Model<float>& m_;
  int64_t T_;
  std::vector<float> in_, out_, scores_, att_;
};

}  // namespace wb::bench
