// The execution context of the CUDA backend, forward-declared so that every op header declares
// its CUDA overload (the same function template with a trailing `cuda::Context&`) without
// including any CUDA header. The definition is in wb/cuda/stream.h (CUDA builds only).
#pragma once

namespace wb::cuda {
struct Context;
}  // namespace wb::cuda
