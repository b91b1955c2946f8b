// Option structs shared by the components. Durations are std::chrono; zero where noted disables.
#pragma once

#include "zmqrpc/security.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace zmqrpc {

class Context;
class EventBus;

using namespace std::chrono_literals;

// One SUB endpoint to connect to, with its own heartbeat timeout (seed 1.5.0: address, or
// (address, seconds)). A timeout of zero means "use the component's default".
struct SubEndpoint {
    std::string endpoint;
    std::chrono::milliseconds heartbeat_timeout{0};
    SubEndpoint() = default;
    SubEndpoint(std::string ep, std::chrono::milliseconds timeout = 0ms)  // NOLINT: implicit
        : endpoint(std::move(ep)), heartbeat_timeout(timeout) {}
    SubEndpoint(const char* ep) : endpoint(ep) {}  // NOLINT: implicit, for brace lists
};

// What every component has.
struct CommonOptions {
    // Name used in events and metrics.
    std::string name;
    // Shared context; Context::shared_default() when null.
    std::shared_ptr<Context> context;
    // Where events go; none when null.
    std::shared_ptr<EventBus> events;
    // libzmq's ZMQ_MAXMSGSIZE on every input socket: a peer sending more is disconnected by
    // libzmq before the message is allocated. Negative: no limit.
    std::int64_t max_message_size = 64 * 1024 * 1024;
};

// The input side of a receiver, server or proxy: a REP bind and/or SUB connects.
struct InputOptions {
    // REP endpoint to bind, e.g. "tcp://*:30000" or "tcp://127.0.0.1:*". Empty: none.
    std::string rep_bind;
    // SUB endpoints to connect to (all subscribed to everything).
    std::vector<SubEndpoint> sub_connect;
    // Heartbeat timeout for SUB endpoints that set none; zero disables supervision.
    // pyzmqrpc: 600 s for a bare receiver and for every proxy (threaded or not), 60 s for
    // ZmqReceiverThread and ZmqRpcServerThread.
    std::chrono::milliseconds default_heartbeat_timeout = 60s;
    // REP side: what clients must present (PLAIN credentials, or the CURVE key pair and client
    // policy). SUB side: what we present (PLAIN credentials, or our CURVE key pair and the
    // publishers' public keys). See security.hpp.
    Security security;
};

// The output side of a sender or proxy: a PUB bind and/or one REQ connected to every endpoint.
struct OutputOptions {
    std::string pub_bind;
    std::vector<std::string> req_connect;
    // PUB side: what subscribers must present. REQ side: what we present (security.hpp).
    Security security;
    // PUB send high-water mark (pyzmqrpc: 100000).
    int pub_hwm = 100000;
    // Heartbeats sent on the PUB socket at this interval; zero: none.
    std::chrono::milliseconds pub_heartbeat_interval{0};
    // How long a REQ waits for its reply before it gives up and recreates the socket.
    std::chrono::milliseconds req_timeout = 60s;
};

}  // namespace zmqrpc
