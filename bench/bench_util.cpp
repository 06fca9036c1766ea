#include "bench_util.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "wb/llama/model_io.h"
#include "wb/llama/presets.h"
#include "wb/llama/rng.h"

namespace wb::bench {

llama::Model<float> model_from_args(const std::string& model_dir, const std::string& preset, uint64_t seed) {
  if (!model_dir.empty()) return llama::load_model<float>(model_dir);
  if (!preset.empty()) return llama::Model<float>::random(llama::preset_config(preset), seed);
  throw std::invalid_argument("give --model DIR or --preset NAME");
}

std::string model_label(const std::string& model_dir, const std::string& preset) {
  return model_dir.empty() ? "preset:" + preset : model_dir;
}

int64_t weight_bytes(const llama::Model<float>& m) { return m.weights.numel() * static_cast<int64_t>(sizeof(float)); }

double copy_bandwidth(int64_t bytes, int reps) {
  const size_t n = static_cast<size_t>(bytes);
  std::vector<char> a(n, 1), b(n, 2);  // touched: page faults are not timed
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    std::memcpy(r % 2 ? a.data() : b.data(), r % 2 ? b.data() : a.data(), n);
    best = std::min(best, seconds_since(t0));
  }
  return 2.0 * static_cast<double>(bytes) / best;
}

double sgemm_peak(int64_t n, int reps) {
  std::vector<float> A(static_cast<size_t>(n * n), 0.5f), B(static_cast<size_t>(n * n), 0.25f), C(static_cast<size_t>(n * n));
  double best = 1e30;
  for (int r = 0; r < reps + 1; ++r) {  // first call warms up the threads
    const auto t0 = std::chrono::steady_clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(n), static_cast<int>(n),
                1.0f, A.data(), static_cast<int>(n), B.data(), static_cast<int>(n), 0.0f, C.data(), static_cast<int>(n));
    if (r > 0) best = std::min(best, seconds_since(t0));
  }
  return 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / best;
}

namespace {

int64_t status_kb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const size_t klen = std::strlen(key);
  while (std::getline(f, line))
    if (line.compare(0, klen, key) == 0) return std::stoll(line.substr(klen + 1)) * 1024;
  return 0;
}

}  // namespace

double cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

int64_t rss_bytes() { return status_kb("VmRSS"); }
int64_t peak_rss_bytes() { return status_kb("VmHWM"); }

void emit(nlohmann::json j) {
  char buf[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  j["date"] = buf;
  j["threads"] = omp_get_max_threads();
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

std::vector<llama::TrainBatch> random_batches(const llama::LlamaConfig& c, int n, int64_t seqs, int64_t len,
                                              uint64_t seed) {
  llama::Rng rng(seed);
  std::vector<llama::TrainBatch> out;
  for (int b = 0; b < n; ++b) {
    std::vector<std::vector<int32_t>> packed;
    llama::TrainBatch tb;
    for (int64_t s = 0; s < seqs; ++s) {
      std::vector<int32_t> seq;
      for (int64_t i = 0; i < len; ++i) seq.push_back(static_cast<int32_t>(rng.below(static_cast<uint64_t>(c.vocab_size))));
      for (int64_t i = 0; i < len; ++i) tb.targets.push_back(i + 1 < len ? seq[i + 1] : -1);
      packed.push_back(std::move(seq));
    }
    tb.batch = llama::Batch::pack(packed);
    out.push_back(std::move(tb));
  }
  return out;
}

}  // namespace wb::bench
