// GPU benchmark of the Llama-2 decoder built from wb_kernels_cuda (wb/llama/cuda/gpu_llama.h) at a given
// shape (default: Llama 2 7B, bf16, random weights drawn on the device). Prints JSON lines:
//   {"bench":"gpu_peak", "tflops":...}                       bf16 cuBLAS peak measured here
//   {"bench":"gpu_decode", "batch":B, "tokens_per_s":...}    greedy decode, B sequences (GpuLlama::generate
//       over the serving decoder, GpuDecoder: what serving runs)
//   {"bench":"gpu_prefill", "tokens":N, "tokens_per_s":...}  forward over N packed tokens
//   {"bench":"gpu_lora_train", "tokens_per_s":..., "mfu":...} LoRA forward+backward+AdamW
//   {"bench":"gpu_profile", "phase":"train", "ms":{section: ms}}   with --profile: where one
//       training step spends its GPU time
// Without a device it prints one {"skipped": ...} line and exits 0.
#include <cmath>
#include <cstdio>
#include <exception>
#include <random>

#include "gpu_bench_util.h"
#include "wb/llama/cuda/gpu_llama.h"
#include "wb/cuda/device.h"
#include "wb/llama/hf_config.h"
#include "wb/llama/presets.h"

using namespace wb;
using namespace wb::gpu;

