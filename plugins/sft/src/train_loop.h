// train_loop.h — the engine's training loop (wb/llama/train_loop.h: the CPU Trainer or the GPU
// trainer behind one interface, picked by the job's DeviceChoice) under the names the sft and
// reward jobs' loop driver (loop_driver.h) uses.
#pragma once

#include "wb/llama/train_loop.h"

namespace wb::sft {

using llama::LoopStep;
using llama::TrainLoop;

}  // namespace wb::sft
