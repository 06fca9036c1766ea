// wb/storage/comparisons.h — human/model preference labels (table `comparisons`). Thread-safe.
//
// insert() validates the comparison, creates its dataset (kind preference, source
// "comparisons") when missing, stores the comparison AND appends the equivalent preference row
// ({"prompt","chosen","rejected","rating","safety","is_safety_prompt"}) to the dataset's
// examples, all in one transaction: a labelled pair is immediately training data, and the
// dataset's rows/export include it. A dataset of another kind is refused (Invalid).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wb/storage/records.h"

namespace wb::storage {

class Connection;

struct NewComparison {
  std::string dataset;     // validate_name() rules
  std::string prompt;      // non-empty
  std::string response_a;  // non-empty
  std::string response_b;  // non-empty
  char chosen = 'a';       // 'a' | 'b'
  int rating = 0;          // 0..3
  std::string safety;      // both_safe | chosen_safe | both_unsafe
  bool is_safety_prompt = false;
  std::string annotator;   // non-empty
  std::string source = "human";  // human | model
  std::optional<std::string> model_a;
  std::optional<std::string> model_b;
  std::optional<double> seconds;  // >= 0
};

// The next prompt of a prompt dataset still to be labeled (next_unlabeled()).
struct PromptToLabel {
  std::int64_t index = 0;                // row index in the prompt dataset
  std::string prompt;
  std::optional<std::string> system;     // the row's optional system text
  bool is_safety_prompt = false;         // the row's optional flag (false when absent)
  std::int64_t remaining = 0;            // unlabeled rows after the cursor, this one included
};

// Agreement between annotators on pairs labeled more than once (stats()). A "pair" is one prompt
// with the same two responses (in either order); every two comparisons of a pair by different
// annotators are one judged couple.
struct LabelAgreement {
  std::int64_t pairs = 0;              // pairs labeled by at least two different annotators
  std::int64_t couples = 0;            // couples of their labels by different annotators
  std::int64_t same_preference = 0;    // couples preferring the same response
  std::int64_t same_rating = 0;        // ... and giving the same rating
  std::int64_t rating_within_one = 0;  // ... and ratings at most one level apart
  std::int64_t same_safety = 0;        // couples giving the same safety label (either preference)
};

// Agreement of two annotators on the preferred response of the pairs both labeled (each one's
// latest label of a pair counts). The category of a label is which of the pair's two responses
// it prefers (in a fixed order), so Cohen's kappa = (p_o - p_e) / (1 - p_e), with p_o the share
// of pairs they agree on and p_e the agreement expected from each one's own rate of preferring
// the first response. kappa is nullopt when p_e = 1 (both always chose the same position).
struct AnnotatorCouple {
  std::string first, second;  // annotator names, first < second
  std::int64_t pairs = 0;     // pairs both labeled
  std::int64_t same_preference = 0;
  std::optional<double> kappa;
};

// Counts of one preference dataset's comparisons (or of all of them).
struct LabelStats {
  std::int64_t total = 0;
  std::int64_t safety_prompts = 0;                       // is_safety_prompt = true
  std::map<std::string, std::int64_t> chosen;            // "a" / "b" (position bias)
  std::map<int, std::int64_t> rating;                    // 0..3
  std::map<std::string, std::int64_t> safety;            // both_safe / chosen_safe / both_unsafe
  std::map<std::string, std::int64_t> annotator;
  std::map<std::string, std::int64_t> source;            // human / model
  std::map<std::string, std::int64_t> wins;              // model_a/model_b of the chosen side
  double seconds_total = 0;                              // sum of the stored label times
  std::int64_t seconds_count = 0;                        // comparisons that carry a time
  LabelAgreement agreement;
  std::vector<AnnotatorCouple> annotator_couples;        // every two annotators sharing a pair
};

struct ComparisonsPage {
  std::vector<ComparisonRecord> comparisons;
  std::int64_t total = 0;
};

class ComparisonRepository {
 public:
  explicit ComparisonRepository(Connection& conn) : conn_(conn) {}

  // Parses the POST /v1/comparisons body (or the host's comparison_insert JSON). Every field is
  // required except model_a, model_b, seconds; unknown fields and wrong types throw Invalid with
  // "field 'rating': expected an integer 0..3, got 7" style messages. When `dataset` is given it
  // fills the dataset (and a "dataset" field in the body is then an error unless equal).
  static NewComparison parse(const nlohmann::json& body,
                             std::optional<std::string_view> dataset = std::nullopt);
  // Checks the same rules on a struct (insert() calls it).
  static void validate(const NewComparison& c);

  ComparisonRecord insert(const NewComparison& c);  // Invalid
  ComparisonRecord get(std::int64_t id);            // NotFound
  // Oldest first. dataset nullopt: all datasets. limit <= 0 means no limit.
  ComparisonsPage list(std::optional<std::string_view> dataset, std::int64_t offset, std::int64_t limit);
  // Preference JSONL (canonical, dataset_format.h) of the dataset's comparisons, oldest first:
  // {"prompt","chosen","rejected","rating","safety","is_safety_prompt"}. NotFound if no dataset.
  std::string export_jsonl(std::string_view dataset);

  // Labeling (comparison_queries.cpp). The first row of the prompt dataset `prompts` (kind
  // prompt) whose index is > `after` (-1: from the start) and whose prompt text has no comparison
  // in the preference dataset `into` yet — by anyone, or by `annotator` when given (so that a
  // second annotator can label the same prompts for agreement). `into` need not exist (nothing
  // is labeled then). nullopt when every such row is labeled. NotFound: no dataset `prompts`;
  // Invalid: `prompts` is not a prompt dataset or `into` is not a preference dataset.
  std::optional<PromptToLabel> next_unlabeled(std::string_view prompts, std::string_view into, std::int64_t after,
                                              std::optional<std::string_view> annotator = std::nullopt);
  // Counts and agreement of a dataset's comparisons (nullopt: all). NotFound if no dataset.
  LabelStats stats(std::optional<std::string_view> dataset);

 private:
  Connection& conn_;
};

}  // namespace wb::storage
