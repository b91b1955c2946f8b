// Metrics snapshots: state names and the JSON form.
#include "zmqrpc/metrics.hpp"

namespace zmqrpc {

const char* to_string(HeartbeatState state) noexcept {
    switch (state) {
        case HeartbeatState::Unmonitored:
            return "unmonitored";
        case HeartbeatState::Alive:
            return "alive";
        case HeartbeatState::Late:
            return "late";
        case HeartbeatState::Dead:
            return "dead";
    }
    return "unknown";
}

const char* to_string(ConnectionState state) noexcept {
    switch (state) {
        case ConnectionState::Idle:
            return "idle";
        case ConnectionState::Listening:
            return "listening";
        case ConnectionState::Connecting:
            return "connecting";
        case ConnectionState::Connected:
            return "connected";
        case ConnectionState::Disconnected:
            return "disconnected";
        case ConnectionState::CredentialsRefused:
            return "credentials-refused";
        case ConnectionState::HandshakeFailed:
            return "handshake-failed";
    }
    return "unknown";
}

namespace {

nlohmann::json queue_json(const QueueSnapshot& q) {
    return {
        {"capacity", q.capacity}, {"fill", q.fill},           {"high_water", q.high_water},
        {"received", q.received}, {"delivered", q.delivered}, {"dropped", q.dropped},
    };
}

nlohmann::json socket_json(const SocketSnapshot& s) {
    return {
        {"role", s.role},
        {"endpoint", s.endpoint},
        {"connection", to_string(s.connection)},
        {"peers", s.peers},
        {"messages_in", s.messages_in},
        {"bytes_in", s.bytes_in},
        {"messages_out", s.messages_out},
        {"bytes_out", s.bytes_out},
        {"heartbeats_in", s.heartbeats_in},
        {"heartbeats_out", s.heartbeats_out},
        {"connects", s.connects},
        {"disconnects", s.disconnects},
        {"connect_retries", s.connect_retries},
        {"credentials_refused", s.credentials_refused},
        {"handshake_failures", s.handshake_failures},
        {"recreates", s.recreates},
        {"errors", s.errors},
        {"heartbeat", to_string(s.heartbeat)},
        {"heartbeat_timeout_ms", s.heartbeat_timeout.count()},
        {"last_message_age_ms", s.last_message_age.count()},
        {"ever_heard", s.ever_heard},
    };
}

}  // namespace

nlohmann::json MetricsSnapshot::to_json() const {
    nlohmann::json sockets_json = nlohmann::json::array();
    for (const auto& socket : sockets)
        sockets_json.push_back(socket_json(socket));
    return {
        {"name", name},
        {"kind", kind},
        {"running", running},
        {"messages_in", messages_in},
        {"bytes_in", bytes_in},
        {"messages_out", messages_out},
        {"bytes_out", bytes_out},
        {"errors", errors},
        {"bad_messages", bad_messages},
        {"requests_failed", requests_failed},
        {"has_queue", has_queue},
        {"queue", queue_json(queue)},
        {"sockets", std::move(sockets_json)},
    };
}

}  // namespace zmqrpc
