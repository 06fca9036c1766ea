// /v1/comparisons: add a human/model preference label, list, export as preference JSONL.
#include "handlers/handlers.h"
#include "http/api_error.h"
#include "http/json_body.h"

namespace wb::daemon::handlers {

using nlohmann::json;

Response comparison_add(App& app, Request& req) {
  json body = parse_json_body(req.body);
  // With an annotator's token the label is theirs, whatever the body says.
  if (req.annotator && body.is_object()) body["annotator"] = *req.annotator;
  // The repository validates every field (unknown ones included) with messages naming it.
  auto c = storage::ComparisonRepository::parse(body);
  return json_response(201, app.store.comparisons().insert(c));
}

Response comparison_list(App& app, Request& req) {
  for (auto& [k, v] : req.query)
    if (k != "dataset" && k != "offset" && k != "limit") throw invalid_request("unknown query parameter '" + k + "'");
  std::int64_t offset = query_int("offset", req.query_or("offset", "0"), 0, INT64_MAX);
  std::int64_t limit = query_int("limit", req.query_or("limit", "100"), 1, 10000);
  std::optional<std::string> ds;
  if (req.query.count("dataset")) ds = req.query["dataset"];
  auto page = app.store.comparisons().list(ds ? std::optional<std::string_view>(*ds) : std::nullopt, offset, limit);
  return json_response(200, {{"comparisons", page.comparisons}, {"total", page.total}});
}

Response comparison_export(App& app, Request& req) {
  if (!req.query.count("dataset") || req.query["dataset"].empty())
    throw invalid_request("query parameter 'dataset' is required");
  Response r;
  r.content_type = "application/x-ndjson";
  r.body = app.store.comparisons().export_jsonl(req.query["dataset"]);
  return r;
}

}  // namespace wb::daemon::handlers
