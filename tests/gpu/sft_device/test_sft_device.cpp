// The sft plugin's choice of device for training and eval jobs: the spec's "device" (or the
// daemon's default) is parsed strictly, "cuda" is refused with a message naming the field and the
// reason when it cannot run (no CUDA backend in this build, no device answering, or LoRA dropout,
// which only the CPU trains), and "auto" falls back to the CPU saying why. Pretraining, full SFT
// and LoRA SFT all go to the GPU where one answers. (The rule itself, and the memory-fit rule, are
// the engine's: tests/engine/test_device.cpp.)
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "sft_fixture.h"  // gpu_here()
#include "wb/plugin/spec.h"
#include "specs.h"
#include "train_device.h"
#include "wb/plugin/device.h"

using nlohmann::json;
using namespace wb::sft;
using sfttest::gpu_here;
using wb::plugin::SpecError;

namespace {

json lora_spec(const std::string& device = "") {
  json j = {{"model", "base"}, {"dataset", "chat"}, {"output", "out"}, {"method", "lora"}};
  if (!device.empty()) j["device"] = device;
  return j;
}

json eval_spec(const std::string& device = "") {
  json j = {{"model", "base"}, {"dataset", "chat"}};
  if (!device.empty()) j["device"] = device;
  return j;
}

json pretrain_spec(const std::string& device = "") {
  json j = {{"model", "base"}, {"dataset", "text"}, {"output", "out"}};
  if (!device.empty()) j["device"] = device;
  return j;
}

}  // namespace

TEST_CASE("train specs accept device auto|cpu|cuda and nothing else", "[sft][device]") {
  CHECK(parse_train_spec("sft", lora_spec()).device.empty());
  CHECK(parse_train_spec("sft", lora_spec("cpu")).device == "cpu");
  CHECK(parse_train_spec("sft", lora_spec("cuda")).device == "cuda");
  CHECK_THROWS_WITH(parse_train_spec("sft", lora_spec("gpu")),
                    Catch::Contains("device") && Catch::Contains("expected one of auto, cpu, cuda"));
  json bad = lora_spec();
  bad["device"] = 1;
  CHECK_THROWS_AS(parse_train_spec("sft", bad), SpecError);
  CHECK_THROWS_WITH(wb::plugin::set_default_device("tpu"), Catch::Contains("device"));
}

TEST_CASE("device cpu trains on the CPU, auto picks the GPU whenever one answers", "[sft][device]") {
  const wb::llama::DeviceChoice cpu = choose_train_device(parse_train_spec("sft", lora_spec("cpu")));
  CHECK_FALSE(cpu.cuda);
  CHECK(cpu.note == "cpu");
  const wb::llama::DeviceChoice a = choose_train_device(parse_train_spec("sft", lora_spec("auto")));
  CHECK(a.cuda == gpu_here());
  if (!gpu_here()) CHECK(a.note.rfind("cpu (auto: ", 0) == 0);
  // Full SFT and pretraining go where LoRA SFT goes.
  json full = lora_spec("auto");
  full["method"] = "full";
  const wb::llama::DeviceChoice f = choose_train_device(parse_train_spec("sft", full));
  CHECK(f.cuda == gpu_here());
  const wb::llama::DeviceChoice p = choose_train_device(parse_train_spec("pretrain", pretrain_spec("auto")));
  CHECK(p.cuda == gpu_here());
  if (!gpu_here()) {
    CHECK(f.note == a.note);
    CHECK(p.note == a.note);
  }
  // LoRA dropout stays on the CPU under auto, and says so (where a GPU would otherwise be used).
  json dropout = lora_spec("auto");
  dropout["dropout"] = 0.1;
  const wb::llama::DeviceChoice d = choose_train_device(parse_train_spec("sft", dropout));
  CHECK_FALSE(d.cuda);
  if (gpu_here()) CHECK_THAT(d.note, Catch::Contains("LoRA with dropout"));
}

TEST_CASE("device cuda is refused with a clear message where it cannot run", "[sft][device]") {
  json dropout = lora_spec("cuda");
  dropout["dropout"] = 0.1;
  CHECK_THROWS_WITH(choose_train_device(parse_train_spec("sft", dropout)),
                    Catch::Contains("field 'device'") && Catch::Contains("LoRA with dropout") &&
                        Catch::Contains("runs on the CPU only"));
  json full = lora_spec("cuda");
  full["method"] = "full";
  for (const TrainSpec& s : {parse_train_spec("sft", lora_spec("cuda")), parse_train_spec("sft", full),
                             parse_train_spec("pretrain", pretrain_spec("cuda"))}) {
    INFO(s.kind << " " << s.method);
    if (gpu_here()) {
      CHECK(choose_train_device(s).cuda);
    } else {
      // This machine: no CUDA backend in the build, or no device answering.
      CHECK_THROWS_WITH(choose_train_device(s),
                        Catch::Contains("field 'device'") &&
                            (Catch::Contains("no CUDA backend") || Catch::Contains("no CUDA device")));
    }
  }
}

TEST_CASE("eval specs take a device too: cuda refused without a GPU, auto on the CPU", "[sft][device]") {
  CHECK(parse_eval_spec(eval_spec()).device.empty());
  CHECK(parse_eval_spec(eval_spec("cuda")).device == "cuda");
  CHECK_THROWS_WITH(parse_eval_spec(eval_spec("gpu")),
                    Catch::Contains("device") && Catch::Contains("expected one of auto, cpu, cuda"));
  CHECK(choose_eval_device(parse_eval_spec(eval_spec("cpu"))).note == "cpu");
  const wb::llama::DeviceChoice a = choose_eval_device(parse_eval_spec(eval_spec("auto")));
  CHECK(a.cuda == gpu_here());
  if (gpu_here()) {
    CHECK(choose_eval_device(parse_eval_spec(eval_spec("cuda"))).cuda);
  } else {
    CHECK(a.note.rfind("cpu (auto: ", 0) == 0);
    CHECK_THROWS_WITH(choose_eval_device(parse_eval_spec(eval_spec("cuda"))),
                      Catch::Contains("field 'device'") &&
                          (Catch::Contains("no CUDA backend") || Catch::Contains("no CUDA device")));
  }
}

TEST_CASE("the daemon's device is the default of specs without one", "[sft][device]") {
  wb::plugin::set_default_device("cpu");
  CHECK(choose_train_device(parse_train_spec("sft", lora_spec())).note == "cpu");
  CHECK(choose_train_device(parse_train_spec("sft", lora_spec())).setting == "cpu");
  CHECK(choose_eval_device(parse_eval_spec(eval_spec())).note == "cpu");
  // A daemon-wide "cuda" does not fail jobs only the CPU trains: they run there, saying why.
  wb::plugin::set_default_device("cuda");
  json dropout = lora_spec();
  dropout["dropout"] = 0.1;
  const wb::llama::DeviceChoice d = choose_train_device(parse_train_spec("sft", dropout));
  CHECK_FALSE(d.cuda);
  CHECK_THAT(d.note, Catch::Contains("the daemon's device is cuda") && Catch::Contains("LoRA with dropout"));
  if (!gpu_here()) {
    CHECK_THROWS_WITH(choose_train_device(parse_train_spec("pretrain", pretrain_spec())),
                      Catch::Contains("the daemon's device setting"));
    CHECK_THROWS_WITH(choose_eval_device(parse_eval_spec(eval_spec())),
                      Catch::Contains("the daemon's device setting"));
  }
  wb::plugin::set_default_device("auto");
}
