#include "chat/chat_routes.hpp"

#include "http/deferred_response.hpp"
#include "mx/json_parse.hpp"

namespace mx::host::chat {

using Pistache::Http::Code;
using Pistache::Http::Method;
using Pistache::Http::ResponseWriter;
using Pistache::Rest::Request;
using http::RequestContext;

namespace {

std::optional<std::string> header(const Request& request, const std::string& name) {
  auto raw = request.headers().tryGetRaw(name);
  if (raw) return raw->value();
  return std::nullopt;
}

Result<std::string> caller(const Request& request, const Authenticator& auth) {
  return auth.authenticate(header(request, "Authorization"));
}

std::string sseHeaders(const std::string& conversationId, const std::string& runId) {
  return "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\nX-Conversation-Id: " +
         conversationId + "\r\nX-Run-Id: " + runId + "\r\n";
}

std::shared_ptr<SseConnection> startSse(ResponseWriter& response, const std::string& conversationId, const std::string& runId) {
  auto connection = SseConnection::prepare(response);
  connection->begin(sseHeaders(conversationId, runId));
  return connection;
}

// A finished run's saved events after `after`, in one write, then the end.
void replayStored(const std::shared_ptr<SseConnection>& connection, const std::vector<RunEvent>& stored, int64_t after) {
  OutputBatch replay;
  for (const auto& e : stored) {
    if (e.sequence > after) connection->frame(e.sequence, e.event, e.data);
  }
  connection->finish();
}

// Streams a run known in memory: its log while it holds the events, else (the
// run finished and its events were saved and freed after the caller checked)
// the store's copy, then the end.
void streamRun(const std::shared_ptr<SseConnection>& connection, ActiveRun& run, int64_t after, RunManager& runs) {
  if (run.log->subscribe(connection, after)) return;
  auto stored = runs.store().runEvents(run.userId, run.id, after);
  if (stored) return replayStored(connection, *stored, after);
  connection->comment("replay failed: " + stored.status().toString());
  connection->finish();
}

// A refusal from a worker, in the API's error shape.
void refuse(SseConnection& connection, const Status& status, const std::string& requestId) {
  // Unavailable is passing (the limit of turns in progress, a restart, the store): say when to try again.
  connection.refuse(static_cast<int>(http::httpCodeFor(status.code())),
                    http::errorJson(status, requestId).dump(-1, ' ', false, Json::error_handler_t::replace),
                    status.code() == mx::Code::Unavailable ? "Retry-After: 1\r\n" : "");
}

// Starts the turn; `connection` is subscribed from the run's first event once
// the user's message is saved (however fast the run), or refused if it cannot
// be. The failure if it did not start. Runs on a worker, where nothing may escape.
Status guardedStart(RunManager& runs, const TurnRequest& turn, const std::shared_ptr<SseConnection>& connection,
                    const std::string& requestId) {
  try {
    auto run = runs.startTurn(
        turn,
        [connection](const std::shared_ptr<ActiveRun>& started) {
          OutputBatch headAndEventsSoFar;  // one send
          connection->begin(sseHeaders(started->conversationId, started->id));
          (void)started->log->subscribe(connection, 0);  // not closed yet: it finishes after this
        },
        [connection, requestId](const Status& notRecorded) { refuse(*connection, notRecorded, requestId); });
    return run.status();
  } catch (const std::exception& e) {
    return internalError(std::string("starting the turn failed: ") + e.what());
  }
}

Json conversationJson(const ConversationRecord& c) {
  return {{"id", c.id}, {"title", c.title}, {"messageCount", c.messageCount}, {"createdAt", c.createdAtMs}, {"updatedAt", c.updatedAtMs}};
}

Json artifactJson(const ArtifactRecord& a) {
  return {{"id", a.id}, {"conversationId", a.conversationId}, {"runId", a.runId}, {"contentType", a.contentType},
          {"content", a.content}, {"wordCount", a.wordCount}, {"status", a.status}, {"createdAt", a.createdAtMs}};
}

// Validates the request body; fills `turn`. 400s say what is wrong and where.
Status parseTurn(const std::string& body, const ModelCatalogue& models, size_t maxChars, TurnRequest& turn) {
  std::string error;
  Json json = parseJson(body, &error);
  if (json.is_discarded()) return invalidArgumentError("request body is not valid JSON: " + error);
  if (!json.is_object()) return invalidArgumentError("request body must be a JSON object");
  if (!json.contains("message")) return invalidArgumentError("\"message\" is required");
  if (!json["message"].is_string()) return invalidArgumentError("\"message\" must be a string");
  turn.message = json["message"];
  if (turn.message.find_first_not_of(" \t\r\n") == std::string::npos) return invalidArgumentError("\"message\" must not be empty");
  if (turn.message.size() > maxChars) {
    return invalidArgumentError("\"message\" is longer than " + std::to_string(maxChars) + " characters");
  }
  if (json.contains("conversationId") && !json["conversationId"].is_null()) {
    if (!json["conversationId"].is_string()) return invalidArgumentError("\"conversationId\" must be a string");
    turn.conversationId = json["conversationId"];
  }
  if (json.contains("modelPreference") && !json["modelPreference"].is_null()) {
    const Json& preference = json["modelPreference"];
    if (!preference.is_object()) return invalidArgumentError("\"modelPreference\" must be an object");
    for (int tier : {1, 2}) {
      std::string key = "tier" + std::to_string(tier);
      if (!preference.contains(key)) continue;
      if (!preference[key].is_string()) return invalidArgumentError("\"modelPreference." + key + "\" must be a string");
      const ModelInfo* model = models.find(preference[key].get<std::string>());
      if (model == nullptr || std::find(model->tiers.begin(), model->tiers.end(), tier) == model->tiers.end()) {
        return invalidArgumentError("\"modelPreference." + key + "\": \"" + preference[key].get<std::string>() +
                                    "\" is not a tier-" + std::to_string(tier) + " model of GET /api/v1/models");
      }
    }
    turn.modelPreference = preference;
  }
  if (json.contains("context") && !json["context"].is_null()) {
    const Json& context = json["context"];
    if (!context.is_object()) return invalidArgumentError("\"context\" must be an object");
    if (context.contains("enableWebSearch") && !context["enableWebSearch"].is_boolean()) {
      return invalidArgumentError("\"context.enableWebSearch\" must be a boolean");
    }
    if (context.contains("includeResources")) {
      const Json& ids = context["includeResources"];
      if (!ids.is_array() || !std::all_of(ids.begin(), ids.end(), [](const Json& i) { return i.is_string(); })) {
        return invalidArgumentError("\"context.includeResources\" must be an array of resource ids");
      }
    }
    if (context.value("enableCodeExecution", false) == true) {
      return unimplementedError("code execution is not available in this deployment (no code-execution plugin)");
    }
    turn.context = context;
  }
  return Status::ok();
}

int64_t lastEventId(const Request& request) {
  std::string text = header(request, "Last-Event-ID").value_or(request.query().get("lastEventId").value_or("0"));
  try {
    return std::max<int64_t>(0, std::stoll(text));
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

void addChatRoutes(http::HttpServer& server, RunManager& runs, const Deployment& deployment, const Authenticator& auth,
                   WorkerPool& blockingWork) {
  auto models = deployment.models();

  server.route(Method::Post, "/api/v1/chat/stream", [&runs, &auth, models, &blockingWork](const Request& request, ResponseWriter& response,
                                                                                          RequestContext& context) {
    auto user = caller(request, auth);
    if (!user) return http::sendStatusError(response, user.status(), context);
    TurnRequest turn;
    turn.userId = *user;
    Status valid = parseTurn(request.body(), *models, runs.settings().maxMessageChars, turn);
    if (valid.code() == mx::Code::Unimplemented) {
      return http::sendError(response, Pistache::Http::Code::Bad_Request, "not_available", valid.message(), context);
    }
    if (!valid.isOk()) return http::sendStatusError(response, valid, context);
    // At the limit of turns in progress, refused here: no descriptor taken, no worker's time.
    Status room = runs.refuseIfFull();
    if (!room.isOk()) {
      http::addHeader(response, "Retry-After", "1");
      return http::sendStatusError(response, room, context);
    }
    auto connection = SseConnection::prepare(response);
    // A new conversation's turn starts here: nothing to read first, and its save goes to the
    // blocking pool. Its first model call then waits for no other turn's save (2,000 turns
    // arriving at once had queued for two blocking threads, each start behind a round trip).
    if (turn.conversationId.empty()) {
      // With every graph worker asleep, its first step (the first model request) runs here once
      // the handler returns, instead of waking a worker.
      WorkerPool::HelpWhenIdle help;
      Status failed = guardedStart(runs, turn, connection, context.requestId);
      if (!failed.isOk()) refuse(*connection, failed, context.requestId);
      return;
    }
    // A turn of a conversation starts where blocking work runs: it reads the store and the
    // session cache, and a reactor that waited on them would hold up every other request of
    // its connections (a reconnect, a cancel) meanwhile.
    blockingWork.post([&runs, turn = std::move(turn), connection, requestId = context.requestId] {
      Status failed = guardedStart(runs, turn, connection, requestId);
      if (!failed.isOk()) refuse(*connection, failed, requestId);
    });
  });

  server.route(Method::Get, "/api/v1/runs/:id/stream", [&runs, &auth, &blockingWork](const Request& request, ResponseWriter& response,
                                                                                     RequestContext& context) {
    auto user = caller(request, auth);
    if (!user) return http::sendStatusError(response, user.status(), context);
    std::string runId = request.param(":id").as<std::string>();
    int64_t after = lastEventId(request);
    auto run = runs.find(runId, *user);
    if (run && !(*run)->log->released()) {
      OutputBatch headAndMissedEvents;  // one send
      return streamRun(startSse(response, (*run)->conversationId, runId), **run, after, runs);
    }
    // A run no longer in memory is read back from the store, ahead of the
    // queued blocking work: the client waits on this read alone. Its
    // conversation is in its stored `done`.
    auto connection = SseConnection::prepare(response);
    std::string conversationId = run ? (*run)->conversationId : "";
    blockingWork.postFirst([&runs, user = *user, runId, after, conversationId, connection, requestId = context.requestId]() mutable {
      auto stored = runs.store().runEvents(user, runId, 0);
      if (stored && stored->empty()) stored = notFoundError("run " + runId + " not found");
      if (!stored) return refuse(*connection, stored.status(), requestId);
      for (const auto& e : *stored) {
        if (!conversationId.empty() || e.event != "done") continue;
        Json done = parseJson(e.data);
        if (done.is_object() && done.contains("conversationId") && done["conversationId"].is_string()) conversationId = done["conversationId"];
      }
      OutputBatch headAndStoredEvents;  // one send
      connection->begin(sseHeaders(conversationId, runId));
      replayStored(connection, *stored, after);
    });
  });

  server.route(Method::Post, "/api/v1/runs/:id/cancel", [&runs, &auth, &blockingWork](const Request& request, ResponseWriter& response,
                                                                                      RequestContext& context) {
    auto user = caller(request, auth);
    if (!user) return http::sendStatusError(response, user.status(), context);
    std::string runId = request.param(":id").as<std::string>();
    Status status = runs.cancel(runId, *user);
    if (status.code() == mx::Code::FailedPrecondition) {
      return http::sendError(response, Code::Conflict, "already_finished", status.message(), context);
    }
    if (status.code() == mx::Code::NotFound) {
      // Not in memory: finished and stored (409), or unknown (404). The store says which.
      blockingWork.post([&runs, user = *user, runId, later = http::DeferredResponse(response, context.requestId)] {
        Status stored = runs.finishedRunInStore(runId, user);
        if (stored.code() == mx::Code::FailedPrecondition) {
          return later.json(static_cast<int>(Code::Conflict), http::errorJson("already_finished", stored.message(), later.requestId()));
        }
        later.error(stored);
      });
      return;
    }
    if (!status.isOk()) return http::sendStatusError(response, status, context);
    http::sendJson(response, Code::Accepted, {{"runId", runId}, {"status", "cancelling"}});
  });

  server.route(Method::Get, "/api/v1/conversations", [&runs, &auth, &blockingWork](const Request& request, ResponseWriter& response,
                                                                                   RequestContext& context) {
    auto user = caller(request, auth);
    if (!user) return http::sendStatusError(response, user.status(), context);
    auto limit = http::queryInt(request, "limit", 20, 1, 100);
    if (!limit) return http::sendStatusError(response, limit.status(), context);
    auto offset = http::queryInt(request, "offset", 0, 0, 1000000);
    if (!offset) return http::sendStatusError(response, offset.status(), context);
    blockingWork.post([&runs, user = *user, page = Page{*limit, *offset}, later = http::DeferredResponse(response, context.requestId)] {
      auto list = runs.store().listConversations(user, page);
      if (!list) return later.error(list.status());
      Json out = Json::array();
      for (const auto& c : *list) out.push_back(conversationJson(c));
      later.json(200, {{"conversations", out}, {"limit", page.limit}, {"offset", page.offset}});
    });
  });

  server.route(Method::Get, "/api/v1/conversations/:id", [&runs, &auth, &blockingWork](const Request& request, ResponseWriter& response,
                                                                                       RequestContext& context) {
    auto user = caller(request, auth);
    if (!user) return http::sendStatusError(response, user.status(), context);
    blockingWork.post([&runs, user = *user, id = request.param(":id").as<std::string>(),
                       later = http::DeferredResponse(response, context.requestId)] {
      auto conversation = runs.store().getConversation(user, id);
      if (!conversation) return later.error(conversation.status());
      auto messages = runs.store().listMessages(user, id);
      if (!messages) return later.error(messages.status());
      auto artifacts = runs.store().listArtifacts(user, id);
      if (!artifacts) return later.error(artifacts.status());
      Json out = conversationJson(*conversation);
      out["messages"] = Json::array();
      for (const auto& m : *messages) {
        out["messages"].push_back({{"id", m.id}, {"role", m.role}, {"content", m.content}, {"runId", m.runId},
                                   {"metadata", m.metadata}, {"createdAt", m.createdAtMs}});
      }
      out["artifacts"] = Json::array();
      for (const auto& a : *artifacts) out["artifacts"].push_back(artifactJson(a));
      later.json(200, out);
    });
  });

  server.route(Method::Delete, "/api/v1/conversations/:id", [&runs, &auth, &blockingWork](const Request& request, ResponseWriter& response,
                                                                                          RequestContext& context) {
    auto user = caller(request, auth);
    if (!user) return http::sendStatusError(response, user.status(), context);
    blockingWork.post([&runs, user = *user, id = request.param(":id").as<std::string>(),
                       later = http::DeferredResponse(response, context.requestId)] {
      Status deleted = runs.deleteConversation(user, id);
      if (!deleted.isOk()) return later.error(deleted);
      later.json(200, {{"id", id}, {"deleted", true}});
    });
  });

  server.route(Method::Get, "/api/v1/artifacts/:id", [&runs, &auth, &blockingWork](const Request& request, ResponseWriter& response,
                                                                                   RequestContext& context) {
    auto user = caller(request, auth);
    if (!user) return http::sendStatusError(response, user.status(), context);
    blockingWork.post([&runs, user = *user, id = request.param(":id").as<std::string>(),
                       later = http::DeferredResponse(response, context.requestId)] {
      auto artifact = runs.store().getArtifact(user, id);
      if (!artifact) return later.error(artifact.status());
      later.json(200, artifactJson(*artifact));
    });
  });
}

}  // namespace mx::host::chat
