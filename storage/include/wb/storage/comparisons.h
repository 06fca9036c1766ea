// wb/storage/comparisons.h — human/model preference labels (table `comparisons`). Thread-safe.
//
// insert() validates the comparison, creates its dataset (kind preference, source
// "comparisons") when missing, stores the comparison AND appends the equivalent preference row
// ({"prompt","chosen","rejected","rating","safety","is_safety_prompt"}) to the dataset's
// examples, all in one transaction: a labelled pair is immediately training data, and the
// dataset's rows/export include it. A dataset of another kind is refused (Invalid).
#pragma once

#include <cstdint>
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

 private:
  Connection& conn_;
};

}  // namespace wb::storage
