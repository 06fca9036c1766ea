// wb/storage/records.h — the rows the repositories return, and their JSON form.
//
// Each record maps 1:1 onto the object docs/PROTOCOL.md shows for it; to_json() writes exactly
// that shape (nullable columns become JSON null), so the daemon can answer with `json j = record;`.
// Timestamps are UTC ISO-8601 strings ("2026-11-27T02:11:00Z").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb::storage {

// ---- enums stored as TEXT (CHECK constraints in the schema hold the same sets) ----------------

enum class DatasetKind { Sft, Preference, Prompt, Text };
enum class Split { Train, Eval };
enum class JobState { Queued, Running, Succeeded, Failed, Cancelled, Held };
enum class AdapterKind { Policy, RewardHelpfulness, RewardSafety, Value };

std::string_view to_string(DatasetKind kind);   // "sft" | "preference" | "prompt" | "text"
std::string_view to_string(Split split);        // "train" | "eval"
std::string_view to_string(JobState state);     // "queued" | "running" | ...
std::string_view to_string(AdapterKind kind);   // "policy" | "reward_helpfulness" | "reward_safety" | "value"

// Parsers return nullopt for an unknown word (callers turn that into Invalid naming the field).
std::optional<DatasetKind> parse_dataset_kind(std::string_view text);
std::optional<Split> parse_split(std::string_view text);
std::optional<JobState> parse_job_state(std::string_view text);
std::optional<AdapterKind> parse_adapter_kind(std::string_view text);

// succeeded, failed and cancelled are final: no transition leaves them. held is not final: a
// person releases it (JobRepository::retry) or cancels it.
bool is_final(JobState state);

// Names of models, datasets and adapters: 1..128 characters of [A-Za-z0-9._-], not starting with
// '.' or '-' (they appear in URL paths). Throws Invalid("field '<field>': ...") otherwise.
void validate_name(std::string_view name, std::string_view field = "name");
// Adapter names: a name by validate_name's rules, optionally followed by '@' and a version by the
// same rules ("support@3": the layout of a shared adapter directory, docs/SCALING.md).
void validate_adapter_name(std::string_view name, std::string_view field = "name");
// True when `name` is "<name>@<version>", both parts by validate_name's rules.
bool is_versioned_adapter_name(std::string_view name);

// ---- records -------------------------------------------------------------------------------

struct ModelRecord {
  std::string name;
  std::string path;
  nlohmann::json config = nlohmann::json::object();  // architecture config
  std::string dtype;                                 // "f32", "f16", "bf16", ...
  std::string hash;                                  // content hash (may be empty)
  std::string created;
};

struct DatasetRecord {
  std::string name;
  DatasetKind kind = DatasetKind::Sft;
  std::string source;        // file path or free label
  std::int64_t rows = 0;
  std::int64_t train_rows = 0;
  std::int64_t eval_rows = 0;
  double eval_fraction = 0;  // rule used for the split (stored so appended rows follow it)
  std::string created;
};

// One dataset row. row_json is the canonical JSON text (dataset_format.h).
struct ExampleRow {
  std::int64_t index = 0;  // 0-based row index inside the dataset
  Split split = Split::Train;
  std::string row_json;
};

struct RowsPage {
  std::vector<ExampleRow> rows;
  std::int64_t total = 0;  // rows matching the split filter, ignoring offset/limit
};

struct ComparisonRecord {
  std::int64_t id = 0;
  std::string dataset;
  std::string prompt;
  std::string response_a;
  std::string response_b;
  char chosen = 'a';  // 'a' or 'b'
  int rating = 0;     // 0..3
  std::string safety; // both_safe | chosen_safe | both_unsafe
  bool is_safety_prompt = false;
  std::string annotator;
  std::string source;  // human | model
  std::optional<std::string> model_a;
  std::optional<std::string> model_b;
  std::optional<double> seconds;
  std::string created;
};

struct JobRecord {
  std::int64_t id = 0;
  std::string kind;
  nlohmann::json spec = nlohmann::json::object();
  JobState state = JobState::Queued;
  double progress = 0;
  std::string phase;
  std::optional<std::string> error;
  std::string created;
  std::optional<std::string> started;
  std::optional<std::string> finished;
  std::optional<std::string> checkpoint;
  int attempts = 0;  // how many times the job went running -> queued (re-queue, crash recovery)
  int crashes = 0;   // runs the daemon died under (never reset)
  bool resumed_after_crash = false;  // the current/next run resumes after the daemon died under the last one
  bool cancel_requested = false;
  int priority = 0;  // higher runs first
  std::optional<std::string> slurm_job_id;  // launcher = "slurm": the latest sbatch's job id
};

struct MetricPoint {
  std::int64_t step = 0;
  std::string name;
  double value = 0;
};

struct LogRecord {
  std::int64_t id = 0;  // increasing; use as a cursor
  std::int64_t job = 0;
  std::string time;     // with milliseconds
  std::string level;    // debug | info | warn | error
  std::string message;
};

struct AdapterRecord {
  std::string name;
  std::string path;
  std::string base_model;
  std::optional<std::int64_t> job;  // the job that produced it, if any
  int rank = 0;
  double alpha = 0;
  std::vector<std::string> target_modules;
  AdapterKind kind = AdapterKind::Policy;
  std::string created;
};

// ---- JSON (nlohmann ADL hooks: `nlohmann::json j = record;`) ---------------------------------
// DatasetRecord-> {"name","kind","source","rows","train_rows","eval_rows","eval_fraction","created"}
// ExampleRow   -> {"index","split","row":{...}} (row keys in canonical order as text; as a
//                 nlohmann::json object its keys print sorted)
// JobRecord    -> {"id","kind","spec","state","progress","phase","error","created","started",
//                  "finished","checkpoint","attempts","crashes","cancel_requested","priority"}
// AdapterRecord-> {"name","path","base_model","job","rank","alpha","target_modules","kind","created"}
//                 (the daemon adds "loaded")
void to_json(nlohmann::json& j, const ModelRecord& r);
void to_json(nlohmann::json& j, const DatasetRecord& r);
void to_json(nlohmann::json& j, const ExampleRow& r);
void to_json(nlohmann::json& j, const ComparisonRecord& r);
void to_json(nlohmann::json& j, const JobRecord& r);
void to_json(nlohmann::json& j, const MetricPoint& r);
void to_json(nlohmann::json& j, const LogRecord& r);
void to_json(nlohmann::json& j, const AdapterRecord& r);

}  // namespace wb::storage
