// Built against a newer minor of the SDK than the host provides.
#include "mx/plugin.hpp"

MX_PLUGIN_WITH_ABI("test_abi_minor", "0.0.1", "Needs a newer host", MX_ABI_MAJOR, MX_ABI_MINOR + 1,
                   MX_TOOLCHAIN_TAG) {
  (void)registrar;
  return mx::Status::ok();
}
