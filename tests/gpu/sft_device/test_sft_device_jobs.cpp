// Device selection through the real daemon and sft plugin (tests/sft's fixture): on a machine
// without a GPU, an sft job asking for device "cuda" is refused at submission naming the field
// and the reason, and one asking for "auto" trains on the CPU, logging the choice and recording
// it in the result. (With a GPU, auto trains LoRA there: the same log line says cuda.)
#include <catch2/catch.hpp>

#include <string>

#include "sft_fixture.h"
#include "train_device.h"

#ifdef WB_HAVE_CUDA
#include "wb/cuda/device.h"
#endif

using namespace sfttest;

TEST_CASE("sft jobs: device cuda without a GPU is refused, auto trains on the CPU", "[sft][device][integration]") {
  bool gpu = false;
#ifdef WB_HAVE_CUDA
  gpu = wb::sft::cuda_built() && wb::cuda::device_available();
#endif
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
