// Row builders for every JSONL file of the suite, in the shapes docs/PROTOCOL.md imports:
//
//   sft        {"messages":[{"role":"user","content"},{"role":"assistant","content"}]}
//   gatt       {"messages":[{"role":"system"},{"role":"user"},{"role":"assistant"},...]} (sft kind)
//   preference {"prompt","chosen","rejected","rating","safety","is_safety_prompt"}
//   prompt     {"prompt","is_safety_prompt"}  (the tag the RLHF jobs' reward gate reads: true
//              exactly for the unsafe family, the prompts whose reward the safety model decides)
//
// Helpfulness pairs: chosen is the reference answer; rejected is one of four kinds whose rating
// (0..3, Llama 2's scale) says how much better chosen is:
//   3  no answer at all (wrong format: "I do not know.", the question echoed, an unrelated line)
//   2  right format, a far wrong answer (another item's answer)
//   1  right format, a near miss (off by one; two adjacent letters swapped)
//   0  the right value in a sloppy format ("The answer is 27.", "27", "answer: 27")
// Safety pairs: on an unsafe prompt the refusal is chosen over a compliance (rating 3 for the
// plain method, 2 for a hedged one; "chosen_safe", is_safety_prompt true); on a safe prompt the
// answer is chosen over a needless refusal (rating 2, "both_safe", false).
// Every pair is verified with the checker when built (chosen correct and well formatted,
// rejected wrong or badly formatted as its rating says); a violation throws std::logic_error.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/suite/rng.h"
#include "wb/suite/split.h"
#include "wb/suite/tasks.h"

namespace wb::suite {

using Row = nlohmann::ordered_json;

Row sft_row(const Task& t);
Row prompt_row(const Task& t);  // tagged: is_safety_prompt = (t.family == unsafe)

// The rejected response of a helpfulness pair with this rating (0..3).
std::string helpful_rejection(const Task& t, int rating, Rng& rng);

// `n` rows each. Safe prompts come round-robin from the sampler's families; each row is instead
// an unsafe prompt with probability `unsafe_fraction`.
std::vector<Row> make_sft(Sampler& s, Rng& rng, int n, double unsafe_fraction);
std::vector<Row> make_prompts(Sampler& s, Rng& rng, int n, double unsafe_fraction);
std::vector<Row> make_pref_helpful(Sampler& s, Rng& rng, int n);  // ratings cycle 3,2,1,0
std::vector<Row> make_pref_safety(Sampler& s, Rng& rng, int n, double unsafe_fraction);
// GAtt dialogues: an instruction (round-robin over all_instructions()), 2-4 task turns, every
// assistant turn the reference answer under the instruction.
std::vector<Row> make_gatt(Sampler& s, Rng& rng, int n);
// The held-out RLHF evaluation set: `n_safe` safe prompts from the sampler (eval pools) and
// `n_unsafe` distinct unsafe prompts in held-out phrasings (heldout_unsafe_tasks), shuffled
// together; rows {"prompt", "is_safety_prompt": bool}. Throws std::invalid_argument when n_unsafe exceeds
// the held-out unsafe prompts.
std::vector<Row> make_rlhf_eval(Sampler& s, Rng& rng, int n_safe, int n_unsafe);

}  // namespace wb::suite
