// set_parser.h — `wb job submit --set key=value` assignments into a JSON job spec.
//
//   "steps=10"            -> {"steps": 10}          value parsed as JSON when it parses...
//   "name=run one"        -> {"name": "run one"}    ...else taken as a string
//   "lora.rank=8"         -> {"lora": {"rank": 8}}  dotted keys make nested objects
//   "targets=[\"q\",\"v\"]" -> {"targets": ["q","v"]}
//   "tag=\"42\""          -> {"tag": "42"}          quote to force a string
//   "note="               -> {"note": ""}
// Later assignments override earlier ones and values from a --spec file.
#pragma once

#include <string_view>
#include <vector>
#include <string>

#include <nlohmann/json.hpp>

namespace wb::cli {

// Applies one assignment to `spec` (an object). Throws UsageError naming the assignment when it
// has no '=', an empty key or key segment, or a dotted path runs through a non-object value.
void apply_set(nlohmann::json& spec, std::string_view assignment);

// Applies every assignment in order on top of `base` and returns the result.
nlohmann::json apply_sets(nlohmann::json base, const std::vector<std::string>& assignments);

}  // namespace wb::cli
