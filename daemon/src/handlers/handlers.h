// handlers.h — one function per route; routes.cpp maps (method, pattern) to them.
//
// Every handler validates its input strictly (unknown fields, wrong types → 400 naming the
// field) and throws ApiError or a storage error; Daemon::handle maps those to status codes.
#pragma once

#include <nlohmann/json.hpp>

#include "handlers/app.h"
#include "http/message.h"

namespace wb::daemon::handlers {

// A JSON body with the given status.
Response json_response(int status, const nlohmann::json& body);

// system.cpp
Response health(App&, Request&);
Response status(App&, Request&);
Response prometheus(App&, Request&);

// datasets.cpp
Response dataset_import(App&, Request&);
Response dataset_list(App&, Request&);
Response dataset_show(App&, Request&);
Response dataset_rows(App&, Request&);
Response dataset_export(App&, Request&);
Response dataset_delete(App&, Request&);
// Deletes what failed imports (or a crash) left hidden, logging how many; `when` says where it
// runs ("at start-up", "before an import"). A failure (the disk still full) is logged, not thrown.
void remove_unfinished_datasets(storage::Store& store, const char* when);

// comparisons.cpp
Response comparison_add(App&, Request&);
Response comparison_list(App&, Request&);
Response comparison_export(App&, Request&);

// labeling.cpp (wb label: the next pair to label, label counts and agreement)
Response label_next(App&, Request&);
Response label_stats(App&, Request&);

// annotators.cpp (tokens for the web labeling page)
Response annotator_add(App&, Request&);
Response annotator_list(App&, Request&);
Response annotator_remove(App&, Request&);
Response annotator_me(App&, Request&);

// web.cpp (the web app's files, the demo's results)
Response web_index(App&, Request&);
Response web_file(App&, Request&);
Response demo_results(App&, Request&);

// jobs.cpp
Response job_create(App&, Request&);
Response job_list(App&, Request&);
Response job_show(App&, Request&);
Response job_cancel(App&, Request&);
Response job_retry(App&, Request&);
Response job_metrics(App&, Request&);
Response job_events(App&, Request&);  // job_events_stream.cpp
Response job_worker_frame(App&, Request&);  // worker_frames.cpp: POST /v1/jobs/{id}/worker

// rewards.cpp
Response reward_score(App&, Request&);
Response method_call(App&, Request&);  // POST /v1/methods/{method}: any plugin method

// job_kinds.cpp
Response job_kind_list(App&, Request&);
Response job_kind_show(App&, Request&);

// models.cpp
Response model_list(App&, Request&);
Response model_show(App&, Request&);

// serving.cpp
Response serving_start(App&, Request&);
Response serving_status(App&, Request&);
Response serving_stop(App&, Request&);
Response adapter_list(App&, Request&);
Response adapter_load(App&, Request&);
Response adapter_unload(App&, Request&);

// openai.cpp
Response completions(App&, Request&);
Response chat_completions(App&, Request&);

}  // namespace wb::daemon::handlers
