// spec_fields.h — the fields of every sft job kind, declared once (wb/plugin/fields.h): specs.cpp
// reads specs through these tables and plugin_entry.cpp publishes them as
// wb_plugin::job_fields_json (GET /v1/job-kinds, `wb train <kind> --help`).
#pragma once

#include <string>
#include <vector>

#include "wb/plugin/fields.h"

namespace wb::sft {

extern const plugin::JobFields kModelInitFields;
extern const plugin::JobFields kModelImportFields;
extern const plugin::JobFields kModelExportFields;
extern const plugin::JobFields kPretrainFields;
extern const plugin::JobFields kSftFields;
extern const plugin::JobFields kEvalFields;

// Every table above, in kJobKinds order.
const std::vector<const plugin::JobFields*>& sft_job_fields();
// The table of `kind`; nullptr when the plugin has no such kind.
const plugin::JobFields* sft_fields_of(const std::string& kind);

}  // namespace wb::sft
