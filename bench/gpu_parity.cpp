// Parity probe for scripts/gpu/parity.py: runs the GPU decoder (wb/llama/cuda/gpu_llama.h) on an HF
// checkpoint written by transformers, with an optional PEFT adapter, and writes what the script
// compares against transformers/PEFT:
//   <out>/logits_<dtype>.f32       logits [n, vocab], raw little-endian fp32
//   <out>/grad_<dtype>_<name>.f32  LoRA gradients of the mean token loss (adapter given)
//   <out>/result_<dtype>.json      {"loss": ..., "greedy": [...], "n": ..., "vocab": ...}
// Input JSON (--input): {"tokens": [...], "seq_lens": [...], "targets": [...],
// "prompt": [...], "new_tokens": k}. Without a device it prints {"skipped": ...} and exits 0.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "gpu_bench_util.h"
#include "wb/llama/cuda/gpu_llama.h"
#include "wb/cuda/device.h"
#include "wb/llama/lora.h"
#include "wb/llama/model_io.h"
#include "wb/llama/peft_adapter.h"

using namespace wb;
using namespace wb::gpu;
namespace fs = std::filesystem;

namespace {

void write_f32(const fs::path& p, const std::vector<float>& v) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(float)));
  if (!f) throw std::runtime_error("cannot write " + p.string());
}

template <typename T>
void probe(cuda::Context& ctx, const llama::Model<float>& base,
           const llama::LoraAdapter<float>* adapter, const nlohmann::json& in,
           const fs::path& out, const std::string& tag) {
  GpuLlama<T> m(ctx, base);
  if (adapter) m.set_lora(*adapter);
  const auto tokens = in.at("tokens").get<std::vector<int32_t>>();
  m.set_batch(tokens, in.at("seq_lens").get<std::vector<int32_t>>());
  m.forward();
  const auto logits = m.logits_host();
  write_f32(out / ("logits_" + tag + ".f32"), logits);
  nlohmann::json res;
  res["n"] = tokens.size();
  res["vocab"] = m.config().vocab_size;
  res["loss"] = m.loss_and_backward(in.at("targets").get<std::vector<int32_t>>(),
                                    adapter != nullptr);
  if (adapter) {
    const int64_t last = m.config().num_hidden_layers - 1;
    const struct { int64_t layer; int module; const char* name; } grads[] = {
        {0, 0, "l0_q_proj"}, {0, 2, "l0_v_proj"}, {last, 6, "last_down_proj"}};
    for (const auto& g : grads) {
      if (!adapter->pair(g.layer, llama::LoraModule(g.module))) continue;
      write_f32(out / ("grad_" + tag + "_" + g.name + "_A.f32"), m.lora_grad_host(g.layer, g.module, false));
      write_f32(out / ("grad_" + tag + "_" + g.name + "_B.f32"), m.lora_grad_host(g.layer, g.module, true));
    }
  }
  GpuLlama<T> plain(ctx, base);  // greedy decode of the base model (the KV-cache path)
  const auto gen = plain.generate({in.at("prompt").get<std::vector<int32_t>>()},
                                  in.at("new_tokens").get<int64_t>());
  res["greedy"] = gen.at(0);
  std::ofstream(out / ("result_" + tag + ".json")) << res.dump() << "\n";
}

int run(int argc, char** argv) {
  Args args(argc, argv, {{"model", ""}, {"adapter", ""}, {"input", ""}, {"out", ""},
                         {"dtype", "float32,bfloat16"}});
  if (!cuda::device_available()) {
    std::printf("{\"bench\":\"gpu_parity\",\"skipped\":\"no CUDA device: %s\"}\n",
                cuda::unavailable_reason().c_str());
    return 0;
  }
  for (const char* k : {"model", "input", "out"})
    if (args.str(k).empty()) throw std::invalid_argument(std::string("--") + k + " is required");
  const auto base = llama::load_model<float>(args.str("model"));
  std::optional<llama::LoraAdapter<float>> adapter;
  if (!args.str("adapter").empty())
    adapter = llama::LoraAdapter<float>::from_peft(llama::load_peft_adapter(args.str("adapter")),
                                                   base.config);
  std::ifstream f(args.str("input"));
  if (!f) throw std::runtime_error("cannot read " + args.str("input"));
  const auto in = nlohmann::json::parse(f);
  const fs::path out = args.str("out");
  fs::create_directories(out);
  cuda::Context ctx;
  const std::string dt = args.str("dtype");
  if (dt.find("float32") != std::string::npos)
    probe<float>(ctx, base, adapter ? &*adapter : nullptr, in, out, "float32");
  if (dt.find("bfloat16") != std::string::npos)
    probe<cuda::bf16>(ctx, base, adapter ? &*adapter : nullptr, in, out, "bfloat16");
  std::printf("{\"bench\":\"gpu_parity\",\"out\":\"%s\"}\n", out.string().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_parity: %s\n", e.what());
    return 1;
  }
}
