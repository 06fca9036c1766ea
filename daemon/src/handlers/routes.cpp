#include "handlers/routes.h"

#include "handlers/handlers.h"

namespace wb::daemon {

void add_routes(Router& r, App& app) {
  using namespace handlers;
  auto h = [&app](Response (*fn)(App&, Request&)) {
    return [&app, fn](Request& req) { return fn(app, req); };
  };
  // health and status
  r.add("GET", "/v1/health", h(health));
  r.add("GET", "/v1/status", h(status));
  r.add("GET", "/metrics", h(prometheus));
  // datasets
  r.add("POST", "/v1/datasets", h(dataset_import), Router::Runs::OnWorkers);
  r.add("GET", "/v1/datasets", h(dataset_list));
  r.add("GET", "/v1/datasets/{name}", h(dataset_show));
  r.add("DELETE", "/v1/datasets/{name}", h(dataset_delete));
  r.add("GET", "/v1/datasets/{name}/rows", h(dataset_rows));
  r.add("GET", "/v1/datasets/{name}/export", h(dataset_export), Router::Runs::OnWorkers);
  // comparisons
  r.add("POST", "/v1/comparisons", h(comparison_add));
  r.add("GET", "/v1/comparisons", h(comparison_list));
  r.add("GET", "/v1/comparisons/export", h(comparison_export), Router::Runs::OnWorkers);
  r.add("GET", "/v1/comparisons/next", h(label_next));    // labeling.cpp
  r.add("GET", "/v1/comparisons/stats", h(label_stats));
  // annotators (annotators.cpp) and the web app (web.cpp)
  r.add("POST", "/v1/annotators", h(annotator_add));
  r.add("GET", "/v1/annotators", h(annotator_list));
  r.add("GET", "/v1/annotators/me", h(annotator_me));
  r.add("DELETE", "/v1/annotators/{name}", h(annotator_remove));
  r.add("GET", "/", h(web_index));
  r.add("GET", "/ui/{file}", h(web_file));
  r.add("GET", "/v1/demo/results", h(demo_results));
  // jobs
  r.add("POST", "/v1/jobs", h(job_create));
  r.add("GET", "/v1/jobs", h(job_list));
  r.add("GET", "/v1/jobs/{id}", h(job_show));
  r.add("DELETE", "/v1/jobs/{id}", h(job_cancel));
  r.add("POST", "/v1/jobs/{id}/retry", h(job_retry));
  r.add("GET", "/v1/jobs/{id}/metrics", h(job_metrics));
  r.add("GET", "/v1/jobs/{id}/events", h(job_events));
  r.add("POST", "/v1/jobs/{id}/worker", h(job_worker_frame), Router::Runs::OnWorkers);
  r.add("GET", "/v1/job-kinds", h(job_kind_list));  // job_kinds.cpp
  r.add("GET", "/v1/job-kinds/{kind}", h(job_kind_show));
  // models and adapters
  r.add("GET", "/v1/models", h(model_list));
  r.add("GET", "/v1/models/{name}", h(model_show));
  r.add("GET", "/v1/adapters", h(adapter_list));
  r.add("POST", "/v1/rewards/score", h(reward_score), Router::Runs::OnWorkers);  // handlers/rewards.cpp
  r.add("POST", "/v1/methods/{method}", h(method_call), Router::Runs::OnWorkers);
  // serving (handlers/serving.cpp, handlers/openai.cpp)
  r.add("POST", "/v1/serving", h(serving_start), Router::Runs::OnWorkers);
  r.add("GET", "/v1/serving", h(serving_status));
  r.add("DELETE", "/v1/serving", h(serving_stop));
  r.add("POST", "/v1/adapters/{name}/load", h(adapter_load), Router::Runs::OnWorkers);
  r.add("POST", "/v1/adapters/{name}/unload", h(adapter_unload));
  r.add("POST", "/v1/completions", h(completions));
  r.add("POST", "/v1/chat/completions", h(chat_completions));
}

}  // namespace wb::daemon
