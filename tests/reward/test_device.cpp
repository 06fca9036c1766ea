// The reward plugin's device fields and its wiring of the engine's rule (the kit's
// wb/plugin/device.h over wb/llama/device.h, whose rule tests/engine/test_device.cpp checks), on
// every machine: the reward job spec and the reward.score request parse
// "device" strictly; LoRA dropout (the spec's or the continued adapter's) keeps a job on the CPU;
// "cuda" that cannot run is refused naming the field and the reason; "auto" falls back to the
// CPU with a note saying why; a daemon-wide "cuda" default does not fail CPU-only work. (On a
// machine with a GPU and the CUDA build, "auto" and "cuda" pick the GPU: checked too.)
#include <catch2/catch.hpp>

#include <string>

#include "requests.h"
#include "reward_spec.h"
#include "wb/plugin/spec.h"
#include "sft_fixture.h"  // gpu_here()
#include "wb/plugin/device.h"  // the daemon default
#include "wb_skip.h"

using namespace wb::reward;
using nlohmann::json;
using sfttest::gpu_here;
using wb::plugin::choose_device;

namespace {

// The daemon default is process-wide: the case puts it back.
struct DefaultDevice {
  explicit DefaultDevice(const std::string& d) { wb::plugin::set_default_device(d); }
  ~DefaultDevice() { wb::plugin::set_default_device("auto"); }
};

std::string refusal(const std::string& requested, const std::string& cpu_only) {
  try {
    choose_device(requested, cpu_only);
  } catch (const wb::plugin::SpecError& e) {
    return e.what();
  }
  return "";
}

const json kSpec = {{"model", "m"}, {"head", "helpfulness"}, {"datasets", {"d"}}, {"output", "o"}};

}  // namespace

TEST_CASE("reward device: cuda refused with the reason, auto on the CPU with the note, the daemon default", "[reward][device]") {
  json drop = kSpec;
  drop["dropout"] = 0.1;
  const std::string cpu_only = reward_cpu_only(parse_reward_spec(drop), nullptr);
  REQUIRE(cpu_only == "LoRA with dropout");
  const std::string ok = reward_cpu_only(parse_reward_spec(kSpec), nullptr);
  REQUIRE(ok.empty());

  CHECK_FALSE(choose_device("cpu", ok).cuda);
  const wb::llama::DeviceChoice a = choose_device("auto", ok);
  if (gpu_here()) {
    CHECK(a.cuda);
    CHECK(a.note.rfind("cuda (", 0) == 0);
  } else {
    CHECK_FALSE(a.cuda);
    CHECK(a.note.rfind("cpu (auto: ", 0) == 0);
    const std::string e = refusal("cuda", ok);
    CHECK_THAT(e, Catch::StartsWith("field 'device': cuda: "));
    CHECK_THAT(e, Catch::Contains(wb::llama::cuda_built() ? "no CUDA device answers" : "no CUDA backend"));
  }
  CHECK(refusal("cuda", cpu_only) ==
        "field 'device': cuda: LoRA with dropout runs on the CPU only; set device to cpu or auto");
  CHECK_FALSE(choose_device("auto", cpu_only).cuda);
  {
    DefaultDevice d("cuda");  // the daemon's setting, not the job's: CPU-only work runs on the CPU
    const wb::llama::DeviceChoice c = choose_device("", cpu_only);
    CHECK_FALSE(c.cuda);
    CHECK(c.note == "cpu (the daemon's device is cuda, but LoRA with dropout runs on the CPU only)");
  }
  {
    DefaultDevice d("cpu");
    CHECK(choose_device("", ok).setting == "cpu");
    CHECK(choose_device("auto", ok).setting == "auto");  // the request wins over the default
  }
}

TEST_CASE("reward device: a base the GPU cannot hold moves to the CPU, or is refused when cuda was asked for", "[reward][device]") {
  wb::llama::DeviceChoice cpu = choose_device("cpu", "");
  wb::plugin::fit_gpu_memory(cpu, "cpu", int64_t(1) << 40, false);
  CHECK_FALSE(cpu.cuda);
  CHECK(cpu.note == "cpu");
}

TEST_CASE("reward device: on a GPU, a base it cannot hold moves to the CPU, or is refused naming the field", "[reward][device]") {
  if (!gpu_here()) WB_SKIP("no CUDA device answers: nothing to measure the base against");
  wb::llama::DeviceChoice small = choose_device("cuda", "");
  wb::plugin::fit_gpu_memory(small, "cuda", 1000, false);
  CHECK(small.cuda);
  const int64_t huge = int64_t(1) << 42;  // 16 TiB of fp32
  wb::llama::DeviceChoice a = choose_device("auto", "");
  wb::plugin::fit_gpu_memory(a, "auto", huge, false);
  CHECK_FALSE(a.cuda);
  CHECK_THAT(a.note, Catch::StartsWith("cpu (auto: training of ") && Catch::Contains("needs about"));
  wb::llama::DeviceChoice c = choose_device("cuda", "");
  CHECK_THROWS_WITH(wb::plugin::fit_gpu_memory(c, "cuda", huge, false), Catch::StartsWith("field 'device': cuda: training of "));
}

TEST_CASE("reward specs and score requests read device strictly, and a continued adapter's dropout counts", "[reward][device]") {
  CHECK(parse_reward_spec(kSpec).device.empty());
  json s = kSpec;
  s["device"] = "cuda";
  CHECK(parse_reward_spec(s).device == "cuda");
  s["device"] = "gpu";
  CHECK_THROWS_WITH(parse_reward_spec(s), Catch::Contains("field 'device'") && Catch::Contains("gpu"));
  s["device"] = 1;
  CHECK_THROWS_WITH(parse_reward_spec(s), Catch::Contains("field 'device'"));
  s["device"] = nullptr;  // null is absent: the daemon's default
  CHECK(parse_reward_spec(s).device.empty());

  wb::llama::LoraConfig continued;  // an SFT adapter's own settings decide when continuing it
  continued.lora_dropout = 0.05;
  CHECK(reward_cpu_only(parse_reward_spec(kSpec), &continued) == "LoRA with dropout");

  const json item = {{"rm", "r"}, {"items", {{{"prompt", "p"}, {"response", "x"}}}}};
  CHECK(parse_score(item).device.empty());
  json q = item;
  q["device"] = "cpu";
  CHECK(parse_score(q).device == "cpu");
  q["device"] = "metal";
  CHECK_THROWS_WITH(parse_score(q), Catch::Contains("field 'device'"));
  json ds = {{"rm", "r"}, {"dataset", "d"}, {"device", "auto"}};
  CHECK(parse_score(ds).device == "auto");
}
