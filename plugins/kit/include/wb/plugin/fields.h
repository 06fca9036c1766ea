// fields.h — a job kind's spec fields declared once, as data, and used both to describe the kind
// (wb_plugin::job_fields_json: GET /v1/job-kinds, `wb train <kind> --help`) and to read specs.
//
//   const plugin::JobFields kPretrain{"pretrain", "pretrain a model on a text dataset", {
//       {"model", Type::String, required, "the base model to train"},
//       {"lr", Type::Number, 3e-3, "peak learning rate", {}, 0.0, 10.0},
//   }};
//   FieldReader r(kPretrain, spec);
//   std::string model = r.string("model");  // required: the table says so
//   double lr = r.number("lr");             // absent: the table's default; range from the table
//   r.finish();                             // a field the spec has but nobody read: unknown
//
// A field the code reads but the table lacks (or reads as another type) is a programming error
// (std::logic_error), and a field the table has but the code never reads is refused as unknown by
// finish(): tests reading a spec of every declared field catch both, so the description and the
// validation cannot drift.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/plugin/spec.h"

namespace wb::plugin {

enum class FieldType { String, Integer, Number, Boolean, Strings, Object, Array };
const char* field_type_name(FieldType t);

// Marks a field as required in a table (instead of a default).
struct Required {};
inline constexpr Required required{};

struct Field {
  std::string name;
  FieldType type = FieldType::String;
  bool is_required = false;
  nlohmann::json default_value;        // null: required, or no default (help says what applies)
  std::string help;                    // one line
  std::vector<std::string> choices;    // String fields: the accepted values (empty: any)
  std::optional<double> min, max;      // Integer / Number fields: the accepted range

  Field(std::string n, FieldType t, Required, std::string h, std::vector<std::string> c = {})
      : name(std::move(n)), type(t), is_required(true), help(std::move(h)), choices(std::move(c)) {}
  Field(std::string n, FieldType t, nlohmann::json def, std::string h, std::vector<std::string> c = {},
        std::optional<double> lo = std::nullopt, std::optional<double> hi = std::nullopt)
      : name(std::move(n)), type(t), default_value(std::move(def)), help(std::move(h)), choices(std::move(c)), min(lo),
        max(hi) {}
};

struct JobFields {
  std::string kind;
  std::string help;  // one line: what the job does
  std::vector<Field> fields;

  const Field* find(const std::string& name) const;
};

// {"help", "fields": [{"name","type","required","default"?,"help","choices"?,"min"?,"max"?}]}
nlohmann::json describe(const JobFields& kind);
// {"<kind>": describe(kind), ...}: the text of wb_plugin::job_fields_json.
std::string describe_all(const std::vector<const JobFields*>& kinds);

// Reads a spec through a kind's table: required fields must be present, absent optional ones take
// the table's default, ranges and choices come from the table. The daemon's own fields (job_id,
// resume_from) are accepted. Errors in the spec are SpecError naming the field.
class FieldReader {
 public:
  FieldReader(const JobFields& kind, const nlohmann::json& spec);
  FieldReader(const JobFields& kind, nlohmann::json&& spec) = delete;  // would dangle

  std::string string(const std::string& name);                      // choices checked when declared
  int64_t integer(const std::string& name);
  double number(const std::string& name);
  bool boolean(const std::string& name);
  // Fields without a default: absent (or null) is nullopt.
  std::optional<std::string> optional_string(const std::string& name);
  std::optional<int64_t> optional_integer(const std::string& name);
  std::optional<double> optional_number(const std::string& name);
  std::optional<std::vector<std::string>> optional_strings(const std::string& name);
  std::optional<nlohmann::json> optional_object(const std::string& name);
  // A field the caller checks by its own rules (a list of objects, a string or a list): marks it
  // read and returns its value, nullptr when absent or null.
  const nlohmann::json* take(const std::string& name, FieldType type);
  // "device": auto | cpu | cuda, "" when absent (the daemon's default; device.h).
  std::string device();
  // The daemon's "job_id" (absent at validate() time) and "resume_from" ("" unless resuming).
  std::optional<int64_t> job_id();
  std::string resume_from();

  bool has(const std::string& name) const { return reader_.has(name); }
  SpecReader& reader() { return reader_; }
  void finish() const { reader_.finish(); }

 private:
  const Field& field(const std::string& name, FieldType type) const;

  const JobFields& kind_;
  SpecReader reader_;
};

}  // namespace wb::plugin
