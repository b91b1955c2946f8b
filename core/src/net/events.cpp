// EventBus and its bounded subscriptions.
#include "zmqrpc/events.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace zmqrpc {

const char* to_string(EventKind kind) noexcept {
    switch (kind) {
        case EventKind::Started:
            return "started";
        case EventKind::Stopped:
            return "stopped";
        case EventKind::Listening:
            return "listening";
        case EventKind::Accepted:
            return "accepted";
        case EventKind::Connected:
            return "connected";
        case EventKind::ConnectRetried:
            return "connect-retried";
        case EventKind::Disconnected:
            return "disconnected";
        case EventKind::HandshakeSucceeded:
            return "handshake-succeeded";
        case EventKind::CredentialsRefused:
            return "credentials-refused";
        case EventKind::HandshakeFailed:
            return "handshake-failed";
        case EventKind::HeartbeatLate:
            return "heartbeat-late";
        case EventKind::HeartbeatLost:
            return "heartbeat-lost";
        case EventKind::HeartbeatRecovered:
            return "heartbeat-recovered";
        case EventKind::SocketRecreated:
            return "socket-recreated";
        case EventKind::QueueFull:
            return "queue-full";
        case EventKind::QueueDrained:
            return "queue-drained";
        case EventKind::StoreError:
            return "store-error";
        case EventKind::RequestFailed:
            return "request-failed";
        case EventKind::BadMessage:
            return "bad-message";
        case EventKind::Error:
            return "error";
        case EventKind::StateChanged:
            return "state-changed";
        case EventKind::Control:
            return "control";
    }
    return "unknown";
}

std::optional<EventKind> event_kind_from_string(std::string_view text) noexcept {
    for (int k = 0; k <= static_cast<int>(EventKind::Control); ++k) {
        auto kind = static_cast<EventKind>(k);
        if (text == to_string(kind)) return kind;
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------

EventSubscription::EventSubscription(std::size_t capacity) : capacity_(capacity) {}

void EventSubscription::push(const Event& event) {
    {
        std::lock_guard lock(mutex_);
        if (capacity_ == 0) {  // nothing can be kept: the event itself is dropped
            ++dropped_;
            return;
        }
        while (events_.size() >= capacity_) {
            events_.pop_front();
            ++dropped_;
        }
        events_.push_back(event);
    }
    cv_.notify_one();
}

std::optional<Event> EventSubscription::try_pop() {
    std::lock_guard lock(mutex_);
    if (events_.empty()) return std::nullopt;
    Event event = std::move(events_.front());
    events_.pop_front();
    return event;
}

std::optional<Event> EventSubscription::pop(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    // Clamped so that now() + timeout cannot overflow (a year is "forever" for a reader).
    constexpr std::chrono::milliseconds kLongest = std::chrono::hours(24 * 365);
    const auto wait = std::clamp(timeout, std::chrono::milliseconds::zero(), kLongest);
    const auto deadline = std::chrono::steady_clock::now() + wait;
    if (!cv_.wait_until(lock, deadline, [this] { return !events_.empty(); })) return std::nullopt;
    Event event = std::move(events_.front());
    events_.pop_front();
    return event;
}

std::vector<Event> EventSubscription::drain() {
    std::deque<Event> taken;
    {
        std::lock_guard lock(mutex_);
        taken.swap(events_);
    }
    return {std::make_move_iterator(taken.begin()), std::make_move_iterator(taken.end())};
}

std::uint64_t EventSubscription::dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
}

// ---------------------------------------------------------------------------------------------

std::shared_ptr<EventSubscription> EventBus::subscribe(std::size_t capacity) {
    auto subscription = std::make_shared<EventSubscription>(capacity);
    std::lock_guard lock(mutex_);
    std::erase_if(subscriptions_, [](const auto& weak) { return weak.expired(); });
    subscriptions_.push_back(subscription);
    return subscription;
}

void EventBus::unsubscribe(const std::shared_ptr<EventSubscription>& subscription) {
    std::lock_guard lock(mutex_);
    std::erase_if(subscriptions_, [&](const std::weak_ptr<EventSubscription>& weak) {
        if (weak.expired()) return true;
        // Same control block, compared without locking the weak_ptr.
        return !weak.owner_before(subscription) && !subscription.owner_before(weak);
    });
}

void EventBus::publish(Event event) {
    if (event.time == std::chrono::system_clock::time_point{}) {
        event.time = std::chrono::system_clock::now();
    }
    // Take the live subscriptions under the bus lock, push outside it: a publisher waits at most
    // for one subscription's short internal lock, never for a reader, nor for another publisher.
    std::vector<std::shared_ptr<EventSubscription>> targets;
    {
        std::lock_guard lock(mutex_);
        targets.reserve(subscriptions_.size());
        std::erase_if(subscriptions_, [&](const std::weak_ptr<EventSubscription>& weak) {
            auto subscription = weak.lock();
            if (!subscription) return true;
            targets.push_back(std::move(subscription));
            return false;
        });
    }
    for (const auto& subscription : targets)
        subscription->push(event);
}

void EventBus::publish(std::string source, EventKind kind, std::string endpoint, std::string text) {
    Event event;
    event.time = std::chrono::system_clock::now();
    event.source = std::move(source);
    event.kind = kind;
    event.endpoint = std::move(endpoint);
    event.text = std::move(text);
    publish(std::move(event));
}

// ---------------------------------------------------------------------------------------------
// JSON form (a runner's metrics stream)

namespace {
std::int64_t to_unix_ms(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
std::chrono::system_clock::time_point from_unix_ms(std::int64_t ms) {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}
}  // namespace

nlohmann::json event_to_json(const Event& event) {
    return {{"time_ms", to_unix_ms(event.time)},
            {"source", event.source},
            {"kind", to_string(event.kind)},
            {"endpoint", event.endpoint},
            {"text", event.text}};
}

Event event_from_json(const nlohmann::json& value) {
    try {
        Event e;
        e.time = from_unix_ms(value.at("time_ms").get<std::int64_t>());
        e.source = value.at("source").get<std::string>();
        auto kind = event_kind_from_string(value.at("kind").get<std::string>());
        if (!kind) throw std::invalid_argument("event: unknown kind");
        e.kind = *kind;
        e.endpoint = value.at("endpoint").get<std::string>();
        e.text = value.at("text").get<std::string>();
        return e;
    } catch (const nlohmann::json::exception& ex) {
        throw std::invalid_argument(std::string("event: ") + ex.what());
    }
}

}  // namespace zmqrpc
