// The built-in diagnostic functions served by `zmqrpc serve` (and the Studio's RPC server
// nodes), with Python-style argument checking so that a wrong call gets the text a pyzmqrpc
// server would give (e.g. "add() missing 1 required positional argument: 'b'") as a 463.
//
//   ping()            -> "pong"
//   echo(**p)         -> p
//   add(a, b)         -> a + b  (numbers add; strings, arrays concatenate; like Python)
//   sleep(seconds)    -> seconds, after sleeping (at most 3600 s; a stopping server cuts it short)
//   fail(message)     -> raises message (463)
//   _describe()       -> every function with its parameter names and help (answered by any
//                        FunctionRegistry, see rpc_server.hpp)
#pragma once

#include "zmqrpc/rpc_server.hpp"

namespace zmqrpc {

FunctionRegistry diagnostic_functions();

// Checks `parameters` against a function's named parameters like Python's f(**parameters):
// throws std::runtime_error with Python's TypeError text for a missing or unexpected one.
void check_arguments(std::string_view function, const json& parameters,
                     const std::vector<std::string>& required,
                     const std::vector<std::string>& optional = {});

}  // namespace zmqrpc
