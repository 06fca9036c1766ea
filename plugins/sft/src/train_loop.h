// train_loop.h — the sft plugin's makers of the engine's trainer (wb/llama/train_loop.h) on the
// CPU or the GPU.
#pragma once

#include <cstdint>
#include <memory>

#include "wb/llama/model.h"
#include "wb/llama/train_loop.h"
#include "wb/llama/trainer.h"

namespace wb::sft {

using llama::LoopStep;
using llama::TrainLoop;

// The CPU Trainer over `model` (which must outlive the loop).
std::unique_ptr<TrainLoop> make_cpu_loop(llama::Model<float>& model, llama::DataSource& data,
                                         llama::TrainerConfig config);
// The GPU trainer (fp32 storage, the CPU's numerics), reading the loss every loss_every steps.
// Throws std::runtime_error when the plugin was built without CUDA, std::invalid_argument for
// what only the CPU trains (LoRA dropout, recompute).
std::unique_ptr<TrainLoop> make_gpu_loop(llama::Model<float>& model, llama::DataSource& data,
                                         llama::TrainerConfig config, int64_t loss_every);

}  // namespace wb::sft
