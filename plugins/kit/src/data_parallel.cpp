#include "wb/plugin/data_parallel.h"

#include <cstdlib>
#include <stdexcept>

#include "wb/llama/device.h"

#include "wb/plugin/error.h"
#include "wb/plugin/spec.h"

#if WB_HAVE_MPI
#include "wb/llama/collectives_mpi.h"
#endif

namespace wb::plugin {
using nlohmann::json;

bool mpi_available() {
#if WB_HAVE_MPI
  return true;
#else
  return false;
#endif
}

std::vector<Field> data_parallel_fields() {
  return {
      {"world", FieldType::Integer, 1,
       "ranks of a data-parallel run on this machine (the daemon starts them with mpirun; each feeds grad_accum "
       "micro-batches of every step)",
       {}, 1, 1024},
      {"reshard", FieldType::Boolean, false, "resume a checkpoint written by another number of ranks"},
  };
}

void check_world(int64_t world) {
  if (world > 1 && !mpi_available())
    spec_fail("world", "this build has no MPI (OpenMPI's development files were not found when it was built), so "
                       "only world = 1 runs");
}

DataParallel::DataParallel(int64_t world) {
  if (world <= 1) return;
  check_world(world);
#if WB_HAVE_MPI
  c_ = llama::mpi_collectives();
  rank_ = c_->rank();
  world_ = c_->world();
  if (world_ != world)
    throw std::runtime_error("the spec asks for world " + std::to_string(world) + " but MPI runs " +
                             std::to_string(world_) + " rank" + (world_ == 1 ? "" : "s") +
                             " (the daemon starts data-parallel jobs with mpirun -np " + std::to_string(world) + ")");
#endif
}

int DataParallel::local_rank() const {
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"})
    if (const char* v = std::getenv(var); v && *v) {
      try {
        return std::stoi(v);
      } catch (const std::exception&) {
      }
    }
  return rank_;
}

void DataParallel::use_rank_device() const {
  if (world_ > 1) llama::use_rank_device(local_rank());
}

DataParallel::~DataParallel() {
  // A rank that failed alone must not finalise: the others may wait for it in a reduction, and
  // only its exit without finalising makes mpirun end them.
  if (c_ && !clean_) (void)c_.release();
}

ShardedData::ShardedData(std::vector<llama::TrainBatch> batches, int world, int rank, int64_t micro_batches,
                         bool reshard)
    : batches_(std::move(batches)), world_(world), rank_(rank), micro_(micro_batches), reshard_(reshard) {
  if (batches_.empty()) throw std::invalid_argument("sharded data: no micro-batches");
  if (world_ < 1 || rank_ < 0 || rank_ >= world_) throw std::invalid_argument("sharded data: rank outside the world");
  if (micro_ < 1) throw std::invalid_argument("sharded data: micro_batches must be >= 1");
}

llama::TrainBatch ShardedData::next() {
  const int64_t k = static_cast<int64_t>(batches_.size());
  const int64_t at = (global_ + rank_ * micro_ + taken_) % k;
  if (++taken_ == micro_) {
    global_ += world_ * micro_;
    taken_ = 0;
  }
  return batches_[static_cast<size_t>(at)];
}

json ShardedData::position() const {
  const int64_t k = static_cast<int64_t>(batches_.size());
  json p = {{"epoch", global_ / k}, {"index", global_ % k}};
  if (taken_) p["taken"] = taken_;
  if (world_ > 1) p["world"] = world_;
  return p;
}

void ShardedData::seek(const json& pos) {
  if (!pos.is_object() || !pos.contains("epoch") || !pos.contains("index") || !pos["epoch"].is_number_integer() ||
      !pos["index"].is_number_integer())
    throw std::invalid_argument("data position: expected {\"epoch\": int, \"index\": int}, got " + pos.dump());
  const int64_t k = static_cast<int64_t>(batches_.size());
  const int64_t epoch = pos["epoch"].get<int64_t>(), index = pos["index"].get<int64_t>();
  const int64_t taken = pos.value("taken", int64_t{0});
  if (epoch < 0 || index < 0 || index >= k || taken < 0 || taken >= micro_)
    throw std::invalid_argument("data position out of range: " + pos.dump());
  const int64_t written_by = pos.value("world", int64_t{1});
  if (written_by != world_ && !reshard_)
    throw std::invalid_argument("checkpoint was written by " + std::to_string(written_by) + " rank" +
                                (written_by == 1 ? "" : "s") + "; this run has " + std::to_string(world_) +
                                ": set reshard=true to continue from its step with " + std::to_string(world_) +
                                " rank" + (world_ == 1 ? "" : "s") + " (each step then takes world x grad_accum = " +
                                std::to_string(world_ * micro_) + " micro-batches)");
  global_ = epoch * k + index;
  taken_ = taken;
}

}  // namespace wb::plugin
