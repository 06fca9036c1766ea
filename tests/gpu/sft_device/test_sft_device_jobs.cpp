// Device selection through the real daemon and sft plugin (tests/sft's fixture): on a machine
// without a GPU, an sft or eval job asking for device "cuda" is refused at submission naming the
// field and the reason, and one asking for "auto" runs on the CPU, logging the choice and (for
// training) recording it in the result. With a GPU, auto runs there (the same log line says
// cuda), and the GPU's full SFT losses and eval answers match a CPU run of the same spec.
#include <catch2/catch.hpp>

#include <string>

#include "sft_fixture.h"
#include "train_device.h"
#include "wb_skip.h"

#ifdef WB_HAVE_CUDA
#include "wb/cuda/device.h"
#endif

using namespace sfttest;

namespace {

bool gpu_here() {
#ifdef WB_HAVE_CUDA
  return wb::sft::cuda_built() && wb::cuda::device_available();
#else
  return false;
#endif
}

// Whether a job's log has a line starting with `prefix`; the text after "result " otherwise.
bool logged(SftDaemon& d, int64_t job, const std::string& prefix) {
  for (const auto& line : d.logs(job))
    if (line.rfind(prefix, 0) == 0) return true;
  return false;
}

std::string result_line(SftDaemon& d, int64_t job) {
  for (const auto& line : d.logs(job))
    if (line.rfind("result ", 0) == 0) return line;
  return "";
}

}  // namespace

TEST_CASE("sft jobs: device cuda without a GPU is refused, auto trains on the CPU", "[sft][device][integration]") {
  const bool gpu = gpu_here();
  SftDaemon d;
  d.import_sft("chat", "sft_train.jsonl", 0.2);
  d.init_tiny("base");
  const json spec = {{"model", "base"}, {"dataset", "chat"}, {"batch_size", 2}, {"context_length", 64},
                     {"max_steps", 3}, {"method", "lora"}, {"rank", 2}, {"eval_batches", 1}};
  if (!gpu) {
    json cuda = spec;
    cuda.update({{"device", "cuda"}, {"output", "on-cuda"}});
    try {
      d.submit("sft", cuda);
      FAIL("device cuda was accepted on a machine without a GPU");
    } catch (const std::exception& e) {
      CHECK_THAT(std::string(e.what()), Catch::Contains("device") && Catch::Contains("cuda") &&
                                            (Catch::Contains("no CUDA backend") || Catch::Contains("no CUDA device")));
    }
  }
  json a = spec;
  a.update({{"device", "auto"}, {"output", "on-auto"}});
  const json job = d.run_job("sft", a);
  bool logged = false, in_result = false;
  const std::string want = gpu ? "\"device\":\"cuda\"" : "\"device\":\"cpu\"";
  for (const auto& line : d.logs(job["id"])) {
    if (line.rfind(gpu ? "device: cuda (" : "device: cpu (auto: ", 0) == 0) logged = true;
    if (line.rfind("result ", 0) == 0 && line.find(want) != std::string::npos) in_result = true;
  }
  CHECK(logged);
  CHECK(in_result);
}

TEST_CASE("eval jobs: device cuda without a GPU is refused, auto generates on the CPU (or the GPU, "
          "with the CPU's answers)", "[sft][device][integration]") {
  const bool gpu = gpu_here();
  SftDaemon d;
  d.import_sft("chat", "sft_train.jsonl", 0.2);
  d.init_tiny("base");
  const json spec = {{"model", "base"}, {"dataset", "chat"}, {"max_tokens", 6}, {"limit", 5}, {"batch", 3}};
  if (!gpu) {
    json cuda = spec;
    cuda["device"] = "cuda";
    try {
      d.submit("eval", cuda);
      FAIL("device cuda was accepted on a machine without a GPU");
    } catch (const std::exception& e) {
      CHECK_THAT(std::string(e.what()), Catch::Contains("device") &&
                                            (Catch::Contains("no CUDA backend") || Catch::Contains("no CUDA device")));
    }
  }
  json a = spec;
  a["device"] = "auto";
  const int64_t auto_id = d.run_job("eval", a)["id"];
  CHECK(logged(d, auto_id, gpu ? "device: cuda (" : "device: cpu (auto: "));
  if (gpu) {
    // fp32 greedy on both: the same answers, so the same report.
    json c = spec;
    c["device"] = "cpu";
    const int64_t cpu_id = d.run_job("eval", c)["id"];
    CHECK(logged(d, cpu_id, "device: cpu"));
    CHECK(result_line(d, auto_id) == result_line(d, cpu_id));
    CHECK_FALSE(result_line(d, cpu_id).empty());
  }
}

TEST_CASE("full SFT on the GPU matches the CPU run of the same spec", "[sft][device][integration]") {
  if (!gpu_here()) WB_SKIP("no CUDA device: full SFT runs on the CPU here (covered by tests/sft)");
  SftDaemon d;
  d.import_sft("chat", "sft_train.jsonl", 0.2);
  d.init_tiny("base");
  json spec = {{"model", "base"}, {"dataset", "chat"}, {"batch_size", 2}, {"context_length", 64},
               {"max_steps", 4}, {"method", "full"}, {"eval_batches", 1}, {"log_every", 1}, {"lr", 1e-3}};
  json c = spec, g = spec;
  c.update({{"device", "cpu"}, {"output", "full-cpu"}});
  g.update({{"device", "cuda"}, {"output", "full-cuda"}});
  const int64_t cpu_id = d.run_job("sft", c)["id"];
  const int64_t gpu_id = d.run_job("sft", g)["id"];
  CHECK(logged(d, gpu_id, "device: cuda ("));
  CHECK(d.last_metric(gpu_id, "train_loss") == Approx(d.last_metric(cpu_id, "train_loss")).epsilon(1e-3));
  CHECK(d.last_metric(gpu_id, "eval_loss") == Approx(d.last_metric(cpu_id, "eval_loss")).epsilon(1e-3));
}
