// field_docs.h — the rlhf job kinds' spec tables (kDpoFields, kPpoFields, kRsFields,
// kRlhfEvalFields, kGattDataFields) as wb_plugin::job_fields_json, the data `wb train
// dpo|ppo|rs --help`, `wb job kinds <kind>` and GET /v1/job-kinds print (docs/PLUGINS.md).
#pragma once

#include <string>

namespace wb::rlhf {

// {"<kind>": {"help", "fields": [{"name","type","required","default"?,"help"}]}, ...}. A table
// default that is a JSON value of the field's type becomes "default"; a word or phrase ("none",
// "2 x rank", "the daemon's device") stays in the help as "(default: ...)"; "" marks a required
// field.
std::string rlhf_job_fields_json();

}  // namespace wb::rlhf
