// engine_error.h — the one base type of every error the engine (kernels/ + plugins/llama) throws,
// carrying its cause, so a plugin maps it to a distinct wb_status and the daemon to a distinct
// HTTP code without reading messages:
//
//   invalid_input   the caller's input is wrong (a bad spec value, a malformed file)   WB_INVALID     400
//   not_found       a named file or object does not exist                              WB_NOT_FOUND   404
//   io              reading or writing failed (permissions, disk full, short read)     WB_IO          500
//   out_of_memory   the host or the device cannot hold the work                        WB_NO_MEMORY   507
//   unsupported     valid, but not on this device or build (cuda without a GPU)        WB_UNSUPPORTED 422
//   internal        a bug or an unexpected failure                                     WB_ERROR       500
//
//   throw EngineError(ErrorKind::unsupported, "device cuda: no CUDA device answers");
//   catch (const EngineError& e) { switch (e.kind()) ... }
//
// The engine's own error types (SafetensorsError, CheckpointError, CudaError, ...) derive from it
// and choose their kind where they are thrown; std::bad_alloc stays std::bad_alloc (the plugin kit
// maps it to out_of_memory as well).
#pragma once

#include <stdexcept>
#include <string>

namespace wb {

enum class ErrorKind { invalid_input, not_found, io, out_of_memory, unsupported, internal };

// "invalid_input", "not_found", "io", "out_of_memory", "unsupported", "internal".
inline const char* error_kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::invalid_input: return "invalid_input";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::io: return "io";
    case ErrorKind::out_of_memory: return "out_of_memory";
    case ErrorKind::unsupported: return "unsupported";
    case ErrorKind::internal: return "internal";
  }
  return "internal";
}

class EngineError : public std::runtime_error {
 public:
  EngineError(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace wb
