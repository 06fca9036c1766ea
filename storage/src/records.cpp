// Enum spellings, name rules and the JSON form of every record.
#include "wb/storage/records.h"

#include <array>
#include <utility>

#include "wb/storage/error.h"

namespace wb::storage {

namespace {

template <class E, std::size_t N>
std::optional<E> lookup(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view text) {
  for (const auto& [value, word] : table)
    if (word == text) return value;
  return std::nullopt;
}

template <class E, std::size_t N>
std::string_view spell(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [v, word] : table)
    if (v == value) return word;
  return "?";
}

constexpr std::array<std::pair<DatasetKind, std::string_view>, 4> kDatasetKinds{{{DatasetKind::Sft, "sft"},
                                                                                  {DatasetKind::Preference, "preference"},
                                                                                  {DatasetKind::Prompt, "prompt"},
                                                                                  {DatasetKind::Text, "text"}}};
constexpr std::array<std::pair<Split, std::string_view>, 2> kSplits{{{Split::Train, "train"}, {Split::Eval, "eval"}}};
constexpr std::array<std::pair<JobState, std::string_view>, 6> kJobStates{{{JobState::Queued, "queued"},
                                                                          {JobState::Running, "running"},
                                                                          {JobState::Succeeded, "succeeded"},
                                                                          {JobState::Failed, "failed"},
                                                                          {JobState::Cancelled, "cancelled"},
                                                                          {JobState::Held, "held"}}};
constexpr std::array<std::pair<AdapterKind, std::string_view>, 4> kAdapterKinds{
    {{AdapterKind::Policy, "policy"},
     {AdapterKind::RewardHelpfulness, "reward_helpfulness"},
     {AdapterKind::RewardSafety, "reward_safety"},
     {AdapterKind::Value, "value"}}};

nlohmann::json optional_json(const std::optional<std::string>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

std::string_view to_string(DatasetKind kind) { return spell(kDatasetKinds, kind); }
std::string_view to_string(Split split) { return spell(kSplits, split); }
std::string_view to_string(JobState state) { return spell(kJobStates, state); }
std::string_view to_string(AdapterKind kind) { return spell(kAdapterKinds, kind); }

std::optional<DatasetKind> parse_dataset_kind(std::string_view t) { return lookup(kDatasetKinds, t); }
std::optional<Split> parse_split(std::string_view t) { return lookup(kSplits, t); }
std::optional<JobState> parse_job_state(std::string_view t) { return lookup(kJobStates, t); }
std::optional<AdapterKind> parse_adapter_kind(std::string_view t) { return lookup(kAdapterKinds, t); }

bool is_final(JobState s) {
  return s == JobState::Succeeded || s == JobState::Failed || s == JobState::Cancelled;
}

void validate_name(std::string_view name, std::string_view field) {
  const std::string prefix = "field '" + std::string(field) + "': ";
  if (name.empty()) throw Invalid(prefix + "must not be empty");
  if (name.size() > 128) throw Invalid(prefix + "longer than 128 characters");
  if (name.front() == '.' || name.front() == '-') throw Invalid(prefix + "must not start with '.' or '-'");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok)
      throw Invalid(prefix + "may contain only letters, digits, '.', '_' and '-', got " +
                    nlohmann::json(std::string(name)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

void validate_adapter_name(std::string_view name, std::string_view field) {
  const std::size_t at = name.find('@');
  if (at == std::string_view::npos) return validate_name(name, field);
  const std::string f(field);
  validate_name(name.substr(0, at), f + "' before '@");
  validate_name(name.substr(at + 1), f + "' after '@");
}

bool is_versioned_adapter_name(std::string_view name) {
  if (name.find('@') == std::string_view::npos) return false;
  try {
    validate_adapter_name(name);
    return true;
  } catch (const Invalid&) {
    return false;
  }
}

void to_json(nlohmann::json& j, const ModelRecord& r) {
  j = {{"name", r.name}, {"path", r.path}, {"config", r.config},
       {"dtype", r.dtype}, {"hash", r.hash}, {"created", r.created}};
}

void to_json(nlohmann::json& j, const DatasetRecord& r) {
  j = {{"name", r.name},
       {"kind", to_string(r.kind)},
       {"source", r.source},
       {"rows", r.rows},
       {"train_rows", r.train_rows},
       {"eval_rows", r.eval_rows},
       {"eval_fraction", r.eval_fraction},
       {"created", r.created}};
}

void to_json(nlohmann::json& j, const ExampleRow& r) {
  j = {{"index", r.index}, {"split", to_string(r.split)}, {"row", nlohmann::json::parse(r.row_json)}};
}

void to_json(nlohmann::json& j, const ComparisonRecord& r) {
  j = {{"id", r.id},
       {"dataset", r.dataset},
       {"prompt", r.prompt},
       {"response_a", r.response_a},
       {"response_b", r.response_b},
       {"chosen", std::string(1, r.chosen)},
       {"rating", r.rating},
       {"safety", r.safety},
       {"is_safety_prompt", r.is_safety_prompt},
       {"annotator", r.annotator},
       {"source", r.source},
       {"model_a", optional_json(r.model_a)},
       {"model_b", optional_json(r.model_b)},
       {"seconds", r.seconds ? nlohmann::json(*r.seconds) : nlohmann::json(nullptr)},
       {"created", r.created}};
}

void to_json(nlohmann::json& j, const JobRecord& r) {
  j = {{"id", r.id},
       {"kind", r.kind},
       {"spec", r.spec},
       {"state", to_string(r.state)},
       {"progress", r.progress},
       {"phase", r.phase},
       {"error", optional_json(r.error)},
       {"created", r.created},
       {"started", optional_json(r.started)},
       {"finished", optional_json(r.finished)},
       {"checkpoint", optional_json(r.checkpoint)},
       {"attempts", r.attempts},
       {"crashes", r.crashes},
       {"cancel_requested", r.cancel_requested},
       {"priority", r.priority},
       {"slurm_job_id", optional_json(r.slurm_job_id)}};
}

void to_json(nlohmann::json& j, const MetricPoint& r) {
  j = {{"step", r.step}, {"name", r.name}, {"value", r.value}};
}

void to_json(nlohmann::json& j, const LogRecord& r) {
  j = {{"id", r.id}, {"job", r.job}, {"time", r.time}, {"level", r.level}, {"message", r.message}};
}

void to_json(nlohmann::json& j, const AdapterRecord& r) {
  j = {{"name", r.name},
       {"path", r.path},
       {"base_model", r.base_model},
       {"job", r.job ? nlohmann::json(*r.job) : nlohmann::json(nullptr)},
       {"rank", r.rank},
       {"alpha", r.alpha},
       {"target_modules", r.target_modules},
       {"kind", to_string(r.kind)},
       {"created", r.created}};
}

}  // namespace wb::storage
