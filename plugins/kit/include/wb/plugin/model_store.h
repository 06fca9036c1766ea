// model_store.h — where the plugin's models and adapters live on disk and how they are
// registered with the daemon.
//
//   <data_dir>/models/NAME     HF layout: config.json, model.safetensors, tokenizer.model
//   <data_dir>/adapters/NAME   PEFT layout: adapter_config.json, adapter_model.safetensors
//
// A new directory is always written under a temporary sibling name and renamed into place, then
// registered; if registration fails the directory is removed again, so the registry and the
// disk agree. A leftover directory that is not registered (a crash between rename and
// registration) is replaced.
//
// Publishing is idempotent for the job that published: the job records what it published in its
// own job directory (.published-<kind>-<name>, before registering), and a job that finds its
// name registered at the path it recorded (the daemon died after registration, before the job
// was marked succeeded, and the job was resumed) takes the registered entry as its result and
// writes nothing. A name registered by anything else is refused ("... already exists").
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "wb/plugin/host.h"
#include "wb/llama/config.h"
#include "wb/llama/peft_config.h"
#include "wb/llama/tokenizer.h"

namespace wb::plugin {

std::filesystem::path model_dir(const std::string& name);
std::filesystem::path adapter_dir(const std::string& name);

// A registered model's directory (its record's "path"); HostError/invalid_argument naming it
// when unknown.
std::filesystem::path registered_model_path(const std::string& name, wb_job* job);
std::filesystem::path registered_adapter_path(const std::string& name, wb_job* job);

// The tokenizer shipped inside a model directory (tokenizer.model). Throws std::runtime_error
// naming the model when it has none.
llama::Tokenizer model_tokenizer(const std::filesystem::path& dir, const std::string& model_name);

// Writes a new model (write(tmp_dir) fills the directory), renames it to model_dir(name) and
// registers {"name","path","config","dtype"}. Returns the final path.
std::filesystem::path publish_model(const JobHost& job, const std::string& name,
                                    const std::function<void(const std::filesystem::path&)>& write);

// The same for an adapter; `record` holds everything but "name" and "path".
std::filesystem::path publish_adapter(const JobHost& job, const std::string& name, nlohmann::json record,
                                      const std::function<void(const std::filesystem::path&)>& write);

// A LoRA config's target modules as PEFT names (["q_proj", ...]): an adapter record's
// "target_modules".
nlohmann::json lora_module_names(const llama::LoraConfig& lc);

// Copies the regular files of `from` into `to` (created), no recursion into subdirectories.
void copy_files(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace wb::plugin
