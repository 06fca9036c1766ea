// Helpers shared by bench_decode and bench_train: the model under test (--model DIR or
// --preset NAME), machine baselines (copy bandwidth, sgemm peak), resident memory, timing and
// JSON-line output. Every benchmark prints one JSON object per line to stdout.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/llama/model.h"
#include "wb/llama/trainer.h"

namespace wb::bench {

// Loads --model DIR, or builds a random model of --preset NAME (seeded), or throws.
llama::Model<float> model_from_args(const std::string& model_dir, const std::string& preset, uint64_t seed);
// "preset:110m" or the directory, for the JSON output.
std::string model_label(const std::string& model_dir, const std::string& preset);

// `n` batches of `seqs` random token sequences of `len` tokens, each position's target the next
// token (the last one none), drawn from Rng(seed): what the training benchmarks train on.
std::vector<llama::TrainBatch> random_batches(const llama::LlamaConfig& c, int n, int64_t seqs, int64_t len,
                                              uint64_t seed);

// Bytes of the base weights as fp32.
int64_t weight_bytes(const llama::Model<float>& m);

// Measured memcpy bandwidth in bytes/s, counting bytes read + bytes written, best of `reps`
// copies of a `bytes`-sized buffer (large enough to leave the caches).
double copy_bandwidth(int64_t bytes = 256ll << 20, int reps = 5);
// Best achieved sgemm rate in FLOP/s over `reps` calls of an n x n x n cblas_sgemm (OpenBLAS,
// all threads), the peak the training rate is compared with.
double sgemm_peak(int64_t n = 2048, int reps = 5);

// VmRSS / VmHWM of this process in bytes (from /proc/self/status; 0 when unavailable).
int64_t rss_bytes();
int64_t peak_rss_bytes();

// Seconds since `t0`.
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU seconds of this process so far, every thread (CLOCK_PROCESS_CPUTIME_ID): steadier than wall
// time on a shared machine, and with one thread the work itself.
double cpu_seconds();

// Prints `j` as one line, adding "date" (UTC ISO 8601) and "threads" (OpenMP max threads).
void emit(nlohmann::json j);

}  // namespace wb::bench
