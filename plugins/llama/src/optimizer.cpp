#include "wb/llama/optimizer.h"

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "wb/kernels/adamw.h"

namespace wb::llama {

void AdamWConfig::validate() const {
  if (!(beta1 >= 0 && beta1 < 1)) throw std::invalid_argument("adamw: beta1 must be in [0, 1)");
  if (!(beta2 >= 0 && beta2 < 1)) throw std::invalid_argument("adamw: beta2 must be in [0, 1)");
  if (!(eps > 0)) throw std::invalid_argument("adamw: eps must be > 0");
  if (!(weight_decay >= 0)) throw std::invalid_argument("adamw: weight_decay must be >= 0");
}

double AdamWConfig::clip_coefficient(double norm) const {
  if (max_grad_norm <= 0 || !(norm > max_grad_norm)) return 1.0;
  return max_grad_norm / norm;
}

kernels::AdamWStep AdamWConfig::step_args(double lr, int64_t step, double grad_scale, bool decay) const {
  kernels::AdamWStep s;
  s.lr = static_cast<float>(lr);
  s.beta1 = static_cast<float>(beta1);
  s.beta2 = static_cast<float>(beta2);
  s.eps = static_cast<float>(eps);
  s.weight_decay = decay ? static_cast<float>(weight_decay) : 0.0f;
  s.step = step;
  s.grad_scale = static_cast<float>(grad_scale);
  return s;
}

AdamW::AdamW(const AdamWConfig& config, std::vector<ParamRef> params)
    : config_(config), params_(std::move(params)) {
  config_.validate();
  std::unordered_set<std::string> seen;
  for (const auto& p : params_) {
    if (!seen.insert(p.name).second) throw std::invalid_argument("adamw: duplicate parameter '" + p.name + "'");
    if (p.numel < 0 || (p.numel > 0 && (!p.value || !p.grad)))
      throw std::invalid_argument("adamw: parameter '" + p.name + "' has no buffer");
    m_.emplace_back(static_cast<size_t>(p.numel), 0.0f);
    v_.emplace_back(static_cast<size_t>(p.numel), 0.0f);
  }
}

int64_t AdamW::numel() const {
  int64_t n = 0;
  for (const auto& p : params_) n += p.numel;
  return n;
}

double AdamW::global_grad_norm(double grad_scale) const {
  double sum = 0.0;
  for (const auto& p : params_)
    for (int64_t i = 0; i < p.numel; ++i) {
      const double g = static_cast<double>(p.grad[i]);
      sum += g * g;
    }
  return std::sqrt(sum) * std::fabs(grad_scale);
}

double AdamW::clip_coefficient(double norm) const { return config_.clip_coefficient(norm); }

void AdamW::step(double lr, double grad_scale) {
  ++step_;
  for (size_t k = 0; k < params_.size(); ++k) {
    const auto& p = params_[k];
    kernels::adamw_update(p.value, p.grad, m_[k].data(), v_[k].data(), p.numel,
                          config_.step_args(lr, step_, grad_scale, p.decay));
  }
}

void AdamW::zero_grad() {
  for (const auto& p : params_)
    if (p.numel > 0) std::memset(p.grad, 0, static_cast<size_t>(p.numel) * sizeof(float));
}

std::vector<AdamWSlot> AdamW::export_state() const {
  std::vector<AdamWSlot> out;
  out.reserve(params_.size());
  for (size_t k = 0; k < params_.size(); ++k) out.push_back({params_[k].name, m_[k], v_[k]});
  return out;
}

void AdamW::import_state(int64_t steps, const std::vector<AdamWSlot>& slots) {
  if (steps < 0) throw std::invalid_argument("adamw state: negative step count");
  std::unordered_map<std::string, const AdamWSlot*> by_name;
  for (const auto& s : slots)
    if (!by_name.emplace(s.name, &s).second)
      throw std::invalid_argument("adamw state: duplicate parameter '" + s.name + "'");
  if (by_name.size() != params_.size())
    throw std::invalid_argument("adamw state: holds " + std::to_string(by_name.size()) +
                                " parameters, the optimizer has " + std::to_string(params_.size()));
  for (const auto& p : params_) {
    auto it = by_name.find(p.name);
    if (it == by_name.end()) throw std::invalid_argument("adamw state: missing parameter '" + p.name + "'");
    if (static_cast<int64_t>(it->second->m.size()) != p.numel || static_cast<int64_t>(it->second->v.size()) != p.numel)
      throw std::invalid_argument("adamw state: parameter '" + p.name + "' has the wrong size");
  }
  for (size_t k = 0; k < params_.size(); ++k) {
    const AdamWSlot* s = by_name.at(params_[k].name);
    m_[k] = s->m;
    v_[k] = s->v;
  }
  step_ = steps;
}

}  // namespace wb::llama
