#include "plugins/plugin_loader.hpp"

#include <cstdlib>
#include <filesystem>

#include <boost/dll/runtime_symbol_info.hpp>

#include "mx/plugin.hpp"

namespace fs = std::filesystem;

namespace mx::host {

namespace {

constexpr const char* kAbiSymbol = "mx_plugin_abi";
constexpr const char* kRegisterSymbol = "mx_plugin_register";

// Boost wraps dlerror() as "... (dlerror system message: <msg>): <strerror>";
// only <msg> means anything.
std::string dlerrorText(const std::string& what) {
  const std::string marker = "dlerror system message: ";
  auto begin = what.find(marker);
  if (begin == std::string::npos) {
    return what;
  }
  begin += marker.size();
  auto end = what.rfind("): ");
  if (end == std::string::npos || end < begin) {
    return what.substr(begin);
  }
  return what.substr(begin, end - begin);
}

std::string abiDescription(uint32_t major, uint32_t minor, const char* toolchain) {
  return "sdk-abi " + std::to_string(major) + "." + std::to_string(minor) + " (" +
         (toolchain != nullptr ? toolchain : "no toolchain tag") + ")";
}

class SealableRegistrar final : public Registrar {
 public:
  SealableRegistrar(Registry& registry, std::shared_ptr<LoadedPlugin> plugin)
      : registry_(registry), plugin_(std::move(plugin)) {}

  void seal() { sealed_ = true; }
  std::string_view pluginName() const override { return plugin_->name; }

  Status addModelProvider(Factory<ModelProvider> f) override { return add(std::move(f)); }
  Status addTool(Factory<Tool> f) override { return add(std::move(f)); }
  Status addCacheBackend(Factory<CacheBackend> f) override { return add(std::move(f)); }
  Status addStore(Factory<Store> f) override { return add(std::move(f)); }
  Status addEmbedder(Factory<Embedder> f) override { return add(std::move(f)); }
  Status addTracer(Factory<Tracer> f) override { return add(std::move(f)); }
  Status addNodeKind(Factory<Node> f) override { return add(std::move(f)); }
  Status addRouter(Factory<Router> f) override { return add(std::move(f)); }

 private:
  template <class T>
  Status add(Factory<T> factory) {
    if (sealed_) {
      return failedPreconditionError("plugin " + plugin_->displayName() +
                                     " tried to register after loading finished");
    }
    return registry_.add(std::move(factory), plugin_);
  }

