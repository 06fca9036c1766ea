// model_jobs.h — the model-management jobs: model_init, model_import, model_export.
//
// model_init    random weights from a preset and/or HF config keys; the tokenizer is copied in
//               or trained (SentencePiece BPE, sp_trainer.h) on "tokenizer_corpus"; the vocab size
//               and special ids follow the tokenizer. Registered as <data_dir>/models/NAME.
// model_import  checks an HF Llama directory (config.json parses; every weight the config needs
//               is present in the safetensors with the right shape; tokenizer.model loads and its
//               vocabulary matches) and COPIES its files into <data_dir>/models/NAME, so the
//               registered model cannot change under the daemon.
// model_export  writes an HF directory (optionally with an adapter merged first) or a GGUF v3
//               file (gguf_writer.h) at "out".
// Each returns normally on success and throws (plugin::SpecError, std::exception) on failure.
#pragma once

#include <nlohmann/json.hpp>

#include "wb/plugin/host.h"

namespace wb::sft {

void run_model_init(const plugin::JobHost& job, const nlohmann::json& spec);
void run_model_import(const plugin::JobHost& job, const nlohmann::json& spec);
void run_model_export(const plugin::JobHost& job, const nlohmann::json& spec);

// Checks an HF Llama directory as model_import does, without copying. Throws naming the file and
// tensor at fault.
void check_hf_model_dir(const std::filesystem::path& dir);

}  // namespace wb::sft
