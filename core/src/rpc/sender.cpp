#include "zmqrpc/sender.hpp"

#include "sockets.hpp"

#include "zmqrpc/context.hpp"
#include "zmqrpc/errors.hpp"
#include "zmqrpc/protocol.hpp"

namespace zmqrpc {

using detail::Clock;

namespace {
long ms_until(Clock::time_point deadline) {
    auto now = Clock::now();
    if (deadline <= now) return 0;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now).count();
    return static_cast<long>((us + 999) / 1000);
}
}  // namespace

struct Sender::Impl {
    explicit Impl(SenderOptions opts)
        : options(std::move(opts)),
          context(options.context ? options.context : Context::shared_default()),
          stats(options.name.empty() ? "sender" : options.name, "sender"),
          reporter{&stats, options.events},
          pub(*context, stats, reporter, options, options),
          req(*context, stats, reporter, options, options) {
        if (!pub.configured() && !req.configured()) {
            throw ConfigError(stats.name +
                              ": nothing to send on (give pub_bind and/or req_connect)");
        }
        pub.open();
        req.open();
        stats.running = true;
    }

    // Reading the XPUB's subscriptions and the monitor costs two syscalls per zmq_recv that
    // finds nothing (mailbox poll + getpid): on the message path, do it at most every 5 ms.
    void drain_pub(bool force = true) {
        if (!pub.is_open()) return;
        if (!force) {
            auto now = Clock::now();
            if (now < next_pub_drain) return;
            next_pub_drain = now + std::chrono::milliseconds(5);
        }
        pub.socket()->drain_monitor();
        pub.drain_subscriptions();
    }

    std::string request(std::string_view message, std::chrono::milliseconds timeout) {
        if (!req.configured()) throw ConfigError(stats.name + ": no REQ endpoint configured");
        if (timeout.count() <= 0) throw ConfigError(stats.name + ": timeout must be positive");
        drain_pub(false);
        req.begin(message, Clock::now() + timeout);
        for (;;) {
            // Only the REQ is waited on (each extra socket costs every wake-up); its monitor is
            // read at most every 5 ms.
            auto* socket = req.socket();
            socket->drain_monitor_if_due();
            if (auto error = req.check(Clock::now(), false)) throw *error;
            if (req.wanted_events() == ZMQ_POLLIN) {
                // Sent: only the deadline can end the wait now, so block in the receive as a
                // plain REQ client does. zmq_poll would add a poll and a ZMQ_EVENTS check (two
                // more system calls) before it blocks, on every call (tests/bench row 1).
                if (auto reply = req.receive(std::chrono::milliseconds(ms_until(req.deadline()))))
                    return std::move(*reply);
                continue;
            }
            // Not sent yet (no peer ready): the wait is sliced so that a refusal is noticed
            // within about 10 ms.
            socket = req.socket();
            zmq::pollitem_t item{socket->socket().handle(), 0, req.wanted_events(), 0};
            long wait = ms_until(req.deadline());
            if (req.wanted_events() == ZMQ_POLLOUT) wait = std::min(wait, 10L);
            zmq::poll(&item, 1, std::chrono::milliseconds(wait));
            if (item.revents) {
                if (auto reply = req.on_ready(item.revents)) return reply->to_string();
            }
        }
    }

    SenderOptions options;
    std::shared_ptr<Context> context;
    detail::ComponentStats stats;
    detail::Reporter reporter;
    detail::PubOutput pub;
    detail::ReqChannel req;
    Clock::time_point next_pub_drain{};
};

Sender::Sender(SenderOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Sender::~Sender() = default;
Sender::Sender(Sender&&) noexcept = default;
Sender& Sender::operator=(Sender&&) noexcept = default;

bool Sender::has_pub() const noexcept {
    return impl_->pub.configured();
}
bool Sender::has_req() const noexcept {
    return impl_->req.configured();
}

void Sender::publish(std::string_view message) {
    if (!impl_->pub.configured())
        throw ConfigError(impl_->stats.name + ": no PUB endpoint configured");
    impl_->drain_pub(false);
    impl_->pub.publish(message);
}

std::string Sender::request(std::string_view message, std::chrono::milliseconds timeout) {
    return impl_->request(message, timeout);
}

std::string Sender::request(std::string_view message) {
    return impl_->request(message, impl_->req.default_timeout());
}

void Sender::send_heartbeat(bool over_req) {
    if (impl_->pub.configured()) {
        impl_->drain_pub();
        impl_->pub.send_heartbeat();
    }
    if (over_req && impl_->req.configured()) {
        try {
            (void)impl_->request(kHeartbeat, impl_->req.default_timeout());
        } catch (const RpcError&) {
            // A pyzmqrpc server never answers a heartbeat; the REQ has been recreated.
        }
    }
}

bool Sender::wait_for_subscribers(std::size_t count, std::chrono::milliseconds timeout) {
    if (!impl_->pub.configured())
        throw ConfigError(impl_->stats.name + ": no PUB endpoint configured");
    auto deadline = Clock::now() + timeout;
    auto* socket = impl_->pub.socket();
    for (;;) {
        impl_->drain_pub();
        if (impl_->pub.subscribers() >= count) return true;
        if (Clock::now() >= deadline) return false;
        zmq::pollitem_t items[] = {
            {socket->socket().handle(), 0, ZMQ_POLLIN, 0},
            {socket->monitor().handle(), 0, ZMQ_POLLIN, 0},
        };
        zmq::poll(items, 2, std::chrono::milliseconds(ms_until(deadline)));
    }
}

void Sender::poll_events() {
    impl_->drain_pub();
    if (impl_->req.configured()) impl_->req.socket()->drain_monitor();
}

std::string Sender::pub_endpoint() const {
    return impl_->pub.endpoint();
}

MetricsSnapshot Sender::metrics() const {
    return impl_->stats.snapshot();
}

}  // namespace zmqrpc
