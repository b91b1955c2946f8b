// Snapshots of the live counters (stats.hpp): read from any thread while the component writes.
#include "stats.hpp"

#include <algorithm>

namespace zmqrpc::detail {

SocketSnapshot SocketStats::snapshot() const {
    SocketSnapshot s;
    s.role = role;
    s.endpoint = endpoint();
    s.connection = get_connection();
    s.peers = peers.get();
    s.messages_in = messages_in.get();
    s.bytes_in = bytes_in.get();
    s.messages_out = messages_out.get();
    s.bytes_out = bytes_out.get();
    s.heartbeats_in = heartbeats_in.get();
    s.heartbeats_out = heartbeats_out.get();
    s.connects = connects.get();
    s.disconnects = disconnects.get();
    s.connect_retries = connect_retries.get();
    s.credentials_refused = credentials_refused.get();
    s.handshake_failures = handshake_failures.get();
    s.recreates = recreates.get();
    s.errors = errors.get();
    s.heartbeat = static_cast<HeartbeatState>(heartbeat.load(std::memory_order_relaxed));
    s.heartbeat_timeout = heartbeat_timeout;
    auto age_ns = now_ns() - last_heard_ns.load(std::memory_order_relaxed);
    s.last_message_age = std::chrono::milliseconds(std::max<std::int64_t>(0, age_ns / 1000000));
    s.ever_heard = ever_heard.load(std::memory_order_relaxed);
    return s;
}

QueueSnapshot QueueStats::snapshot() const {
    QueueSnapshot q;
    q.capacity = capacity.get();
    q.fill = fill.get();
    q.high_water = high_water.get();
    q.received = received.get();
    q.delivered = delivered.get();
    q.dropped = dropped.get();
    q.recovered = recovered.get();
    q.fill_bytes = fill_bytes.get();
    q.in_flight = in_flight.get();
    q.redelivered = redelivered.get();
    q.stale_replies = stale_replies.get();
    q.window = window.get();
    q.durable = durable.load(std::memory_order_relaxed);
    q.store_limit_bytes = store_limit_bytes.get();
    return q;
}

MetricsSnapshot ComponentStats::snapshot() const {
    MetricsSnapshot m;
    m.name = name;
    m.kind = kind;
    m.running = running.load();
    m.messages_in = messages_in.get();
    m.bytes_in = bytes_in.get();
    m.messages_out = messages_out.get();
    m.bytes_out = bytes_out.get();
    m.errors = errors.get();
    m.bad_messages = bad_messages.get();
    m.requests_failed = requests_failed.get();
    m.has_queue = has_queue;
    if (has_queue) m.queue = queue.snapshot();
    m.sockets.reserve(sockets.size());
    for (const auto& s : sockets)
        m.sockets.push_back(s->snapshot());
    return m;
}

}  // namespace zmqrpc::detail
