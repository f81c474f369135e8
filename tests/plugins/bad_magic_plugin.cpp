// Exports a front door whose block has the wrong magic number.
#include "mx/plugin.hpp"

extern "C" MX_PLUGIN_EXPORT const mx_plugin_abi_block* mx_plugin_abi(void) {
  static const mx_plugin_abi_block block = {sizeof(mx_plugin_abi_block), 0xDEADBEEF, MX_ABI_MAJOR,
                                            MX_ABI_MINOR, MX_TOOLCHAIN_TAG, "test_bad_magic", "0.0.1", ""};
  return &block;
}
extern "C" MX_PLUGIN_EXPORT void mx_plugin_register(mx::Registrar*, mx::Status* result) {
  *result = mx::Status::ok();
}
