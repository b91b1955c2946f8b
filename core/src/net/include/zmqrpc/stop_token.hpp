// Lets a long-running RPC function notice that its server is being stopped, so that stop()
// keeps its promise of returning quickly. Functions run on the server's own thread; this reads
// that thread's flag.
#pragma once

namespace zmqrpc {

// True when called on a component's thread while that component is being stopped.
bool stop_requested() noexcept;

}  // namespace zmqrpc
