// routes.h — the daemon's route table (PROTOCOL.md), in one place.
#pragma once

#include "handlers/app.h"
#include "http/router.h"

namespace wb::daemon {

// Registers every route on `router`; handlers capture `app` by reference.
void add_routes(Router& router, App& app);

}  // namespace wb::daemon
