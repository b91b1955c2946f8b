// Metrics snapshots: state names and the JSON form.
#include "zmqrpc/metrics.hpp"

#include <stdexcept>

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

HeartbeatState heartbeat_state_from_string(std::string_view text) {
    for (auto s : {HeartbeatState::Alive, HeartbeatState::Late, HeartbeatState::Dead}) {
        if (text == to_string(s)) return s;
    }
    return HeartbeatState::Unmonitored;
}

ConnectionState connection_state_from_string(std::string_view text) {
    for (auto s : {ConnectionState::Listening, ConnectionState::Connecting,
                   ConnectionState::Connected, ConnectionState::Disconnected,
                   ConnectionState::CredentialsRefused, ConnectionState::HandshakeFailed}) {
        if (text == to_string(s)) return s;
    }
    return ConnectionState::Idle;
}

namespace {

nlohmann::json queue_json(const QueueSnapshot& q) {
    return {
        {"capacity", q.capacity},
        {"fill", q.fill},
        {"high_water", q.high_water},
        {"received", q.received},
        {"delivered", q.delivered},
        {"dropped", q.dropped},
        {"recovered", q.recovered},
        {"fill_bytes", q.fill_bytes},
        {"in_flight", q.in_flight},
        {"redelivered", q.redelivered},
        {"stale_replies", q.stale_replies},
        {"window", q.window},
        {"durable", q.durable},
        {"store_limit_bytes", q.store_limit_bytes},
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

MetricsSnapshot MetricsSnapshot::from_json(const nlohmann::json& value) {
    if (!value.is_object()) throw std::invalid_argument("metrics: expected an object");
    try {
        MetricsSnapshot m;
        m.name = value.at("name").get<std::string>();
        m.kind = value.at("kind").get<std::string>();
        m.running = value.at("running").get<bool>();
        m.messages_in = value.at("messages_in").get<std::uint64_t>();
        m.bytes_in = value.at("bytes_in").get<std::uint64_t>();
        m.messages_out = value.at("messages_out").get<std::uint64_t>();
        m.bytes_out = value.at("bytes_out").get<std::uint64_t>();
        m.errors = value.at("errors").get<std::uint64_t>();
        m.bad_messages = value.at("bad_messages").get<std::uint64_t>();
        m.requests_failed = value.at("requests_failed").get<std::uint64_t>();
        m.has_queue = value.at("has_queue").get<bool>();
        const auto& q = value.at("queue");
        m.queue.capacity = q.at("capacity").get<std::uint64_t>();
        m.queue.fill = q.at("fill").get<std::uint64_t>();
        m.queue.high_water = q.at("high_water").get<std::uint64_t>();
        m.queue.received = q.at("received").get<std::uint64_t>();
        m.queue.delivered = q.at("delivered").get<std::uint64_t>();
        m.queue.dropped = q.at("dropped").get<std::uint64_t>();
        // Added with the durable queue (issue 13): a runner of an older version sends none.
        m.queue.recovered = q.value("recovered", std::uint64_t{0});
        m.queue.fill_bytes = q.value("fill_bytes", std::uint64_t{0});
        m.queue.in_flight = q.value("in_flight", std::uint64_t{0});
        m.queue.redelivered = q.value("redelivered", std::uint64_t{0});
        m.queue.stale_replies = q.value("stale_replies", std::uint64_t{0});
        m.queue.window = q.value("window", std::uint64_t{0});
        m.queue.durable = q.value("durable", false);
        m.queue.store_limit_bytes = q.value("store_limit_bytes", std::uint64_t{0});
        for (const auto& j : value.at("sockets")) {
            SocketSnapshot s;
            s.role = j.at("role").get<std::string>();
            s.endpoint = j.at("endpoint").get<std::string>();
            s.connection = connection_state_from_string(j.at("connection").get<std::string>());
            s.peers = j.at("peers").get<std::uint64_t>();
            s.messages_in = j.at("messages_in").get<std::uint64_t>();
            s.bytes_in = j.at("bytes_in").get<std::uint64_t>();
            s.messages_out = j.at("messages_out").get<std::uint64_t>();
            s.bytes_out = j.at("bytes_out").get<std::uint64_t>();
            s.heartbeats_in = j.at("heartbeats_in").get<std::uint64_t>();
            s.heartbeats_out = j.at("heartbeats_out").get<std::uint64_t>();
            s.connects = j.at("connects").get<std::uint64_t>();
            s.disconnects = j.at("disconnects").get<std::uint64_t>();
            s.connect_retries = j.at("connect_retries").get<std::uint64_t>();
            s.credentials_refused = j.at("credentials_refused").get<std::uint64_t>();
            s.handshake_failures = j.at("handshake_failures").get<std::uint64_t>();
            s.recreates = j.at("recreates").get<std::uint64_t>();
            s.errors = j.at("errors").get<std::uint64_t>();
            s.heartbeat = heartbeat_state_from_string(j.at("heartbeat").get<std::string>());
            s.heartbeat_timeout =
                std::chrono::milliseconds(j.at("heartbeat_timeout_ms").get<long>());
            s.last_message_age = std::chrono::milliseconds(j.at("last_message_age_ms").get<long>());
            s.ever_heard = j.at("ever_heard").get<bool>();
            m.sockets.push_back(std::move(s));
        }
        return m;
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(std::string("metrics: ") + e.what());
    }
}

}  // namespace zmqrpc
