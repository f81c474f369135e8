// The `marketerx` command line: serve, check-config, plugins, --help.
// Exit codes: 0 success, 1 runtime failure (a backend, the port), 2 bad usage
// or bad configuration (nothing was started).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace mx::host {

int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace mx::host
