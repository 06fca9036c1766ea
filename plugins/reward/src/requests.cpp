#include "requests.h"

#include "wb/plugin/device.h"
#include "wb/plugin/spec.h"

namespace wb::reward {
using nlohmann::json;
using plugin::spec_fail;
using plugin::SpecError;
using plugin::SpecReader;

SideRequest parse_side(const json& parent, const std::string& field) {
  SideRequest s;
  auto it = parent.find(field);
  if (it == parent.end() || it->is_null()) return s;
  if (!it->is_object()) spec_fail(field, std::string("expected an object {\"adapter\",\"temperature\"}, got ") + it->type_name());
  SpecReader r(*it, field + ".");  // errors name "<field>.temperature"
  s.adapter = r.string_or("adapter", "");
  s.temperature = r.number_or("temperature", 0.7, 0.0, 100.0);
  r.finish();
  return s;
}

LabelPairRequest parse_label_pair(const json& req) {
  SpecReader r(req);
  LabelPairRequest q;
  q.model = r.string("model");
  q.prompt = r.string("prompt");
  r.allow("a");
  r.allow("b");
  q.a = parse_side(req, "a");
  q.b = parse_side(req, "b");
  q.max_tokens = r.integer_or("max_tokens", 64, 1, 4096);
  q.seed = static_cast<uint64_t>(r.integer_or("seed", 0, 0));
  r.finish();
  return q;
}

ScoreRequest parse_score(const json& req) {
  SpecReader r(req);
  ScoreRequest q;
  q.rm = r.string("rm");
  q.device = plugin::read_device(r);
  q.dataset = r.string_or("dataset", "");
  r.allow("items");
  const bool has_items = req.contains("items") && !req["items"].is_null();
  if (has_items == !q.dataset.empty()) spec_fail("items", "give exactly one of items or dataset");
  if (has_items) {
    const json& items = req["items"];
    if (!items.is_array() || items.empty()) spec_fail("items", "expected a non-empty array of {\"prompt\",\"response\"}");
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string f = "items[" + std::to_string(i) + "]";
      if (!items[i].is_object()) spec_fail(f, "expected an object {\"prompt\",\"response\"}");
      SpecReader ir(items[i], f + ".");
      ScoreItem it{ir.string("prompt"), ir.string("response")};
      ir.finish();
      q.items.push_back(std::move(it));
    }
    for (const char* f : {"split", "limit"})
      if (req.contains(f)) spec_fail(f, "only used with dataset");
  } else {
    const std::string split = r.one_of_or("split", {"train", "eval", "all"}, "all");
    q.split = split == "all" ? "" : split;
    q.limit = r.integer_or("limit", 0, 0);
  }
  r.finish();
  return q;
}

}  // namespace wb::reward
