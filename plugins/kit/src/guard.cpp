#include "wb/plugin/guard.h"

#include <cerrno>
#include <filesystem>
#include <new>
#include <string>

#include <nlohmann/json.hpp>

#include "wb/json/parse.h"
#include "wb/json/reader.h"
#include "wb/plugin/error.h"

namespace wb::plugin {

wb_status status_of(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_input: return WB_INVALID;
    case ErrorKind::not_found: return WB_NOT_FOUND;
    case ErrorKind::io: return WB_IO;
    case ErrorKind::out_of_memory: return WB_NO_MEMORY;
    case ErrorKind::unsupported: return WB_UNSUPPORTED;
    case ErrorKind::internal: return WB_ERROR;
    case ErrorKind::no_space: return WB_NO_SPACE;
  }
  return WB_ERROR;
}

wb_status status_of_current_exception(wb_error* err) {
  try {
    throw;
  } catch (const JsonFieldError& e) {
    wb_error_set(err, e.what());
    return WB_INVALID;
  } catch (const JsonParseError& e) {
    wb_error_set(err, e.what());
    return WB_INVALID;
  } catch (const nlohmann::json::exception& e) {
    wb_error_set(err, (std::string("invalid JSON: ") + e.what()).c_str());
    return WB_INVALID;
  } catch (const PluginError& e) {
    wb_error_set(err, e.what());
    return e.status() == WB_OK ? WB_ERROR : e.status();
  } catch (const EngineError& e) {
    wb_error_set(err, e.what());
    return status_of(e.kind());
  } catch (const std::bad_alloc&) {
    wb_error_set(err, "out of memory");
    return WB_NO_MEMORY;
  } catch (const std::filesystem::filesystem_error& e) {
    wb_error_set(err, e.what());
    const int code = e.code().category() == std::generic_category() || e.code().category() == std::system_category()
                         ? e.code().value()
                         : 0;
    return write_error_kind(code) == ErrorKind::no_space ? WB_NO_SPACE : WB_IO;
  } catch (const std::exception& e) {
    wb_error_set(err, e.what());
    return WB_ERROR;
  } catch (...) {
    wb_error_set(err, "unknown error");
    return WB_ERROR;
  }
}

}  // namespace wb::plugin
