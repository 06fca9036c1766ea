// AdamW over a set of named fp32 parameter buffers, with global-norm gradient clipping and
// gradient accumulation support. The optimizer does not own the parameters or gradients: it
// holds pointers into the model (or LoRA adapter / head) and owns only the fp32 moments m, v.
//
// One optimizer step (what Trainer does):
//   zero grads; for each micro-batch: backward (adds into grads)
//   norm  = global_grad_norm(grad_scale = 1 / micro_batches)
//   clip  = max_norm > 0 && norm > max_norm ? max_norm / norm : 1
//   step(lr, grad_scale * clip)
// so gradients are never rescaled in place and accumulation is exact summation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wb/kernels/adamw.h"

namespace wb::llama {

struct ParamRef {
  std::string name;     // unique; used to match state on restore
  float* value = nullptr;
  float* grad = nullptr;
  int64_t numel = 0;
  bool decay = true;    // weight decay applies (false for norms / biases by convention)
};

struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double max_grad_norm = 0.0;  // <= 0: no clipping

  // Throws std::invalid_argument for betas outside [0, 1), eps <= 0 or weight_decay < 0.
  void validate() const;
  // Clip coefficient for a measured norm: min(1, max_grad_norm / norm) (1 when clipping is off
  // or the norm is NaN).
  double clip_coefficient(double norm) const;
  // The update's arguments for optimizer step `step` (1-based) at rate lr; weight decay only
  // where `decay` (the CPU AdamW and the GPU trainer both build their steps here).
  kernels::AdamWStep step_args(double lr, int64_t step, double grad_scale, bool decay) const;
};

// Named fp32 moments for one parameter (checkpoint payload).
struct AdamWSlot {
  std::string name;
  std::vector<float> m, v;
};

class AdamW {
 public:
  // Throws std::invalid_argument on duplicate names, null buffers or bad hyper-parameters
  // (betas outside [0, 1), eps <= 0, weight_decay < 0).
  AdamW(const AdamWConfig& config, std::vector<ParamRef> params);

  // L2 norm over every gradient of every parameter, each gradient multiplied by grad_scale.
  // Accumulated in double, in parameter order, so it is deterministic.
  double global_grad_norm(double grad_scale = 1.0) const;
  // Clip coefficient for a measured norm: min(1, max_norm / norm) (1 when clipping is off).
  double clip_coefficient(double norm) const;

  // One update of every parameter with rate lr; gradients enter multiplied by grad_scale.
  // Increments steps() first (bias correction uses the 1-based count).
  void step(double lr, double grad_scale = 1.0);
  void zero_grad();

  int64_t steps() const { return step_; }
  const AdamWConfig& config() const { return config_; }
  const std::vector<ParamRef>& params() const { return params_; }
  int64_t numel() const;

  // Moments (copied out) and their restore. restore throws std::invalid_argument when a name is
  // missing, unknown or has the wrong size; nothing is changed in that case.
  std::vector<AdamWSlot> export_state() const;
  void import_state(int64_t steps, const std::vector<AdamWSlot>& slots);

 private:
  AdamWConfig config_;
  std::vector<ParamRef> params_;
  std::vector<std::vector<float>> m_, v_;
  int64_t step_ = 0;
};

}  // namespace wb::llama
