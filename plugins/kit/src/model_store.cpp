#include "wb/plugin/model_store.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "wb/llama/hf_config.h"

namespace wb::plugin {
namespace fs = std::filesystem;
using nlohmann::json;

fs::path model_dir(const std::string& name) { return Host::data_dir() / "models" / name; }
fs::path adapter_dir(const std::string& name) { return Host::data_dir() / "adapters" / name; }

fs::path registered_model_path(const std::string& name, wb_job* job) {
  auto rec = Host::lookup("model", name, job);
  if (!rec) throw std::invalid_argument("unknown model '" + name + "'");
  return fs::path(rec->at("path").get<std::string>());
}

fs::path registered_adapter_path(const std::string& name, wb_job* job) {
  auto rec = Host::lookup("adapter", name, job);
  if (!rec) throw std::invalid_argument("unknown adapter '" + name + "'");
  return fs::path(rec->at("path").get<std::string>());
}

llama::Tokenizer model_tokenizer(const fs::path& dir, const std::string& model_name) {
  const fs::path p = dir / "tokenizer.model";
  if (!fs::is_regular_file(p))
    throw std::runtime_error("model '" + model_name + "' has no tokenizer.model in " + dir.string());
  return llama::Tokenizer(p);
}

void copy_files(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(from))
    if (e.is_regular_file()) fs::copy_file(e.path(), to / e.path().filename(), fs::copy_options::overwrite_existing);
}

namespace {

// What a job published, recorded in its own job directory (which a resumed job keeps):
// <job_dir>/.published-<kind>-<name> holding the published path. Written after the rename and
// before registration, so a job resumed after the daemon died between registration and the
// job's success finds its own result registered and takes it as published.
fs::path publish_record(const JobHost& job, const std::string& kind, const std::string& name) {
  return job.dir() / (".published-" + kind + "-" + name);
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Renames tmp to final (replacing an unregistered leftover), registers, and undoes the rename
// when registration fails. A name already registered is refused unless this job registered it.
fs::path publish(const JobHost& job, const std::string& kind, const fs::path& final_dir, const json& record,
                 const std::function<void(const fs::path&)>& write) {
  const std::string name = record.at("name").get<std::string>();
  const bool has_job_dir = !job.dir().empty();
  if (auto existing = Host::lookup(kind, name, job.handle())) {
    const bool same_dir = existing->contains("path") && fs::path(existing->at("path").get<std::string>()) == final_dir;
    if (same_dir && has_job_dir && read_text(publish_record(job, kind, name)) == final_dir.string()) {
      job.info(kind + " '" + name + "' was already published by this job before a restart; keeping it");
      return final_dir;
    }
    throw std::runtime_error(kind + " '" + name + "' already exists");
  }
  fs::create_directories(final_dir.parent_path());
  const fs::path tmp = final_dir.parent_path() / ("." + final_dir.filename().string() + ".tmp");
  fs::remove_all(tmp);
  try {
    write(tmp);
    fs::remove_all(final_dir);  // left by a run that crashed before registering
    fs::rename(tmp, final_dir);
    if (has_job_dir) {
      fs::create_directories(job.dir());
      std::ofstream out(publish_record(job, kind, name), std::ios::trunc);
      out << final_dir.string();
      if (!out.flush()) throw std::runtime_error("cannot write " + publish_record(job, kind, name).string());
    }
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  try {
    job.register_artifact(kind, record);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(final_dir, ec);
    throw;
  }
  return final_dir;
}

}  // namespace

fs::path publish_model(const JobHost& job, const std::string& name, const std::function<void(const fs::path&)>& write) {
  const fs::path final_dir = model_dir(name);
  // The config is read back from what was written, so the record matches the file exactly.
  json record = {{"name", name}, {"path", final_dir.string()}};
  return publish(job, "model", final_dir, record, [&](const fs::path& tmp) {
    write(tmp);
    const llama::LlamaConfig c = llama::load_hf_config(tmp);
    record["config"] = json::parse(llama::hf_config_to_json(c));
    record["dtype"] = c.torch_dtype == "float16" ? "f16" : c.torch_dtype == "bfloat16" ? "bf16" : "f32";
  });
}

fs::path publish_adapter(const JobHost& job, const std::string& name, json record,
                         const std::function<void(const fs::path&)>& write) {
  const fs::path final_dir = adapter_dir(name);
  record["name"] = name;
  record["path"] = final_dir.string();
  return publish(job, "adapter", final_dir, record, write);
}

nlohmann::json lora_module_names(const llama::LoraConfig& lc) {
  nlohmann::json out = nlohmann::json::array();
  for (auto m : lc.target_modules) out.push_back(std::string(llama::lora_module_name(m)));
  return out;
}

}  // namespace wb::plugin
