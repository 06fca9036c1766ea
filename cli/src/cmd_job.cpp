// wb job submit|show|cancel|retry|logs and wb jobs — the job queue (/v1/jobs).
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>

#include "wb/cli/commands.h"
#include "wb/cli/errors.h"
#include "wb/cli/job_follow.h"
#include "wb/cli/job_kinds.h"
#include "wb/cli/output.h"
#include "wb/cli/set_parser.h"

namespace wb::cli {
namespace {

using nlohmann::json;

std::string job_target(std::int64_t id) { return "/v1/jobs/" + std::to_string(id); }

std::string percent(const json& job) {
  if (!job.contains("progress") || !job["progress"].is_number()) return "-";
  return std::to_string(static_cast<int>(job["progress"].get<double>() * 100.0 + 1e-9)) + "%";
}

// ---- submit ----
struct SubmitOpts {
  std::string kind, spec_file;
  std::vector<std::string> sets;
  int priority = 0;
  bool priority_given = false;
  bool follow = false;
};

json read_spec_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot read spec file '" + path + "': no such file or not readable");
  std::stringstream ss;
  ss << f.rdbuf();
  json spec;
  try {
    spec = json::parse(ss.str());
  } catch (const json::parse_error& e) {
    throw Error("spec file '" + path + "' is not valid JSON: byte " + std::to_string(e.byte) +
                ": " + e.what());
  }
  if (!spec.is_object()) throw Error("spec file '" + path + "' must hold a JSON object");
  return spec;
}

int run_submit(const Context& ctx, const SubmitOpts& o) {
  json spec = o.spec_file.empty() ? json::object() : read_spec_file(o.spec_file);
  spec = apply_sets(std::move(spec), o.sets);
  json body = {{"kind", o.kind}, {"spec", spec}};
  if (o.priority_given) body["priority"] = o.priority;
  const json rec = ctx.client().post("/v1/jobs", body);
  const std::int64_t id = rec.value("id", std::int64_t{-1});
  if (ctx.opts.json) {
    // With --follow the record is the first line of an NDJSON stream.
    if (o.follow) {
      *ctx.out << rec.dump() << '\n' << std::flush;
    } else {
      print_json(*ctx.out, rec);
    }
  } else {
    *ctx.out << "submitted job " << id << " (" << cell(rec, "kind") << "), state "
             << cell(rec, "state") << '\n'
             << std::flush;
  }
  if (!o.follow) return kExitOk;
  if (id < 0) throw Error("workbenchd returned a job record without an id");
  return follow_job(ctx, id, true);
}

// ---- list ----
struct ListOpts {
  std::string state;
  int limit = 100;
};

int run_list(const Context& ctx, const ListOpts& o) {
  std::string q = "?limit=" + std::to_string(o.limit);
  if (!o.state.empty()) q += "&state=" + url_encode(o.state);
  const json r = ctx.client().get("/v1/jobs" + q);
  if (ctx.opts.json) {
    print_json(*ctx.out, r);
    return kExitOk;
  }
  const json list = r.value("jobs", json::array());
  if (list.empty()) {
    *ctx.out << (o.state.empty() ? "no jobs" : "no " + o.state + " jobs") << '\n';
    return kExitOk;
  }
  Table t({"ID", "KIND", "STATE", "PROGRESS", "PHASE", "CREATED", "ERROR"}, 60);
  for (const auto& j : list)
    t.add_row({cell(j, "id"), cell(j, "kind"), cell(j, "state"), percent(j), cell(j, "phase"),
               cell(j, "created"), cell(j, "error")});
  t.print(*ctx.out);
  return kExitOk;
}

// ---- show ----
int run_show(const Context& ctx, std::int64_t id) {
  const json j = ctx.client().get(job_target(id));
  if (ctx.opts.json) {
    print_json(*ctx.out, j);
    return kExitOk;
  }
  std::vector<std::pair<std::string, std::string>> f = {
      {"id", cell(j, "id")},           {"kind", cell(j, "kind")},
      {"state", cell(j, "state")},     {"progress", percent(j)},
      {"phase", cell(j, "phase")},     {"created", cell(j, "created")},
      {"started", cell(j, "started")}, {"finished", cell(j, "finished")},
      {"attempts", cell(j, "attempts")}, {"crashes", cell(j, "crashes")},
      {"checkpoint", cell(j, "checkpoint")},
      {"error", cell(j, "error")},     {"spec", j.value("spec", json()).dump()}};
  if (j.value("cancel_requested", false)) f.emplace_back("cancel", "requested");
  if (j.contains("slurm_job_id") && j["slurm_job_id"].is_string()) f.emplace_back("slurm job", cell(j, "slurm_job_id"));
  print_fields(*ctx.out, f);
  const json metrics = j.value("metrics", json::object());
  if (metrics.is_object() && !metrics.empty()) {
    *ctx.out << '\n';
    Table t({"METRIC", "STEP", "VALUE"});
    for (const auto& [name, m] : metrics.items()) t.add_row({name, cell(m, "step"), cell(m, "value")});
    t.print(*ctx.out);
  }
  return kExitOk;
}

// ---- cancel ----
int run_cancel(const Context& ctx, std::int64_t id) {
  const json j = ctx.client().del(job_target(id));
  if (ctx.opts.json) {
    print_json(*ctx.out, j);
  } else if (j.value("cancel_requested", false) && j.value("state", "") != "cancelled") {
    *ctx.out << "cancel requested for job " << id << " (" << cell(j, "state")
             << "); it stops at its next step\n";
  } else {
    *ctx.out << "job " << id << " " << cell(j, "state") << '\n';
  }
  return kExitOk;
}

// ---- retry ----
// wb job retry ID [--set world=N --set reshard=true]: release a held job, optionally with another
// number of data-parallel ranks.
int run_retry(const Context& ctx, std::int64_t id, const std::vector<std::string>& sets) {
  json body = json::object();
  if (!sets.empty()) body["spec"] = apply_sets(json::object(), sets);
  const json j = ctx.client().post(job_target(id) + "/retry", body);
  if (ctx.opts.json) print_json(*ctx.out, j);
  else *ctx.out << "job " << id << " " << cell(j, "state") << " (released; it resumes from its checkpoint)\n";
  return kExitOk;
}

// wb job kinds [KIND]: every job kind of the loaded plugins, or one kind's spec fields.
int run_kinds(const Context& ctx, const std::string& kind) {
  const json r = ctx.client().get(kind.empty() ? std::string("/v1/job-kinds") : "/v1/job-kinds/" + kind);
  if (ctx.opts.json) {
    print_json(*ctx.out, r);
  } else if (!kind.empty()) {
    *ctx.out << render_job_kind(r);
  } else {
    Table t({"kind", "plugin", "what"}, 120);
    for (const auto& k : r.value("job_kinds", json::array())) t.add_row({cell(k, "kind"), cell(k, "plugin"), cell(k, "help")});
    t.print(*ctx.out);
  }
  return kExitOk;
}

}  // namespace

