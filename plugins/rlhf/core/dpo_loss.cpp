#include "wb/rlhf/dpo_loss.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace wb::rlhf {
namespace {

// log(1 + e^x) without overflow for large |x|.
double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }

double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

void check_finite(double v, const char* what) {
  if (!std::isfinite(v)) throw std::invalid_argument(std::string("dpo: ") + what + " is not finite");
}

}  // namespace

DpoPairResult dpo_pair(const DpoPair& p, double beta) {
  if (!std::isfinite(beta) || beta < 0)
    throw std::invalid_argument("dpo: beta must be a finite number >= 0, got " + std::to_string(beta));
  check_finite(p.policy_chosen, "policy log-prob of the chosen answer");
  check_finite(p.policy_rejected, "policy log-prob of the rejected answer");
  check_finite(p.ref_chosen, "reference log-prob of the chosen answer");
  check_finite(p.ref_rejected, "reference log-prob of the rejected answer");
  DpoPairResult r;
  r.chosen_log_ratio = p.policy_chosen - p.ref_chosen;
  r.rejected_log_ratio = p.policy_rejected - p.ref_rejected;
  r.margin = beta * (r.chosen_log_ratio - r.rejected_log_ratio);
  r.loss = softplus(-r.margin);  // -log sigmoid(z)
  const double g = -beta * sigmoid(-r.margin);
  r.d_policy_chosen = g;
  r.d_policy_rejected = -g;
  return r;
}

DpoBatchResult dpo_batch(const std::vector<DpoPair>& pairs, double beta) {
  if (pairs.empty()) throw std::invalid_argument("dpo: empty batch");
  DpoBatchResult b;
  const double n = static_cast<double>(pairs.size());
  b.pairs.reserve(pairs.size());
  for (const DpoPair& p : pairs) {
    DpoPairResult r = dpo_pair(p, beta);
    b.loss += r.loss / n;
    b.margin += r.margin / n;
    b.accuracy += (r.margin > 0 ? 1.0 : 0.0) / n;
    b.chosen_log_ratio += r.chosen_log_ratio / n;
    b.rejected_log_ratio += r.rejected_log_ratio / n;
    r.d_policy_chosen /= n;
    r.d_policy_rejected /= n;
    b.pairs.push_back(r);
  }
  return b;
}

}  // namespace wb::rlhf
