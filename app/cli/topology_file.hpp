// Loading a topology file for `zmqrpc validate` and `zmqrpc run`: load errors become located
// lines ("FILE: where: text") on stderr and exit status 3.
#pragma once

#include "common.hpp"

#include <string>

namespace cli {

// Loads `path`; on failure prints every located error on stderr, one per line, and throws
// Failure{kCannotStart} with an empty message (the lines are the message).
zmqrpc::Topology load_topology_or_fail(const std::string& path);

// "FILE: where: text" for one load error (the file is not repeated when the error is about the
// file itself, e.g. it cannot be read).
std::string located_line(const std::string& path, const zmqrpc::LocatedError& error);

}  // namespace cli
