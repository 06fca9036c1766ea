// collectives_mpi.h — the MPI backend of collectives.h (library wb_collectives_mpi; Debian's
// OpenMPI). Host buffers. Start ranks with `mpirun -np N <program>`; a program started without
// mpirun is a world of one (MPI's singleton mode).
#pragma once

#include <memory>

#include "wb/llama/collectives.h"

namespace wb::llama {

// Initialises MPI (thread level FUNNELED: only the calling thread talks to MPI; OpenMP threads
// inside the engine never do) unless the program already did, and finalises it when the last
// such object is destroyed if it initialised it. Throws CollectiveError when MPI cannot start.
std::unique_ptr<Collectives> mpi_collectives();

}  // namespace wb::llama
