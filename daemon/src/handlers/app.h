// app.h — the services every HTTP handler reaches (owned by Daemon, see daemon.h).
#pragma once

#include <atomic>
#include <chrono>

#include "http/request_metrics.h"
#include "jobs/event_hub.h"
#include "jobs/job_events.h"
#include "jobs/scheduler.h"
#include "plugins/plugin_host.h"
#include "serving/residency.h"
#include "serving/serving.h"
#include "wb/config/config.h"
#include "wb/storage/store.h"

namespace wb::daemon {

struct App {
  const config::Config& config;
  storage::Store& store;
  PluginHost& plugins;
  Scheduler& scheduler;
  JobEvents& events;
  RequestMetrics& requests;
  Serving& serving;
  std::chrono::steady_clock::time_point started;
  std::atomic<bool>& shutting_down;
  Residency& residency;  // load on request, idle unloading (serving/residency.h)
};

}  // namespace wb::daemon
