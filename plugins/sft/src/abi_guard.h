// abi_guard.h — the exception-to-status boundary of the plugins built on the sft core (sft,
// reward): every C ABI entry point runs its body through guarded(), so no exception crosses.
//   SpecError, JSON errors       → WB_INVALID (the message names the field)
//   HostError                    → the host's status
//   any other exception          → WB_ERROR with its message
#pragma once

#include <exception>
#include <string>

#include <nlohmann/json.hpp>

#include "host.h"
#include "spec_reader.h"
#include "wb/wb_plugin.h"

namespace wb::sft {

template <typename F>
wb_status guarded(wb_error* err, F&& fn) {
  try {
    return fn();
  } catch (const SpecError& e) {
    wb_error_set(err, e.what());
    return WB_INVALID;
  } catch (const nlohmann::json::exception& e) {
    wb_error_set(err, (std::string("invalid JSON: ") + e.what()).c_str());
    return WB_INVALID;
  } catch (const HostError& e) {
    wb_error_set(err, e.what());
    return e.status() == WB_OK ? WB_ERROR : e.status();
  } catch (const std::exception& e) {
    wb_error_set(err, e.what());
    return WB_ERROR;
  } catch (...) {
    wb_error_set(err, "unknown error");
    return WB_ERROR;
  }
}

}  // namespace wb::sft
