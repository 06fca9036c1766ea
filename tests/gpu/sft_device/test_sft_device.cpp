// The sft plugin's choice of training device: the spec's "device" (or the daemon's default) is
// parsed strictly, "cuda" is refused with a message naming the field and the reason when it
// cannot run (no CUDA backend in this build, no device answering, or a job only the CPU trains),
// and "auto" falls back to the CPU saying why.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "spec_reader.h"
#include "specs.h"
#include "train_device.h"

#ifdef WB_HAVE_CUDA
#include "wb/cuda/device.h"
#endif

using nlohmann::json;
using namespace wb::sft;

namespace {

json lora_spec(const std::string& device = "") {
  json j = {{"model", "base"}, {"dataset", "chat"}, {"output", "out"}, {"method", "lora"}};
  if (!device.empty()) j["device"] = device;
  return j;
}

bool gpu_here() {
#ifdef WB_HAVE_CUDA
  return cuda_built() && wb::cuda::device_available();
#else
  return false;
#endif
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
  CHECK_THROWS_WITH(set_default_device("tpu"), Catch::Contains("device"));
}

TEST_CASE("device cpu trains on the CPU, auto picks the GPU only when one answers", "[sft][device]") {
  const DeviceChoice cpu = choose_train_device(parse_train_spec("sft", lora_spec("cpu")));
  CHECK_FALSE(cpu.cuda);
  CHECK(cpu.note == "cpu");
  const DeviceChoice a = choose_train_device(parse_train_spec("sft", lora_spec("auto")));
  CHECK(a.cuda == gpu_here());
  if (!gpu_here()) CHECK(a.note.rfind("cpu (auto: ", 0) == 0);
  // Full SFT and pretraining stay on the CPU under auto, and say so.
  json full = lora_spec("auto");
  full["method"] = "full";
  const DeviceChoice f = choose_train_device(parse_train_spec("sft", full));
  CHECK_FALSE(f.cuda);
  if (gpu_here()) CHECK_THAT(f.note, Catch::Contains("full SFT"));
}

TEST_CASE("device cuda is refused with a clear message where it cannot run", "[sft][device]") {
  json full = lora_spec("cuda");
  full["method"] = "full";
  CHECK_THROWS_WITH(choose_train_device(parse_train_spec("sft", full)),
                    Catch::Contains("field 'device'") && Catch::Contains("LoRA SFT only") &&
                        Catch::Contains("full SFT"));
  json dropout = lora_spec("cuda");
  dropout["dropout"] = 0.1;
  CHECK_THROWS_WITH(choose_train_device(parse_train_spec("sft", dropout)),
                    Catch::Contains("LoRA with dropout"));
  if (gpu_here()) {
    CHECK(choose_train_device(parse_train_spec("sft", lora_spec("cuda"))).cuda);
  } else {
    // This machine: no CUDA backend in the build, or no device answering.
    CHECK_THROWS_WITH(choose_train_device(parse_train_spec("sft", lora_spec("cuda"))),
                      Catch::Contains("field 'device'") &&
                          (Catch::Contains("no CUDA backend") || Catch::Contains("no CUDA device")));
  }
}

TEST_CASE("the daemon's device is the default of specs without one", "[sft][device]") {
  set_default_device("cpu");
  CHECK(choose_train_device(parse_train_spec("sft", lora_spec())).note == "cpu");
  CHECK(choose_train_device(parse_train_spec("sft", lora_spec())).setting == "cpu");
  // A daemon-wide "cuda" does not fail jobs only the CPU trains: they run there, saying why.
  set_default_device("cuda");
  const DeviceChoice p = choose_train_device(parse_train_spec("pretrain", {{"model", "base"},
                                                                           {"dataset", "text"},
                                                                           {"output", "out"}}));
  CHECK_FALSE(p.cuda);
  CHECK_THAT(p.note, Catch::Contains("the daemon's device is cuda") && Catch::Contains("pretraining"));
  if (!gpu_here())
    CHECK_THROWS_WITH(choose_train_device(parse_train_spec("sft", lora_spec())),
                      Catch::Contains("the daemon's device setting"));
  set_default_device("auto");
}
