// job_follow.h — `wb job logs ID [--follow]` and `wb job submit --follow`: read a job's NDJSON
// event stream and show it until the job reaches a final state.
//
// Three presentations: --json prints every event line as received; on a terminal a progress
// bar is redrawn in place with log/state lines above it; otherwise plain lines (plain_events.h).
#pragma once

#include <cstdint>

#include "wb/cli/context.h"

namespace wb::cli {

enum class FollowStyle { kJson, kTerminal, kPlain };

// Picks the style: --json wins, then isatty(stdout).
FollowStyle follow_style(const Context& ctx);

// Follows /v1/jobs/{id}/events (follow=true) or prints the stored history (follow=false).
// Following: returns 0 when the job ended succeeded, 1 when it ended failed or cancelled, and
// throws Error if the stream ends before a final state (daemon gone). History (follow=false):
// returns 0 once the stored events are printed, whatever the job's state.
int follow_job(const Context& ctx, std::int64_t job_id, bool follow);

}  // namespace wb::cli
