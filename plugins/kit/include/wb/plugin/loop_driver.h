// loop_driver.h — drives the engine's trainer (wb/llama/train_loop.h) to its end for a job: the
// loop every training job shares (sft's pretrain and sft, reward's reward models).
//
//   LoopPlan plan{total, s.log_every, s.eval_every, s.checkpoint_every, /*log_tokens_per_s=*/true};
//   double last_train = NAN;
//   const wb_status st = drive_loop(job, *trainer, plan, [&](int64_t step) { eval(step); },
//                                   [&] { save_checkpoint(); }, last_train);
//   if (st != WB_OK) return st;  // cancelled, or interrupted with a checkpoint saved
#pragma once

#include <cstdint>
#include <functional>

#include "wb/llama/train_loop.h"
#include "wb/plugin/host.h"
#include "wb/wb_plugin.h"

namespace wb::plugin {

struct LoopPlan {
  int64_t total = 0;             // the run's steps (progress is steps_done / total)
  int64_t log_every = 1;         // train metrics at read-out steps that are multiples, and the last
  int64_t eval_every = 0;        // eval(step) at multiples before the last step; 0: never
  int64_t checkpoint_every = 0;  // save() at multiples before the last step; 0: never
  bool log_tokens_per_s = false; // also the tokens_per_s metric with the train metrics
  // One rank of a data-parallel run (data_parallel.h; nullptr: one process): rank 0's cancel and
  // shutdown flags are broadcast before every step, so every rank stops at the same step; only
  // rank 0 records metrics and progress, evaluates and saves.
  llama::Collectives* collectives = nullptr;
};

// Steps `loop` until it finishes, checking the job's cancellation before every step: on a
// shutdown it saves a checkpoint and returns WB_INTERRUPTED; on a cancel it returns WB_CANCELLED;
// WB_OK when the loop finished. Records train_loss, lr and grad_norm (and tokens_per_s) on
// read-out steps (LoopStep::loss_read) every log_every steps and at the last, and "train"
// progress after each step; last_train_loss gets every loss read. With plan.collectives, every
// rank steps and stops alike and rank 0 alone reports, calls eval() and save(). Throws std::runtime_error
// ("training diverged: ...") when a loss read is not finite. The final eval and checkpoint are
// the caller's.
wb_status drive_loop(const JobHost& job, llama::TrainLoop& loop, const LoopPlan& plan,
                     const std::function<void(int64_t step)>& eval, const std::function<void()>& save,
                     double& last_train_loss);

}  // namespace wb::plugin
