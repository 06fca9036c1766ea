// engine_error.h — the one base type of every error the engine (kernels/ + plugins/llama) throws,
// carrying its cause, so a plugin maps it to a distinct wb_status and the daemon to a distinct
// HTTP code without reading messages:
//
//   invalid_input   the caller's input is wrong (a bad spec value, a malformed file)   WB_INVALID     400
//   not_found       a named file or object does not exist                              WB_NOT_FOUND   404
//   io              reading or writing failed (permissions, short read)                WB_IO          500
//   no_space        a write met a full disk, a quota or a file-size limit              WB_NO_SPACE    507
//                   (ENOSPC, EDQUOT, EFBIG: the job is held, not failed; see below)
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

#include <cerrno>
#include <stdexcept>
#include <string>

namespace wb {

enum class ErrorKind { invalid_input, not_found, io, out_of_memory, unsupported, internal, no_space };

// "invalid_input", "not_found", "io", "out_of_memory", "unsupported", "internal", "no_space".
inline const char* error_kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::invalid_input: return "invalid_input";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::io: return "io";
    case ErrorKind::out_of_memory: return "out_of_memory";
    case ErrorKind::unsupported: return "unsupported";
    case ErrorKind::internal: return "internal";
    case ErrorKind::no_space: return "no_space";
  }
  return "internal";
}

// The kind of a failed write's errno: no_space for ENOSPC, EDQUOT and EFBIG (the disk, a quota or
// the file-size limit is full: the write may succeed once space is back), io for anything else.
inline ErrorKind write_error_kind(int errno_value) {
  return errno_value == ENOSPC || errno_value == EDQUOT || errno_value == EFBIG ? ErrorKind::no_space : ErrorKind::io;
}

class EngineError : public std::runtime_error {
 public:
  EngineError(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace wb
