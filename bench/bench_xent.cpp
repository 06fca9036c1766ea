// bench_xent: the training loss's cost on the CPU, one thread, CPU time (steady on a shared
// machine): the two-kernel cross-entropy (zero dlogits, forward, backward: three exps per
// element) against the fused kernel (one exp per element, in place), on [--rows, --vocab]
// random float logits. One JSON line per round: milliseconds per row and the ratio.
#include <CLI/CLI.hpp>
#include <omp.h>
#include <time.h>

#include <cstdio>
#include <vector>

#include "bench_util.h"
#include "wb/kernels/add.h"
#include "wb/kernels/xent.h"
#include "wb/llama/weights.h"

namespace k = wb::kernels;

namespace {
double thread_cpu_s() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_xent: two-kernel vs fused cross-entropy, one thread, CPU time per row"};
  int64_t n = 256, V = 32000, rounds = 3;
  app.add_option("--rows", n, "logit rows (tokens)")->default_val(256);
  app.add_option("--vocab", V, "vocabulary")->default_val(32000);
  app.add_option("--rounds", rounds, "rounds (each runs both, alternating)")->default_val(3);
  CLI11_PARSE(app, argc, argv);
  omp_set_num_threads(1);
  std::vector<float> logits(static_cast<size_t>(n * V)), d(logits.size()), inplace, loss(static_cast<size_t>(n));
  wb::llama::fill_normal(logits, 1, 2.0);
  std::vector<float> dl(static_cast<size_t>(n), 1.0f / static_cast<float>(n));
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) t[i] = static_cast<int32_t>((i * 7919) % V);
  for (int64_t r = 0; r < rounds; ++r) {
    const double a = thread_cpu_s();
    k::zero<float>(d.data(), n * V);
    k::cross_entropy_forward<float>(loss.data(), logits.data(), t.data(), n, V);
    k::cross_entropy_backward<float>(d.data(), logits.data(), t.data(), dl.data(), n, V);
    const double b = thread_cpu_s();
    inplace = logits;  // the trainer's form: the gradient over the logits (copy not timed)
    const double c = thread_cpu_s();
    k::cross_entropy_fused<float>(loss.data(), inplace.data(), inplace.data(), t.data(), dl.data(), n, V);
    const double e = thread_cpu_s();
    wb::bench::emit({{"bench", "xent"}, {"rows", n}, {"vocab", V}, {"two_kernel_ms_per_row", 1e3 * (b - a) / n},
                     {"fused_ms_per_row", 1e3 * (e - c) / n}, {"speedup", (b - a) / (e - c)}});
  }
  return 0;
}
