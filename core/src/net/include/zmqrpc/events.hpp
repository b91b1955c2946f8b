// Events: state changes, connection changes from libzmq's socket monitor, heartbeat transitions,
// queue pressure, errors. Components publish into an EventBus from their own threads; any number
// of subscribers read from theirs. Each subscription is a bounded queue that drops its oldest
// events when its reader falls behind (and counts them), so a slow reader never blocks a node.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zmqrpc {

enum class EventKind {
    Started,             // a component's thread is up and its sockets bound/connected
    Stopped,             // a component stopped
    Listening,           // a bind succeeded (endpoint = the real, resolved endpoint)
    Accepted,            // a peer connected to a bound socket
    Connected,           // a connecting socket reached its peer (TCP level)
    ConnectRetried,      // a connect attempt failed and will be retried
    Disconnected,        // a connection was lost
    HandshakeSucceeded,  // ZMTP handshake done (credentials accepted, if any)
    CredentialsRefused,  // PLAIN username/password refused, or missing where required
    HandshakeFailed,     // any other handshake failure (protocol mismatch)
    HeartbeatLate,       // a SUB endpoint heard nothing for half its heartbeat timeout
    HeartbeatLost,       // ... for its whole timeout: the socket is recreated
    HeartbeatRecovered,  // a late or lost SUB endpoint hears again
    SocketRecreated,     // a SUB (heartbeat) or REQ (timeout, error) socket was rebuilt
    QueueFull,           // a proxy queue reached capacity: further input is dropped
    QueueDrained,        // a full queue has room again (text says how many were dropped meanwhile)
    StoreError,          // a durable store: moved aside at start, a write failed, the disk is full
    RequestFailed,       // a REQ send timed out, was refused, or failed
    BadMessage,          // invalid input refused (not JSON, not UTF-8, multipart, ...)
    Error,               // anything else worth a human's eye
    StateChanged,        // a runtime node changed state (text: "running", "failed: <reason>")
    Control,             // a runner's control call was carried out (text: what it did)
};

const char* to_string(EventKind kind) noexcept;
// Parses what to_string() gives; nullopt for anything else.
std::optional<EventKind> event_kind_from_string(std::string_view text) noexcept;

struct Event {
    std::chrono::system_clock::time_point time;
    std::string source;  // component name
    EventKind kind = EventKind::Error;
    std::string endpoint;  // the socket's endpoint, when the event concerns one
    std::string text;      // human-readable detail; never contains a password
};

// The JSON form of an event, as a runner's metrics stream carries it: {"time_ms", "source",
// "kind", "endpoint", "text"}.
nlohmann::json event_to_json(const Event& event);
Event event_from_json(const nlohmann::json& value);  // throws std::invalid_argument

// One reader's bounded view of the bus. Thread-safe.
class EventSubscription {
  public:
    explicit EventSubscription(std::size_t capacity);
    std::optional<Event> try_pop();
    // Waits up to `timeout` for an event.
    std::optional<Event> pop(std::chrono::milliseconds timeout);
    std::vector<Event> drain();
    std::uint64_t dropped() const;
    std::size_t capacity() const noexcept { return capacity_; }

  private:
    friend class EventBus;
    void push(const Event& event);
    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Event> events_;
    std::uint64_t dropped_ = 0;
};

// Fan-out of events to subscriptions. Thread-safe; publish() never blocks on a reader.
class EventBus {
  public:
    std::shared_ptr<EventSubscription> subscribe(std::size_t capacity = 10000);
    void unsubscribe(const std::shared_ptr<EventSubscription>& subscription);
    void publish(Event event);
    // Convenience: stamps the time.
    void publish(std::string source, EventKind kind, std::string endpoint, std::string text);

  private:
    std::mutex mutex_;
    std::vector<std::weak_ptr<EventSubscription>> subscriptions_;
};

}  // namespace zmqrpc
