// The engine's own error types are wb::EngineError with a cause (engine_error.h), still
// std::runtime_error for older catch sites, and keep their messages.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "wb/engine_error.h"
#include "wb/llama/hf_config.h"
#include "wb/llama/peft_config.h"
#include "wb/llama/safetensors.h"
#include "wb_temp_dir.h"

using namespace wb;

namespace {

// The kind and message of what f throws as EngineError (internal, "" when it does not throw).
template <typename F>
std::pair<ErrorKind, std::string> engine_error(F f) {
  try {
    f();
  } catch (const EngineError& e) {
    return {e.kind(), e.what()};
  }
  return {ErrorKind::internal, ""};
}

}  // namespace

TEST_CASE("engine errors name their cause: a missing file, a malformed config", "[errors]") {
  wbtest::TempDir tmp("wb-engine-errors");
  const auto missing = engine_error([&] { llama::SafetensorsSet::open(tmp.path() / "nothing"); });
  CHECK(missing.first == ErrorKind::not_found);
  CHECK(missing.second == (tmp.path() / "nothing").string() + ": no such file or directory");
  const auto no_weights = engine_error([&] { llama::SafetensorsSet::open(tmp.path()); });
  CHECK(no_weights.first == ErrorKind::not_found);

  const auto bad = engine_error([] { llama::parse_hf_config("{"); });
  CHECK(bad.first == ErrorKind::invalid_input);
  CHECK_THAT(bad.second, Catch::StartsWith("config.json: "));
  const auto peft = engine_error([] { llama::parse_peft_config("[]"); });
  CHECK(peft.first == ErrorKind::invalid_input);
  CHECK_THAT(peft.second, Catch::StartsWith("adapter_config.json: "));

  // Catch sites written for std::runtime_error still see them.
  CHECK_THROWS_AS(llama::parse_hf_config("{"), std::runtime_error);
  CHECK_THROWS_AS(llama::parse_hf_config("{"), llama::HfConfigError);
}
