#include "zmqrpc/proxy.hpp"

#include "actor.hpp"
#include "sockets.hpp"

#include "zmqrpc/errors.hpp"
#include "zmqrpc/protocol.hpp"

#include <deque>
#include <thread>

namespace zmqrpc {

using detail::Clock;

const char* to_string(ProxyKind kind) noexcept {
    switch (kind) {
        case ProxyKind::Sub2Req:
            return "sub2req";
        case ProxyKind::Sub2Pub:
            return "sub2pub";
        case ProxyKind::Rep2Pub:
            return "rep2pub";
        case ProxyKind::Rep2Req:
            return "rep2req";
        case ProxyKind::BufferedRep2Req:
            return "buffered-rep2req";
    }
    return "?";
}

ProxyKind proxy_kind_from_string(std::string_view text) {
    for (auto kind : {ProxyKind::Sub2Req, ProxyKind::Sub2Pub, ProxyKind::Rep2Pub,
                      ProxyKind::Rep2Req, ProxyKind::BufferedRep2Req}) {
        if (text == to_string(kind)) return kind;
    }
    throw ConfigError("unknown proxy kind '" + std::string(text) +
                      "': expected sub2req, sub2pub, rep2pub, rep2req or buffered-rep2req");
}

namespace {
bool input_is_rep(ProxyKind k) {
    return k == ProxyKind::Rep2Pub || k == ProxyKind::Rep2Req || k == ProxyKind::BufferedRep2Req;
}
bool output_is_pub(ProxyKind k) {
    return k == ProxyKind::Sub2Pub || k == ProxyKind::Rep2Pub;
}

ProxyOptions checked(ProxyKind kind, ProxyOptions o) {
    std::string who =
        (o.name.empty() ? std::string("proxy") : o.name) + " (" + to_string(kind) + ")";
    if (input_is_rep(kind)) {
        if (o.input.rep_bind.empty()) throw ConfigError(who + ": needs input.rep_bind");
        if (!o.input.sub_connect.empty()) throw ConfigError(who + ": takes no input.sub_connect");
    } else {
        if (o.input.sub_connect.empty()) throw ConfigError(who + ": needs input.sub_connect");
        if (!o.input.rep_bind.empty()) throw ConfigError(who + ": takes no input.rep_bind");
    }
    if (output_is_pub(kind)) {
        if (o.output.pub_bind.empty()) throw ConfigError(who + ": needs output.pub_bind");
        if (!o.output.req_connect.empty()) throw ConfigError(who + ": takes no output.req_connect");
    } else {
        if (o.output.req_connect.empty()) throw ConfigError(who + ": needs output.req_connect");
        if (!o.output.pub_bind.empty()) throw ConfigError(who + ": takes no output.pub_bind");
    }
    if (o.queue_capacity == 0) throw ConfigError(who + ": queue_capacity must be at least 1");
    if (o.retry_interval.count() < 0)
        throw ConfigError(who + ": retry_interval must not be negative");
    if (o.name.empty()) o.name = std::string("proxy-") + to_string(kind);
    return o;
}
}  // namespace

struct Proxy::Impl final : detail::Actor {
    struct Item {
        std::string message;
        detail::Envelope envelope;  // the waiting client (Rep2Pub, Rep2Req); empty otherwise
    };

    Impl(ProxyKind k, ProxyOptions o)
        : detail::Actor(o.context, o.events, stats_),
          stats_(o.name.empty() ? std::string("proxy-") + to_string(k) : o.name,
                 std::string("proxy:") + to_string(k)),
          kind(k),
          options(checked(k, std::move(o))),
          rep(*this, options.input, options,
              [this](detail::Envelope&& e, std::string_view m) { on_rep(std::move(e), m); }),
          sub(
              *this, options.input, options, [this](zmq::message_t&& m) { on_sub(std::move(m)); },
              // Sub2Pub passes heartbeats on, as pyzmqrpc does, so that subscribers behind
              // it can supervise the publishers in front of it.
              [this](const std::string&, std::string_view, bool heartbeat) {
                  if (heartbeat && kind == ProxyKind::Sub2Pub) pub.send_heartbeat();
              }),
          pub(*context(), stats_, detail::Reporter{&stats_, events()}, options.output, options),
          req(*context(), stats_, detail::Reporter{&stats_, events()}, options.output, options) {
        stats_.has_queue = true;
        stats_.queue.capacity.set(options.queue_capacity);
        rep.set_replies_count_as_output(false);
        // Rep2Pub publishes a heartbeat that reached it over REQ, as pyzmqrpc's does, so that
        // a client can keep the subscribers behind it supervised through it. (Rep2Req answers
        // it and does not pass it on: a pyzmqrpc REP server would never answer it.)
        if (kind == ProxyKind::Rep2Pub) rep.set_on_heartbeat([this] { pub.send_heartbeat(); });
        req.set_replies_count_as_input(false);
    }
    ~Impl() override { stop(); }

