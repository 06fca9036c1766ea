// rm_scorer.h — a resolved reward model (resolve.h) as a SequenceScorer (scoring.h) on the
// device chosen for the call (reward_device.h), through the engine's scorer (wb/llama/head_scorer.h):
// score_head on the CPU, or the plugin's one GPU scorer (the base resident on the GPU, reward
// adapters swapped in as needed; another base replaces it).
#pragma once

#include "resolve.h"
#include "wb/llama/device.h"
#include "wb/reward/scoring.h"

namespace wb::reward {

// The returned function holds the model and adapter (r's shared pointers) while it lives.
// Throws what llama::make_head_scorer throws (e.g. cuda::CudaError when the GPU cannot hold the
// base).
SequenceScorer rm_scorer(const ResolvedRm& r, const llama::DeviceChoice& device);

// Drops the plugin's resident GPU scorer (the base model's device copy), e.g. at plugin
// shutdown, while the CUDA runtime and cuBLAS are certainly still there. No-op when none.
void release_gpu_scorers();

}  // namespace wb::reward
