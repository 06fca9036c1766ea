#include "wb/cli/job_kinds.h"

#include <sstream>

#include "wb/cli/errors.h"
#include "wb/cli/output.h"

namespace wb::cli {

using nlohmann::json;

namespace {

std::string number_text(const json& v) {
  std::string s = v.dump();
  if (v.is_number_float() && s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s;
}

std::string accepted(const json& f) {
  if (f.contains("choices")) {
    std::string out;
    for (const auto& c : f["choices"]) out += (out.empty() ? "" : " | ") + c.get<std::string>();
    return out;
  }
  const bool lo = f.contains("min"), hi = f.contains("max");
  if (lo && hi) return number_text(f["min"]) + ".." + number_text(f["max"]);
  if (lo) return ">= " + number_text(f["min"]);
  if (hi) return "<= " + number_text(f["max"]);
  return "";
}

}  // namespace

std::string render_job_kind(const json& kind) {
  std::ostringstream os;
  os << "Spec fields of '" << kind.value("kind", "?") << "' (plugin " << kind.value("plugin", "?") << ")";
  if (kind.contains("help") && kind["help"].is_string() && !kind["help"].get<std::string>().empty())
    os << ": " << kind["help"].get<std::string>();
  os << "\n";
  if (!kind.contains("fields") || !kind["fields"].is_array()) {
    os << "  (the plugin declares no fields for this kind)\n";
    return os.str();
  }
  Table t({"field", "type", "default", "help"}, 200);
  for (const auto& f : kind["fields"]) {
    std::string def = f.value("required", false) ? "required" : f.contains("default") ? cell(f["default"]) : "-";
    if (f.contains("default") && f["default"].is_number()) def = number_text(f["default"]);
    std::string help = f.value("help", "");
    if (const std::string a = accepted(f); !a.empty()) help += " [" + a + "]";
    t.add_row({f.value("name", "?"), f.value("type", "?"), def, help});
  }
  std::ostringstream table;
  t.print(table);
  std::istringstream lines(table.str());
  for (std::string line; std::getline(lines, line);) os << "  " << line << "\n";
  os << "Set each with --set NAME=VALUE (JSON values: --set 'datasets=[{\"name\":\"x\"}]'); '-' means no default.\n";
  return os.str();
}

std::string job_kind_help(const Context& ctx, const std::string& kind) {
  try {
    return render_job_kind(ctx.client().get("/v1/job-kinds/" + kind));
  } catch (const std::exception& e) {
    return "Spec fields of '" + kind + "': ask a running workbenchd (" + std::string(e.what()) + ")\n";
  }
}

}  // namespace wb::cli
