// The chat API: POST /api/v1/chat/stream (SSE), GET /api/v1/runs/{id}/stream
// (reconnect with Last-Event-ID), POST /api/v1/runs/{id}/cancel, and the
// conversations and artifacts it leaves behind. Every read and write is
// scoped to the caller; another user's ids answer 404. Bad input answers 4xx
// in the JSON error shape. See docs/api.md.
// Handlers run on the reactors and never wait on a model; a new turn's store
// and session-cache work (and its 4xx/5xx, from then on) is done on `workers`.
// The other handlers touch the store briefly.
#pragma once

#include "chat/auth.hpp"
#include "chat/run_manager.hpp"
#include "http/http_server.hpp"
#include "runtime/worker_pool.hpp"

namespace mx::host::chat {

void addChatRoutes(http::HttpServer& server, RunManager& runs, const Deployment& deployment, const Authenticator& auth,
                   WorkerPool& workers);

}  // namespace mx::host::chat
