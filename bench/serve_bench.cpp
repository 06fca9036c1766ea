// serve_bench: the serving engine under concurrent load (plugins/serve, no HTTP).
//   load:  adapter load time (read + convert + validate + publish) at --rank and at rank 64
//   serve: C requests submitted at once (C in --concurrency), each a --prompt-token prompt
//          generating --generate tokens (sampled, EOS ignored), with every request on ONE
//          adapter, then on --adapters DISTINCT adapters (round robin) -> tokens/s, time to
//          first token; a ratio line per C: one-adapter tokens/s / distinct tokens/s (target
//          <= 1.3), by wall time and by CPU time (steadier on a shared machine).
// The engine runs as the daemon does by default (batch_invariant off); --batch-invariant 1 runs
// the fixed-order row kernel, "--batch-invariant 0 1" both engines with their runs alternating
// (the cost of invariance side by side); --batch-invariant 0 --row-tile N: BLAS in fixed row
// tiles, invariant too.
// --device cuda serves on the GPU (--gpu-dtype bf16|fp32; not batch-invariant); where no GPU
// answers it prints one "skipped" line and exits 0.
// --url http://HOST:PORT drives a running server over HTTP instead (OpenAI /v1/completions,
// greedy, EOS ignored, --prompt-text, --api-model, --token; http_load.h): workbenchd's TCP
// listener and llama.cpp's llama-server are measured by this same client
// (scripts/serve_bench.sh runs both and prints the ratios).
#include <CLI/CLI.hpp>

#include <array>
#include <memory>
#include <sys/resource.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <vector>

#include "bench_util.h"
#include "engine.h"
#include "http_load.h"
#include "wb/llama/adapter_io.h"
#include "wb/llama/model_io.h"
#include "wb/llama/rng.h"
#include "wb/llama/weights.h"
#include "wb_temp_dir.h"  // tests/common: a scratch directory removed at exit

using namespace wb;
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// Request i's prompt: BOS then ids drawn from its own stream (distinct prompts, no shared prefix).
std::vector<int32_t> prompt_ids(const llama::LlamaConfig& c, int64_t n, uint64_t stream) {
  llama::Rng rng(stream * 2654435761u + 17);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  ids[0] = static_cast<int32_t>(c.bos_token_id);
  for (size_t i = 1; i < ids.size(); ++i)
    ids[i] = static_cast<int32_t>(3 + rng.below(static_cast<uint64_t>(c.vocab_size - 3)));
  return ids;
}

// A trained-looking adapter: PEFT init for A, random B.
fs::path write_adapter(const fs::path& dir, const llama::LlamaConfig& c, int64_t rank, uint64_t seed) {
  llama::LoraConfig lc;
  lc.r = rank;
  lc.lora_alpha = 2.0 * static_cast<double>(rank);
  lc.target_modules = {llama::LoraModule::Q, llama::LoraModule::K, llama::LoraModule::V, llama::LoraModule::O};
  auto a = llama::LoraAdapter<float>::init(c, lc, seed);
  a.for_each([&](const std::string& name, llama::Tensor<float>& t) {
    if (name.find("lora_B") != std::string::npos) llama::fill_normal(t.data, llama::tensor_seed(seed, name), 0.01);
  });
  llama::save_adapter(dir, a, "bench");
  return dir;
}

// CPU seconds (user + system) of this process so far: on a shared machine, tokens per CPU
// second is steadier than tokens per wall second.
double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

struct RunResult {
  double tokens_per_s = 0, wall_s = 0, cpu_s = 0, tokens_per_cpu_s = 0, ttft_mean_s = 0, ttft_max_s = 0;
  int64_t tokens = 0;
};

