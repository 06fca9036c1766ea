#include "serving/adapter_import.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "http/api_error.h"

namespace wb::daemon {

using nlohmann::json;
namespace fs = std::filesystem;

storage::NewAdapter peft_registration(const std::string& name, const fs::path& dir, const std::string& base) {
  fs::path cfg = dir / "adapter_config.json";
  std::ifstream in(cfg);
  if (!in) throw invalid_request("field 'path': " + cfg.string() + " cannot be read (not a PEFT adapter folder?)");
  std::stringstream ss;
  ss << in.rdbuf();
  json c = json::parse(ss.str(), nullptr, false);
  if (c.is_discarded() || !c.is_object()) throw invalid_request(cfg.string() + ": not a JSON object");
  storage::NewAdapter a;
  a.name = name;
  a.path = dir.string();
  a.base_model = base;
  if (!c.contains("r") || !c["r"].is_number_integer() || c["r"].get<int>() <= 0)
    throw invalid_request(cfg.string() + ": field 'r': expected a positive integer");
  a.rank = c["r"].get<int>();
  a.alpha = c.contains("lora_alpha") && c["lora_alpha"].is_number() ? c["lora_alpha"].get<double>() : a.rank;
  if (c.contains("target_modules") && c["target_modules"].is_array())
    for (auto& t : c["target_modules"])
      if (t.is_string()) a.target_modules.push_back(t.get<std::string>());
  if (c.contains("target_modules") && c["target_modules"].is_string()) a.target_modules.push_back(c["target_modules"].get<std::string>());
  if (a.target_modules.empty()) throw invalid_request(cfg.string() + ": field 'target_modules': expected module names");
  return a;
}

void import_adapter(storage::Store& store, const Serving& serving, const std::string& name, const fs::path& dir,
                    const std::string& base_model, std::optional<double> scale) {
  storage::validate_adapter_name(name, "adapter name");
  storage::NewAdapter reg = peft_registration(name, dir, base_model);
  json load = {{"name", name}, {"path", dir.string()}};
  if (scale) load["scale"] = *scale;
  serving.load_adapter(load);
  store.adapters().add(reg);
}

}  // namespace wb::daemon
