// /v1/datasets: import (inline JSONL or a file path), list, show, rows paging, export, delete.
#include "handlers/handlers.h"
#include "http/api_error.h"
#include "http/json_body.h"

namespace wb::daemon::handlers {

using nlohmann::json;

Response dataset_import(App& app, Request& req) {
  json body = parse_json_body(req.body);
  // The parsed body holds the JSONL text; the raw body is not needed any more (an import may be
  // hundreds of MB: keep one copy, not two).
  std::string().swap(req.body);
  JsonReader f = body_fields(body, {"name", "kind", "source", "jsonl", "path", "eval_fraction", "replace", "format"});
  storage::ImportOptions o;
  o.name = f.string("name");
  std::string kind = f.string("kind");
  auto k = storage::parse_dataset_kind(kind);
  if (!k) f.fail("kind", "expected one of sft, preference, prompt, text, got '" + kind + "'");
  o.kind = *k;
  // Plain text (kind text): one document per non-blank line, or the whole text as one.
  const std::string format = f.one_of_or("format", {"jsonl", "lines", "document"}, "jsonl");
  o.format = format == "lines" ? storage::TextFormat::Lines
             : format == "document" ? storage::TextFormat::Document
                                    : storage::TextFormat::Jsonl;
  if (o.format != storage::TextFormat::Jsonl && o.kind != storage::DatasetKind::Text)
    f.fail("format", "'" + format + "' (plain text) imports only as kind text");
  o.source = f.optional_string("source", /*allow_empty=*/true).value_or("");
  o.eval_fraction = f.number_or("eval_fraction", 0.0, 0.0, 0.5);
  o.replace = f.boolean_or("replace", false);
  bool has_jsonl = body.contains("jsonl"), has_path = body.contains("path");
  if (has_jsonl == has_path) throw invalid_request("exactly one of fields 'jsonl' and 'path' is required");
  storage::DatasetRecord rec;
  if (has_jsonl) {
    if (!body["jsonl"].is_string()) f.fail("jsonl", std::string("expected a string, got ") + body["jsonl"].type_name());
    if (o.source.empty()) o.source = "inline";
    rec = app.store.datasets().import_jsonl(o, body["jsonl"].get_ref<const std::string&>());
  } else {
    std::string path = f.string("path");
    if (path.front() != '/') f.fail("path", "expected an absolute path, got '" + path + "'");
    rec = app.store.datasets().import_file(o, path);
  }
  return json_response(201, rec);
}

Response dataset_list(App& app, Request&) {
  return json_response(200, {{"datasets", app.store.datasets().list()}});
}

Response dataset_show(App& app, Request& req) {
  return json_response(200, app.store.datasets().get(req.params["name"]));
}

Response dataset_rows(App& app, Request& req) {
  std::int64_t offset = query_int("offset", req.query_or("offset", "0"), 0, INT64_MAX);
  std::int64_t limit = query_int("limit", req.query_or("limit", "100"), 1, 10000);
  std::optional<storage::Split> split;
  if (req.query.count("split")) {
    split = storage::parse_split(req.query["split"]);
    if (!split) throw invalid_request("query parameter 'split': expected train or eval, got '" + req.query["split"] + "'");
  }
  for (auto& [k, v] : req.query)
    if (k != "offset" && k != "limit" && k != "split") throw invalid_request("unknown query parameter '" + k + "'");
  storage::RowsPage page = app.store.datasets().rows(req.params["name"], offset, limit, split);
  json rows = json::array();
  for (auto& r : page.rows) rows.push_back(r);
  return json_response(200, {{"rows", rows}, {"total", page.total}});
}

Response dataset_export(App& app, Request& req) {
  Response r;
  r.content_type = "application/x-ndjson";
  r.body = app.store.datasets().export_jsonl(req.params["name"]);
  return r;
}

Response dataset_delete(App& app, Request& req) {
  app.store.datasets().remove(req.params["name"]);
  return json_response(200, {{"deleted", req.params["name"]}});
}

}  // namespace wb::daemon::handlers
