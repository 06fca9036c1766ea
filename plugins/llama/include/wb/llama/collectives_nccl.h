// collectives_nccl.h — the NCCL backend of collectives.h (library wb_collectives_nccl, built
// when the CUDA toolkit's nccl.h is found). Device buffers, on the CUDA device `device`.
// The NCCL unique id is made on rank 0 and sent to the others with `bootstrap`'s broadcast (MPI
// in practice, as llm.c does), so the world is `bootstrap`'s.
#pragma once

#include <memory>

#include "wb/llama/collectives.h"

namespace wb::llama {

// Throws CollectiveError when NCCL or the device cannot start (no GPU answers, for one).
std::unique_ptr<Collectives> nccl_collectives(Collectives& bootstrap, int device);

}  // namespace wb::llama
