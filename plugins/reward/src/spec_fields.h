// spec_fields.h — the fields of the reward plugin's job kinds (reward, label_synthetic), declared
// once (wb/plugin/fields.h): the spec parsers read through these tables and plugin_entry.cpp
// publishes them as wb_plugin::job_fields_json (GET /v1/job-kinds, `wb train <kind> --help`).
#pragma once

#include <vector>

#include "wb/plugin/fields.h"

namespace wb::reward {

extern const plugin::JobFields kRewardFields;
extern const plugin::JobFields kLabelSyntheticFields;

// Both tables, in job-kind order.
const std::vector<const plugin::JobFields*>& reward_job_fields();

}  // namespace wb::reward
