// Live counters behind MetricsSnapshot. Written by one component thread with relaxed atomics,
// read by snapshot() from any thread: no lock on the message path. The set of sockets is fixed
// when the component is built, so readers never race a vector that grows. Internal header.
#pragma once

#include "zmqrpc/metrics.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace zmqrpc::detail {

using Clock = std::chrono::steady_clock;

inline std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
}

struct Counter {
    std::atomic<std::uint64_t> value{0};
    void add(std::uint64_t n = 1) noexcept { value.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t get() const noexcept { return value.load(std::memory_order_relaxed); }
    void set(std::uint64_t n) noexcept { value.store(n, std::memory_order_relaxed); }
};

struct SocketStats {
    SocketStats(std::string role_name, std::string configured_endpoint,
                std::chrono::milliseconds hb_timeout)
        : role(std::move(role_name)),
          heartbeat_timeout(hb_timeout),
          endpoint_(std::move(configured_endpoint)) {
        heartbeat.store(static_cast<int>(hb_timeout.count() > 0 ? HeartbeatState::Alive
                                                                : HeartbeatState::Unmonitored));
    }
    const std::string role;
    const std::chrono::milliseconds heartbeat_timeout;

    Counter messages_in, bytes_in, messages_out, bytes_out, heartbeats_in, heartbeats_out;
    Counter connects, disconnects, connect_retries, credentials_refused, handshake_failures;
    Counter recreates, errors, peers;
    std::atomic<int> connection{static_cast<int>(ConnectionState::Idle)};
    std::atomic<int> heartbeat;
    std::atomic<std::int64_t> last_heard_ns{now_ns()};
    std::atomic<bool> ever_heard{false};

    void set_connection(ConnectionState s) noexcept {
        connection.store(static_cast<int>(s), std::memory_order_relaxed);
    }
    ConnectionState get_connection() const noexcept {
        return static_cast<ConnectionState>(connection.load(std::memory_order_relaxed));
    }
    void heard() noexcept { heard_at(Clock::now()); }
    void heard_at(Clock::time_point t) noexcept {
        last_heard_ns.store(
            std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count(),
            std::memory_order_relaxed);
        ever_heard.store(true, std::memory_order_relaxed);
    }
    // The endpoint changes once, when a bind resolves "*" ports; guarded, off the message path.
    void set_endpoint(std::string ep) {
        std::lock_guard lock(mutex_);
        endpoint_ = std::move(ep);
    }
    std::string endpoint() const {
        std::lock_guard lock(mutex_);
        return endpoint_;
    }
    SocketSnapshot snapshot() const;

  private:
    mutable std::mutex mutex_;
    std::string endpoint_;
};

struct QueueStats {
    Counter capacity, fill, high_water, received, delivered, dropped;
    Counter recovered, fill_bytes, in_flight, redelivered, stale_replies, window, store_limit_bytes;
    std::atomic<bool> durable{false};
    void set_fill(std::uint64_t n) noexcept {
        fill.set(n);
        if (n > high_water.get()) high_water.set(n);
    }
    QueueSnapshot snapshot() const;
};

struct ComponentStats {
    ComponentStats(std::string component_name, std::string component_kind)
        : name(std::move(component_name)), kind(std::move(component_kind)) {}
    const std::string name;
    const std::string kind;
    std::atomic<bool> running{false};
    Counter messages_in, bytes_in, messages_out, bytes_out, errors, bad_messages, requests_failed;
    bool has_queue = false;
    QueueStats queue;
    std::vector<std::unique_ptr<SocketStats>> sockets;  // fixed after construction

    SocketStats& add_socket(std::string role, std::string endpoint,
                            std::chrono::milliseconds hb_timeout = std::chrono::milliseconds{0}) {
        sockets.push_back(
            std::make_unique<SocketStats>(std::move(role), std::move(endpoint), hb_timeout));
        return *sockets.back();
    }
    MetricsSnapshot snapshot() const;
};

}  // namespace zmqrpc::detail
