// Integration without a model: what the labeling path refuses before anything is sampled —
// preference files with a bad rating or safety label (rejected naming the line), wb label's
// usage errors and its refusal off a terminal, /v1/comparisons/next's and /stats' checks; and,
// against the pair_fixture plugin (plugins/pair_fixture.cpp), rows whose answers are empty and
// the shuffling of sides.
#include <catch2/catch.hpp>

#include <map>

#include <nlohmann/json.hpp>

#include "harness.h"
#include "label_http.h"

using nlohmann::json;
using namespace wbtest;
using labeltest::get_json;
using labeltest::post_json;

TEST_CASE("labeling refuses bad input: preference files, options, no terminal", "[label][integration]") {
  TempDir tmp("wb-label");
  Daemon d(tmp.path());  // no plugins: everything here is decided before sampling

  // A preference file with a rating outside 0..3 or an unknown safety label: rejected whole,
  // the message names the line and the field; nothing is stored.
  write_file(tmp.path() / "bad_rating.jsonl",
             "{\"prompt\":\"p\",\"chosen\":\"c\",\"rejected\":\"r\",\"rating\":1}\n"
             "{\"prompt\":\"p\",\"chosen\":\"c\",\"rejected\":\"r\",\"rating\":4}\n");
  ProcResult r = wb(d.socket(), {"dataset", "import", "pref", (tmp.path() / "bad_rating.jsonl").string(), "--kind",
                                 "preference"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("line 2: field 'rating': expected an integer 0..3, got 4") != std::string::npos);
  write_file(tmp.path() / "bad_safety.jsonl",
             "{\"prompt\":\"p\",\"chosen\":\"c\",\"rejected\":\"r\"}\n"
             "{\"prompt\":\"p\",\"chosen\":\"c\",\"rejected\":\"r\",\"safety\":\"both_safe\"}\n"
             "{\"prompt\":\"p\",\"chosen\":\"c\",\"rejected\":\"r\",\"safety\":\"mostly_safe\"}\n");
  r = wb(d.socket(), {"dataset", "import", "pref", (tmp.path() / "bad_safety.jsonl").string(), "--kind", "preference"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("line 3: field 'safety': expected one of both_safe, chosen_safe, both_unsafe, got \"mostly_safe\"") !=
        std::string::npos);
  CHECK(get_json(d.socket(), "/v1/datasets")["datasets"].empty());

  // wb label: usage errors and the non-interactive refusal (stdin is not a terminal here).
  r = wb(d.socket(), {"label", "--prompts", "p", "--model", "m"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--into") != std::string::npos);
  r = wb(d.socket(), {"label", "--prompts", "p", "--model", "m", "--into", "pref", "--annotator", "x"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("needs a terminal") != std::string::npos);
  // Without a terminal and without an annotator, the terminal is what is missing first.
  r = run_process({wb_binary(), "--socket", d.socket(), "label", "--prompts", "p", "--model", "m", "--into", "pref"}, "",
                  {{"USER", ""}});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("needs a terminal") != std::string::npos);

  // The route: strict parameters, kinds, and 404 all_labeled once everything is labeled.
  post_json(d.socket(), "/v1/datasets", {{"name", "prompts"}, {"kind", "prompt"}, {"jsonl", "{\"prompt\":\"p0\"}\n"}}, 201);
  const std::string base = "/v1/comparisons/next?prompts=prompts&into=pref&model=m";
  CHECK(get_json(d.socket(), base + "&colour=red", 400)["error"]["message"] == "unknown query parameter 'colour'");
  CHECK(get_json(d.socket(), "/v1/comparisons/next?prompts=prompts&into=pref", 400)["error"]["message"] ==
        "query parameter 'model' is required");
  CHECK(get_json(d.socket(), base + "&temperatures=0.7,hot", 400)["error"]["message"].get<std::string>().find(
            "query parameter 'temperatures'") == 0);
  CHECK(get_json(d.socket(), base + "&temperatures=0.7,1,2", 400)["error"]["code"] == "invalid_request");
  CHECK(get_json(d.socket(), "/v1/comparisons/next?prompts=nope&into=pref&model=m", 404)["error"]["code"] ==
        "not_found");
  // No plugin answers label.pair here: the prompt was found, the sampling is refused.
  CHECK(get_json(d.socket(), base, 422)["error"]["code"] == "unsupported_method");
  post_json(d.socket(), "/v1/comparisons",
            {{"dataset", "pref"}, {"prompt", "p0"}, {"response_a", "x"}, {"response_b", "y"}, {"chosen", "a"},
             {"rating", 1}, {"safety", "both_safe"}, {"is_safety_prompt", false}, {"annotator", "alice"},
             {"source", "human"}},
            201);
  json done = get_json(d.socket(), base, 404);
  CHECK(done["error"]["code"] == "all_labeled");
  CHECK(done["error"]["message"] == "every prompt of dataset 'prompts' is labeled into 'pref'");
  CHECK(get_json(d.socket(), base + "&annotator=bob", 422)["error"]["code"] == "unsupported_method");
  CHECK(get_json(d.socket(), "/v1/comparisons/next?prompts=pref&into=x&model=m", 400)["error"]["message"] ==
        "field 'prompts': dataset 'pref' is of kind preference, labeling needs a prompt dataset");

  // Stats: strict parameters; an unknown dataset is 404.
  CHECK(get_json(d.socket(), "/v1/comparisons/stats?x=1", 400)["error"]["code"] == "invalid_request");
  CHECK(get_json(d.socket(), "/v1/comparisons/stats?dataset=nope", 404)["error"]["code"] == "not_found");
  CHECK(get_json(d.socket(), "/v1/comparisons/stats")["total"] == 1);
}

TEST_CASE("the label route passes over rows with an empty answer and shuffles whole sides", "[label][integration]") {
  TempDir tmp("wb-label");
  Daemon d(tmp.path(), {WB_LABEL_FIXTURE_PLUGIN_DIR});
  post_json(d.socket(), "/v1/datasets",
            {{"name", "prompts"},
             {"kind", "prompt"},
             {"jsonl", "{\"prompt\":\"[silent] one\"}\n{\"prompt\":\"[silent] two\"}\n{\"prompt\":\"fine\"}\n"}},
            201);
  const std::string base = "/v1/comparisons/next?prompts=prompts&into=pref&model=m&seed=7";

  // Rows 0 and 1 always answer empty: passed over, named; row 2 is offered with its row seed.
  json next = get_json(d.socket(), base);
  CHECK(next["index"] == 2);
  CHECK(next["skipped_empty"] == json::array({0, 1}));
  CHECK(next["remaining"] == 1);
  std::map<std::string, std::string> sides = {{next["model_a"], next["response_a"]}, {next["model_b"], next["response_b"]}};
  CHECK(sides == std::map<std::string, std::string>{{"m@a", "first answer to: fine"}, {"m@b", "second answer (seed 11)"}});

  // Sides are shuffled per request, response and model name together: over 64 requests both
  // orders appear (a fair coin fails this with probability 2^-63).
  int a_first = 0;
  for (int i = 0; i < 64; ++i) {
    json n = get_json(d.socket(), base + "&after=1");
    CHECK(n["skipped_empty"].empty());
    const bool first = n["model_a"] == "m@a";
    CHECK(n["response_a"] == (first ? "first answer to: fine" : "second answer (seed 11)"));
    a_first += first;
  }
  CHECK(a_first > 0);
  CHECK(a_first < 64);

  // Five empty rows in one request: 500 naming them; only empty rows left: all_labeled names them.
  std::string silent;
  for (int i = 0; i < 6; ++i) silent += "{\"prompt\":\"[silent] " + std::to_string(i) + "\"}\n";
  post_json(d.socket(), "/v1/datasets", {{"name", "quiet"}, {"kind", "prompt"}, {"jsonl", silent}}, 201);
  json fail = get_json(d.socket(), "/v1/comparisons/next?prompts=quiet&into=pref&model=m", 500);
  CHECK(fail["error"]["message"] ==
        "the model answered an empty response to every try on rows [0,1,2,3,4]; check the model and the sampling options");
  json none = get_json(d.socket(), "/v1/comparisons/next?prompts=quiet&into=pref&model=m&after=4", 404);
  CHECK(none["error"]["code"] == "all_labeled");
  CHECK(none["error"]["message"] ==
        "every prompt of dataset 'quiet' after row 4 is labeled into 'pref' (rows the model answers with nothing: [5])");
}
