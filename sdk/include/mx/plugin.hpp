// mx/plugin.hpp — the plugin front door.
//
// What: every plugin shared library exports exactly two `extern "C"` symbols:
//   const mx_plugin_abi_block* mx_plugin_abi(void);
//   void mx_plugin_register(mx::Registrar*, mx::Status*);
// The host calls `mx_plugin_abi` first and checks the block before it touches
// any C++ symbol:
//   magic          must equal MX_PLUGIN_MAGIC (else: not a MarketerX plugin)
//   abi_major      must equal the host's (any change to an existing interface
//                  bumps it)
//   abi_minor      must be <= the host's (a minor bump only adds new things, so
//                  an older plugin runs on a newer host, never the reverse)
//   toolchain      must equal the host's exactly: compiler, C++ standard
//                  library ABI, C++ standard and nlohmann/json version, because
//                  C++ objects (std::string, std::function, mx::Json) cross the
//                  boundary.
// Only then is `mx_plugin_register` called. `MX_PLUGIN` generates both
// functions and wraps the body so that a thrown exception becomes an Internal
// Status naming the plugin.
// Thread-safety: called once, from the loading thread.
// Ownership: the block and its strings are static data of the plugin.
// Blocking: registration must not block.
#pragma once

#include <cstdint>
#include <exception>
#include <string>

#include "mx/registrar.hpp"
#include "mx/status.hpp"

#define MX_ABI_MAJOR 3  // 3.0: ChatRequest::conversation, messages lent from the state; 2.0: ChatRequest::tools is a shared ToolSet
#define MX_ABI_MINOR 1  // 3.1 RunBatchStore. 2.x history: 2.1 ModelCatalogue::chatRebuilding; 2.2 RunCheckpointStore. 1.x history: 1.1 NodeContext::usage, ToolContext::usage; 1.2 EventSink::emitArtifactDelta;
                        // 1.3 RunRecordStore (optional beside Store), mx/json_text.hpp; 1.4 HttpClient::startShared;
                        // 1.5 SharedRequestChat (optional beside ModelProvider); 1.6 CheckpointTextSaver
#define MX_PLUGIN_MAGIC 0x4D58504Cu  // "MXPL"

#define MX_STRINGIFY_IMPL(x) #x
#define MX_STRINGIFY(x) MX_STRINGIFY_IMPL(x)

#if defined(__clang__)
#define MX_COMPILER_TAG "clang-" MX_STRINGIFY(__clang_major__)
#elif defined(__GNUC__)
#define MX_COMPILER_TAG "gcc-" MX_STRINGIFY(__GNUC__)
#else
#define MX_COMPILER_TAG "unknown-compiler"
#endif

#if defined(_LIBCPP_VERSION)
#define MX_STDLIB_TAG "libc++"
#elif defined(_GLIBCXX_USE_CXX11_ABI) && _GLIBCXX_USE_CXX11_ABI
#define MX_STDLIB_TAG "libstdc++-cxx11"
#else
#define MX_STDLIB_TAG "libstdc++-old"
#endif

#define MX_TOOLCHAIN_TAG                                                            \
  MX_COMPILER_TAG "/" MX_STDLIB_TAG "/c++" MX_STRINGIFY(__cplusplus) "/json-"       \
      MX_STRINGIFY(NLOHMANN_JSON_VERSION_MAJOR) "." MX_STRINGIFY(NLOHMANN_JSON_VERSION_MINOR)

#define MX_PLUGIN_EXPORT __attribute__((visibility("default")))

extern "C" {
// Only ever grows at the end; `size` tells the host how much the plugin filled.
typedef struct mx_plugin_abi_block {
  uint32_t size;
  uint32_t magic;
  uint32_t abi_major;
  uint32_t abi_minor;
  const char* toolchain;
  const char* name;
  const char* version;
  const char* description;
} mx_plugin_abi_block;
}

// The two front-door functions every plugin defines (through MX_PLUGIN).
extern "C" const mx_plugin_abi_block* mx_plugin_abi(void);
extern "C" void mx_plugin_register(mx::Registrar* registrar, mx::Status* result);

namespace mx::detail {

template <class Body>
Status callGuarded(const char* pluginName, Body&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return internalError(std::string("plugin '") + pluginName + "' threw: " + e.what());
  } catch (...) {
    return internalError(std::string("plugin '") + pluginName + "' threw a non-standard exception");
  }
}

}  // namespace mx::detail

// The general form, for test plugins that need to lie about their ABI.
#define MX_PLUGIN_WITH_ABI(NAME, VERSION, DESCRIPTION, MAJOR, MINOR, TOOLCHAIN)             \
  static ::mx::Status mxPluginRegisterBody(::mx::Registrar& registrar);                     \
  extern "C" MX_PLUGIN_EXPORT const mx_plugin_abi_block* mx_plugin_abi(void) {              \
    static const mx_plugin_abi_block block = {sizeof(mx_plugin_abi_block), MX_PLUGIN_MAGIC, \
                                              (MAJOR), (MINOR), (TOOLCHAIN), (NAME),        \
                                              (VERSION), (DESCRIPTION)};                    \
    return &block;                                                                          \
  }                                                                                         \
  extern "C" MX_PLUGIN_EXPORT void mx_plugin_register(::mx::Registrar* registrar,           \
                                                      ::mx::Status* result) {               \
    *result = ::mx::detail::callGuarded((NAME),                                             \
                                        [&] { return mxPluginRegisterBody(*registrar); });  \
  }                                                                                         \
  static ::mx::Status mxPluginRegisterBody(::mx::Registrar& registrar)

// Usage:
//   MX_PLUGIN("cache_memory", "0.1.0", "In-process LRU cache") {
//     return registrar.addCacheBackend({...});
//   }
#define MX_PLUGIN(NAME, VERSION, DESCRIPTION) \
  MX_PLUGIN_WITH_ABI(NAME, VERSION, DESCRIPTION, MX_ABI_MAJOR, MX_ABI_MINOR, MX_TOOLCHAIN_TAG)
