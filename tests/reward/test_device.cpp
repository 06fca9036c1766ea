// The reward plugin's device choice (src/reward_device.h) and its "device" fields, on every
// machine: the reward job spec and the reward.score request parse "device" strictly; "cuda" that
// cannot run is refused naming the field and the reason; "auto" falls back to the CPU with a
// note saying why; a daemon-wide "cuda" default does not fail work that only the CPU runs.
// (On a machine with a GPU and the CUDA build, "auto" and "cuda" pick the GPU: checked too.)
#include <catch2/catch.hpp>

#include <string>

#include "requests.h"
#include "reward_device.h"
#include "reward_spec.h"
#include "spec_reader.h"
#include "train_device.h"

#ifdef WB_REWARD_CUDA
#include "wb/cuda/device.h"
#endif

using namespace wb::reward;
using nlohmann::json;

namespace {

bool gpu_here() {
#ifdef WB_REWARD_CUDA
  return wb::cuda::device_available();
#else
  return false;
#endif
}

// The daemon default is process-wide: every case puts it back.
struct DefaultDevice {
  explicit DefaultDevice(const std::string& d) { wb::sft::set_default_device(d); }
  ~DefaultDevice() { wb::sft::set_default_device("auto"); }
};

std::string refusal(const std::string& requested, const std::string& cpu_only = "") {
  try {
    choose_reward_device(requested, cpu_only);
  } catch (const wb::sft::SpecError& e) {
    return e.what();
  }
  return "";
}

const json kSpec = {{"model", "m"}, {"head", "helpfulness"}, {"datasets", {"d"}}, {"output", "o"}};

}  // namespace

TEST_CASE("reward device: cpu, auto and cuda, with the reason when cuda cannot run", "[reward][device]") {
  const RewardDevice cpu = choose_reward_device("cpu");
  CHECK_FALSE(cpu.cuda);
  CHECK(cpu.note == "cpu");
  CHECK(cpu.setting == "cpu");

  const RewardDevice a = choose_reward_device("auto");
  CHECK(a.setting == "auto");
  if (gpu_here()) {
    CHECK(a.cuda);
    CHECK(a.note.rfind("cuda (", 0) == 0);
    CHECK(choose_reward_device("cuda").cuda);
  } else {
    CHECK_FALSE(a.cuda);
    CHECK(a.note.rfind("cpu (auto: ", 0) == 0);
    CHECK_THAT(a.note, Catch::Contains(reward_cuda_built() ? "no CUDA device" : "this build has no CUDA backend"));
    const std::string e = refusal("cuda");
    CHECK_THAT(e, Catch::StartsWith("field 'device': cuda: "));
    CHECK_THAT(e, Catch::Contains(reward_cuda_built() ? "no CUDA device answers" : "no CUDA backend"));
    CHECK_THAT(e, Catch::EndsWith("set device to cpu or auto"));
  }
  // CPU-only work: refused when asked for by name, on the CPU with a note under auto.
  CHECK(refusal("cuda", "LoRA with dropout") ==
        "field 'device': cuda: LoRA with dropout runs on the CPU only; set device to cpu or auto");
  const RewardDevice drop = choose_reward_device("auto", "LoRA with dropout");
  CHECK_FALSE(drop.cuda);
  if (gpu_here()) CHECK(drop.note == "cpu (auto: LoRA with dropout runs on the CPU only)");
  CHECK_THAT(refusal("gpu"), Catch::Contains("field 'device': expected one of auto, cpu, cuda, got 'gpu'"));
}

TEST_CASE("reward device: the daemon's setting is the default, and its cuda never fails CPU-only work", "[reward][device]") {
  {
    DefaultDevice d("cpu");
    const RewardDevice c = choose_reward_device("");
    CHECK_FALSE(c.cuda);
    CHECK(c.setting == "cpu");
    CHECK(choose_reward_device("auto").setting == "auto");  // the request wins over the default
  }
  {
    DefaultDevice d("cuda");
    const RewardDevice c = choose_reward_device("", "LoRA with dropout");
    CHECK_FALSE(c.cuda);
    CHECK(c.note == "cpu (the daemon's device is cuda, but LoRA with dropout runs on the CPU only)");
    if (!gpu_here()) CHECK_THAT(refusal(""), Catch::StartsWith("field 'device': cuda (the daemon's device setting): "));
  }
  CHECK(wb::sft::default_device() == "auto");
  CHECK_THROWS_AS(wb::sft::set_default_device("tpu"), wb::sft::SpecError);
}

TEST_CASE("reward specs and score requests read device strictly, and dropout keeps a job on the CPU", "[reward][device]") {
  CHECK(parse_reward_spec(kSpec).device.empty());
  json s = kSpec;
  s["device"] = "cuda";
  CHECK(parse_reward_spec(s).device == "cuda");
  s["device"] = "gpu";
  CHECK_THROWS_WITH(parse_reward_spec(s), Catch::Contains("field 'device'") && Catch::Contains("gpu"));
  s["device"] = 1;
  CHECK_THROWS_WITH(parse_reward_spec(s), Catch::Contains("field 'device'"));

  json drop = kSpec;
  drop["dropout"] = 0.1;
  CHECK(reward_cpu_only(parse_reward_spec(drop), nullptr) == "LoRA with dropout");
  CHECK(reward_cpu_only(parse_reward_spec(kSpec), nullptr).empty());
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