  Registry& registry_;
  std::shared_ptr<LoadedPlugin> plugin_;
  bool sealed_ = false;
};

}  // namespace

Status checkAbiBlock(const mx_plugin_abi_block* block, const std::string& file) {
  if (block == nullptr) {
    return failedPreconditionError(file + ": " + kAbiSymbol + "() returned no ABI block");
  }
  if (block->size < sizeof(uint32_t) * 2 || block->magic != MX_PLUGIN_MAGIC) {
    return failedPreconditionError(file + ": not a MarketerX plugin (bad magic in its ABI block)");
  }
  if (block->size < sizeof(mx_plugin_abi_block)) {
    return failedPreconditionError(file + ": ABI block too small (" + std::to_string(block->size) +
                                   " bytes, host expects at least " +
                                   std::to_string(sizeof(mx_plugin_abi_block)) + ")");
  }
  std::string host = abiDescription(MX_ABI_MAJOR, MX_ABI_MINOR, MX_TOOLCHAIN_TAG);
  std::string plugin = abiDescription(block->abi_major, block->abi_minor, block->toolchain);
  std::string versions = ": host " + host + ", plugin " + plugin;
  if (block->abi_major != MX_ABI_MAJOR) {
    return failedPreconditionError(file + ": ABI major version mismatch" + versions +
                                   " (rebuild the plugin against this SDK)");
  }
  if (block->abi_minor > MX_ABI_MINOR) {
    return failedPreconditionError(file + ": plugin needs a newer host" + versions);
  }
  if (block->toolchain == nullptr || std::string(block->toolchain) != MX_TOOLCHAIN_TAG) {
    return failedPreconditionError(file + ": toolchain mismatch" + versions +
                                   " (C++ objects cross the boundary; build both with the same toolchain)");
  }
  if (block->name == nullptr || *block->name == '\0') {
    return failedPreconditionError(file + ": ABI block has no plugin name");
  }
  return Status::ok();
}

std::vector<std::string> pluginSearchDirectories(const std::string& configured) {
  if (!configured.empty()) {
    return {configured};
  }
  if (const char* env = std::getenv("MX_PLUGIN_DIR"); env != nullptr && *env != '\0') {
    return {env};
  }
  fs::path exeDir = boost::dll::program_location().parent_path().string();
  return {(exeDir / ".." / "lib" / "marketerx" / "plugins").lexically_normal().string()};
}

PluginLoader::PluginLoader(Registry& registry, std::vector<std::string> searchDirectories)
    : registry_(registry), searchDirectories_(std::move(searchDirectories)) {}

Result<std::string> PluginLoader::resolve(const PluginDeclaration& declaration,
                                          const std::string& configDirectory) const {
  if (!declaration.path.empty()) {
    fs::path path(declaration.path);
    if (path.is_relative()) {
      path = fs::path(configDirectory) / path;
    }
    path = path.lexically_normal();
    if (!fs::exists(path)) {
      return notFoundError("plugin file not found: " + path.string());
    }
    return path.string();
  }
  std::string tried;
  for (const auto& directory : searchDirectories_) {
    for (const auto& file : {declaration.name + ".so", "lib" + declaration.name + ".so"}) {
      fs::path candidate = fs::path(directory) / file;
      if (fs::exists(candidate)) {
        return candidate.lexically_normal().string();
      }
      tried += (tried.empty() ? "" : ", ") + candidate.string();
    }
  }
  return notFoundError("plugin \"" + declaration.name + "\" not found (looked for " + tried + ")");
}

Status PluginLoader::load(const PluginDeclaration& declaration, const std::string& configDirectory) {
  std::string where = declaration.where.str() + ": ";
  auto resolved = resolve(declaration, configDirectory);
  if (!resolved) {
    return resolved.status().withContext(declaration.where.str());
  }
  const std::string& file = *resolved;
  auto library = std::make_shared<boost::dll::shared_library>();
  try {
    library->load(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    return failedPreconditionError(where + file + ": not a loadable shared library: " +
                                   dlerrorText(e.what()));
  }
  if (!library->has(kAbiSymbol)) {
    return failedPreconditionError(where + file + ": not a MarketerX plugin: it does not export " +
                                   kAbiSymbol + " (declare it with MX_PLUGIN)");
  }
  auto* abiFunction = library->get<const mx_plugin_abi_block*()>(kAbiSymbol);
  const mx_plugin_abi_block* block = abiFunction();
  MX_RETURN_IF_ERROR(checkAbiBlock(block, file).withContext(declaration.where.str()));
  if (!library->has(kRegisterSymbol)) {
    return failedPreconditionError(where + file + ": not a MarketerX plugin: it does not export " +
                                   kRegisterSymbol);
  }
  if (const auto* existing = registry_.findPlugin(block->name)) {
    return alreadyExistsError(where + file + ": plugin \"" + block->name + "\" is already loaded from " +
                              existing->path);
  }
  auto plugin = std::make_shared<LoadedPlugin>();
  plugin->name = block->name;
  plugin->version = block->version != nullptr ? block->version : "";
  plugin->description = block->description != nullptr ? block->description : "";
  plugin->path = file;
  plugin->library = library;
  auto* registerFunction = library->get<void(Registrar*, Status*)>(kRegisterSymbol);
  return registerPlugin(plugin, registerFunction).withContext(declaration.where.str());
}

Status PluginLoader::loadLinked(const mx_plugin_abi_block* block,
                                void (*registerFunction)(Registrar*, Status*)) {
  MX_RETURN_IF_ERROR(checkAbiBlock(block, "<linked>"));
  auto plugin = std::make_shared<LoadedPlugin>();
  plugin->name = block->name;
  plugin->version = block->version != nullptr ? block->version : "";
  plugin->description = block->description != nullptr ? block->description : "";
  return registerPlugin(plugin, registerFunction);
}

Status PluginLoader::registerPlugin(const std::shared_ptr<LoadedPlugin>& plugin,
                                    void (*registerFunction)(Registrar*, Status*)) {
  registry_.addPlugin(plugin);
  SealableRegistrar registrar(registry_, plugin);
  Status status;
  try {
    registerFunction(&registrar, &status);
  } catch (const std::exception& e) {  // a front door not made by MX_PLUGIN may throw
    status = internalError(std::string("plugin threw: ") + e.what());
  } catch (...) {
    status = internalError("plugin threw a non-standard exception");
  }
  registrar.seal();
  if (!status.isOk()) {
    registry_.removePlugin(*plugin);
    std::string file = plugin->path.empty() ? "<linked>" : plugin->path;
    return Status(status.code(),
                  file + ": plugin \"" + plugin->name + "\" failed to register: " + status.toString());
  }
  return Status::ok();
}

}  // namespace mx::host