namespace {

std::vector<int32_t> random_tokens(int64_t n, int64_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> d(3, int32_t(vocab - 1));
  std::vector<int32_t> t(n);
  for (auto& x : t) x = d(rng);
  return t;
}

// Multiply-adds of one token through the linears and the LM head (frozen base).
double linear_params(const llama::LlamaConfig& c) {
  const double D = c.hidden_size, F = c.intermediate_size, KV = c.kv_dim();
  return c.num_hidden_layers * (2 * D * D + 2 * D * KV + 3 * D * F) + D * c.vocab_size;
}

// One JSON line of per-section milliseconds (divided by `per`).
void print_profile(const char* phase, SectionTimer& prof, double per) {
  const auto ms = prof.totals();
  double total = 0;
  for (const auto& [k, v] : ms) total += v;
  std::printf("{\"bench\":\"gpu_profile\",\"phase\":\"%s\",\"total_ms\":%.3f,\"ms\":{", phase,
              total / per);
  bool first = true;
  for (const auto& [k, v] : ms) {
    std::printf("%s\"%s\":%.3f", first ? "" : ",", k.c_str(), v / per);
    first = false;
  }
  std::printf("}}\n");
  std::fflush(stdout);
}

int run(int argc, char** argv) {
  Args args(argc, argv,
            {{"preset", "7b"}, {"config", ""}, {"decode-batch", "1,32"}, {"decode-tokens", "64"},
             {"prompt", "16"}, {"prefill-seqs", "4"}, {"seq-len", "512"}, {"train-seqs", "4"},
             {"train-steps", "3"}, {"lora-rank", "16"}, {"dtype", "bfloat16"}, {"skip", ""},
             {"profile", "0"}});
  if (!cuda::device_available()) {
    std::printf("{\"bench\":\"gpu_llama\",\"skipped\":\"no CUDA device: %s\"}\n",
                cuda::unavailable_reason().c_str());
    return 0;
  }
  if (args.str("dtype") != "bfloat16") throw std::invalid_argument("--dtype: only bfloat16 here");
  const llama::LlamaConfig c = args.str("config").empty()
                                   ? llama::preset_config(args.str("preset"))
                                   : llama::load_hf_config(args.str("config"));
  const std::string skip = args.str("skip");
  const bool profile = args.str("profile") != "0";
  cuda::Context ctx;
  const auto info = cuda::device_info();
  const double peak = measure_bf16_peak_tflops(ctx);
  std::printf("{\"bench\":\"gpu_peak\",\"device\":\"%s\",\"dtype\":\"bfloat16\",\"tflops\":%.1f,"
              "\"hbm_gbs\":%.0f}\n",
              info.name.c_str(), peak, info.memory_bandwidth_gbs);
  std::fflush(stdout);

  GpuLlama<cuda::bf16> model(ctx, c, 1234);
  // Bytes a decode step must read: every weight except the embedding table (only B rows of it).
  const double embed = c.tie_word_embeddings ? 0.0 : double(c.vocab_size) * c.hidden_size;
  const double weight_bytes = 2.0 * (double(c.parameter_count()) - embed);

  if (skip.find("decode") == std::string::npos) {
    for (long B : args.list("decode-batch")) {
      const int64_t P = args.num("prompt"), N = args.num("decode-tokens");
      std::vector<std::vector<int32_t>> prompts;
      for (long b = 0; b < B; ++b) prompts.push_back(random_tokens(P, c.vocab_size, 7 + b));
      model.generate(prompts, 4);  // warm-up
      const double t0 = now_s();
      model.generate(prompts, N);
      const double dt = now_s() - t0;
      // Every step reads all weights once: the HBM bound is bandwidth / weight bytes steps/s.
      const double steps = double(P + N - 1);
      const double bound = info.memory_bandwidth_gbs * 1e9 / weight_bytes;
      std::printf("{\"bench\":\"gpu_decode\",\"batch\":%ld,\"prompt\":%ld,\"new_tokens\":%ld,"
                  "\"seconds\":%.3f,\"tokens_per_s\":%.1f,\"steps_per_s\":%.1f,"
                  "\"hbm_bound_steps_per_s\":%.1f}\n",
                  B, long(P), long(N), dt, double(B) * N / dt, steps / dt, bound);
      std::fflush(stdout);
    }
  }

  const int64_t L = args.num("seq-len");
  if (skip.find("prefill") == std::string::npos) {
    const int64_t S = args.num("prefill-seqs");
    model.set_batch(random_tokens(S * L, c.vocab_size, 11), std::vector<int32_t>(S, int32_t(L)));
    model.forward();  // warm-up
    ctx.synchronize();
    const double t0 = now_s();
    const int reps = 3;
    for (int r = 0; r < reps; ++r) model.forward();
    ctx.synchronize();
    const double dt = (now_s() - t0) / reps;
    std::printf("{\"bench\":\"gpu_prefill\",\"seqs\":%ld,\"seq_len\":%ld,\"tokens\":%ld,"
                "\"seconds\":%.4f,\"tokens_per_s\":%.0f}\n",
                long(S), long(L), long(S * L), dt, double(S * L) / dt);
    std::fflush(stdout);
  }

  if (skip.find("train") == std::string::npos) {
    const int64_t S = args.num("train-seqs"), n = S * L;
    LoraSpec spec;
    spec.rank = args.num("lora-rank");
    spec.scale = 2.0f;  // alpha = 2r, as the PEFT side
    model.init_lora(spec, 99);
    const auto tokens = random_tokens(n + 1, c.vocab_size, 13);
    std::vector<int32_t> inp(tokens.begin(), tokens.begin() + n), tgt(tokens.begin() + 1, tokens.end());
    for (int64_t s = 0; s < S; ++s) tgt[(s + 1) * L - 1] = -1;  // no target across sequences
    model.set_batch(inp, std::vector<int32_t>(S, int32_t(L)));
    auto step = [&](int64_t i) {
      model.forward();
      const float loss = model.loss_and_backward(tgt, true);
      model.adamw_step(1e-4f, i);
      return loss;
    };
    float loss = step(1);  // warm-up
    ctx.synchronize();
    const int64_t steps = args.num("train-steps");
    const double t0 = now_s();
    for (int64_t i = 0; i < steps; ++i) loss = step(i + 2);
    ctx.synchronize();
    const double dt = (now_s() - t0) / double(steps);
    const double tps = double(n) / dt;
    // Work per token: forward 2N + input-gradient backward 2N (frozen base, no weight grads),
    // plus causal attention (fwd 2 products, bwd 4) over L/2 keys on average.
    const double attn = c.num_hidden_layers * 6.0 * 2.0 * (L / 2.0) * c.hidden_size;
    const double flops_tok = 4.0 * linear_params(c) + attn;
    std::printf("{\"bench\":\"gpu_lora_train\",\"rank\":%ld,\"seqs\":%ld,\"seq_len\":%ld,"
                "\"loss\":%.4f,\"seconds_per_step\":%.4f,\"tokens_per_s\":%.0f,"
                "\"tflops\":%.1f,\"mfu\":%.3f,\"mfu_6n\":%.3f}\n",
                long(spec.rank), long(S), long(L), loss, dt, tps, tps * flops_tok / 1e12,
                tps * flops_tok / 1e12 / peak, tps * 6.0 * linear_params(c) / 1e12 / peak);
    std::fflush(stdout);
    if (profile) {
      model.profiler().enable(true);
      step(steps + 2);
      model.profiler().mark("end", ctx.s());
      model.profiler().enable(false);
      print_profile("train", model.profiler(), 1.0);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_llama: %s\n", e.what());
    return 1;
  }
}
