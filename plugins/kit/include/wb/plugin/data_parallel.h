// data_parallel.h — a training job as one rank of a data-parallel run: the spec fields "world"
// and "reshard", the MPI collectives, and the data each rank feeds.
//
// The daemon starts a job whose spec says world = N > 1 as `mpirun -np N wb-worker ...`; each
// rank runs the same plugin code with the same spec:
//
//   DataParallel dp(s.world);                    // MPI when world > 1 (throws without it)
//   ShardedData data(batches, dp.world(), dp.rank(), s.grad_accum, s.reshard);
//   loop->set_collectives(dp.collectives());     // weights from rank 0, gradients reduced
//   plan.collectives = dp.collectives();         // loop_driver.h: the ranks stop alike
//   if (dp.leader()) save / publish / report;    // only rank 0 records (the daemon drops the rest)
//   dp.ended(status == WB_OK || ...);            // MPI finalised only when all ranks end alike
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/llama/collectives.h"
#include "wb/llama/trainer.h"
#include "wb/plugin/fields.h"

namespace wb::plugin {

// Whether this build has the MPI backend (wb_collectives_mpi: OpenMPI's development files were
// found when it was built).
bool mpi_available();

// The table rows of "world" and "reshard", for the kinds that run data-parallel.
std::vector<Field> data_parallel_fields();

// Refuses (SpecError naming "world") world > 1 in a build without MPI.
void check_world(int64_t world);

class DataParallel {
 public:
  // world 1: one process, no library. world > 1: this process is one of mpirun's ranks; MPI is
  // initialised and must have exactly `world` ranks. Throws std::runtime_error naming the
  // mismatch (a job started without mpirun) or PluginError when this build has no MPI.
  explicit DataParallel(int64_t world);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return rank_; }
  // This rank's index among the ranks on its machine (mpirun's OMPI_COMM_WORLD_LOCAL_RANK, Slurm's
  // SLURM_LOCALID; else the rank).
  int local_rank() const;
  // Before a GPU trainer is built: the rank's own GPU (local_rank mod the device count,
  // llama::use_rank_device). Its gradients then go through host memory over MPI.
  void use_rank_device() const;
  int world() const { return world_; }
  bool leader() const { return rank_ == 0; }
  // nullptr for a world of one.
  llama::Collectives* collectives() const { return c_.get(); }
  // How the job ended on this rank. Clean ends (succeeded, cancelled, interrupted: every rank
  // ends at the same step) finalise MPI with the others; otherwise MPI is left as it is, so the
  // rank exits without finalising and mpirun ends the ranks still waiting in a reduction (one
  // that finalised would wait for them forever).
  void ended(bool cleanly) { clean_ = cleanly; }

 private:
  int rank_ = 0, world_ = 1;
  bool clean_ = false;
  std::unique_ptr<llama::Collectives> c_;
};

// The training micro-batches as one rank of `world` sees them: global step s takes the world ×
// micro_batches micro-batches from s × world × micro_batches on (in order, wrapping into the next
// epoch), rank r the micro_batches of them from r × micro_batches. So N ranks with M micro-batches
// each feed exactly what one process with N × M micro-batches feeds, in the same order.
// position(): {"epoch", "index"} of the global stream (as InMemoryDataSource's), plus "world"
// when world > 1. seek() to a position written by another world is refused
// ("checkpoint was written by 2 ranks; this run has 4: ...") unless `reshard`: then the stream
// continues from the same global micro-batch.
class ShardedData : public llama::DataSource {
 public:
  // Throws std::invalid_argument for an empty list, a rank outside the world or micro_batches < 1.
  ShardedData(std::vector<llama::TrainBatch> batches, int world, int rank, int64_t micro_batches, bool reshard);
  llama::TrainBatch next() override;
  nlohmann::json position() const override;
  void seek(const nlohmann::json& pos) override;
  size_t size() const { return batches_.size(); }

 private:
  std::vector<llama::TrainBatch> batches_;
  int world_, rank_;
  int64_t micro_;
  bool reshard_;
  int64_t global_ = 0;  // global micro-batches before this step
  int64_t taken_ = 0;   // this rank's micro-batches taken in this step
};

}  // namespace wb::plugin
