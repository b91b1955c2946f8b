// Metrics of a component, read as a snapshot from any thread. The live counters are atomics that
// the component's own thread updates without locks (relaxed order): a snapshot is a consistent-
// enough copy for display, never a synchronisation point.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zmqrpc {

// Heartbeat health of one SUB endpoint.
enum class HeartbeatState {
    Unmonitored,  // no heartbeat timeout configured for this endpoint
    Alive,        // heard within half the timeout
    Late,         // silent for more than half the timeout
    Dead,         // silent for the whole timeout: recreated, still silent
};
const char* to_string(HeartbeatState state) noexcept;
HeartbeatState heartbeat_state_from_string(std::string_view text);  // unknown: Unmonitored

// Connection state of one socket, from libzmq's socket monitor.
enum class ConnectionState {
    Idle,                // created, nothing happened yet
    Listening,           // bound, no peer yet
    Connecting,          // connect in progress or being retried
    Connected,           // at least one peer connected and handshaken
    Disconnected,        // was connected, lost all peers
    CredentialsRefused,  // last handshake failed on credentials
    HandshakeFailed,     // last handshake failed for another reason
};
const char* to_string(ConnectionState state) noexcept;
ConnectionState connection_state_from_string(std::string_view text);  // unknown: Idle

struct SocketSnapshot {
    std::string role;      // "sub", "rep", "pub", "req"
    std::string endpoint;  // configured (connect) or resolved (bind) endpoint
    ConnectionState connection = ConnectionState::Idle;
    std::uint64_t peers = 0;  // current handshaken peers
    std::uint64_t messages_in = 0, bytes_in = 0, messages_out = 0, bytes_out = 0;
    std::uint64_t heartbeats_in = 0, heartbeats_out = 0;
    std::uint64_t connects = 0, disconnects = 0, connect_retries = 0;
    std::uint64_t credentials_refused = 0, handshake_failures = 0;
    std::uint64_t recreates = 0;  // times the socket was destroyed and rebuilt
    std::uint64_t errors = 0;
    // SUB heartbeat supervision
    HeartbeatState heartbeat = HeartbeatState::Unmonitored;
    std::chrono::milliseconds heartbeat_timeout{0};
    // Time since the last message or heartbeat (since creation when none yet).
    std::chrono::milliseconds last_message_age{0};
    bool ever_heard = false;
};

struct QueueSnapshot {
    std::uint64_t capacity = 0;
    std::uint64_t fill = 0;        // queued now
    std::uint64_t high_water = 0;  // largest fill seen
    std::uint64_t received = 0;    // offered to the queue
    std::uint64_t delivered = 0;   // handed to the output successfully
    std::uint64_t dropped = 0;     // refused (full) or given up (delivery failed)
    // Invariant: delivered + dropped + fill == received. A message in flight is counted in fill
    // until its outcome is known; messages a durable store held when the proxy started are
    // counted in received (and in recovered), so the balance holds across a restart.
    std::uint64_t recovered = 0;      // found in the durable store at start (part of received)
    std::uint64_t fill_bytes = 0;     // payload bytes queued now
    std::uint64_t in_flight = 0;      // sent downstream, reply awaited (part of fill)
    std::uint64_t redelivered = 0;    // sends of a message that had been sent before
    std::uint64_t stale_replies = 0;  // replies whose request was no longer in flight: discarded
    std::uint64_t window = 0;         // requests in flight allowed per endpoint (0: no REQ output)
    bool durable = false;             // the queue is a store on disk (--store)
    std::uint64_t store_limit_bytes = 0;  // its byte limit (0: none)
};

struct MetricsSnapshot {
    std::string name;  // component name
    std::string kind;  // "receiver", "rpc-server", "sender", "proxy:sub2req", ...
    bool running = false;
    // What enters at the input side and leaves at the output side: for a server, requests and
    // replies; for a sender, what it sends and the replies; for a proxy, what its input received
    // and what its output forwarded. Every socket counts all of its own traffic in `sockets`.
    std::uint64_t messages_in = 0, bytes_in = 0, messages_out = 0, bytes_out = 0;
    std::uint64_t errors = 0;           // handler exceptions, failed deliveries, refused input
    std::uint64_t bad_messages = 0;     // invalid input refused with a status
    std::uint64_t requests_failed = 0;  // REQ timeouts/refusals/unreachable
    bool has_queue = false;
    QueueSnapshot queue;
    std::vector<SocketSnapshot> sockets;

    nlohmann::json to_json() const;
    // Reads what to_json() wrote (metrics from another process). Throws std::invalid_argument.
    static MetricsSnapshot from_json(const nlohmann::json& value);
};

}  // namespace zmqrpc
