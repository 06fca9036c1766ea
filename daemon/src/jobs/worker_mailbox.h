// worker_mailbox.h — where frames from remote workers (HTTP, http_transport.h) meet the thread
// that supervises their job.
//
// The supervisor of a Slurm run opens a box for (job id, run token); the handler of
// POST /v1/jobs/{id}/worker hands each frame to deliver(), which blocks until the supervisor has
// taken the frame from next() and answered it (the reply of a call, the start message, cancel or
// shutdown) or until the box closes. Frames of another run of the job (a worker of an earlier
// submission) are refused at once, so a stale worker cannot speak for the current run.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb::daemon {

class WorkerMailboxes;

class WorkerMailbox {
 public:
  struct Item {
    nlohmann::json frame;
    std::promise<std::vector<nlohmann::json>> answer;  // the frames sent back
  };
  // Made by WorkerMailboxes::open().
  WorkerMailbox(WorkerMailboxes& owner, std::int64_t job, std::string run)
      : owner_(owner), job_(job), run_(std::move(run)) {}
  ~WorkerMailbox();  // pending and later frames are answered "closed"
  WorkerMailbox(const WorkerMailbox&) = delete;
  WorkerMailbox& operator=(const WorkerMailbox&) = delete;
  // The next frame, waiting up to `wait`.
  std::optional<Item> next(std::chrono::milliseconds wait);
  std::int64_t job() const { return job_; }
  const std::string& run() const { return run_; }

 private:
  WorkerMailboxes& owner_;
  std::int64_t job_;
  std::string run_;
};

class WorkerMailboxes {
 public:
  enum class Delivery { Answered, NoRun, OtherRun, Closed, TimedOut };
  struct Delivered {
    Delivery status = Delivery::NoRun;
    std::vector<nlohmann::json> frames;
  };
  // Opens the box of one run of `job` (replacing an older one's); it closes when destroyed.
  std::unique_ptr<WorkerMailbox> open(std::int64_t job, std::string run);
  // A worker's frame for (job, run): waits up to `wait` for the supervisor's answer.
  Delivered deliver(std::int64_t job, const std::string& run, nlohmann::json frame, std::chrono::milliseconds wait);

 private:
  friend class WorkerMailbox;
  struct Box {
    std::string run;
    std::vector<WorkerMailbox::Item> queue;
  };
  void close(std::int64_t job, const std::string& run);
  std::optional<WorkerMailbox::Item> take(std::int64_t job, const std::string& run, std::chrono::milliseconds wait);

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::int64_t, Box> boxes_;
};

}  // namespace wb::daemon
