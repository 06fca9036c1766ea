// Accumulator type of an op's storage type T. Saved statistics (rmsnorm's rstd, attention's
// log-sum-exp), gradients of master weights (dw, dA, dB, dtable), losses and scalar scores are
// accumulators, not stored activations: with 16-bit activations (bf16/fp16 on CUDA) they are kept
// in fp32, since rounding them to 8-11 bits of mantissa would lose the update or the statistic.
// For float and double (the CPU backend, and fp32 on CUDA) the accumulator is T itself, so double
// instantiations stay double end to end for finite-difference tests.
#pragma once

#include <type_traits>

namespace wb::kernels {

template <class T>
using acc_t = std::conditional_t<(sizeof(T) < sizeof(float)), float, T>;

}  // namespace wb::kernels