// Submits `n` requests at once and waits for all of them.
RunResult run(serve::Engine& e, const llama::LlamaConfig& c, int n, int64_t prompt, int64_t gen,
              const std::vector<std::string>& adapters, uint64_t seed) {
  std::mutex mu;
  std::condition_variable cv;
  int left = n;
  int64_t tokens = 0;
  std::vector<double> ttft;
  const auto t0 = Clock::now();
  const double c0 = cpu_seconds();
  for (int i = 0; i < n; ++i) {
    json req = {{"prompt", prompt_ids(c, prompt, seed + static_cast<uint64_t>(i))}, {"max_tokens", gen},
                {"ignore_eos", true}, {"temperature", 0.8}, {"top_k", 40}, {"seed", i},
                {"model", adapters[static_cast<size_t>(i) % adapters.size()]}};
    e.submit(req, [&](const std::string& ev) {
      const json j = json::parse(ev);
      if (j["type"] == "done") {
        std::lock_guard l(mu);
        tokens += j["usage"]["completion_tokens"].get<int64_t>();
        ttft.push_back(j["ttft_s"].is_null() ? 0.0 : j["ttft_s"].get<double>());
        if (--left == 0) cv.notify_all();
      }
      return true;
    });
  }
  std::unique_lock l(mu);
  cv.wait(l, [&] { return left == 0; });
  RunResult r;
  r.wall_s = bench::seconds_since(t0);
  r.cpu_s = cpu_seconds() - c0;
  r.tokens = tokens;
  r.tokens_per_s = static_cast<double>(tokens) / r.wall_s;
  r.tokens_per_cpu_s = static_cast<double>(tokens) / r.cpu_s;
  r.ttft_mean_s = std::accumulate(ttft.begin(), ttft.end(), 0.0) / static_cast<double>(ttft.size());
  r.ttft_max_s = *std::max_element(ttft.begin(), ttft.end());
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"serve_bench: serving tokens/s with one vs distinct adapters, TTFT, adapter load time"};
  std::string model_dir, preset = "15m", device = "cpu", gpu_dtype = "bf16";
  int64_t prompt = 32, gen = 64, rank = 8, n_adapters = 8, row_tile = 0, reps = 2;
  std::vector<int> invariants{0};
  std::vector<int64_t> conc{1, 8, 32};
  app.add_option("--model", model_dir, "HF model directory (default: a random --preset model)");
  app.add_option("--preset", preset, "random model of a preset size (15m, 110m, ...)")->default_val("15m");
  app.add_option("--prompt", prompt, "prompt tokens per request")->default_val(32);
  app.add_option("--generate", gen, "tokens generated per request")->default_val(64);
  app.add_option("--concurrency", conc, "requests submitted at once")->default_val(std::vector<int64_t>{1, 8, 32});
  app.add_option("--rank", rank, "adapter rank")->default_val(8);
  app.add_option("--adapters", n_adapters, "distinct adapters")->default_val(8);
  app.add_option("--batch-invariant", invariants,
                 "engine batch_invariant (1: fixed-order row kernel); \"0 1\": both engines, runs alternating")
      ->default_val(std::vector<int>{0});
  app.add_option("--row-tile", row_tile, "engine row_tile, used with --batch-invariant 0 (BLAS tiles)")->default_val(0);
  app.add_option("--reps", reps, "runs per point (best kept)")->default_val(2);
  app.add_option("--device", device, "engine device: cpu, cuda or auto (--batch-invariant/--row-tile are CPU options)")
      ->default_val("cpu");
  app.add_option("--gpu-dtype", gpu_dtype, "GPU storage: bf16 or fp32")->default_val("bf16");
  std::string url, token, api_model = "base", server = "server",
      prompt_text = "Once upon a time, in a small village at the edge of a great forest, there lived an old "
                    "clockmaker who repaired every clock in the valley and never told anyone his age.";
  app.add_option("--url", url, "drive a running server over HTTP (http://HOST:PORT) instead of the in-process engine");
  app.add_option("--token", token, "with --url: bearer token");
  app.add_option("--api-model", api_model, "with --url: the request's model field")->default_val("base");
  app.add_option("--server", server, "with --url: a label for the JSON lines")->default_val("server");
  app.add_option("--prompt-text", prompt_text, "with --url: the prompt");
  CLI11_PARSE(app, argc, argv);
  if (!url.empty()) {  // the same client against any OpenAI-compatible server
    try {
      bench::HttpTarget t = bench::parse_url(url);
      t.token = token;
      t.model = api_model;
      bench::http_completions(t, 1, prompt_text, 4);  // warm-up
      for (int64_t n : conc) {
        bench::HttpRun best;
        for (int64_t r = 0; r < reps; ++r) {
          const bench::HttpRun res = bench::http_completions(t, static_cast<int>(n), prompt_text, gen);
          if (res.tokens_per_s > best.tokens_per_s) best = res;
        }
        bench::emit({{"bench", "serve_http"}, {"server", server}, {"concurrency", n}, {"generate", gen},
                     {"tokens_per_s", best.tokens_per_s}, {"wall_s", best.wall_s}, {"tokens", best.tokens},
                     {"latency_mean_s", best.latency_mean_s}, {"latency_max_s", best.latency_max_s}});
      }
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "serve_bench: %s: %s\n", url.c_str(), ex.what());
      return 1;
    }
    return 0;
  }
  try {
    wbtest::TempDir tmp("wb-serve-bench");
    const std::string label = bench::model_label(model_dir, model_dir.empty() ? preset : "");
    if (model_dir.empty()) {  // the engine loads from a directory: write the random model once
      llama::save_model(tmp / "model", bench::model_from_args("", preset, 1));
      model_dir = (tmp / "model").string();
    }
    const int64_t max_c = *std::max_element(conc.begin(), conc.end());
    nlohmann::json opts = {{"name", "base"}, {"path", model_dir}, {"max_batch", max_c}, {"max_queue", 4 * max_c},
                           {"max_adapters", n_adapters + 2}, {"device", device}};
    if (device == "cpu") {
      opts["row_tile"] = row_tile;
    } else {
      opts["gpu_dtype"] = gpu_dtype;
      invariants = {0};
    }
    try {  // a machine without a GPU: one "skipped" line, as the GPU benches do
      serve::choose_device(serve::ModelOptions::from_json(opts));
    } catch (const std::exception& ex) {
      bench::emit({{"bench", "serve"}, {"device", device}, {"skipped", ex.what()}});
      return 0;
    }
    // One engine per batch_invariant value (each with its own copy of the weights).
    std::vector<std::unique_ptr<serve::Engine>> engines;
    for (int inv : invariants) {
      if (device == "cpu") opts["batch_invariant"] = inv != 0;
      engines.push_back(std::make_unique<serve::Engine>(serve::ModelOptions::from_json(opts)));
    }
    serve::Engine& e = *engines[0];
    device = e.device();  // what runs ("auto" may have chosen either), with its settings
    row_tile = e.options().row_tile;
    const llama::LlamaConfig c = e.model().config;
    gen = std::min(gen, c.max_position_embeddings - prompt);

    // Adapter load time.
    std::vector<std::string> names;
    std::vector<double> load_s;
    for (int64_t i = 0; i < n_adapters; ++i) {
      const std::string name = "a" + std::to_string(i);
      const fs::path dir = write_adapter(tmp / name, c, rank, 100 + static_cast<uint64_t>(i));
      const auto t0 = Clock::now();
      e.registry().load(name, dir, 1.0);
      load_s.push_back(bench::seconds_since(t0));
      for (size_t k = 1; k < engines.size(); ++k) engines[k]->registry().load(name, dir, 1.0);
      names.push_back(name);
    }
    const fs::path big = write_adapter(tmp / "big", c, 64, 999);
    auto t0 = Clock::now();
    e.registry().load("big", big, 1.0);
    const double big_s = bench::seconds_since(t0);
    const auto big_bytes = e.registry().find("big")->bytes;
    e.registry().unload("big");
    bench::emit({{"bench", "serve_adapter_load"}, {"model", label}, {"device", device}, {"rank", rank},
                 {"load_s_mean", std::accumulate(load_s.begin(), load_s.end(), 0.0) / static_cast<double>(load_s.size())},
                 {"load_s_min", *std::min_element(load_s.begin(), load_s.end())},
                 {"adapter_bytes", e.registry().find("a0")->bytes}, {"rank64_load_s", big_s}, {"rank64_bytes", big_bytes}});

    for (auto& en : engines) run(*en, c, 2, prompt, 8, names, 7);  // warm-up (allocations, BLAS buffers)
    for (int64_t n : conc) {
      // One adapter and distinct adapters (and the engines of each batch_invariant value)
      // alternate, so all see the same machine load; the best run of each is kept (wall and CPU
      // rates independently).
      std::vector<std::array<RunResult, 2>> bests(engines.size());
      for (int64_t r = 0; r < reps; ++r)
        for (size_t ei = 0; ei < engines.size(); ++ei)
        for (int mode = 0; mode < 2; ++mode) {
          const std::vector<std::string> use = mode == 0 ? std::vector<std::string>{names[0]} : names;
          const RunResult res = run(*engines[ei], c, static_cast<int>(n), prompt, gen, use, 1000 * static_cast<uint64_t>(r));
          RunResult& b = bests[ei][mode];
          if (res.tokens_per_s > b.tokens_per_s) {
            const double keep_cpu = b.tokens_per_cpu_s, keep_cpu_s = b.cpu_s;
            b = res;
            if (keep_cpu > res.tokens_per_cpu_s) b.tokens_per_cpu_s = keep_cpu, b.cpu_s = keep_cpu_s;
          } else if (res.tokens_per_cpu_s > b.tokens_per_cpu_s) {
            b.tokens_per_cpu_s = res.tokens_per_cpu_s;
            b.cpu_s = res.cpu_s;
          }
        }
      for (size_t ei = 0; ei < engines.size(); ++ei) {
      const bool invariant = engines[ei]->options().batch_invariant;
      const auto& best = bests[ei];
      for (int mode = 0; mode < 2; ++mode)
        bench::emit({{"bench", "serve"}, {"model", label}, {"device", device}, {"concurrency", n},
                     {"adapters", mode == 0 ? 1 : std::min<int64_t>(n_adapters, n)}, {"rank", rank},
                     {"batch_invariant", invariant}, {"row_tile", row_tile}, {"prompt", prompt}, {"generate", gen},
                     {"tokens_per_s", best[mode].tokens_per_s}, {"wall_s", best[mode].wall_s},
                     {"tokens_per_cpu_s", best[mode].tokens_per_cpu_s}, {"cpu_s", best[mode].cpu_s},
                     {"ttft_mean_s", best[mode].ttft_mean_s}, {"ttft_max_s", best[mode].ttft_max_s},
                     {"rss_mb", static_cast<double>(bench::rss_bytes()) / (1 << 20)}});
      bench::emit({{"bench", "serve_adapter_mix"}, {"model", label}, {"device", device}, {"concurrency", n}, {"batch_invariant", invariant}, {"row_tile", row_tile},
                   {"one_over_distinct", best[0].tokens_per_s / best[1].tokens_per_s},
                   {"one_over_distinct_cpu", best[0].tokens_per_cpu_s / best[1].tokens_per_cpu_s}, {"target_max", 1.3}});
      }
    }
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "serve_bench: %s\n", ex.what());
    return 1;
  }
  return 0;
}
