// The one check that an adapter belongs to the base model it is used with (export, reward
// training, scoring, labeling): an adapter registry record whose "base_model" names another
// model is refused, naming the field. Records without "base_model" (PEFT folders from other
// tools) pass.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "wb/plugin/spec.h"

namespace wb::plugin {

inline void check_adapter_base(const std::string& field, const std::string& adapter, const nlohmann::json& record,
                               const std::string& model) {
  const std::string trained_on = record.value("base_model", "");
  if (!trained_on.empty() && trained_on != model)
    spec_fail(field, "adapter '" + adapter + "' was trained on model '" + trained_on + "', not '" + model + "'");
}

}  // namespace wb::plugin
