// The serving engine on the GPU (device "cuda", gpu::GpuDecoder behind the same loop) against the
// CPU engine on a tiny model written by the test: greedy and seeded sampled tokens of concurrent
// requests on different adapters (prompts long enough to be chunked) equal in fp32; streaming and
// cancellation (from the callback, by cancel(), queued) with slots released for later requests;
// an adapter reloaded and unloaded while requests run, the device bytes following; bf16 serving.
// Skipped without a GPU.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>

#include "../../gpu/gpu_test_util.h"  // require_device()
#include "engine.h"
#include "wb/plugin/error.h"
#include "serve_fixture.h"

using namespace servetest;
using wb::serve::Engine;
using wb::serve::ModelOptions;
using wb::plugin::PluginError;
using wb::cuda::test::require_device;

namespace {

std::unique_ptr<Engine> make_engine(const fs::path& model, const std::string& device, int64_t max_batch = 4,
                                    const std::string& dtype = "fp32") {
  json o = {{"name", "tiny"},     {"path", model.string()}, {"device", device},     {"max_batch", max_batch},
            {"max_adapters", 8},  {"max_rank", 16},         {"prefill_chunk", 8},   {"prefill_budget", 16}};
  if (device == "cuda") o["gpu_dtype"] = dtype;
  return std::make_unique<Engine>(ModelOptions::from_json(o));
}

json greedy(const std::vector<int32_t>& p, const std::string& model, int64_t max_tokens) {
  return {{"prompt", p}, {"model", model}, {"temperature", 0}, {"max_tokens", max_tokens}, {"ignore_eos", true}};
}

// Submits every request at once (so they share steps) and returns each one's tokens.
std::vector<Collector> run_all(Engine& e, const std::vector<json>& reqs) {
  std::vector<Collector> cs(reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i)
    e.submit(reqs[i], [&cs, i](const std::string& ev) { return cs[i].on_event(ev); });
  for (auto& c : cs) CHECK(c.wait()["finish_reason"] == "length");
  return cs;
}

}  // namespace

TEST_CASE("on the GPU concurrent requests on different adapters get the CPU engine's greedy tokens") {
  require_device();
  Setup s{"wb-serve-gpu"};
  auto cpu = make_engine(s.model_dir, "cpu");
  auto gpu = make_engine(s.model_dir, "cuda");
  const json st = gpu->stats();
  CHECK(st["device"] == "cuda");
  CHECK(st["device_requested"] == "cuda");
  CHECK(st["device_name"] == wb::cuda::device_info().name);
  CHECK(st["batch_invariant"] == false);  // the GPU's default
  CHECK(st["gpu_dtype"] == "fp32");
  for (Engine* e : {cpu.get(), gpu.get()}) {
    e->registry().load("a", write_adapter(s.dir / "a", s.config, 1), 1.0);
    e->registry().load("b", write_adapter(s.dir / "b", s.config, 2, 8), 1.0);
  }
  // fp32 on the device: the same bytes as the host tensors.
  CHECK(gpu->registry().bytes() == cpu->registry().bytes());

  // Eight requests over four slots: prompts of 5..29 tokens (1..4 chunks of 8), base and both
  // adapters, one at adapter_scale 0.5; the later ones wait for slots and reuse them.
  std::vector<json> reqs = {greedy(prompt(5, 1), "tiny", 16),  greedy(prompt(29, 2), "a", 16),
                            greedy(prompt(12, 3), "b", 16),    greedy(prompt(9, 4), "a", 16),
                            greedy(prompt(17, 5), "b", 16),    greedy(prompt(8, 6), "tiny", 16)};
  reqs[3]["adapter_scale"] = 0.5;
  // Two seeded samplers: the draws are the CPU's, from logits within float rounding of the CPU's.
  reqs.push_back(greedy(prompt(11, 7), "a", 16));
  reqs.back()["temperature"] = 0.8;
  reqs.back()["seed"] = 7;
  reqs.push_back(greedy(prompt(6, 8), "tiny", 16));
  reqs.back()["temperature"] = 1.0;
  reqs.back()["top_p"] = 0.9;
  reqs.back()["seed"] = 8;
  const auto want = run_all(*cpu, reqs);
  const auto got = run_all(*gpu, reqs);
  for (size_t i = 0; i < reqs.size(); ++i) {
    INFO("request " << i);
    CHECK(got[i].tokens.size() == 16);
    CHECK(got[i].tokens == want[i].tokens);
    REQUIRE(got[i].logprobs.size() == want[i].logprobs.size());
    for (size_t k = 0; k < got[i].logprobs.size(); ++k) CHECK(std::fabs(got[i].logprobs[k] - want[i].logprobs[k]) < 1e-3);
  }
  // The adapters matter: the same prompt with a, with b and without differ.
  const auto diff = run_all(*gpu, {greedy(prompt(9, 4), "tiny", 16), greedy(prompt(9, 4), "b", 16)});
  CHECK(diff[0].tokens != got[3].tokens);
  CHECK(diff[1].tokens != diff[0].tokens);
  CHECK(gpu->stats()["running"] == 0);
}

