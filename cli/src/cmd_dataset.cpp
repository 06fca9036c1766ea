// wb dataset import|list|show|export|delete — /v1/datasets.
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>

#include "wb/cli/commands.h"
#include "wb/cli/errors.h"
#include "wb/cli/export.h"
#include "wb/cli/output.h"
#include "wb/cli/paths.h"

namespace wb::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string dataset_target(const std::string& name) { return "/v1/datasets/" + url_encode(name); }

std::vector<std::string> dataset_row(const json& d) {
  return {cell(d, "name"), cell(d, "kind"),    cell(d, "rows"),  cell(d, "train_rows"),
          cell(d, "eval_rows"), cell(d, "created"), cell(d, "source")};
}
const std::vector<std::string> kDatasetHeaders = {"NAME", "KIND", "ROWS", "TRAIN", "EVAL", "CREATED",
                                                  "SOURCE"};

// ---- import ----
struct ImportOpts {
  std::string name, file, kind;
  double eval_fraction = -1;  // < 0: not given
  bool replace = false;
  bool document = false;  // kind text: the whole file is one document
};

// How the daemon reads the file: JSONL rows, or for kind text plain text (one document per line,
// or with --document the whole file); a .jsonl file of kind text holds {"text": ...} rows.
std::string import_format(const ImportOpts& o) {
  if (o.document) {
    if (o.kind != "text") throw UsageError("--document imports a plain-text file as one document: only with --kind text");
    return "document";
  }
  const bool jsonl = o.file.size() > 6 && o.file.compare(o.file.size() - 6, 6, ".jsonl") == 0;
  return o.kind == "text" && !jsonl ? "lines" : "jsonl";
}

int run_import(const Context& ctx, const ImportOpts& o) {
  json body = {{"name", o.name}, {"kind", o.kind}};
  if (const std::string format = import_format(o); format != "jsonl") body["format"] = format;
  if (o.file == "-") {
    // JSONL (or text) on stdin travels inline.
    std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    body["jsonl"] = std::move(text);
    body["source"] = "stdin";
  } else {
    std::error_code ec;
    const fs::path p = user_path(o.file);
    if (ec || !fs::exists(p, ec)) throw Error("cannot read dataset file '" + o.file + "': no such file");
    if (!fs::is_regular_file(p, ec)) throw Error("cannot read dataset file '" + o.file + "': not a regular file");
    body["path"] = p.string();  // the daemon reads it (same uid)
  }
  if (o.eval_fraction >= 0) body["eval_fraction"] = o.eval_fraction;
  if (o.replace) body["replace"] = true;
  json rec;
  try {
    rec = ctx.client().post("/v1/datasets", body);
  } catch (const DaemonError& e) {
    if (e.http_status() != 409) throw;
    throw DaemonError(409, e.code(), std::string(e.what()) + "; --replace swaps in the new rows");
  }
  if (ctx.opts.json) {
    print_json(*ctx.out, rec);
  } else {
    *ctx.out << "imported dataset '" << cell(rec, "name") << "' (" << cell(rec, "kind")
             << "): " << cell(rec, "rows") << " rows (" << cell(rec, "train_rows") << " train, "
             << cell(rec, "eval_rows") << " eval)\n";
  }
  return kExitOk;
}

// ---- list ----
int run_list(const Context& ctx) {
  const json r = ctx.client().get("/v1/datasets");
  if (ctx.opts.json) {
    print_json(*ctx.out, r);
    return kExitOk;
  }
  const json list = r.value("datasets", json::array());
  if (list.empty()) {
    *ctx.out << "no datasets\n";
    return kExitOk;
  }
  Table t(kDatasetHeaders);
  for (const auto& d : list) t.add_row(dataset_row(d));
  t.print(*ctx.out);
  return kExitOk;
}

// ---- show ----
struct ShowOpts {
  std::string name, split;
  int rows = -1, offset = -1;
};

