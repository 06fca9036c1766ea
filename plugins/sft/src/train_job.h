// train_job.h — the pretrain and sft jobs.
//
//   pretrain   full training of a registered model on a prompt-kind dataset (each row's "prompt"
//              is a text; the storage layer has no text kind) -> a new registered model.
//   sft        supervised fine-tuning on an sft dataset rendered with the Llama 2 chat template,
//              loss on assistant tokens only, examples packed to the context length with
//              attention kept inside each example; method lora (only A/B train, the base stays
//              bit-identical; -> a registered PEFT adapter) or full (-> a new registered model).
//
// Every log_every steps the job reports train_loss, lr, grad_norm and tokens_per_s metrics;
// eval_loss (mean token loss on the eval set: eval_dataset, else the dataset's eval split) at
// step 0, every eval_every steps and at the end. A checkpoint (Trainer::save, exact resume) is
// written to <job_dir>/checkpoint every checkpoint_every steps and whenever the daemon shuts
// down, and recorded with the host; "resume_from" continues from it bit for bit.
#pragma once

#include <nlohmann/json.hpp>

#include "wb/plugin/host.h"
#include "wb/wb_plugin.h"

namespace wb::sft {

// WB_OK when finished and registered; WB_CANCELLED on a user cancel; WB_INTERRUPTED after
// checkpointing for a shutdown. Failures throw.
wb_status run_train(const plugin::JobHost& job, const std::string& kind, const nlohmann::json& spec);

}  // namespace wb::sft
