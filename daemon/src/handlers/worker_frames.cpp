// POST /v1/jobs/{id}/worker?run=RUN[&rank=R] — one frame from a worker Slurm or mpirun started
// (http_transport.h), answered with {"frames": [...]} by the job's supervisor (slurm_launcher.h,
// mpi_launcher.h, worker_mailbox.h). Reached over the TCP listener with its bearer token, or the
// daemon's Unix socket (the ranks of a local data-parallel job). `rank` (an MPI rank, default 0)
// travels to the supervisor as the frame's "rank".
#include "handlers/handlers.h"
#include "http/api_error.h"
#include "http/json_body.h"

namespace wb::daemon::handlers {

using nlohmann::json;

std::int64_t job_id_param(Request& req);  // jobs.cpp

Response job_worker_frame(App& app, Request& req) {
  const std::int64_t id = job_id_param(req);
  for (auto& [k, v] : req.query)
    if (k != "run" && k != "rank") throw invalid_request("unknown query parameter '" + k + "'");
  if (!req.query.count("run") || req.query["run"].empty())
    throw invalid_request("query parameter 'run': required (the run token of the job's Slurm or mpirun submission)");
  const std::string run = req.query["run"];
  const std::int64_t rank = req.query.count("rank") ? query_int("rank", req.query["rank"], 0, 1 << 20) : 0;
  json frame = parse_json_body(req.body);
  if (!frame.is_object() || !frame.contains("type") || !frame["type"].is_string())
    throw invalid_request("body: expected a worker frame, a JSON object with a string 'type'");
  frame["rank"] = rank;
  using D = WorkerMailboxes::Delivery;
  auto d = app.scheduler.mailboxes().deliver(id, run, std::move(frame), std::chrono::seconds(120));
  switch (d.status) {
    case D::Answered:
      return json_response(200, {{"frames", std::move(d.frames)}});
    case D::NoRun:
      throw conflict("job " + std::to_string(id) + " has no Slurm or mpirun run waiting for its workers");
    case D::OtherRun:
      throw conflict("run " + run + " is not the current run of job " + std::to_string(id) +
                     " (a worker of an earlier submission)");
    case D::Closed:
      throw conflict("the run " + run + " of job " + std::to_string(id) + " has ended");
    case D::TimedOut:
      break;
  }
  throw ApiError(504, "timeout", "job " + std::to_string(id) + ": the daemon did not answer the frame within 120 s");
}

}  // namespace wb::daemon::handlers
