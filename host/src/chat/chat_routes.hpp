// The chat API: POST /api/v1/chat/stream (SSE), GET /api/v1/runs/{id}/stream
// (reconnect with Last-Event-ID), POST /api/v1/runs/{id}/cancel, and the
// conversations and artifacts it leaves behind. Every read and write is
// scoped to the caller; another user's ids answer 404. Bad input answers 4xx
// in the JSON error shape. See docs/api.md.
// Handlers run on the reactors and never wait on a model, the store or the
// cache: what does (a new turn's records and session, a conversation's list,
// a stored run's replay) runs on `blockingWork`, which answers the request
// when it is done (http::DeferredResponse). Checks of the request itself
// answer at once.
#pragma once

#include "chat/auth.hpp"
#include "chat/run_manager.hpp"
#include "http/http_server.hpp"
#include "runtime/worker_pool.hpp"

namespace mx::host::chat {

void addChatRoutes(http::HttpServer& server, RunManager& runs, const Deployment& deployment, const Authenticator& auth,
                   WorkerPool& blockingWork);

}  // namespace mx::host::chat
