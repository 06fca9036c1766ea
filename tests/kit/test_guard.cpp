// The kit's guard (wb/plugin/guard.h): every exception a plugin's code throws crosses the C ABI
// as the status of its cause, with its message.
#include <catch2/catch.hpp>

#include <cerrno>
#include <filesystem>
#include <new>

#include "wb/engine_error.h"
#include "wb/json/parse.h"
#include "wb/json/reader.h"
#include "wb/plugin/error.h"
#include "wb/plugin/guard.h"
#include "wb/plugin/spec.h"

using wb::plugin::guarded;

namespace {

struct Result {
  wb_status status;
  std::string message;
};

template <typename E>
Result cross(const E& e) {
  wb_error err{};
  const wb_status st = guarded(&err, [&]() -> wb_status { throw e; });
  return {st, err.message};
}

}  // namespace

TEST_CASE("guard: each cause keeps its own status and message", "[kit]") {
  CHECK(guarded(nullptr, [] { return WB_OK; }) == WB_OK);

  auto r = cross(wb::JsonFieldError("rank", "expected an integer 1..64, got 0"));
  CHECK(r.status == WB_INVALID);
  CHECK(r.message == "field 'rank': expected an integer 1..64, got 0");
  CHECK(cross(wb::JsonParseError(3, "invalid JSON at byte offset 3: ...")).status == WB_INVALID);
  CHECK(cross(wb::plugin::PluginError(WB_BUSY, "queue full")).status == WB_BUSY);
  CHECK(cross(wb::plugin::PluginError(WB_OK, "no status")).status == WB_ERROR);  // a failure is never OK

  using wb::ErrorKind;
  CHECK(cross(wb::EngineError(ErrorKind::invalid_input, "x")).status == WB_INVALID);
  CHECK(cross(wb::EngineError(ErrorKind::not_found, "x")).status == WB_NOT_FOUND);
  CHECK(cross(wb::EngineError(ErrorKind::io, "x")).status == WB_IO);
  CHECK(cross(wb::EngineError(ErrorKind::out_of_memory, "x")).status == WB_NO_MEMORY);
  r = cross(wb::EngineError(ErrorKind::unsupported, "device cuda: no CUDA device answers"));
  CHECK(r.status == WB_UNSUPPORTED);
  CHECK(r.message == "device cuda: no CUDA device answers");
  CHECK(cross(wb::EngineError(ErrorKind::internal, "x")).status == WB_ERROR);
  // The engine's writers on a full disk, quota or file-size limit: the daemon holds the job.
  CHECK(cross(wb::EngineError(ErrorKind::no_space, "x")).status == WB_NO_SPACE);
  CHECK(wb::write_error_kind(ENOSPC) == ErrorKind::no_space);
  CHECK(wb::write_error_kind(EDQUOT) == ErrorKind::no_space);
  CHECK(wb::write_error_kind(EFBIG) == ErrorKind::no_space);
  CHECK(wb::write_error_kind(EACCES) == ErrorKind::io);

  CHECK(cross(std::bad_alloc()).status == WB_NO_MEMORY);
  // A full disk (or quota, or file-size limit) is WB_NO_SPACE: the daemon holds the job with its
  // last checkpoint; any other file error is WB_IO.
  r = cross(std::filesystem::filesystem_error("cannot write", "/data/x", std::make_error_code(std::errc::no_space_on_device)));
  CHECK(r.status == WB_NO_SPACE);
  CHECK_THAT(r.message, Catch::Contains("/data/x"));
  CHECK(cross(std::filesystem::filesystem_error("w", std::error_code(EDQUOT, std::generic_category()))).status == WB_NO_SPACE);
  CHECK(cross(std::filesystem::filesystem_error("w", std::make_error_code(std::errc::file_too_large))).status == WB_NO_SPACE);
  r = cross(std::filesystem::filesystem_error("cannot write", "/data/x", std::make_error_code(std::errc::permission_denied)));
  CHECK(r.status == WB_IO);
  CHECK(cross(std::runtime_error("boom")).status == WB_ERROR);
  CHECK(cross(42).status == WB_ERROR);
}

TEST_CASE("guard: a message longer than wb_error is cut and terminated", "[kit]") {
  wb_error err{};
  const std::string long_message(5000, 'x');
  CHECK(guarded(&err, [&]() -> wb_status { throw std::runtime_error(long_message); }) == WB_ERROR);
  CHECK(std::string(err.message).size() == WB_ERROR_CAPACITY - 1);
}

TEST_CASE("spec reading: parse_spec limits nesting, SpecReader accepts whole floats", "[kit]") {
  CHECK_THROWS_AS(wb::plugin::parse_spec((std::string(1000, '[') + std::string(1000, ']')).c_str()), wb::JsonParseError);
  CHECK_THROWS_AS(wb::plugin::parse_spec(nullptr), wb::JsonParseError);
  const nlohmann::json spec = {{"steps", 3.0}};
  wb::plugin::SpecReader r(spec);
  CHECK(r.integer("steps", 1) == 3);
}