void register_job(CLI::App& app, Context& ctx) {
  auto* grp = app.add_subcommand("job", "submit, inspect, cancel and follow jobs");
  grp->require_subcommand(1);

  auto sub = std::make_shared<SubmitOpts>();
  auto* c = grp->add_subcommand("submit", "queue a job of KIND with a JSON spec");
  c->add_option("kind", sub->kind, "job kind (a loaded plugin runs it: sft, reward, ...)")->required();
  c->add_option("--spec", sub->spec_file, "JSON file holding the spec object");
  c->add_option("--set", sub->sets,
                "spec field key=value (value parsed as JSON if it parses, else a string; "
                "dotted keys nest; repeatable; applied over --spec)");
  auto* prio = c->add_option("--priority", sub->priority, "queue priority (higher runs first)")
                   ->check(CLI::Range(-1000, 1000));
  c->add_flag("--follow", sub->follow, "follow the job's progress until it ends");
  c->callback([&ctx, sub, prio] {
    sub->priority_given = prio->count() > 0;
    ctx.action = [&ctx, sub] { return run_submit(ctx, *sub); };
  });

  auto id = std::make_shared<std::int64_t>(0);
  c = grp->add_subcommand("show", "show a job's record and latest metrics");
  c->add_option("id", *id, "job id")->required();
  c->callback([&ctx, id] { ctx.action = [&ctx, id] { return run_show(ctx, *id); }; });

  c = grp->add_subcommand("cancel", "cancel a queued or running job");
  c->add_option("id", *id, "job id")->required();
  c->callback([&ctx, id] { ctx.action = [&ctx, id] { return run_cancel(ctx, *id); }; });

  c = grp->add_subcommand("retry", "release a held job (daemon died under it twice, or disk full); it resumes");
  c->add_option("id", *id, "job id")->required();
  auto retry_sets = std::make_shared<std::vector<std::string>>();
  c->add_option("--set", *retry_sets, "world=N or reshard=true: go on with another number of data-parallel ranks");
  c->callback([&ctx, id, retry_sets] { ctx.action = [&ctx, id, retry_sets] { return run_retry(ctx, *id, *retry_sets); }; });

  auto follow = std::make_shared<bool>(false);
  c = grp->add_subcommand("logs", "print a job's events; --follow streams them until it ends");
  c->add_option("id", *id, "job id")->required();
  c->add_flag("-f,--follow", *follow, "stream until the job ends (exit 0 only if it succeeded)");
  c->callback([&ctx, id, follow] {
    ctx.action = [&ctx, id, follow] { return follow_job(ctx, *id, *follow); };
  });

  auto kind = std::make_shared<std::string>();
  c = grp->add_subcommand("kinds", "list the job kinds of the loaded plugins; with KIND, its spec fields");
  c->add_option("kind", *kind, "a job kind: its fields, types, defaults and required ones");
  c->callback([&ctx, kind] { ctx.action = [&ctx, kind] { return run_kinds(ctx, *kind); }; });

  auto list = std::make_shared<ListOpts>();
  auto* jobs = app.add_subcommand("jobs", "list jobs, newest first");
  jobs->add_option("--state", list->state, "only jobs in this state")
      ->check(CLI::IsMember({"queued", "running", "held", "succeeded", "failed", "cancelled"}));
  jobs->add_option("--limit", list->limit, "at most this many")->check(CLI::Range(1, 100000));
  jobs->callback([&ctx, list] { ctx.action = [&ctx, list] { return run_list(ctx, *list); }; });
}

}  // namespace wb::cli
