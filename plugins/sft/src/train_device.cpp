#include "train_device.h"

#include "wb/plugin/device.h"

namespace wb::sft {

llama::DeviceChoice choose_train_device(const TrainSpec& s) {
  // Everything the CPU Trainer runs for these jobs runs on the GPU trainer too, except dropout.
  const bool dropout = s.kind == "sft" && s.method == "lora" && s.lora.lora_dropout > 0;
  return plugin::choose_device(s.device, dropout ? "LoRA with dropout" : "");
}

llama::DeviceChoice choose_eval_device(const EvalSpec& s) { return plugin::choose_device(s.device, ""); }

}  // namespace wb::sft
