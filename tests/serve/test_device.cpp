// Where the serving engine runs (serve_device.h over the engine's wb/llama/device.h, model_options.h): the "device" and "gpu_dtype"
// options, "cuda" refused with the reason where this build or machine cannot serve on a GPU,
// "auto" falling back to the CPU and saying why, the CPU-only options refused on the GPU. Runs on
// every machine: where a GPU answers, the GPU side of each case is checked instead.
#include <catch2/catch.hpp>

#include <string>

#include "engine.h"
#include "serve_device.h"
#include "wb/plugin/error.h"
#include "wb/plugin/guard.h"
#include "serve_fixture.h"
#include "wb/llama/device.h"

using namespace servetest;
using wb::serve::choose_device;
using wb::serve::Engine;
using wb::serve::ModelOptions;
using wb::plugin::PluginError;

namespace {

// Whether this build and machine can serve on the GPU, and if not, the reason's key words.
bool gpu_here() { return wb::llama::cuda_unavailable().empty(); }

// "this build of workbench has no CUDA backend (...)" or "no CUDA device answers (...)".
std::string expected_reason() { return wb::llama::cuda_unavailable(); }

ModelOptions options(json extra) {
  json o = {{"path", "/nonexistent/model"}};
  for (auto& [k, v] : extra.items()) o[k] = v;
  return ModelOptions::from_json(o);
}

// The status and message f's exception crosses the C ABI with (the kit's guard); WB_OK and ""
// when it does not throw.
std::pair<wb_status, std::string> error_of(const std::function<void()>& f) {
  wb_error err{};
  const wb_status st = wb::plugin::guarded(&err, [&] {
    f();
    return WB_OK;
  });
  return {st, err.message};
}

}  // namespace

TEST_CASE("load_model parses device and gpu_dtype and refuses bad values naming the field") {
  const ModelOptions d = options({});
  CHECK(d.device == "cpu");  // the default: deterministic everywhere
  CHECK(d.gpu_dtype == "bf16");
  CHECK_FALSE(d.batch_invariant);  // off unless asked for, as in other servers
  CHECK_FALSE(d.batch_invariant_given);
  CHECK(options({{"batch_invariant", true}}).batch_invariant_given);
  CHECK(options({{"device", "cuda"}, {"gpu_dtype", "fp32"}}).gpu_dtype == "fp32");
  CHECK(options({{"device", "cuda"}}).to_json()["gpu_dtype"] == "bf16");

  auto [st, msg] = error_of([] { options({{"device", "gpu"}}); });
  CHECK(st == WB_INVALID);
  CHECK(msg == "field 'device': expected one of cpu, cuda, auto, got \"gpu\"");
  std::tie(st, msg) = error_of([] { options({{"device", 1}}); });
  CHECK(st == WB_INVALID);
  CHECK(msg == "field 'device': expected one of cpu, cuda, auto, got 1");
  std::tie(st, msg) = error_of([] { options({{"gpu_dtype", "fp16"}}); });
  CHECK(st == WB_INVALID);
  CHECK(msg == "field 'gpu_dtype': expected one of bf16, fp32, got \"fp16\"");
}

TEST_CASE("device cpu serves on the CPU, cuda is refused with the reason where no GPU serves") {
  const auto cpu = choose_device(options({{"device", "cpu"}}));
  CHECK_FALSE(cpu.cuda);
  CHECK(cpu.note.empty());

  if (gpu_here()) {  // the GPU machine: cuda is accepted
    CHECK(choose_device(options({{"device", "cuda"}})).cuda);
    return;
  }
  const auto [st, msg] = error_of([] { choose_device(options({{"device", "cuda"}})); });
  CHECK(st == WB_INVALID);
  CHECK_THAT(msg, Catch::Contains("\"device\"") && Catch::Contains("cuda") && Catch::Contains(expected_reason()));
  INFO(msg);
  CHECK(expected_reason().size() > 30);  // the probe explains itself
}

