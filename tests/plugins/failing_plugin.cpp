// Registers one factory, then reports an error: the host must forget the factory too.
#include "mx/plugin.hpp"

MX_PLUGIN("test_failing", "0.0.1", "Returns an error from register") {
  mx::Factory<mx::Tool> half;
  half.name = "half-registered";
  half.create = [](mx::ComponentContext&) -> mx::Result<std::unique_ptr<mx::Tool>> {
    return mx::unimplementedError("never created");
  };
  MX_RETURN_IF_ERROR(registrar.addTool(std::move(half)));
  return mx::failedPreconditionError("licence file missing");
}
