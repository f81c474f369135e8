// Boundary guards: decorators that catch anything a plugin's component throws
// and turn it into a Status naming the component, so that no exception from
// plugin code unwinds through host frames (or an HTTP reactor).
// Each guard forwards to the wrapped object and has the same thread-safety and
// blocking behaviour as it.
#pragma once

#include <memory>
#include <string>

#include "mx/cache.hpp"
#include "mx/embedder.hpp"
#include "mx/graph.hpp"
#include "mx/model.hpp"
#include "mx/store.hpp"
#include "mx/tool.hpp"
#include "mx/tracer.hpp"

namespace mx::host {

// Wraps `object` (created for instance `label`, e.g. "[caches.main]") in the
// guard of its interface.
std::shared_ptr<ModelProvider> guard(std::shared_ptr<ModelProvider> object, std::string label);
std::shared_ptr<Tool> guard(std::shared_ptr<Tool> object, std::string label);
std::shared_ptr<CacheBackend> guard(std::shared_ptr<CacheBackend> object, std::string label);
std::shared_ptr<Store> guard(std::shared_ptr<Store> object, std::string label);
std::shared_ptr<Embedder> guard(std::shared_ptr<Embedder> object, std::string label);
std::shared_ptr<Tracer> guard(std::shared_ptr<Tracer> object, std::string label);
std::shared_ptr<Node> guard(std::shared_ptr<Node> object, std::string label);
std::shared_ptr<Router> guard(std::shared_ptr<Router> object, std::string label);

// Runs `body`, converting an exception into an Internal status that names `label`.
template <class Body>
auto guardedCall(const std::string& label, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    return internalError(label + " threw: " + e.what());
  } catch (...) {
    return internalError(label + " threw a non-standard exception");
  }
}

}  // namespace mx::host
