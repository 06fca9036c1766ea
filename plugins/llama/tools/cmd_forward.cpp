// wb-engine forward: the logits of every position for a token list, written as raw
// little-endian float32 [T, vocab] (what reference tests compare against PyTorch).
#include <bit>
#include <iostream>
#include <memory>
#include <optional>

#include "commands.h"
#include "tool_util.h"
#include "wb/llama/adapter_io.h"
#include "wb/llama/file_io.h"
#include "wb/llama/forward.h"
#include "wb/llama/model_io.h"

namespace wb::engine_tool {
namespace {

static_assert(std::endian::native == std::endian::little, "raw float32 output assumes a little-endian host");

struct ForwardCmd {
  std::string model, adapter, tokens, out;
};

void run_forward(const ForwardCmd& o) {
  const llama::Model<float> m = llama::load_model<float>(o.model);
  std::optional<llama::LoraAdapter<float>> a;
  if (!o.adapter.empty()) a = llama::load_adapter(o.adapter, m.config);
  const std::vector<int32_t> ids = parse_id_list(o.tokens);
  llama::Workspace<float> ws;
  llama::forward(m, llama::Batch::pack({ids}), ws, llama::ForwardOptions{},
                 std::vector<const llama::LoraAdapter<float>*>{a ? &*a : nullptr});
  const auto* bytes = reinterpret_cast<const uint8_t*>(ws.logits.data());
  llama::write_file_atomic(o.out, std::span<const uint8_t>(bytes, ws.logits.size() * sizeof(float)));
  std::cout << "wrote " << ids.size() << " x " << m.config.vocab_size << " float32 logits to " << o.out << "\n";
}

}  // namespace

void add_forward(CLI::App& app) {
  auto o = std::make_shared<ForwardCmd>();
  CLI::App* cmd = app.add_subcommand("forward", "write the logits of every position as float32 [T, vocab]");
  cmd->add_option("--model", o->model, "HF model directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--tokens", o->tokens, "comma-separated token ids")->required();
  cmd->add_option("--adapter", o->adapter, "PEFT LoRA adapter directory")->check(CLI::ExistingDirectory);
  cmd->add_option("--out", o->out, "output file")->required();
  cmd->callback([o] { run_forward(*o); });
}

}  // namespace wb::engine_tool
