// The serving engine's passes on the GPU: gpu::GpuDecoder (wb/llama/cuda/gpu_decoder.h) over a
// gpu::GpuLlama converted once from the resident CPU model, on a stream of its own. KV caches for
// max_seqs sequences of max_context tokens are allocated up front; adapters are uploaded to the
// device when the registry loads them (adapter_upload) and freed with their last request.
// Built only with the CUDA backend (WB_SERVE_CUDA); elsewhere make_gpu_backend throws.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "decode_backend.h"
#include "wb/llama/model.h"

namespace wb::serve {

// Whether this build can serve on the GPU at all.
bool gpu_backend_built();

// dtype: the device storage, "bf16" or "fp32" (fp32 accumulation either way). The model must
// outlive the backend only for the duration of this call (its weights are copied). Throws
// std::runtime_error when the build has no CUDA backend, cuda::CudaError when the device cannot
// hold the weights and caches, std::invalid_argument for a bad dtype or size.
std::unique_ptr<DecodeBackend> make_gpu_backend(const llama::Model<float>& model, const std::string& dtype,
                                                int64_t max_seqs, int64_t max_context);

}  // namespace wb::serve
