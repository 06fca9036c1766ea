// The kit's field tables (wb/plugin/fields.h): one table describes a job kind and reads its specs.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "wb/plugin/fields.h"

using nlohmann::json;
using wb::plugin::FieldReader;
using wb::plugin::JobFields;
using wb::plugin::required;
using T = wb::plugin::FieldType;

namespace {

const JobFields kToy{"toy",
                     "a job kind for this test",
                     {
                         {"model", T::String, required, "the model"},
                         {"steps", T::Integer, 10, "how many", {}, 1, 100},
                         {"lr", T::Number, 0.5, "rate", {}, 0.0, 1.0},
                         {"mode", T::String, "fast", "how", {"fast", "slow"}},
                         {"note", T::String, nullptr, "free text"},
                         {"keep", T::Boolean, false, "keep it"},
                     }};

struct Toy {
  std::string model, mode, note;
  int64_t steps = 0;
  double lr = 0;
  bool keep = false;
};

Toy read(const json& spec) {
  FieldReader r(kToy, spec);
  (void)r.job_id();
  Toy t;
  t.model = r.string("model");
  t.steps = r.integer("steps");
  t.lr = r.number("lr");
  t.mode = r.string("mode");
  t.note = r.optional_string("note").value_or("");
  t.keep = r.boolean("keep");
  r.finish();
  return t;
}

}  // namespace

TEST_CASE("kit fields: absent fields take the table's defaults, present ones its checks") {
  Toy t = read({{"model", "m"}});
  CHECK(t.steps == 10);
  CHECK(t.lr == 0.5);
  CHECK(t.mode == "fast");
  CHECK(t.note.empty());
  CHECK_FALSE(t.keep);
  t = read({{"model", "m"}, {"steps", 3}, {"mode", "slow"}, {"note", "hi"}, {"keep", true}, {"job_id", 4}});
  CHECK(t.steps == 3);
  CHECK(t.mode == "slow");
  CHECK(t.keep);
  CHECK_THROWS_WITH(read(json::object()), Catch::Contains("model"));
  CHECK_THROWS_WITH(read({{"model", "m"}, {"steps", 101}}), Catch::Contains("steps"));
  CHECK_THROWS_WITH(read({{"model", "m"}, {"mode", "medium"}}), Catch::Contains("mode") && Catch::Contains("fast"));
  CHECK_THROWS_WITH(read({{"model", "m"}, {"lr", "high"}}), Catch::Contains("lr"));
  CHECK_THROWS_WITH(read({{"model", "m"}, {"stepz", 3}}), Catch::Contains("stepz") && Catch::Contains("unknown"));
}

TEST_CASE("kit fields: code reading a field its table lacks is a programming error") {
  const json spec = {{"model", "m"}};
  FieldReader r(kToy, spec);
  CHECK_THROWS_AS(r.string("modle"), std::logic_error);
  CHECK_THROWS_AS(r.integer("lr"), std::logic_error);      // declared as a number
  CHECK_THROWS_AS(r.string("note"), std::logic_error);     // no default: read it as optional
}

TEST_CASE("kit fields: the description is the table") {
  const json d = wb::plugin::describe(kToy);
  CHECK(d["help"] == "a job kind for this test");
  REQUIRE(d["fields"].size() == 6);
  CHECK(d["fields"][0] == json({{"name", "model"}, {"type", "string"}, {"required", true}, {"help", "the model"}}));
  CHECK(d["fields"][1] == json({{"name", "steps"},
                                {"type", "integer"},
                                {"required", false},
                                {"default", 10},
                                {"help", "how many"},
                                {"min", 1.0},
                                {"max", 100.0}}));
  CHECK(d["fields"][3]["choices"] == json({"fast", "slow"}));
  CHECK_FALSE(d["fields"][4].contains("default"));
  CHECK(json::parse(wb::plugin::describe_all({&kToy})) == json({{"toy", d}}));
}