TEST_CASE("device auto falls back to the CPU and says why") {
  const auto a = choose_device(options({{"device", "auto"}}));
  if (gpu_here()) {
    CHECK(a.cuda);
    CHECK(a.note.empty());
  } else {
    CHECK_FALSE(a.cuda);
    CHECK_THAT(a.note, Catch::StartsWith("device \"auto\" serves on the CPU: ") && Catch::Contains(expected_reason()));
  }
  // A CPU-only option keeps "auto" on the CPU on every machine.
  const auto inv = choose_device(options({{"device", "auto"}, {"batch_invariant", true}}));
  CHECK_FALSE(inv.cuda);
  CHECK_THAT(inv.note, Catch::Contains("batch_invariant"));
  const auto tile = choose_device(options({{"device", "auto"}, {"row_tile", 8}}));
  CHECK_FALSE(tile.cuda);
  CHECK_THAT(tile.note, Catch::Contains("row_tile"));
  // batch_invariant false (the GPU's own setting) does not keep it off the GPU.
  CHECK(choose_device(options({{"device", "auto"}, {"batch_invariant", false}})).cuda == gpu_here());
}

TEST_CASE("device cuda refuses the CPU-only options explicitly on every machine") {
  auto [st, msg] = error_of([] { choose_device(options({{"device", "cuda"}, {"batch_invariant", true}})); });
  CHECK(st == WB_INVALID);
  CHECK_THAT(msg, Catch::Contains("\"batch_invariant\": true cannot be honoured on the GPU") &&
                      Catch::Contains("cuBLAS"));
  std::tie(st, msg) = error_of([] { choose_device(options({{"device", "cuda"}, {"row_tile", 4}})); });
  CHECK(st == WB_INVALID);
  CHECK_THAT(msg, Catch::Contains("\"row_tile\""));
}

TEST_CASE("the engine reports the device it serves on, auto gives the CPU engine tokens here") {
  TempDir dir("wb-serve-device");
  const auto c = tiny_config();
  const fs::path model = write_model(dir / "model", c, 11);
  auto make = [&](const std::string& device) {
    return std::make_unique<Engine>(
        ModelOptions::from_json({{"name", "tiny"}, {"path", model.string()}, {"device", device}, {"max_batch", 2}}));
  };
  // cuda: refused before the model is read (a missing path still names the device) unless a GPU serves.
  if (!gpu_here()) {
    const auto [st, msg] = error_of([&] {
      Engine e(ModelOptions::from_json({{"path", (dir / "missing").string()}, {"device", "cuda"}}));
    });
    CHECK(st == WB_INVALID);
    CHECK_THAT(msg, Catch::Contains("\"device\" \"cuda\" cannot serve here"));
  }
  auto cpu = make("cpu");
  const json sc = cpu->stats();
  CHECK(sc["device"] == "cpu");
  CHECK(sc["device_requested"] == "cpu");
  CHECK(sc["device_name"] == "cpu");
  CHECK_FALSE(sc.contains("device_note"));
  CHECK(sc["batch_invariant"] == false);
  CHECK(cpu->device() == "cpu");
  if (gpu_here()) return;  // tests/serve/gpu compares the GPU engine with the CPU's

  auto aut = make("auto");
  const json sa = aut->stats();
  CHECK(sa["device"] == "cpu");
  CHECK(sa["device_requested"] == "auto");
  CHECK_THAT(sa["device_note"].get<std::string>(), Catch::Contains(expected_reason()));
  CHECK(sa["batch_invariant"] == false);  // the CPU's default stays
  const json req = {{"prompt", {1, 20, 33, 47, 5}}, {"max_tokens", 12}, {"seed", 9}, {"ignore_eos", true}};
  Collector a, b;
  cpu->submit(req, [&](const std::string& ev) { return a.on_event(ev); });
  aut->submit(req, [&](const std::string& ev) { return b.on_event(ev); });
  CHECK(a.wait()["finish_reason"] == "length");
  CHECK(b.wait()["finish_reason"] == "length");
  CHECK(a.tokens.size() == 12);
  CHECK(a.tokens == b.tokens);
  CHECK(a.logprobs == b.logprobs);
}
