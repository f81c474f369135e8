// GET /healthz, GET /readyz, GET /api/v1/models, GET /api/v1/plugins, GET /metrics.
// Handlers answer from memory (the health monitor's last round); never block.
#pragma once

#include "http/http_server.hpp"
#include "http/metrics.hpp"
#include "runtime/deployment.hpp"
#include "runtime/health_monitor.hpp"

namespace mx::host::http {

void addSystemRoutes(HttpServer& server, const Deployment& deployment, const HealthMonitor& health, const ServerMetrics& metrics);

}  // namespace mx::host::http
