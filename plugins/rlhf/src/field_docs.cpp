#include "field_docs.h"

#include <cstring>
#include <vector>

#include <nlohmann/json.hpp>

#include "dpo_spec.h"
#include "eval_spec.h"
#include "gatt_data_spec.h"
#include "ppo_spec.h"
#include "rs_spec.h"

namespace wb::rlhf {
namespace {

using nlohmann::json;

// The table's default text as a JSON value of the field's type, or null when it is a phrase.
json typed_default(const SpecField& f) {
  const std::string type = f.type, text = f.default_value;
  if (type == "string") {
    // One plain word is the value itself ("merged", "auto"); "none" and phrases are not values.
    if (text == "none" || text.find(' ') != std::string::npos) return nullptr;
    return text;
  }
  json v = json::parse(text, nullptr, false);
  if (v.is_discarded()) return nullptr;
  if (type == "number" && v.is_number()) return v;
  if (type == "integer" && v.is_number_integer()) return v;
  if (type == "boolean" && v.is_boolean()) return v;
  return nullptr;
}

json describe(const char* help, const std::vector<SpecField>& table) {
  json fields = json::array();
  for (const SpecField& f : table) {
    json d = {{"name", f.name}, {"type", f.type}, {"required", std::strlen(f.default_value) == 0}, {"help", f.help}};
    if (!d["required"].get<bool>()) {
      json v = typed_default(f);
      if (v.is_null()) d["help"] = std::string(f.help) + " (default: " + f.default_value + ")";
      else d["default"] = v;
    }
    fields.push_back(std::move(d));
  }
  return {{"help", help}, {"fields", fields}};
}

}  // namespace

std::string rlhf_job_fields_json() {
  json all = json::object();
  all["dpo"] = describe("DPO of a policy LoRA against the SFT model on a preference dataset", kDpoFields);
  all["ppo"] = describe("PPO of a policy LoRA with the helpfulness and safety reward models on prompts", kPpoFields);
  all["rejection_sampling"] =
      describe("best of K answers per prompt by the reward models, then SFT on the kept answers", kRsFields);
  all["rlhf_eval"] = describe("a policy on held-out prompts: gated reward of both reward models, the suite's checker",
                              kRlhfEvalFields);
  all["gatt_data"] = describe("Ghost Attention data: multi-turn replies sampled with the instruction on every turn "
                              "(best of k by the suite's checker on a persona), written with it in the first turn "
                              "only and earlier turns masked",
                              kGattDataFields);
  return all.dump();
}

}  // namespace wb::rlhf
