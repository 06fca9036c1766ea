// adapter_import.h — loading a PEFT folder from outside into the served model and registering it.
//
//   import_adapter(store, serving, "support@3", "/shared/adapters/support@3", "tiny");
//
// The one path for an adapter that is not registered yet, used by POST /v1/adapters/{name}/load
// with a "path" and by a request that names an adapter of the shared adapter directory
// (serving/residency.h): adapter_config.json is read as the registry's fields (rank, alpha,
// target modules), the serving plugin loads and validates the folder against the served base
// model (tensor names and shapes, every value finite: docs/SERVING.md "Adapter registry"), and
// only once it is resident is it registered with the served model as its base. A folder that
// fails any check is refused (400 naming the file and the problem) and nothing is registered.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "serving/serving.h"
#include "wb/storage/adapters.h"
#include "wb/storage/store.h"

namespace wb::daemon {

// adapter_config.json of a PEFT folder as the registry's fields; 400 naming the file when it
// cannot be read or lacks "r" / "target_modules".
storage::NewAdapter peft_registration(const std::string& name, const std::filesystem::path& dir,
                                      const std::string& base_model);

// Validates the name (validate_adapter_name), reads the registration, loads the folder into the
// serving plugin (with `scale` when given) and registers it. Throws the ApiError of the failed step.
void import_adapter(storage::Store& store, const Serving& serving, const std::string& name,
                    const std::filesystem::path& dir, const std::string& base_model,
                    std::optional<double> scale = std::nullopt);

}  // namespace wb::daemon
