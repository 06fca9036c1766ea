#include "wb/cli/set_parser.h"

#include "wb/cli/errors.h"

namespace wb::cli {

using nlohmann::json;

void apply_set(json& spec, std::string_view assignment) {
  const std::string where = "--set '" + std::string(assignment) + "'";
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos) throw UsageError(where + ": expected key=value");
  const std::string_view key = assignment.substr(0, eq);
  const std::string_view text = assignment.substr(eq + 1);
  if (key.empty()) throw UsageError(where + ": empty key");
  if (!spec.is_object()) throw UsageError(where + ": the spec is not a JSON object");
  // Check every segment before creating anything, so a bad key leaves `spec` untouched. (The
  // walk below can only fail at an existing non-object node, before it creates any.)
  if (key.front() == '.' || key.back() == '.' || key.find("..") != std::string_view::npos)
    throw UsageError(where + ": empty segment in key '" + std::string(key) + "'");

  // Walk/create the objects named by all but the last dotted segment.
  json* node = &spec;
  std::size_t start = 0;
  std::string path;
  while (true) {
    const auto dot = key.find('.', start);
    const std::string seg(key.substr(start, dot == std::string_view::npos ? key.npos : dot - start));
    if (dot == std::string_view::npos) {
      json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
      (*node)[seg] = value.is_discarded() ? json(std::string(text)) : std::move(value);
      return;
    }
    path += path.empty() ? seg : "." + seg;
    json& child = (*node)[seg];  // creates null when missing
    if (child.is_null()) child = json::object();
    if (!child.is_object())
      throw UsageError(where + ": '" + path + "' is already set to a non-object value");
    node = &child;
    start = dot + 1;
  }
}

json apply_sets(json base, const std::vector<std::string>& assignments) {
  if (base.is_null()) base = json::object();
  for (const auto& a : assignments) apply_set(base, a);
  return base;
}

}  // namespace wb::cli
