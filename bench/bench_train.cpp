// bench_train: training speed on the CPU backend for LoRA (r=16 on all seven linears) and full
// fine-tuning: tokens/s, and the achieved GFLOP/s compared with a measured sgemm peak on the same
// machine (target ratio >= 0.5). Also tokens per CPU second of the process over the timed steps
// (steadier than wall time on a shared machine; with several threads it counts their waiting too).
//
// FLOPs counted per token (useful work only; L = sequence length, P = parameters of every matrix
// product: the seven linears of each layer + the LM head):
//   forward    2P + attention 2 D (L+1) per layer (QK^T and PV over the causal half)
//   full       3 x forward  (backward = dX + dW)
//   LoRA       forward + 2P (dX through the frozen base) + 2 x attention + 6 x LoRA parameters
#include <CLI/CLI.hpp>

#include <sys/resource.h>

#include <cstdio>
#include <vector>

#include "bench_util.h"
#include "wb/llama/trainer.h"

using namespace wb;

namespace {

struct Flops {
  double forward = 0, full = 0, lora = 0;  // per token
};

Flops flops_per_token(const llama::LlamaConfig& c, int64_t L, int64_t lora_params_per_token_pass) {
  const double D = static_cast<double>(c.hidden_size), F = static_cast<double>(c.intermediate_size);
  const double kvd = static_cast<double>(c.kv_dim()), V = static_cast<double>(c.vocab_size);
  const double nl = static_cast<double>(c.num_hidden_layers);
  const double P = nl * (2 * D * D + 2 * D * kvd + 3 * D * F) + V * D;
  const double attn = nl * 2 * D * static_cast<double>(L + 1);
  Flops f;
  f.forward = 2 * P + attn;
  f.full = 3 * f.forward;
  f.lora = f.forward + 2 * P + 2 * attn + 6 * static_cast<double>(lora_params_per_token_pass);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_train: LoRA and full fine-tuning tokens/s and GFLOP/s vs sgemm peak"};
  std::string model_dir, preset;
  int64_t seqs = 4, seq_len = 256, steps = 3, rank = 16;
  std::vector<std::string> modes{"lora", "full"};
  bool recompute = false;
  app.add_option("--model", model_dir, "HF model directory");
  app.add_option("--preset", preset, "random model of a preset size (15m, 110m, ...)");
  app.add_option("--seqs", seqs, "sequences per batch")->default_val(4);
  app.add_option("--seq-len", seq_len, "tokens per sequence (capped at the context length)")->default_val(256);
  app.add_option("--steps", steps, "timed optimizer steps (after one warm-up step)")->default_val(3);
  app.add_option("--rank", rank, "LoRA rank")->default_val(16);
  app.add_option("--modes", modes, "lora and/or full")->default_val(std::vector<std::string>{"lora", "full"});
  app.add_flag("--recompute", recompute, "per-layer activation recomputation");
  CLI11_PARSE(app, argc, argv);
  try {
    const std::string label = bench::model_label(model_dir, preset);
    const double peak = bench::sgemm_peak();
    bench::emit({{"bench", "train"}, {"phase", "sgemm_peak"}, {"gflop_s", peak / 1e9}});
    for (const std::string& mode : modes) {
      if (mode != "lora" && mode != "full") throw std::invalid_argument("unknown mode '" + mode + "'");
      llama::Model<float> m = bench::model_from_args(model_dir, preset, 1);
      const int64_t L = std::min(seq_len, m.config.max_position_embeddings);
      int64_t lora_params = 0;
      if (mode == "lora") {
        llama::LoraConfig lc;
        lc.r = rank;
        lc.lora_alpha = 2.0 * static_cast<double>(rank);
        lc.target_modules = llama::all_lora_modules();
        m.lora = llama::LoraAdapter<float>::init(m.config, lc, 2);
        m.trainable.lora = true;
        lora_params = m.lora->numel();
      } else {
        m.trainable.full = true;
      }
      llama::InMemoryDataSource data(bench::random_batches(m.config, 2, seqs, L, 5));
      llama::TrainerConfig tc;
      tc.total_steps = steps + 1;
      tc.schedule.kind = llama::ScheduleKind::kConstant;
      tc.schedule.lr = 1e-4;
      tc.adamw.max_grad_norm = 1.0;
      tc.recompute = recompute;
      llama::Trainer t(m, data, tc);
      t.step();  // warm-up: workspace allocation, thread start
      auto cpu_now = [] {
        rusage u{};
        ::getrusage(RUSAGE_SELF, &u);
        return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
               1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
      };
      const double cpu0 = cpu_now();
      const auto t0 = std::chrono::steady_clock::now();
      double loss = 0;
      for (int64_t i = 0; i < steps; ++i) loss = t.step().loss;
      const double secs = bench::seconds_since(t0);
      const double cpu_s = cpu_now() - cpu0;
      const double tokens = static_cast<double>(steps * seqs * L);
      const Flops f = flops_per_token(m.config, L, lora_params);
      const double per_token = mode == "lora" ? f.lora : f.full;
      const double achieved = per_token * tokens / secs;
      bench::emit({{"bench", "train"}, {"phase", mode}, {"model", label}, {"rank", mode == "lora" ? rank : 0},
                   {"tokens_per_step", seqs * L}, {"seq_len", L}, {"steps", steps}, {"seconds", secs},
                   {"tokens_per_s", tokens / secs}, {"cpu_s", cpu_s}, {"tokens_per_cpu_s", tokens / cpu_s},
                   {"gflop_per_token", per_token / 1e9},
                   {"achieved_gflop_s", achieved / 1e9}, {"sgemm_peak_gflop_s", peak / 1e9},
                   {"ratio_vs_sgemm", achieved / peak}, {"last_loss", loss}, {"recompute", recompute},
                   {"peak_rss_bytes", bench::peak_rss_bytes()}});
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train: %s\n", e.what());
    return 1;
  }
  return 0;
}
