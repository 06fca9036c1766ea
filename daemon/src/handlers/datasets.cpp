// /v1/datasets: import (inline JSONL or a file path), list, show, rows paging, export, delete.
#include <spdlog/spdlog.h>

#include "handlers/handlers.h"
#include "handlers/import_body.h"
#include "http/api_error.h"
#include "http/json_body.h"

namespace wb::daemon::handlers {

using nlohmann::json;

void remove_unfinished_datasets(storage::Store& store, const char* when) {
  try {
    if (const std::int64_t n = store.datasets().remove_unfinished(); n > 0)
      spdlog::info("removed {} unfinished dataset import(s) or removal(s) {}", n, when);
  } catch (const std::exception& e) {
    spdlog::warn("could not remove unfinished dataset imports {} (tried again later): {}", when, e.what());
  }
}

Response dataset_import(App& app, Request& req) {
  // Read without a JSON document of the body: the "jsonl" text stays in the body and is decoded
  // a line at a time as the rows are written (import_body.h).
  ImportBody body = parse_import_body(req.body);
  JsonReader f = body_fields(body.fields, {"name", "kind", "source", "jsonl", "path", "eval_fraction", "replace", "format"});
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
  const json& fields = body.fields;
  bool has_jsonl = fields.contains("jsonl"), has_path = fields.contains("path");
  if (has_jsonl == has_path) throw invalid_request("exactly one of fields 'jsonl' and 'path' is required");
  std::string path;
  if (has_jsonl) {
    if (!fields["jsonl"].is_string()) f.fail("jsonl", std::string("expected a string, got ") + fields["jsonl"].type_name());
    if (o.source.empty()) o.source = "inline";
  } else {
    path = f.string("path");
    if (path.front() != '/') f.fail("path", "expected an absolute path, got '" + path + "'");
  }
  // What an earlier failed import could not delete (the disk was full) goes first.
  remove_unfinished_datasets(app.store, "before an import");
  storage::DatasetRecord rec;
  if (!has_jsonl) {
    rec = app.store.datasets().import_file(o, path);
  } else if (!body.raw) {
    rec = app.store.datasets().import_jsonl(o, body.jsonl);
  } else {
    JsonStringLines lines(body.escaped, body.escaped_offset);
    if (o.format == storage::TextFormat::Document)
      rec = app.store.datasets().import_jsonl(o, lines.all());
    else
      rec = app.store.datasets().import_lines(o, [&](std::string_view& line) { return lines.next(line); });
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
