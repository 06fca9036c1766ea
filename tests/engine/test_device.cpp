// The engine's device rule (wb/llama/device.h), tested once here for every plugin: settings are
// auto|cpu|cuda; "cpu" is the CPU; CPU-only work stays on the CPU (refused when cuda was asked
// for by name, noted when cuda is only the default); "cuda" that cannot run here is refused with
// the reason (no backend in this build, no device answering), "auto" falls back to the CPU and
// says why; the memory-fit rule moves work the GPU cannot hold to the CPU unless cuda was asked
// for. Cases that need a GPU (or its absence) skip on the other kind of machine.
#include <catch2/catch.hpp>

#include <string>

#include "wb/llama/device.h"
#include "wb_skip.h"

using namespace wb::llama;
using wb::ErrorKind;

namespace {

bool gpu_here() { return cuda_unavailable().empty(); }

// The DeviceError of choose_device (what and kind); empty what when it does not throw.
struct Refusal {
  std::string what, reason;
  ErrorKind kind = ErrorKind::internal;
};
Refusal refusal(const std::string& requested, const std::string& def, const std::string& cpu_only) {
  try {
    choose_device(requested, def, cpu_only);
  } catch (const DeviceError& e) {
    return {e.what(), e.reason(), e.kind()};
  }
  return {};
}

}  // namespace

TEST_CASE("device settings: cpu is the CPU, a bad value is refused, the request wins over the default", "[device]") {
  CHECK(valid_device_setting("auto"));
  CHECK(valid_device_setting("cpu"));
  CHECK(valid_device_setting("cuda"));
  CHECK_FALSE(valid_device_setting("gpu"));
  CHECK_FALSE(valid_device_setting(""));

  const DeviceChoice cpu = choose_device("cpu", "auto", "");
  CHECK_FALSE(cpu.cuda);
  CHECK(cpu.note == "cpu");
  CHECK(cpu.setting == "cpu");
  CHECK(cpu.reason.empty());
  CHECK(choose_device("", "cpu", "").setting == "cpu");
  CHECK(choose_device("auto", "cpu", "").setting == "auto");

  const Refusal bad = refusal("gpu", "auto", "");
  CHECK(bad.what == "expected one of auto, cpu, cuda, got 'gpu'");
  CHECK(bad.kind == ErrorKind::invalid_input);
  CHECK(refusal("", "tpu", "").what == "expected one of auto, cpu, cuda, got 'tpu'");
}

TEST_CASE("CPU-only work: refused on cuda by name, on the CPU under auto or a cuda default", "[device]") {
  const Refusal r = refusal("cuda", "auto", "LoRA with dropout");
  CHECK(r.what == "cuda: LoRA with dropout runs on the CPU only; set device to cpu or auto");
  CHECK(r.reason == "LoRA with dropout");
  CHECK(r.kind == ErrorKind::invalid_input);

  const DeviceChoice a = choose_device("auto", "cpu", "LoRA with dropout");
  CHECK_FALSE(a.cuda);
  CHECK(a.reason == "LoRA with dropout");  // the work's own reason first, on every machine
  if (gpu_here()) CHECK(a.note == "cpu (auto: LoRA with dropout runs on the CPU only)");

  // The default, not this work's request: it runs where it can.
  const DeviceChoice d = choose_device("", "cuda", "LoRA with dropout");
  CHECK_FALSE(d.cuda);
  CHECK(d.setting == "cuda");
  CHECK(d.note == "cpu (the daemon's device is cuda, but LoRA with dropout runs on the CPU only)");
  CHECK(d.reason == "LoRA with dropout");
}

TEST_CASE("a choice of the CPU is left alone by the memory rule", "[device]") {
  DeviceChoice cpu = choose_device("cpu", "auto", "");
  CHECK(fit_gpu_memory(cpu, "cpu", int64_t(1) << 42, true).empty());
  CHECK_FALSE(cpu.cuda);
  CHECK(cpu.note == "cpu");
}

TEST_CASE("without a GPU: cuda is refused with the reason, auto runs on the CPU and says why", "[device]") {
  if (gpu_here()) WB_SKIP("a CUDA device answers: the case for machines without one");
  const std::string why = cuda_unavailable();
  INFO(why);
  if (cuda_built()) {
    CHECK_THAT(why, Catch::StartsWith("no CUDA device answers ("));
  } else {
    CHECK(why == "this build of workbench has no CUDA backend (configure with -DWB_CUDA=ON)");
  }
  const Refusal r = refusal("cuda", "auto", "");
  CHECK(r.what == "cuda: " + why + "; set device to cpu or auto");
  CHECK(r.reason == why);
  CHECK(r.kind == ErrorKind::unsupported);
  CHECK(refusal("", "cuda", "").what == "cuda (the daemon's device setting): " + why + "; set device to cpu or auto");

  const DeviceChoice a = choose_device("auto", "cpu", "");
  CHECK_FALSE(a.cuda);
  CHECK(a.reason == why);
  CHECK_THAT(a.note, Catch::StartsWith(cuda_built() ? "cpu (auto: no CUDA device: " : "cpu (auto: this build has no CUDA backend)"));

  try {
    gpu_device_info();
    FAIL("gpu_device_info without a device must throw");
  } catch (const wb::EngineError& e) {
    CHECK(e.kind() == ErrorKind::unsupported);
  }
  // No device in use: no memory to check against.
  CHECK(gpu_memory_problem(int64_t(1) << 40, true).empty());
}

TEST_CASE("with a GPU: auto and cuda pick it, and a model it cannot hold moves to the CPU or is refused", "[device]") {
  if (!gpu_here()) WB_SKIP("no CUDA device answers");
  const DeviceChoice a = choose_device("auto", "cpu", "");
  CHECK(a.cuda);
  CHECK(a.note == "cuda (" + gpu_device_info().name + ")");
  CHECK(a.reason.empty());
  CHECK(choose_device("cuda", "cpu", "").cuda);
  CHECK(choose_device("", "cuda", "").cuda);
  CHECK(gpu_device_info().total_memory > 0);

  const int64_t huge = int64_t(1) << 40;  // 1.1T parameters: no GPU holds their training state
  CHECK(gpu_memory_problem(1000, true).empty());
  CHECK(gpu_memory_problem(1000, false).empty());
  CHECK_THAT(gpu_memory_problem(huge, true),
             Catch::StartsWith("full training of") && Catch::Contains("needs about") && Catch::Contains("GB"));
  CHECK_THAT(gpu_memory_problem(huge, false), Catch::StartsWith("training of"));
  CHECK_THAT(gpu_memory_problem(huge, false, "evaluation"), Catch::StartsWith("evaluation of"));

  DeviceChoice small = choose_device("cuda", "auto", "");
  CHECK(fit_gpu_memory(small, "cuda", 1000, false).empty());
  CHECK(small.cuda);
  DeviceChoice moved = choose_device("auto", "cpu", "");
  CHECK(fit_gpu_memory(moved, "auto", huge, false).empty());
  CHECK_FALSE(moved.cuda);
  CHECK_THAT(moved.note, Catch::StartsWith("cpu (auto: training of ") && Catch::Contains("needs about"));
  CHECK(moved.reason == gpu_memory_problem(huge, false));
  DeviceChoice asked = choose_device("cuda", "auto", "");
  CHECK_THAT(fit_gpu_memory(asked, "cuda", huge, false), Catch::StartsWith("training of "));
  CHECK(asked.cuda);  // unchanged: the caller refuses
}
