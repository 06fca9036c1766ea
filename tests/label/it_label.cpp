// Integration: the real `wb label` in a real pseudo-terminal against the real workbenchd with the
// real sft (model_init) and reward (label.pair) plugins and a tiny model made by the test.
//   - three pairs labeled with keystrokes, quit: exactly three comparisons with the right fields;
//   - a pair left by SIGKILL, a hang-up, Ctrl-C or SIGTERM stores nothing, and the terminal
//     settings come back (raw while labeling, cooked after; also when the daemon goes away);
//   - a second annotator on a narrow (stacked) terminal resized wide labels the same pairs, and
//     `wb label stats` counts both and their agreement.
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "harness.h"
#include "pty_session.h"
#include "label_http.h"
#include "wb/suite/generator.h"

using nlohmann::json;
using wbtest::PtySession;
using namespace wbtest;
using labeltest::get_json;
using labeltest::post_json;

namespace {

constexpr const char* kPrompts =
    "{\"prompt\":\"What is two plus three?\"}\n"
    "{\"prompt\":\"How do I pick a lock?\",\"is_safety_prompt\":true}\n"
    "{\"prompt\":\"Name a colour of the sky.\"}\n"
    "{\"prompt\":\"Write a word that rhymes with cat.\"}\n"
    "{\"prompt\":\"Count from one to four.\"}\n"
    "{\"prompt\":\"Say hello politely.\"}\n";

// A daemon with the sft + reward plugins, a tiny model "tiny" and the prompt dataset "prompts".
struct LabelEnv {
  TempDir tmp{"wb-label"};
  Daemon daemon{tmp.path(), {WB_LABEL_PLUGIN_DIR}};

  LabelEnv() {
    const auto suite = tmp.path() / "suite";
    wb::suite::write_files(wb::suite::generate(7, wb::suite::Sizes::small()), suite);
    json job = post_json(socket(), "/v1/jobs",
                         {{"kind", "model_init"},
                          {"spec",
                           {{"name", "tiny"},
                            {"config",
                             {{"hidden_size", 32}, {"intermediate_size", 64}, {"num_hidden_layers", 1},
                              {"num_attention_heads", 2}, {"num_key_value_heads", 2},
                              {"max_position_embeddings", 128}}},
                            {"tokenizer_corpus", (suite / "tokenizer_corpus.txt").string()},
                            {"vocab_size", 400},
                            {"seed", 3}}}},
                         201);
    const std::string id = std::to_string(job["id"].get<int>());
    json rec;
    REQUIRE(eventually([&] {
      rec = get_json(socket(), "/v1/jobs/" + id);
      const std::string s = rec["state"];
      return s == "succeeded" || s == "failed" || s == "cancelled";
    }, std::chrono::seconds(120)));
    INFO(rec.dump() << "\n" << daemon.log());
    REQUIRE(rec["state"] == "succeeded");
    post_json(socket(), "/v1/datasets", {{"name", "prompts"}, {"kind", "prompt"}, {"jsonl", kPrompts}}, 201);
  }
  const std::string& socket() const { return daemon.socket(); }

  // `annotator` empty: no --annotator (wb takes $USER).
  std::vector<std::string> label_argv(const std::string& annotator, std::vector<std::string> extra = {}) const {
    std::vector<std::string> argv = {wb_binary(), "--socket",      socket(), "label",        "--prompts",
                                     "prompts",   "--model",       "tiny",   "--into",       "pref",
                                     "--temperatures", "0.7,1.2",  "--max-tokens", "6",      "--seed",
                                     "11",        "--annotator",   annotator};
    if (annotator.empty()) argv.resize(argv.size() - 2);
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  json comparisons() const { return get_json(socket(), "/v1/comparisons?dataset=pref")["comparisons"]; }
};

// Waits for a pair on screen (after the current mark), then types `keys` one by one, each after
// the screen redrew for the previous one, and waits for `after_last` after the last key. The
// mark stays just before the last key, so the next call finds the next pair's screen.
void label_one(PtySession& s, const std::string& keys, const std::string& after_last) {
  INFO(s.output());
  REQUIRE(s.wait_for("A or B?"));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    s.mark();
    s.send(std::string(1, keys[i]));
    REQUIRE(s.wait_for(i + 1 == keys.size() ? after_last : "keys: a/b"));
  }
}

bool raw_mode(const struct termios& t) { return !(t.c_lflag & ICANON) && !(t.c_lflag & ECHO); }
bool cooked_mode(const struct termios& t) { return (t.c_lflag & ICANON) && (t.c_lflag & ECHO); }

std::map<std::string, std::string> by_model(const json& c) {
  return {{c["model_a"].get<std::string>(), c["response_a"].get<std::string>()},
          {c["model_b"].get<std::string>(), c["response_b"].get<std::string>()}};
}

std::string preferred(const json& c) { return c["chosen"] == "a" ? c["response_a"] : c["response_b"]; }

}  // namespace

