// Its register function throws.
#include <stdexcept>

#include "mx/plugin.hpp"

MX_PLUGIN("test_throwing", "0.0.1", "Throws while registering") {
  (void)registrar;
  throw std::runtime_error("boom while registering");
}
