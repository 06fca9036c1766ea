// bench_data_parallel: data-parallel training throughput over MPI, run under `mpirun -np N`.
// Every rank trains the same model (same seed) on its own micro-batches of `--seqs` sequences;
// gradients are all-reduced each step (wb_collectives_mpi). Rank 0 prints one JSON line per mode
// with the global tokens/s (N × seqs × seq_len per step). scripts/bench.sh runs it with 1 and 2
// ranks, one thread per rank, and prints the scaling efficiency tok/s(N) / (N × tok/s(1)).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "bench_util.h"
#include "wb/llama/collectives_mpi.h"
#include "wb/llama/trainer.h"

using namespace wb;

int main(int argc, char** argv) {
  CLI::App app{"bench_data_parallel: data-parallel LoRA/full training tokens/s over MPI (run under mpirun)"};
  std::string model_dir, preset;
  int64_t seqs = 2, seq_len = 256, steps = 3, rank = 16;
  std::vector<std::string> modes{"lora", "full"};
  app.add_option("--model", model_dir, "HF model directory");
  app.add_option("--preset", preset, "random model of a preset size (15m, 110m, ...)");
  app.add_option("--seqs", seqs, "sequences per rank per step")->default_val(2);
  app.add_option("--seq-len", seq_len, "tokens per sequence (capped at the context length)")->default_val(256);
  app.add_option("--steps", steps, "timed optimizer steps (after one warm-up step)")->default_val(3);
  app.add_option("--rank", rank, "LoRA rank")->default_val(16);
  app.add_option("--modes", modes, "lora and/or full")->default_val(std::vector<std::string>{"lora", "full"});
  CLI11_PARSE(app, argc, argv);
  try {
    std::unique_ptr<llama::Collectives> world = llama::mpi_collectives();
    const std::string label = bench::model_label(model_dir, preset);
    for (const std::string& mode : modes) {
      if (mode != "lora" && mode != "full") throw std::invalid_argument("unknown mode '" + mode + "'");
      llama::Model<float> m = bench::model_from_args(model_dir, preset, 1);
      const int64_t L = std::min(seq_len, m.config.max_position_embeddings);
      if (mode == "lora") {
        llama::LoraConfig lc;
        lc.r = rank;
        lc.lora_alpha = 2.0 * static_cast<double>(rank);
        lc.target_modules = llama::all_lora_modules();
        m.lora = llama::LoraAdapter<float>::init(m.config, lc, 2);
        m.trainable.lora = true;
      } else {
        m.trainable.full = true;
      }
      llama::InMemoryDataSource data(bench::random_batches(m.config, 2, seqs, L, 5 + static_cast<uint64_t>(world->rank())));
      llama::TrainerConfig tc;
      tc.total_steps = steps + 1;
      tc.schedule.kind = llama::ScheduleKind::kConstant;
      tc.schedule.lr = 1e-4;
      tc.adamw.max_grad_norm = 1.0;
      llama::Trainer t(m, data, tc);
      t.set_collectives(world.get());
      t.step();  // warm-up: workspace allocation, thread start, first all-reduce
      world->barrier();
      const auto t0 = std::chrono::steady_clock::now();
      double loss = 0;
      for (int64_t i = 0; i < steps; ++i) loss = t.step().loss;
      world->barrier();
      const double secs = bench::seconds_since(t0);
      const double tokens = static_cast<double>(steps * seqs * L * world->world());
      if (world->rank() == 0)
        bench::emit({{"bench", "data_parallel"}, {"phase", mode}, {"model", label}, {"world", world->world()},
                     {"tokens_per_rank_step", seqs * L}, {"seq_len", L}, {"steps", steps}, {"seconds", secs},
                     {"tokens_per_s", tokens / secs}, {"last_loss", loss},
                     {"peak_rss_bytes", bench::peak_rss_bytes()}});
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_data_parallel: %s\n", e.what());
    return 1;
  }
  return 0;
}
