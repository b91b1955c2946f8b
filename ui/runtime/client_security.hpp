// The Security a Studio client (the console, the tap) presents when it connects to a node's
// binding port, derived from the topology as the Runtime derives a link's: PLAIN credentials
// resolved through the secrets; CURVE with the server key taken from the binder's CurveRef
// (its public_key, NAME.key beside its key file, or its secret where it can be read) and the
// client's own key pair, or a fresh one per socket.
#pragma once

#include <zmqrpc/secrets.hpp>
#include <zmqrpc/security.hpp>

#include <nlohmann/json.hpp>

#include <string>

namespace studio {

// The client side towards a binder whose Security property is `serverRef`, when the client is
// `clientRef` (a subscriber's own property). `serverName` names the binder in errors. Throws
// std::exception (ConfigError, std::invalid_argument) with a message saying what is missing.
zmqrpc::Security clientSecurity(const nlohmann::json& clientRef, const nlohmann::json& serverRef,
                                const zmqrpc::Secrets& secrets, const std::string& serverName);

// A Studio tool that talks to the binder directly (the console): PLAIN presents the binder's
// own credentials; CURVE uses a fresh client key pair with the binder's public key.
zmqrpc::Security toolSecurity(const nlohmann::json& serverRef, const zmqrpc::Secrets& secrets,
                              const std::string& serverName);

}  // namespace studio
