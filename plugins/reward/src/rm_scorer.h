// rm_scorer.h — a resolved reward model (resolve.h) as a SequenceScorer (scoring.h) on the
// device chosen for the call (reward_device.h): score_sequences on the CPU, or the plugin's one
// GpuScorer (gpu_scorer.h: the base resident on the GPU, reward adapters swapped in as needed).
#pragma once

#include "resolve.h"
#include "reward_device.h"
#include "wb/reward/scoring.h"

namespace wb::reward {

// The returned function holds the model and adapter (r's shared pointers) while it lives.
// device.cuda in a build without the backend throws std::logic_error (sft::choose_device
// never answers that).
SequenceScorer rm_scorer(const ResolvedRm& r, const sft::DeviceChoice& device);

// Drops the plugin's resident GPU scorer (the base model's device copy), e.g. at plugin
// shutdown, while the CUDA runtime and cuBLAS are certainly still there. No-op without CUDA.
void release_gpu_scorers();

}  // namespace wb::reward
