// Claims to have been built with another toolchain.
#include "mx/plugin.hpp"

MX_PLUGIN_WITH_ABI("test_toolchain", "0.0.1", "Built with clang and libc++", MX_ABI_MAJOR, MX_ABI_MINOR,
                   "clang-17/libc++/c++202002L/json-3.11") {
  (void)registrar;
  return mx::Status::ok();
}