TEST_CASE("on the GPU streaming and cancellation work and free the slots") {
  require_device();
  Setup s{"wb-serve-gpu"};
  auto e = make_engine(s.model_dir, "cuda", /*max_batch=*/2);
  const json long_req = greedy(prompt(6, 2), "tiny", 200);
  // Cancelled by cancel() from inside the callback after 3 tokens.
  Collector by_id;
  uint64_t id = 0;
  std::atomic<bool> id_set{false};
  id = e->submit(long_req, [&](const std::string& ev) {
    const bool keep = by_id.on_event(ev);
    if (by_id.tokens.size() >= 3 && id_set) e->cancel(id);
    return keep;
  });
  id_set = true;
  // Cancelled by the callback's answer on its first event.
  Collector gone;
  gone.keep_going = false;
  e->submit(long_req, [&](const std::string& ev) { return gone.on_event(ev); });
  // Queued behind both, cancelled before it runs.
  Collector queued;
  const uint64_t qid = e->submit(long_req, [&](const std::string& ev) { return queued.on_event(ev); });
  e->cancel(qid);
  CHECK(by_id.wait()["finish_reason"] == "cancelled");
  CHECK(gone.wait()["finish_reason"] == "cancelled");
  CHECK(queued.wait()["finish_reason"] == "cancelled");
  CHECK(gone.tokens.size() == 1);
  CHECK(by_id.tokens.size() >= 3);
  CHECK(by_id.tokens.size() < 200);
  // Tokens streamed one event at a time, each with its logprob.
  CHECK(by_id.events == int(by_id.tokens.size()) + 1);
  for (double lp : by_id.logprobs) CHECK((std::isfinite(lp) && lp <= 0.0));
  // Both slots are free again: four more requests (two at a time) run to the end.
  const auto more = run_all(*e, {greedy(prompt(7, 1), "tiny", 5), greedy(prompt(7, 2), "tiny", 5),
                                 greedy(prompt(7, 3), "tiny", 5), greedy(prompt(7, 4), "tiny", 5)});
  for (const auto& c : more) CHECK(c.tokens.size() == 5);
  CHECK(e->stats()["running"] == 0);
  CHECK(e->stats()["metrics"]["requests_finished"]["cancelled"] == 3);
}

TEST_CASE("on the GPU an adapter reloads and unloads while requests run") {
  require_device();
  Setup s{"wb-serve-gpu"};
  auto e = make_engine(s.model_dir, "cuda");
  auto& reg = e->registry();
  const fs::path v1_dir = write_adapter(s.dir / "v1", s.config, 1), v2_dir = write_adapter(s.dir / "v2", s.config, 2);
  const json req = greedy(prompt(12, 9), "a", 20);
  std::vector<int32_t> ref1, ref2;
  for (auto [dir, out] : {std::pair{v1_dir, &ref1}, std::pair{v2_dir, &ref2}}) {
    reg.load("a", dir, 1.0);
    *out = run_all(*e, {req})[0].tokens;
  }
  REQUIRE(ref1 != ref2);
  const int64_t one = reg.bytes();

  const uint64_t v1 = reg.load("a", v1_dir, 1.0)->version;
  Gate gate;
  Collector running;
  e->submit(req, [&](const std::string& ev) {
    if (running.events == 3) gate.wait_open();  // hold the decode thread mid-request
    return running.on_event(ev);
  });
  gate.wait_arrived();
  const uint64_t v2 = reg.load("a", v2_dir, 1.0)->version;  // v1's device copy stays for `running`
  CHECK(reg.bytes() == 2 * one);
  Collector fresh;
  e->submit(req, [&](const std::string& ev) { return fresh.on_event(ev); });
  reg.unload("a");  // v2 stays for `fresh`; new requests are refused at once
  try {
    e->submit(req, [](const std::string&) { return true; });
    FAIL("a request for an unloaded adapter was accepted");
  } catch (const PluginError& err) {
    CHECK(err.status() == WB_NOT_FOUND);
  }
  gate.open();
  CHECK(running.wait()["adapter_version"] == v1);
  CHECK(fresh.wait()["adapter_version"] == v2);
  CHECK(running.tokens == ref1);
  CHECK(fresh.tokens == ref2);
  wait_bytes(reg, 0);
  CHECK(reg.bytes() == 0);  // both device copies freed with their last request
}

TEST_CASE("on the GPU bf16 storage serves, with adapters counted in device bytes") {
  require_device();
  Setup s{"wb-serve-gpu"};
  auto e = make_engine(s.model_dir, "cuda", 4, "bf16");
  CHECK(e->stats()["gpu_dtype"] == "bf16");
  const auto a = random_adapter(s.config, 1);
  e->registry().load("a", write_adapter(s.dir / "a", s.config, 1), 1.0);
  CHECK(e->registry().bytes() == a.numel() * 2);
  const auto out = run_all(*e, {greedy(prompt(20, 1), "a", 12), greedy(prompt(5, 2), "tiny", 12)});
  for (const auto& c : out) {
    CHECK(c.tokens.size() == 12);
    for (double lp : c.logprobs) CHECK((std::isfinite(lp) && lp <= 0.0));
  }
  // A bad gpu_dtype never reaches the device.
  CHECK_THROWS_AS(make_engine(s.model_dir, "cuda", 4, "fp16"), PluginError);
}
