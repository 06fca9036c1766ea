// The trainable state of a GpuLlama as the CPU's checkpoints name it (checkpoint.h): its AdamW
// moments by parameter name, and the replacement of every trainable tensor's fp32 master and
// moments, checked whole before anything changes. Shared by the GPU log-prob and actor-critic
// trainers (logprob_trainer.h, actor_critic_trainer.h).
#pragma once

#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "wb/llama/checkpoint.h"
#include "wb/llama/cuda/gpu_llama.h"

namespace wb::llama::detail {

inline std::vector<AdamWSlot> trained_moments(gpu::GpuLlama<float>& g) {
  using S = gpu::GpuLlama<float>::ParamState;
  std::vector<AdamWSlot> out;
  for (size_t i = 0; i < g.n_params(); ++i)
    out.push_back({g.param_name(i), g.param_state_host(i, S::kAdamM), g.param_state_host(i, S::kAdamV)});
  return out;
}

// Throws std::invalid_argument("<who> state: ...") naming the missing or mis-sized tensor, with `g`
// unchanged.
inline void set_trained_state(gpu::GpuLlama<float>& g, const std::vector<NamedBuffer>& weights,
                              const std::vector<AdamWSlot>& moments, const std::string& who) {
  using S = gpu::GpuLlama<float>::ParamState;
  std::unordered_map<std::string, const NamedBuffer*> w;
  std::unordered_map<std::string, const AdamWSlot*> m;
  for (const auto& x : weights) w[x.name] = &x;
  for (const auto& x : moments) m[x.name] = &x;
  const size_t n = g.n_params();
  if (w.size() != n || m.size() != n)
    throw std::invalid_argument(who + " state: " + std::to_string(w.size()) + " tensors and " +
                                std::to_string(m.size()) + " moment pairs for " + std::to_string(n) +
                                " trainable tensors");
  for (size_t i = 0; i < n; ++i) {
    const std::string& name = g.param_name(i);
    const auto numel = static_cast<size_t>(g.param_numel(i));
    const auto wi = w.find(name);
    const auto mi = m.find(name);
    if (wi == w.end() || mi == m.end())
      throw std::invalid_argument(who + " state: no tensor or moments for '" + name + "'");
    if (wi->second->data.size() != numel || mi->second->m.size() != numel || mi->second->v.size() != numel)
      throw std::invalid_argument(who + " state: '" + name + "' has the wrong size");
  }
  for (size_t i = 0; i < n; ++i) {
    const std::string& name = g.param_name(i);
    g.set_param_state(i, S::kWeight, w[name]->data);
    g.set_param_state(i, S::kAdamM, m[name]->m);
    g.set_param_state(i, S::kAdamV, m[name]->v);
  }
}

}  // namespace wb::llama::detail
