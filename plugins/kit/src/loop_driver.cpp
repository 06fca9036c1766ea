#include "wb/plugin/loop_driver.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace wb::plugin {

wb_status drive_loop(const JobHost& job, llama::TrainLoop& loop, const LoopPlan& plan,
                     const std::function<void(int64_t step)>& eval, const std::function<void()>& save,
                     double& last_train_loss) {
  llama::Collectives* c = plan.collectives && plan.collectives->world() > 1 ? plan.collectives : nullptr;
  const bool leader = !c || c->rank() == 0;
  while (!loop.finished()) {
    bool cancelled = job.cancelled(), shutting_down = job.shutting_down();
    if (c) {
      // The ranks hear a cancel at different moments: rank 0's view decides for all.
      unsigned char flags[2] = {static_cast<unsigned char>(cancelled), static_cast<unsigned char>(shutting_down)};
      c->broadcast(flags, sizeof flags, 0);
      cancelled = flags[0] != 0;
      shutting_down = flags[1] != 0;
    }
    if (cancelled) {
      if (shutting_down) {
        if (leader) save();
        job.info("interrupted at step " + std::to_string(loop.steps_done()) + "; checkpoint saved");
        return WB_INTERRUPTED;
      }
      job.info("cancelled at step " + std::to_string(loop.steps_done()));
      return WB_CANCELLED;
    }
    const llama::LoopStep ls = loop.step();
    const llama::StepStats& st = ls.stats;
    // The GPU loop reads the loss back only on some steps (loss_read).
    if (ls.loss_read) {
      last_train_loss = st.loss;
      if (!std::isfinite(st.loss))
        throw std::runtime_error("training diverged: loss is " + std::to_string(st.loss) + " at step " +
                                 std::to_string(st.step));
    }
    if (!leader) continue;
    if (ls.loss_read && (st.step % plan.log_every == 0 || loop.finished())) {
      job.metric(st.step, "train_loss", st.loss);
      job.metric(st.step, "lr", st.lr);
      job.metric(st.step, "grad_norm", st.grad_norm);
      if (plan.log_tokens_per_s) job.metric(st.step, "tokens_per_s", st.tokens_per_s);
    }
    job.progress(static_cast<double>(st.step) / static_cast<double>(plan.total), "train");
    if (plan.eval_every > 0 && st.step % plan.eval_every == 0 && !loop.finished()) eval(st.step);
    if (plan.checkpoint_every > 0 && st.step % plan.checkpoint_every == 0 && !loop.finished()) save();
  }
  return WB_OK;
}

}  // namespace wb::plugin