int run_show(const Context& ctx, const ShowOpts& o) {
  const DaemonClient client = ctx.client();
  const json rec = client.get(dataset_target(o.name));
  const bool want_rows = o.rows >= 0 || o.offset >= 0 || !o.split.empty();
  json rows;
  if (want_rows) {
    std::string q = "?offset=" + std::to_string(o.offset >= 0 ? o.offset : 0) +
                    "&limit=" + std::to_string(o.rows >= 0 ? o.rows : 20);
    if (!o.split.empty()) q += "&split=" + url_encode(o.split);
    rows = client.get(dataset_target(o.name) + "/rows" + q);
  }
  if (ctx.opts.json) {
    if (!want_rows) {
      print_json(*ctx.out, rec);
    } else {
      print_json(*ctx.out, {{"dataset", rec},
                            {"rows", rows.value("rows", json::array())},
                            {"total", rows.value("total", json())}});
    }
    return kExitOk;
  }
  print_fields(*ctx.out, {{"name", cell(rec, "name")},
                          {"kind", cell(rec, "kind")},
                          {"source", cell(rec, "source")},
                          {"rows", cell(rec, "rows")},
                          {"train rows", cell(rec, "train_rows")},
                          {"eval rows", cell(rec, "eval_rows")},
                          {"created", cell(rec, "created")}});
  if (want_rows) {
    const json list = rows.value("rows", json::array());
    *ctx.out << "\nrows " << list.size() << " of " << cell(rows, "total")
             << (o.split.empty() ? "" : " in split " + o.split) << ":\n";
    Table t({"INDEX", "SPLIT", "ROW"}, 100);
    for (const auto& r : list) t.add_row({cell(r, "index"), cell(r, "split"), r.value("row", json()).dump()});
    t.print(*ctx.out);
  }
  return kExitOk;
}

// ---- delete ----
int run_delete(const Context& ctx, const std::string& name) {
  const json r = ctx.client().del(dataset_target(name));
  if (ctx.opts.json) {
    print_json(*ctx.out, r);
  } else {
    *ctx.out << "deleted dataset '" << name << "'\n";
  }
  return kExitOk;
}

}  // namespace

void register_dataset(CLI::App& app, Context& ctx) {
  auto* grp = app.add_subcommand("dataset", "import, inspect, export and delete datasets");
  grp->require_subcommand(1);

  auto imp = std::make_shared<ImportOpts>();
  auto* c = grp->add_subcommand("import", "import a JSONL file (or, --kind text, a plain-text file) as a dataset");
  c->add_option("name", imp->name, "dataset name")->required();
  c->add_option("file", imp->file, "JSONL file, or for --kind text a plain-text file ('-' reads stdin)")->required();
  c->add_option("--kind", imp->kind,
                "row shape: sft, preference, prompt, or text (plain text: one document per non-blank line)")
      ->required()
      ->check(CLI::IsMember({"sft", "preference", "prompt", "text"}));
  c->add_flag("--document", imp->document, "with --kind text: the whole file is one document");
  c->add_option("--eval-fraction", imp->eval_fraction, "share of rows held out as split 'eval'")
      ->check(CLI::Range(0.0, 0.5));
  c->add_flag("--replace", imp->replace, "replace an existing dataset of that name");
  c->callback([&ctx, imp] { ctx.action = [&ctx, imp] { return run_import(ctx, *imp); }; });

  c = grp->add_subcommand("list", "list datasets");
  c->callback([&ctx] { ctx.action = [&ctx] { return run_list(ctx); }; });

  auto show = std::make_shared<ShowOpts>();
  c = grp->add_subcommand("show", "show a dataset's record and, with --rows/--offset/--split, rows");
  c->add_option("name", show->name, "dataset name")->required();
  c->add_option("--rows", show->rows, "number of rows to show (default 20 when rows are asked for)")
      ->check(CLI::Range(1, 10000));
  c->add_option("--offset", show->offset, "first row to show")->check(CLI::NonNegativeNumber);
  c->add_option("--split", show->split, "only rows of this split")->check(CLI::IsMember({"train", "eval"}));
  c->callback([&ctx, show] { ctx.action = [&ctx, show] { return run_show(ctx, *show); }; });

  auto exp = std::make_shared<std::pair<std::string, std::string>>();  // name, output file
  c = grp->add_subcommand("export", "write a dataset as canonical JSONL (stdout or -o FILE)");
  c->add_option("name", exp->first, "dataset name")->required();
  c->add_option("-o,--output", exp->second, "output file (default: stdout)");
  c->callback([&ctx, exp] {
    ctx.action = [&ctx, exp] {
      return export_ndjson(ctx, dataset_target(exp->first) + "/export", exp->second);
    };
  });

  auto del = std::make_shared<std::string>();
  c = grp->add_subcommand("delete", "delete a dataset and its rows");
  c->add_option("name", *del, "dataset name")->required();
  c->callback([&ctx, del] { ctx.action = [&ctx, del] { return run_delete(ctx, *del); }; });
}

}  // namespace wb::cli
