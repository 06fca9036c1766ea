#include "wb/rlhf/ppo_math.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace wb::rlhf {
namespace {

void check_finite(double v, const char* what) {
  if (!std::isfinite(v)) throw std::invalid_argument(std::string("ppo: ") + what + " is not finite");
}

void check_same(size_t a, size_t b, const char* what) {
  if (a == 0) throw std::invalid_argument(std::string("ppo: ") + what + ": empty input");
  if (a != b)
    throw std::invalid_argument(std::string("ppo: ") + what + ": sizes differ (" + std::to_string(a) + " and " +
                                std::to_string(b) + ")");
}

void check_clip(double clip, const char* what) {
  if (!std::isfinite(clip) || clip <= 0)
    throw std::invalid_argument(std::string("ppo: ") + what + " must be > 0, got " + std::to_string(clip));
}

template <typename T>
double entropy_of(const T* logits, int64_t n, double temperature) {
  if (n <= 0) throw std::invalid_argument("ppo: entropy of an empty logits row");
  if (!(temperature > 0)) throw std::invalid_argument("ppo: temperature must be > 0");
  double mx = double(logits[0]) / temperature;
  for (int64_t v = 1; v < n; ++v) mx = std::max(mx, double(logits[v]) / temperature);
  double z = 0, s = 0;  // z = sum e^(x - mx), s = sum e^(x - mx) (x - mx)
  for (int64_t v = 0; v < n; ++v) {
    const double d = double(logits[v]) / temperature - mx;
    const double e = std::exp(d);
    z += e;
    s += e * d;
  }
  // H = -sum p log p = log z - s / z
  return std::log(z) - s / z;
}

}  // namespace

void RewardGateConfig::validate() const {
  if (!(safety_threshold >= 0 && safety_threshold <= 1))
    throw std::invalid_argument("safety_threshold must be in [0, 1], got " + std::to_string(safety_threshold));
  if (!(logit_eps > 0 && logit_eps < 0.5))
    throw std::invalid_argument("logit_eps must be in (0, 0.5), got " + std::to_string(logit_eps));
}

double gated_reward(double helpfulness, double safety, bool unsafe_prompt, const RewardGateConfig& gate) {
  check_finite(helpfulness, "helpfulness score");
  check_finite(safety, "safety score");
  return safety_gate(safety, unsafe_prompt, gate.safety_threshold) ? safety : helpfulness;
}

double clamped_logit(double score, double eps) {
  check_finite(score, "reward score");
  const double p = std::clamp(sigmoid(score), eps, 1.0 - eps);
  return std::log(p / (1.0 - p));
}

Whitened whiten(const std::vector<double>& x, double eps) {
  if (x.empty()) throw std::invalid_argument("ppo: whiten: empty input");
  Whitened w;
  const double n = static_cast<double>(x.size());
  for (double v : x) {
    check_finite(v, "value to whiten");
    w.mean += v / n;
  }
  double var = 0;
  for (double v : x) var += (v - w.mean) * (v - w.mean) / n;
  w.std = std::sqrt(var);
  const double inv = 1.0 / std::sqrt(var + eps);
  w.values.reserve(x.size());
  for (double v : x) w.values.push_back((v - w.mean) * inv);
  return w;
}

std::vector<double> token_rewards(const std::vector<double>& logp, const std::vector<double>& logp_ref,
                                  double final_reward, double beta) {
  check_same(logp.size(), logp_ref.size(), "token rewards (log-probs and reference log-probs)");
  if (!std::isfinite(beta) || beta < 0)
    throw std::invalid_argument("ppo: beta must be a finite number >= 0, got " + std::to_string(beta));
  check_finite(final_reward, "final reward");
  std::vector<double> r(logp.size());
  for (size_t t = 0; t < r.size(); ++t) {
    check_finite(logp[t], "policy log-prob");
    check_finite(logp_ref[t], "reference log-prob");
    r[t] = -beta * (logp[t] - logp_ref[t]);
  }
  r.back() += final_reward;
  return r;
}