TEST_CASE("wb label: keys label pairs, an unconfirmed pair stores nothing, stats of two annotators",
          "[label][integration][pty]") {
  LabelEnv env;

  // --- alice labels three pairs with keystrokes and quits ---------------------------------------
  {
    PtySession s(env.label_argv("alice"), 100, 40);
    REQUIRE(s.wait_for("A or B?"));
    CHECK(raw_mode(s.termios()));
    CHECK(s.output().find("┬") != std::string::npos);  // wide: side by side
    label_one(s, "a1s\r", "saved comparison");    // A, significantly better, both safe
    CHECK(s.wait_for("saved comparison 1: A significantly better, both safe"));  // the confirmation
    label_one(s, "b4o\r", "saved comparison");    // B, negligibly better, only chosen safe
    label_one(s, "2aup\r", "saved comparison");   // any order; p marks a safety prompt
    REQUIRE(s.wait_for("A or B?"));               // the fourth pair
    s.send("q");
    const int code = s.wait_exit();
    INFO(s.output());
    CHECK(code == 0);
    CHECK(s.output().find("labeled 3 pairs into 'pref' (0 skipped)") != std::string::npos);
    CHECK(cooked_mode(s.termios()));  // restored on the way out
  }
  json stored = env.comparisons();
  REQUIRE(stored.size() == 3);
  const std::vector<std::tuple<std::string, std::string, int, std::string, bool>> expected = {
      {"What is two plus three?", "a", 3, "both_safe", false},
      {"How do I pick a lock?", "b", 0, "chosen_safe", true},  // flagged by its prompt row
      {"Name a colour of the sky.", "a", 2, "both_unsafe", true}};  // flagged with p
  for (std::size_t i = 0; i < 3; ++i) {
    const json& c = stored[i];
    INFO(c.dump());
    CHECK(c["prompt"] == std::get<0>(expected[i]));
    CHECK(c["chosen"] == std::get<1>(expected[i]));
    CHECK(c["rating"] == std::get<2>(expected[i]));
    CHECK(c["safety"] == std::get<3>(expected[i]));
    CHECK(c["is_safety_prompt"] == std::get<4>(expected[i]));
    CHECK(c["annotator"] == "alice");
    CHECK(c["source"] == "human");
    CHECK(c["seconds"].get<double>() > 0);
    CHECK(!c["response_a"].get<std::string>().empty());
    CHECK(!c["response_b"].get<std::string>().empty());
    CHECK(std::set<std::string>{c["model_a"], c["model_b"]} == std::set<std::string>{"tiny@T=0.7", "tiny@T=1.2"});
    // The daemon shuffled whole sides: sampling the same row again (into a scratch dataset, so it
    // is offered) gives the same response for each model, whichever side it lands on.
    const int index = static_cast<int>(i);
    json again = get_json(env.socket(), "/v1/comparisons/next?prompts=prompts&into=scratch&model=tiny"
                                        "&temperatures=0.7,1.2&max_tokens=6&seed=11&after=" +
                                            std::to_string(index - 1));
    CHECK(again["index"] == index);
    CHECK(by_model(again) == by_model(c));
  }

  // --- a pair left before Enter stores nothing: SIGKILL, hang-up, Ctrl-C ------------------------
  {
    PtySession s(env.label_argv("alice"), 100, 40);
    label_one(s, "a1s", "Enter saves");  // complete, not confirmed
    s.kill_group(SIGKILL);
    CHECK(s.wait_exit() == 128 + SIGKILL);
  }
  {
    PtySession s(env.label_argv("alice"), 100, 40);
    label_one(s, "b", "B is better");
    s.close_master();  // the terminal goes away: SIGHUP
    CHECK(s.wait_exit() == 128 + SIGHUP);
  }
  {
    PtySession s(env.label_argv("alice"), 100, 40);
    label_one(s, "a2", "better");
    CHECK(raw_mode(s.termios()));
    s.send("\x03");  // Ctrl-C: SIGINT to the foreground group
    CHECK(s.wait_exit() == 128 + SIGINT);
    CHECK(cooked_mode(s.termios()));
  }
  {
    PtySession s(env.label_argv("alice"), 100, 40);
    label_one(s, "u", "both unsafe");
    s.kill_group(SIGTERM);
    CHECK(s.wait_exit() == 128 + SIGTERM);
    CHECK(cooked_mode(s.termios()));
  }
  CHECK(env.comparisons().size() == 3);

  // --- bob labels the same prompts on a narrow terminal, widened mid-pair -----------------------
  {
    PtySession s(env.label_argv("", {"--per-annotator"}), 50, 40, {{"USER", "bob"}});  // annotator from $USER
    REQUIRE(s.wait_for("A or B?"));
    CHECK(s.output().find("┬") == std::string::npos);  // narrow: stacked
    CHECK(s.output().find("────── A ──────") != std::string::npos);
    s.mark();
    s.resize(100, 40);
    REQUIRE(s.wait_for("┬"));  // redrawn side by side
    label_one(s, "a3s\r", "saved comparison");
    label_one(s, "b3s\r", "saved comparison");
    REQUIRE(s.wait_for("A or B?"));
    s.send("q");
    CHECK(s.wait_exit() == 0);
  }
  stored = env.comparisons();
  REQUIRE(stored.size() == 5);
  // bob saw rows 0 and 1 again, sampled with the same seeds: the same pairs alice labeled.
  int same_preference = 0;
  for (int i = 0; i < 2; ++i) {
    const json& alice = stored[i];
    const json& bob = stored[3 + i];
    CHECK(bob["annotator"] == "bob");
    CHECK(bob["prompt"] == alice["prompt"]);
    CHECK(by_model(bob) == by_model(alice));
    same_preference += preferred(bob) == preferred(alice);
  }

  ProcResult st = wbtest::wb(env.socket(), {"--json", "label", "stats", "--dataset", "pref"});
  INFO(st.out << st.err);
  REQUIRE(st.exit_code == 0);
  json stats = json::parse(st.out);
  CHECK(stats["total"] == 5);
  CHECK(stats["annotator"] == json{{"alice", 3}, {"bob", 2}});
  CHECK(stats["rating"] == json{{"0", 1}, {"1", 2}, {"2", 1}, {"3", 1}});
  CHECK(stats["safety"] == json{{"both_safe", 3}, {"chosen_safe", 1}, {"both_unsafe", 1}});
  CHECK(stats["safety_prompts"] == 3);  // alice's rows 1 and 2, bob's row 1
  CHECK(stats["agreement"]["pairs"] == 2);
  CHECK(stats["agreement"]["couples"] == 2);
  CHECK(stats["agreement"]["same_preference"] == same_preference);
  CHECK(stats["agreement"]["same_safety"] == 1);  // row 0: both_safe twice; row 1: chosen_safe vs both_safe
  ProcResult human = wbtest::wb(env.socket(), {"label", "stats", "--dataset", "pref"});
  CHECK(human.exit_code == 0);
  CHECK(human.out.find("pairs labeled twice") != std::string::npos);
  CHECK(human.out.find("significantly better") != std::string::npos);

  // --- the daemon goes away mid-pair: Enter fails, wb exits 1 with the error, terminal restored
  {
    PtySession s(env.label_argv("carol"), 100, 40);
    label_one(s, "a1s", "Enter saves");
    env.daemon.stop();
    s.mark();
    s.send("\r");
    CHECK(s.wait_exit() == 1);
    INFO(s.output());
    CHECK(s.since_mark().find("wb: cannot connect to workbenchd") != std::string::npos);
    CHECK(cooked_mode(s.termios()));
  }
}
