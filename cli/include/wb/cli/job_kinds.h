// job_kinds.h — what a job kind's spec accepts, as the daemon's plugins declare it
// (GET /v1/job-kinds/{kind}), printed for people: `wb train <kind> --help` and `wb job kinds`.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "wb/cli/context.h"

namespace wb::cli {

// One kind's description ({"kind","plugin","help","fields":[...]}) as text: a line naming the
// kind, then one row per field with its type, its default (or "required"), and its help with the
// accepted values or range.
std::string render_job_kind(const nlohmann::json& kind);

// The fields of `kind` asked of the daemon, rendered; when the daemon cannot be reached, a line
// saying so (help must still print without a daemon).
std::string job_kind_help(const Context& ctx, const std::string& kind);

}  // namespace wb::cli
