// wb-engine merge: W + scale * B A for every adapted weight, written as a new HF model directory.
#include <iostream>
#include <memory>

#include "commands.h"
#include "wb/llama/merge.h"

namespace wb::engine_tool {
namespace {

struct MergeCmd {
  std::string model, adapter, out, dtype = "f32";
};

}  // namespace

void add_merge(CLI::App& app) {
  auto o = std::make_shared<MergeCmd>();
  CLI::App* cmd = app.add_subcommand("merge", "merge a LoRA adapter into its base as a new model directory");
  cmd->add_option("--model", o->model, "base HF model directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--adapter", o->adapter, "PEFT LoRA adapter directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--out", o->out, "new model directory (must not exist)")->required();
  cmd->add_option("--dtype", o->dtype, "stored weight type: f32 (default, equals base + adapter), f16, bf16")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}));
  cmd->callback([o] {
    const llama::DType dt = o->dtype == "f16"    ? llama::DType::F16
                            : o->dtype == "bf16" ? llama::DType::BF16
                                                 : llama::DType::F32;
    llama::merge_adapter_to_directory(o->model, o->adapter, o->out, dt);
    std::cout << "merged " << o->adapter << " into " << o->out << "\n";
  });
}

}  // namespace wb::engine_tool
