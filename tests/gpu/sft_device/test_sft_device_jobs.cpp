// Device selection through the real daemon and sft plugin (tests/sft's fixture): on a machine
// without a GPU, an sft or eval job asking for device "cuda" is refused at submission naming the
// field and the reason, and one asking for "auto" runs on the CPU, logging the choice and (for
// training) recording it in the result. With a GPU, auto runs there (the same log line says
// cuda); gpu/ compares such jobs with the CPU's.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "sft_fixture.h"

using namespace sfttest;

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

TEST_CASE("eval jobs: device cuda without a GPU is refused, auto generates on the CPU",
          "[sft][device][integration]") {
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
  CHECK(d.logged(auto_id, gpu ? "device: cuda (" : "device: cpu (auto: "));
  CHECK(d.result_line(auto_id).rfind("result {", 0) == 0);
  // Its responses are in its job directory, where gpu/ compares them across devices.
  CHECK(std::filesystem::exists(d.data_dir() / "jobs" / std::to_string(auto_id) / "eval_results.jsonl"));
}
