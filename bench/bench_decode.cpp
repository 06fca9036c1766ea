// bench_decode: serving speed on the CPU backend.
//   prefill:  a 128-token prompt in one chunk -> prompt tokens/s, its useful GFLOP/s as a
//             share of a measured sgemm peak (the linears, causal attention, one LM-head row),
//             and ratio_vs_products: the same matrix products timed alone with OpenBLAS
//             (prefill_products.h), alternating with the prefill runs, over the prefill's time
//   decode:   batch 1 and batch 8 sequences, each generating 256 tokens greedily after a short
//             prompt -> generated tokens/s; with several --stream-rows values (e.g. "32 0": the
//             row kernel for decode batches vs BLAS alone) the runs alternate, --reps rounds
// Decoding one token reads every weight once per step, so its speed is bounded by memory
// bandwidth: bound = batch * copy_bandwidth / weight_bytes tokens/s. Each decode line reports
// the bound and the achieved ratio (target >= 0.6), plus resident memory vs weights + KV cache.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <vector>

#include "bench_util.h"
#include "prefill_products.h"
#include "wb/llama/decode.h"
#include "wb/llama/rng.h"
#include "wb/llama/sampler.h"

using namespace wb;

namespace {

std::vector<int32_t> random_tokens(const llama::LlamaConfig& c, int64_t n, uint64_t seed) {
  llama::Rng rng(seed);
  std::vector<int32_t> t{static_cast<int32_t>(c.bos_token_id)};
  while (static_cast<int64_t>(t.size()) < n) t.push_back(static_cast<int32_t>(3 + rng.below(static_cast<uint64_t>(c.vocab_size - 3))));
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_decode: prefill and decode tokens/s vs the memory-bandwidth bound"};
  std::string model_dir, preset;
  int64_t prompt = 128, gen = 256, prompt_decode = 1;  // decode starts after BOS
  std::vector<int64_t> batches{1, 8};
  std::vector<int64_t> stream_rows{llama::ForwardOptions{}.stream_rows};
  int reps = 1, prefill_reps = 3;
  std::vector<int> fuse{1};
  app.add_option("--model", model_dir, "HF model directory");
  app.add_option("--preset", preset, "random model of a preset size (15m, 110m, ...)");
  app.add_option("--prefill", prompt, "prefill length")->default_val(128);
  app.add_option("--generate", gen, "tokens generated per sequence")->default_val(256);
  app.add_option("--batches", batches, "decode batch sizes")->default_val(std::vector<int64_t>{1, 8});
  app.add_option("--stream-rows", stream_rows, "Decoder::set_stream_rows values, alternated (0: BLAS only)");
  app.add_option("--prefill-reps", prefill_reps, "prefill runs (best of), each followed by its products alone")
      ->default_val(3);
  app.add_option("--fuse-products", fuse, "prefill with fused q/k/v and gate/up GEMMs (1) or one per linear (0); "
                 "several values alternate")->default_val(std::vector<int>{1});
  app.add_option("--reps", reps, "rounds over batches and --stream-rows values")->default_val(1);
  CLI11_PARSE(app, argc, argv);
  try {
    llama::Model<float> m = bench::model_from_args(model_dir, preset, 1);
    m.weights.pack_fused();  // as the serving engine holds its model on the CPU
    const llama::LlamaConfig& c = m.config;
    const std::string label = bench::model_label(model_dir, preset);
    const double bw = bench::copy_bandwidth();
    const int64_t wbytes = bench::weight_bytes(m);
    llama::Decoder<float> dec(m);
    std::vector<float> logits;
    // A context shorter than BOS + 256 (15M: 256) generates as many as fit; "generated" says so.
    gen = std::min(gen, c.max_position_embeddings - prompt_decode);
    prompt = std::min(prompt, c.max_position_embeddings);

    {  // prefill: best of --prefill-reps, each run followed by the same products timed alone
      bench::PrefillProducts products(m, prompt);
      std::vector<double> best(fuse.size(), 1e30), best_cpu(fuse.size(), 1e30);
      double best_products = 1e30, best_products_cpu = 1e30;
      for (int r = 0; r < prefill_reps; ++r)
        for (size_t f = 0; f < fuse.size(); ++f) {  // alternating --fuse-products values
          dec.set_fuse_products(fuse[f] != 0);
          llama::DecodeSequence<float> s(c);
          const auto toks = random_tokens(c, prompt, 7 + r);
          const auto t0 = std::chrono::steady_clock::now();
          double c0 = bench::cpu_seconds();
          dec.prefill(s, toks, logits, prompt);
          best[f] = std::min(best[f], bench::seconds_since(t0));
          best_cpu[f] = std::min(best_cpu[f], bench::cpu_seconds() - c0);
          c0 = bench::cpu_seconds();
          best_products = std::min(best_products, products.run_seconds());
          best_products_cpu = std::min(best_products_cpu, bench::cpu_seconds() - c0);
        }
      const double flops = products.useful_flops();
      const double peak = bench::sgemm_peak();
      for (size_t f = 0; f < fuse.size(); ++f)
        bench::emit({{"bench", "decode"}, {"phase", "prefill"}, {"model", label}, {"tokens", prompt},
                     {"fuse_products", fuse[f] != 0}, {"seconds", best[f]},
                     {"tokens_per_s", static_cast<double>(prompt) / best[f]},
                     {"achieved_gflop_s", flops / best[f] / 1e9}, {"sgemm_peak_gflop_s", peak / 1e9},
                     {"ratio_vs_sgemm", flops / best[f] / peak}, {"products_seconds", best_products},
                     {"ratio_vs_products", best_products / best[f]}, {"cpu_seconds", best_cpu[f]},
                     {"products_cpu_seconds", best_products_cpu},
                     {"ratio_vs_products_cpu", best_products_cpu / best_cpu[f]}});
      dec.set_fuse_products(true);
    }
    for (int rep = 0; rep < reps; ++rep)
    for (int64_t sr : stream_rows)
    for (int64_t B : batches) {
      dec.set_stream_rows(sr);
      std::vector<llama::DecodeSequence<float>> seqs;
      seqs.reserve(static_cast<size_t>(B));
      std::vector<int32_t> next(static_cast<size_t>(B));
      int64_t kv_bytes = 0;
      for (int64_t b = 0; b < B; ++b) {
        seqs.emplace_back(c, prompt_decode + gen);
        dec.prefill(seqs.back(), random_tokens(c, prompt_decode, 100 + b), logits);
        next[b] = llama::argmax(logits);
      }
      std::vector<llama::DecodeSequence<float>*> ptrs;
      for (auto& s : seqs) ptrs.push_back(&s);
      const auto t0 = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < gen; ++i) {
        dec.step(ptrs, next, logits);
        for (int64_t b = 0; b < B; ++b)
          next[b] = llama::argmax(std::span<const float>(logits.data() + b * c.vocab_size, static_cast<size_t>(c.vocab_size)));
      }
      const double secs = bench::seconds_since(t0);
      for (auto& s : seqs) kv_bytes += s.cache.bytes();
      const double tps = static_cast<double>(B * gen) / secs;
      const double bound = static_cast<double>(B) * bw / static_cast<double>(wbytes);
      const int64_t rss = bench::rss_bytes();
      bench::emit({{"bench", "decode"}, {"phase", "decode"}, {"model", label}, {"batch", B}, {"stream_rows", sr}, {"generated", B * gen},
                   {"seconds", secs}, {"tokens_per_s", tps}, {"ms_per_step", 1e3 * secs / static_cast<double>(gen)},
                   {"weight_bytes", wbytes}, {"copy_bandwidth_gb_s", bw / 1e9}, {"bound_tokens_per_s", bound},
                   {"ratio_vs_bound", tps / bound}, {"kv_cache_bytes", kv_bytes}, {"rss_bytes", rss},
                   {"rss_over_weights_plus_kv", static_cast<double>(rss) / static_cast<double>(wbytes + kv_bytes)}});
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_decode: %s\n", e.what());
    return 1;
  }
  return 0;
}
