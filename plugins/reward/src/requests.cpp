#include "requests.h"

#include "reward_device.h"
#include "spec_reader.h"

namespace wb::reward {
using nlohmann::json;
using sft::spec_fail;
using sft::SpecError;
using sft::SpecReader;

namespace {
// Runs fn, rewriting "field 'x'" in its error to "field '<prefix>.x'".
template <typename F>
auto prefixed(const std::string& prefix, F&& fn) {
  try {
    return fn();
  } catch (const SpecError& e) {
    std::string msg = e.what();
    const std::string tag = "field '";
    if (msg.rfind(tag, 0) == 0) msg.insert(tag.size(), prefix + ".");
    else msg = "field '" + prefix + "': " + msg;
    throw SpecError(msg);
  }
}
}  // namespace

SideRequest parse_side(const json& parent, const std::string& field) {
  SideRequest s;
  auto it = parent.find(field);
  if (it == parent.end() || it->is_null()) return s;
  if (!it->is_object()) spec_fail(field, std::string("expected an object {\"adapter\",\"temperature\"}, got ") + it->type_name());
  return prefixed(field, [&] {
    SpecReader r(*it);
    s.adapter = r.str_or("adapter", "");
    s.temperature = r.number("temperature", 0.7, 0.0, 100.0);
    r.finish();
    return s;
  });
}

LabelPairRequest parse_label_pair(const json& req) {
  SpecReader r(req);
  LabelPairRequest q;
  q.model = r.str("model");
  q.prompt = r.str("prompt");
  r.allow("a");
  r.allow("b");
  q.a = parse_side(req, "a");
  q.b = parse_side(req, "b");
  q.max_tokens = r.integer("max_tokens", 64, 1, 4096);
  q.seed = static_cast<uint64_t>(r.integer("seed", 0, 0));
  r.finish();
  return q;
}

ScoreRequest parse_score(const json& req) {
  SpecReader r(req);
  ScoreRequest q;
  q.rm = r.str("rm");
  q.device = read_device(r);
  q.dataset = r.str_or("dataset", "");
  r.allow("items");
  const bool has_items = req.contains("items") && !req["items"].is_null();
  if (has_items == !q.dataset.empty()) spec_fail("items", "give exactly one of items or dataset");
  if (has_items) {
    const json& items = req["items"];
    if (!items.is_array() || items.empty()) spec_fail("items", "expected a non-empty array of {\"prompt\",\"response\"}");
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string f = "items[" + std::to_string(i) + "]";
      if (!items[i].is_object()) spec_fail(f, "expected an object {\"prompt\",\"response\"}");
      q.items.push_back(prefixed(f, [&] {
        SpecReader ir(items[i]);
        ScoreItem it{ir.str("prompt"), ir.str("response")};
        ir.finish();
        return it;
      }));
    }
    for (const char* f : {"split", "limit"})
      if (req.contains(f)) spec_fail(f, "only used with dataset");
  } else {
    const std::string split = r.choice("split", {"train", "eval", "all"}, "all");
    q.split = split == "all" ? "" : split;
    q.limit = r.integer("limit", 0, 0);
  }
  r.finish();
  return q;
}

}  // namespace wb::reward
