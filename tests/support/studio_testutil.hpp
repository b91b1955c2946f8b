// Helpers shared by the Studio's tests that drive a real RuntimeController.
#pragma once

#include "runtime/runtime_controller.hpp"

#include <zmqrpc/runtime.hpp>
#include <zmqrpc/topology.hpp>

#include <string>

namespace studio_testutil {

// No password known, and the environment not read: a test must not depend on it.
inline zmqrpc::Secrets noSecrets() {
    zmqrpc::Secrets s;
    s.use_environment = false;
    return s;
}

// A node's state in the controller's latest snapshot (Stopped while it has none).
inline zmqrpc::NodeState stateOf(const studio::RuntimeController& rc, const std::string& id) {
    const zmqrpc::NodeStatus* n = rc.snapshot().node(id);
    return n != nullptr ? n->state : zmqrpc::NodeState::Stopped;
}

}  // namespace studio_testutil
