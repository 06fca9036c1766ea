#include "wb/plugin/fields.h"

#include <cmath>
#include <stdexcept>

#include "wb/plugin/device.h"

namespace wb::plugin {

using nlohmann::json;

const char* field_type_name(FieldType t) {
  switch (t) {
    case FieldType::String: return "string";
    case FieldType::Integer: return "integer";
    case FieldType::Number: return "number";
    case FieldType::Boolean: return "boolean";
    case FieldType::Strings: return "strings";
    case FieldType::Object: return "object";
    case FieldType::Array: return "array";
  }
  return "?";
}

const Field* JobFields::find(const std::string& name) const {
  for (const auto& f : fields)
    if (f.name == name) return &f;
  return nullptr;
}

json describe(const JobFields& kind) {
  json fields = json::array();
  for (const auto& f : kind.fields) {
    json d = {{"name", f.name}, {"type", field_type_name(f.type)}, {"required", f.is_required}, {"help", f.help}};
    if (!f.default_value.is_null()) d["default"] = f.default_value;
    if (!f.choices.empty()) d["choices"] = f.choices;
    if (f.min) d["min"] = *f.min;
    if (f.max) d["max"] = *f.max;
    fields.push_back(std::move(d));
  }
  return {{"help", kind.help}, {"fields", std::move(fields)}};
}

std::string describe_all(const std::vector<const JobFields*>& kinds) {
  json all = json::object();
  for (const JobFields* k : kinds) all[k->kind] = describe(*k);
  return all.dump();
}

FieldReader::FieldReader(const JobFields& kind, const json& spec) : kind_(kind), reader_(spec) {}

const Field& FieldReader::field(const std::string& name, FieldType type) const {
  const Field* f = kind_.find(name);
  if (!f) throw std::logic_error("job kind '" + kind_.kind + "' reads field '" + name + "' that its table lacks");
  if (f->type != type)
    throw std::logic_error("job kind '" + kind_.kind + "' reads field '" + name + "' as " + field_type_name(type) +
                           " but its table says " + field_type_name(f->type));
  return *f;
}

namespace {
int64_t lo_int(const Field& f) { return f.min ? static_cast<int64_t>(*f.min) : JsonReader::kMinInt; }
int64_t hi_int(const Field& f) { return f.max ? static_cast<int64_t>(*f.max) : JsonReader::kMaxInt; }
double lo_num(const Field& f) { return f.min.value_or(-JsonReader::kMaxNumber); }
double hi_num(const Field& f) { return f.max.value_or(JsonReader::kMaxNumber); }
[[noreturn]] void no_default(const Field& f) {
  throw std::logic_error("field '" + f.name + "' has no default: read it with an optional_ accessor");
}
}  // namespace

std::string FieldReader::string(const std::string& name) {
  const Field& f = field(name, FieldType::String);
  if (!f.choices.empty()) {
    if (f.is_required) return reader_.one_of(name, f.choices);
    if (f.default_value.is_null()) no_default(f);
    return reader_.one_of_or(name, f.choices, f.default_value.get<std::string>());
  }
  if (f.is_required) return reader_.string(name);
  if (f.default_value.is_null()) no_default(f);
  return reader_.string_or(name, f.default_value.get<std::string>(), true);
}

int64_t FieldReader::integer(const std::string& name) {
  const Field& f = field(name, FieldType::Integer);
  if (f.is_required) return reader_.integer(name, lo_int(f), hi_int(f));
  if (f.default_value.is_null()) no_default(f);
  return reader_.integer_or(name, f.default_value.get<int64_t>(), lo_int(f), hi_int(f));
}

double FieldReader::number(const std::string& name) {
  const Field& f = field(name, FieldType::Number);
  if (f.is_required) return reader_.number(name, lo_num(f), hi_num(f));
  if (f.default_value.is_null()) no_default(f);
  return reader_.number_or(name, f.default_value.get<double>(), lo_num(f), hi_num(f));
}

bool FieldReader::boolean(const std::string& name) {
  const Field& f = field(name, FieldType::Boolean);
  if (f.is_required) return reader_.boolean(name);
  if (f.default_value.is_null()) no_default(f);
  return reader_.boolean_or(name, f.default_value.get<bool>());
}

std::optional<std::string> FieldReader::optional_string(const std::string& name) {
  const Field& f = field(name, FieldType::String);
  if (!f.choices.empty()) return reader_.optional_one_of(name, f.choices);
  return reader_.optional_string(name);
}

std::optional<int64_t> FieldReader::optional_integer(const std::string& name) {
  const Field& f = field(name, FieldType::Integer);
  return reader_.optional_integer(name, lo_int(f), hi_int(f));
}

std::optional<double> FieldReader::optional_number(const std::string& name) {
  const Field& f = field(name, FieldType::Number);
  return reader_.optional_number(name, lo_num(f), hi_num(f));
}

std::optional<std::vector<std::string>> FieldReader::optional_strings(const std::string& name) {
  (void)field(name, FieldType::Strings);
  return reader_.optional_strings(name);
}

std::optional<json> FieldReader::optional_object(const std::string& name) {
  (void)field(name, FieldType::Object);
  return reader_.optional_object(name);
}

const json* FieldReader::take(const std::string& name, FieldType type) {
  (void)field(name, type);
  reader_.allow(name);
  const json* v = reader_.find(name);
  return v && !v->is_null() ? v : nullptr;
}

std::string FieldReader::device() {
  (void)field("device", FieldType::String);
  return read_device(reader_);
}

std::optional<int64_t> FieldReader::job_id() { return reader_.optional_integer("job_id", 1); }

std::string FieldReader::resume_from() { return reader_.string_or("resume_from", "", true); }

}  // namespace wb::plugin