    // ---- life cycle (actor thread)
    void setup() override {
        queue.clear();
        full = false;
        drops_while_full = 0;
        retry_at = Clock::time_point::min();
        stats_.queue.set_fill(0);
        pub.open();
        if (pub.is_open()) {
            auto* s = pub.socket();
            watch(s->socket(), ZMQ_POLLIN, [this](short) { pub.drain_subscriptions(); });
            watch_quiet(s->monitor(), [s](short) { s->drain_monitor(); });
            next_heartbeat = Clock::now() + pub.heartbeat_interval();
        }
        req.open();
        watched_req = nullptr;
        watched_req_monitor = nullptr;
        watched_generation = 0;
        rewatch_req();
        rep.open();
        sub.open();
    }

    void teardown() override {
        sub.close();
        std::size_t lost = queue.size();
        // Clients still waiting get an answer rather than a silent timeout.
        std::size_t answered = 0;
        for (auto& item : queue) {
            if (!item.envelope.empty()) {
                ++answered;
                rep.reply(item.envelope,
                          encode_response(status::kProxyFailed,
                                          "Proxy stopped before the message was delivered"));
            }
        }
        stats_.queue.dropped.add(lost);
        queue.clear();
        stats_.queue.set_fill(0);
        if (lost > 0) {
            stopped_text_ =
                "stopped with " + std::to_string(lost) + " queued message(s) not delivered";
        }
        if (answered > 0) {
            // Clients connect with ZMQ_IMMEDIATE, and libzmq drops what a client has not read
            // yet when such a connection closes. Give them a moment to read the 482 before our
            // side goes away (bounded, well inside the stop budget).
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        rep.close();
        if (pub.is_open()) {
            unwatch(pub.socket()->socket());
            unwatch(pub.socket()->monitor());
        }
        pub.close();
        if (watched_req) unwatch_handle(watched_req);
        if (watched_req_monitor) unwatch_handle(watched_req_monitor);
        watched_req = watched_req_monitor = nullptr;
        req.close();
    }

    // ---- input
    // Takes the item only when there is room; otherwise leaves it with the caller.
    bool enqueue(Item& item) {
        auto& q = stats_.queue;
        q.received.add();
        if (queue.size() >= options.queue_capacity) {
            q.dropped.add();
            ++drops_while_full;
            if (!full) {
                full = true;
                emit(EventKind::QueueFull, {},
                     "queue full at " + std::to_string(options.queue_capacity) +
                         " messages: new input is dropped");
            }
            return false;
        }
        queue.push_back(std::move(item));
        q.set_fill(queue.size());
        return true;
    }

    void on_sub(zmq::message_t&& message) {
        // Sub2Pub: a PUB send never blocks, so the queue is empty between messages; the frame
        // goes straight out, the one libzmq received (as zmq_proxy forwards), not a copy.
        if (kind == ProxyKind::Sub2Pub && queue.empty()) {
            stats_.queue.received.add();
            pub.publish(std::move(message));
            stats_.queue.delivered.add();
            return;
        }
        // Anything that waits in the queue is copied out of libzmq's receive buffer.
        Item item{message.to_string(), {}};
        enqueue(item);
        pump();
    }

    void on_rep(detail::Envelope&& envelope, std::string_view message) {
        if (kind == ProxyKind::BufferedRep2Req) {
            Item item{std::string(message), {}};
            if (enqueue(item)) {
                rep.reply(envelope, encode_response(status::kOk, "OK"));
            } else {
                rep.reply(envelope, queue_full_reply());
            }
        } else {
            // Rep2Pub and Rep2Req answer once the output has the message.
            Item item{std::string(message), std::move(envelope)};
            if (!enqueue(item)) rep.reply(item.envelope, queue_full_reply());
        }
        pump();
    }

    std::string queue_full_reply() const {
        return encode_response(status::kProxyFailed, "Proxy queue full (" +
                                                         std::to_string(options.queue_capacity) +
                                                         " messages): message dropped");
    }

    // ---- output
    void pop_front() {
        queue.pop_front();
        stats_.queue.set_fill(queue.size());
        if (full && queue.size() <= options.queue_capacity / 2) {
            full = false;
            emit(EventKind::QueueDrained, {},
                 "queue has room again; " + std::to_string(drops_while_full) +
                     " message(s) were dropped while it was full");
            drops_while_full = 0;
        }
    }

    void pump() {
        if (output_is_pub(kind)) {
            while (!queue.empty()) {
                Item& item = queue.front();
                pub.publish(item.message);
                if (!item.envelope.empty())
                    rep.reply(item.envelope, encode_response(status::kOk, "OK"));
                stats_.queue.delivered.add();
                pop_front();
            }
            return;
        }
        if (req.idle() && !queue.empty() && Clock::now() >= retry_at) {
            req.begin(queue.front().message, Clock::now() + req.default_timeout());
            rewatch_req();
        }
    }

    void rewatch_req() {
        auto* s = req.socket();
        if (!s) return;
        if (watched_generation != req.generation()) {
            if (watched_req) unwatch_handle(watched_req);
            if (watched_req_monitor) unwatch_handle(watched_req_monitor);
            watched_req = watched_req_monitor = nullptr;
            watched_generation = req.generation();
        }
        short wanted = req.wanted_events();
        // Idle (wanted == 0) stays in the poll set with no events: changing events is cheap,
        // adding and removing sockets rebuilds the set.
        watch(s->socket(), wanted, [this](short revents) { on_req_ready(revents); });
        watched_req = s->socket().handle();
        if (!watched_req_monitor) {
            watch_quiet(s->monitor(), [this](short) {
                req.socket()->drain_monitor();
                check_req(Clock::now());
            });
            watched_req_monitor = s->monitor().handle();
        }
    }

    void on_req_ready(short revents) {
        auto reply = req.on_ready(revents);
        if (reply) on_delivered(std::move(*reply));
        rewatch_req();
        pump();
    }

    void on_delivered(zmq::message_t&& reply) {
        Item& item = queue.front();
        if (kind == ProxyKind::Rep2Req) {
            rep.reply(item.envelope, std::move(reply));  // passed back unchanged, not copied
        } else {
            try {
                auto response = decode_response(reply.to_string_view());
                if (response.status_code != status::kOk) {
                    stats_.errors.add();
                    emit(EventKind::RequestFailed, {},
                         "downstream answered " + std::to_string(response.status_code) + ": " +
                             response.status_message);
                }
            } catch (const RpcError& e) {
                stats_.errors.add();
                emit(EventKind::RequestFailed, {}, std::string("downstream reply: ") + e.what());
            }
        }
        stats_.queue.delivered.add();
        pop_front();
    }

    void check_req(Clock::time_point now) {
        auto error = req.check(now);
        if (!error) return;
        if (kind == ProxyKind::Rep2Req) {
            Item& item = queue.front();
            rep.reply(item.envelope,
                      encode_response(
                          status::kProxyFailed,
                          std::string("Proxy could not deliver the message: ") + error->what()));
            stats_.queue.dropped.add();
            pop_front();
        } else {
            // Keep the message at the head and try again: nothing accepted is lost while the
            // downstream is away; input keeps queueing meanwhile. Refused credentials will not
            // fix themselves quickly: retry those less often.
            auto pause = options.retry_interval;
            if (error->kind() == RpcError::Kind::CredentialsRefused) {
                pause = std::max<std::chrono::milliseconds>(pause, std::chrono::seconds(2));
            }
            retry_at = now + pause;
        }
        rewatch_req();
        pump();
    }

    // ---- timers
    Clock::time_point next_deadline() override {
        auto next = sub.next_deadline();
        if (!req.idle()) next = std::min(next, req.deadline());
        if (req.configured() && req.idle() && !queue.empty()) next = std::min(next, retry_at);
        if (pub.is_open() && pub.heartbeat_interval().count() > 0)
            next = std::min(next, next_heartbeat);
        return next;
    }

    void on_deadline(Clock::time_point now) override {
        sub.on_deadline(now);
        if (!req.idle()) check_req(now);
        if (req.configured()) pump();
        if (pub.is_open() && pub.heartbeat_interval().count() > 0 && now >= next_heartbeat) {
            pub.send_heartbeat();
            next_heartbeat = now + pub.heartbeat_interval();
        }
    }

    detail::ComponentStats stats_;
    ProxyKind kind;
    ProxyOptions options;
    detail::RepInput rep;
    detail::SubInput sub;
    detail::PubOutput pub;
    detail::ReqChannel req;

    std::deque<Item> queue;
    bool full = false;
    std::uint64_t drops_while_full = 0;
    Clock::time_point retry_at = Clock::time_point::min();
    Clock::time_point next_heartbeat{};
    void* watched_req = nullptr;
    void* watched_req_monitor = nullptr;
    std::uint64_t watched_generation = 0;
};

Proxy::Proxy(ProxyKind kind, ProxyOptions options)
    : impl_(std::make_unique<Impl>(kind, std::move(options))) {}
Proxy::~Proxy() = default;
void Proxy::start() {
    impl_->start();
}
void Proxy::stop() {
    impl_->stop();
}
void Proxy::join() {
    impl_->join();
}
bool Proxy::running() const {
    return impl_->running();
}
ProxyKind Proxy::kind() const noexcept {
    return impl_->kind;
}
std::string Proxy::input_endpoint() const {
    return impl_->rep.endpoint();
}
std::string Proxy::output_endpoint() const {
    return impl_->pub.endpoint();
}
MetricsSnapshot Proxy::metrics() const {
    return impl_->stats_.snapshot();
}

}  // namespace zmqrpc
