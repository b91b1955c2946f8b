#include "runtime/client_security.hpp"

#include <stdexcept>

namespace studio {

namespace {

std::string serverKey(const zmqrpc::SecurityRef& server, const zmqrpc::Secrets& secrets,
                      const std::string& serverName) {
    const zmqrpc::CurveRef* curve = server.curve();
    if (curve == nullptr) {
        throw std::invalid_argument(serverName + " does not use CURVE (" +
                                    zmqrpc::to_string(server.mechanism()) +
                                    "): both ends of a link need the same mechanism");
    }
    return secrets.server_public_key(*curve, serverName);
}

}  // namespace

zmqrpc::Security clientSecurity(const nlohmann::json& clientRef, const nlohmann::json& serverRef,
                                const zmqrpc::Secrets& secrets, const std::string& serverName) {
    const auto client = zmqrpc::SecurityRef::from_json(clientRef);
    zmqrpc::Security security = secrets.resolve(client);
    if (zmqrpc::CurveSecurity* curve = security.curve()) {
        curve->server_key =
            serverKey(zmqrpc::SecurityRef::from_json(serverRef), secrets, serverName);
    }
    return security;
}

zmqrpc::Security toolSecurity(const nlohmann::json& serverRef, const zmqrpc::Secrets& secrets,
                              const std::string& serverName) {
    const auto server = zmqrpc::SecurityRef::from_json(serverRef);
    if (const auto* plain = server.plain()) return secrets.resolve(*plain);
    if (server.curve() != nullptr) {
        zmqrpc::CurveSecurity curve;  // no keys: a fresh pair per socket
        curve.server_key = serverKey(server, secrets, serverName);
        return curve;
    }
    return {};
}

}  // namespace studio
