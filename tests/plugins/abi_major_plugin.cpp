// Claims an ABI major version the host does not have.
#include "mx/plugin.hpp"

MX_PLUGIN_WITH_ABI("test_abi_major", "0.0.1", "Built for another ABI major", MX_ABI_MAJOR + 1, 0,
                   MX_TOOLCHAIN_TAG) {
  (void)registrar;
  return mx::Status::ok();
}
