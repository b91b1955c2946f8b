#pragma once

namespace zmqrpc {
// "0.1.0"
const char* version() noexcept;
// libzmq's version at run time, e.g. "4.3.4".
const char* libzmq_version() noexcept;
}  // namespace zmqrpc