GaeResult gae(const std::vector<double>& rewards, const std::vector<double>& values, double gamma, double lambda) {
  check_same(rewards.size(), values.size(), "gae (rewards and values)");
  if (!(gamma >= 0 && gamma <= 1)) throw std::invalid_argument("ppo: gamma must be in [0, 1]");
  if (!(lambda >= 0 && lambda <= 1)) throw std::invalid_argument("ppo: lambda must be in [0, 1]");
  const size_t L = rewards.size();
  GaeResult g;
  g.advantages.assign(L, 0.0);
  g.returns.assign(L, 0.0);
  double next_value = 0, next_adv = 0;
  for (size_t i = L; i-- > 0;) {
    check_finite(rewards[i], "reward");
    check_finite(values[i], "value");
    const double delta = rewards[i] + gamma * next_value - values[i];
    next_adv = delta + gamma * lambda * next_adv;
    g.advantages[i] = next_adv;
    g.returns[i] = next_adv + values[i];
    next_value = values[i];
  }
  return g;
}

PolicyLossResult clipped_policy_loss(const std::vector<double>& logp_new, const std::vector<double>& logp_old,
                                     const std::vector<double>& advantages, double clip) {
  check_same(logp_new.size(), logp_old.size(), "policy loss (new and old log-probs)");
  check_same(logp_new.size(), advantages.size(), "policy loss (log-probs and advantages)");
  check_clip(clip, "clip");
  const double n = static_cast<double>(logp_new.size());
  PolicyLossResult r;
  r.d_logp.assign(logp_new.size(), 0.0);
  for (size_t i = 0; i < logp_new.size(); ++i) {
    check_finite(logp_new[i], "new log-prob");
    check_finite(logp_old[i], "old log-prob");
    check_finite(advantages[i], "advantage");
    const double diff = logp_new[i] - logp_old[i];
    const double ratio = std::exp(diff);
    const double a = advantages[i];
    const double unclipped = -a * ratio;
    const double clipped = -a * std::clamp(ratio, 1.0 - clip, 1.0 + clip);
    if (clipped > unclipped) {
      r.loss += clipped / n;
      r.clip_fraction += 1.0 / n;  // constant in log pi_new: no gradient
    } else {
      r.loss += unclipped / n;
      r.d_logp[i] = -a * ratio / n;  // d(-A e^(new - old)) / d new
    }
    r.approx_kl += 0.5 * diff * diff / n;
    r.ratio_mean += ratio / n;
  }
  return r;
}

ValueLossResult clipped_value_loss(const std::vector<double>& values, const std::vector<double>& old_values,
                                   const std::vector<double>& returns, double clip) {
  check_same(values.size(), old_values.size(), "value loss (values and old values)");
  check_same(values.size(), returns.size(), "value loss (values and returns)");
  check_clip(clip, "value clip");
  const double n = static_cast<double>(values.size());
  ValueLossResult r;
  r.d_values.assign(values.size(), 0.0);
  for (size_t i = 0; i < values.size(); ++i) {
    check_finite(values[i], "value");
    check_finite(old_values[i], "old value");
    check_finite(returns[i], "return");
    const double v = values[i], ret = returns[i];
    const double vc = old_values[i] + std::clamp(v - old_values[i], -clip, clip);
    const double l1 = (v - ret) * (v - ret), l2 = (vc - ret) * (vc - ret);
    if (l2 > l1) {
      // Only possible with v outside the clip range, where vc is constant in v: no gradient.
      r.loss += 0.5 * l2 / n;
      r.clip_fraction += 1.0 / n;
    } else {
      r.loss += 0.5 * l1 / n;
      r.d_values[i] = (v - ret) / n;
    }
  }
  return r;
}

double softmax_entropy(const float* logits, int64_t n, double temperature) {
  return entropy_of(logits, n, temperature);
}
double softmax_entropy(const double* logits, int64_t n, double temperature) {
  return entropy_of(logits, n, temperature);
}

}  // namespace wb::rlhf
