// Registers a tool factory named "echo", which test_good also registers.
#include "mx/plugin.hpp"

MX_PLUGIN("test_duplicate", "0.0.1", "Collides with test_good") {
  mx::Factory<mx::Tool> echo;
  echo.name = "echo";
  echo.create = [](mx::ComponentContext&) -> mx::Result<std::unique_ptr<mx::Tool>> {
    return mx::unimplementedError("never created");
  };
  return registrar.addTool(std::move(echo));
}
