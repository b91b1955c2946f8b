#include "zmqrpc/proxy.hpp"

#include "actor.hpp"
#include "message_queue.hpp"
#include "pipeline.hpp"
#include "sockets.hpp"
#include "sqlite_queue.hpp"

#include "zmqrpc/errors.hpp"
#include "zmqrpc/protocol.hpp"

#include <algorithm>
#include <map>
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

const char* to_string(StoreSync sync) noexcept {
    switch (sync) {
        case StoreSync::Always:
            return "always";
        case StoreSync::Interval:
            return "interval";
        case StoreSync::Off:
            return "off";
    }
    return "?";
}

StoreSync store_sync_from_string(std::string_view text) {
    for (auto sync : {StoreSync::Always, StoreSync::Interval, StoreSync::Off}) {
        if (text == to_string(sync)) return sync;
    }
    throw ConfigError("unknown fsync policy '" + std::string(text) +
                      "': expected always, interval or off");
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
    if (o.window == 0) throw ConfigError(who + ": window must be at least 1");
    if (!o.store.empty() && kind != ProxyKind::Sub2Req && kind != ProxyKind::BufferedRep2Req) {
        throw ConfigError(who +
                          ": a store is for sub2req and buffered-rep2req only (the other kinds "
                          "hold nothing that outlives a client's request)");
    }
    if (o.store_sync_interval.count() <= 0)
        throw ConfigError(who + ": store_sync_interval must be positive");
    if (o.retry_interval.count() < 0)
        throw ConfigError(who + ": retry_interval must not be negative");
    if (o.name.empty()) o.name = std::string("proxy-") + to_string(kind);
    return o;
}
}  // namespace

// The proxy is a composition of three stages on one thread:
//
//   input   RepInput (Rep*) or SubInput (Sub*): what arrives is offered to the queue
//   queue   MessageQueue: MemoryQueue, or SqliteQueue with --store (Sub2Req, BufferedRep2Req)
//   output  PubOutput (*2Pub: a send never blocks, so nothing waits in the queue), or one
//           Pipeline per REQ endpoint (*2Req), round-robin over those that can take a request,
//           each with up to `window` requests in flight
//
// What differs between the kinds is when the input side is answered and what a failed delivery
// means, both decided in one place each (on_input, on_reply, on_failure):
//   Rep2Pub          200 once published
//   Rep2Req          the downstream's reply to the client that asked; 482 when it cannot be
//                    delivered (timeout, no connection): never sent twice
//   BufferedRep2Req  200 once accepted (a durable store: once committed); delivered at least once
//   Sub2Req          nothing to answer; delivered at least once
struct Proxy::Impl final : detail::Actor {
    // A Rep2Req client waiting for the downstream's reply.
    struct Waiting {
        detail::Envelope envelope;
        Clock::time_point arrived{};
        bool in_flight = false;
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
          pub(*context(), stats_, detail::Reporter{&stats_, events()}, options.output, options) {
        stats_.has_queue = true;
        stats_.queue.capacity.set(options.queue_capacity);
        rep.set_replies_count_as_output(false);
        // Rep2Pub publishes a heartbeat that reached it over REQ, as pyzmqrpc's does, so that
        // a client can keep the subscribers behind it supervised through it. (Rep2Req answers
        // it and does not pass it on: a pyzmqrpc REP server would never answer it.)
        if (kind == ProxyKind::Rep2Pub) rep.set_on_heartbeat([this] { pub.send_heartbeat(); });
        if (!output_is_pub(kind)) {
            stats_.queue.window.set(options.window);
            for (const auto& endpoint : options.output.req_connect) {
                pipelines.push_back(std::make_unique<detail::Pipeline>(
                    *context(), stats_, detail::Reporter{&stats_, events()}, endpoint,
                    options.output, options, options.window));
            }
        }
        stats_.queue.durable.store(!options.store.empty());
        if (!options.store.empty()) stats_.queue.store_limit_bytes.set(options.store_max_bytes);
    }
    ~Impl() override { stop(); }

    // ---- life cycle (actor thread)
    void setup() override {
        full = false;
        drops_while_full = 0;
        waiting.clear();
        awaiting_commit.clear();
        rr = 0;
        in_flight_total = 0;
        watched.assign(pipelines.size(), Watched{});
        queue.reset();
        open_queue();
        pub.open();
        if (pub.is_open()) {
            auto* s = pub.socket();
            watch(s->socket(), ZMQ_POLLIN, [this](short) { pub.drain_subscriptions(); });
            watch_quiet(s->monitor(), [s](short) { s->drain_monitor(); });
            next_heartbeat = Clock::now() + pub.heartbeat_interval();
        }
        for (std::size_t i = 0; i < pipelines.size(); ++i) {
            pipelines[i]->open();
            pipelines[i]->pause_until(Clock::time_point::min());
            rewatch(i);
        }
        rep.open();
        sub.open();
    }

    void open_queue() {
        auto& q = stats_.queue;
        if (options.store.empty()) {
            queue = std::make_unique<detail::MemoryQueue>(options.queue_capacity);
        } else {
            detail::StoreOptions so;
            so.path = options.store;
            so.max_messages = options.queue_capacity;
            so.max_bytes = options.store_max_bytes;
            so.sync = options.store_sync;
            so.sync_interval = options.store_sync_interval;
            auto store = std::make_unique<detail::SqliteQueue>(so);  // throws ConfigError
            store_ = store.get();
            if (!store->moved_aside().empty()) {
                stats_.errors.add();
                emit(EventKind::StoreError, {},
                     "store " + options.store + " could not be opened (" +
                         store->moved_aside_reason() + "): moved aside to " + store->moved_aside() +
                         "; starting with an empty store");
            }
            queue = std::move(store);
        }
        // A new proxy starts its counters at zero; what the store still held counts as
        // received (and recovered), so that delivered + dropped + fill == received holds.
        const auto recovered = queue->recovered();
        q.recovered.set(recovered);
        if (recovered > 0) {
            q.received.add(recovered);
            emit(EventKind::Started, {},
                 "recovered " + std::to_string(recovered) + " message(s) from the store " +
                     options.store);
        }
        update_fill();
    }

    void teardown() override {
        sub.close();
        auto& q = stats_.queue;
        // What waits for a commit is committed now: those clients get their 200.
        if (queue && queue->needs_commit()) commit();
        std::size_t lost = 0;
        std::size_t answered = 0;
        if (queue && queue->durable()) {
            // Nothing is lost: the store keeps it for the next start.
            if (queue->size() > 0) {
                stopped_text_ = "stopped with " + std::to_string(queue->size()) +
                                " message(s) kept in the store " + options.store;
            }
        } else if (queue) {
            lost = queue->size();
            for (auto& [seq, w] : waiting) {
                ++answered;
                rep.reply(w.envelope,
                          encode_response(status::kProxyFailed,
                                          "Proxy stopped before the message was delivered"));
            }
            q.dropped.add(lost);
            if (lost > 0) {
                stopped_text_ =
                    "stopped with " + std::to_string(lost) + " queued message(s) not delivered";
            }
        }
        waiting.clear();
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
        for (std::size_t i = 0; i < pipelines.size(); ++i) {
            unwatch_pipeline(i);
            pipelines[i]->close();
        }
        q.in_flight.set(0);
        const bool durable = queue && queue->durable();
        store_ = nullptr;
        queue.reset();  // closes a store
        if (!durable) {
            q.set_fill(0);
            q.fill_bytes.set(0);
        }
    }

    // ---- input
    void update_fill() {
        stats_.queue.set_fill(queue->size());
        stats_.queue.fill_bytes.set(queue->bytes());
    }

    // Offers a message to the queue. False when it is full: the message is dropped and counted
    // (the caller answers a waiting client).
    bool offer(std::string message) {
        auto& q = stats_.queue;
        q.received.add();
        const auto size = message.size();
        if (queue->push(std::move(message)) == detail::PushResult::Full) {
            q.dropped.add();
            ++drops_while_full;
            if (!full) {
                full = true;
                emit(EventKind::QueueFull, {}, full_text(size) + ": new input is dropped");
            }
            return false;
        }
        update_fill();
        return true;
    }

    std::string full_text(std::size_t size) const {
        if (store_ && options.store_max_bytes > 0 &&
            queue->bytes() + size > options.store_max_bytes) {
            return "store full at its limit of " + std::to_string(options.store_max_bytes) +
                   " bytes (" + std::to_string(queue->size()) + " messages)";
        }
        return "queue full at " + std::to_string(options.queue_capacity) + " messages";
    }

    void on_sub(zmq::message_t&& message) {
        if (output_is_pub(kind)) {
            // A PUB send never blocks: the frame goes straight out, the one libzmq received
            // (as zmq_proxy forwards), not a copy.
            stats_.queue.received.add();
            pub.publish(std::move(message));
            stats_.queue.delivered.add();
            return;
        }
        // Anything that waits in the queue is copied out of libzmq's receive buffer.
        offer(message.to_string());
        if (!queue->needs_commit()) dispatch();
    }

    void on_rep(detail::Envelope&& envelope, std::string_view message) {
        if (kind == ProxyKind::Rep2Pub) {
            stats_.queue.received.add();
            pub.publish(message);
            rep.reply(envelope, encode_response(status::kOk, "OK"));
            stats_.queue.delivered.add();
            return;
        }
        if (!offer(std::string(message))) {
            rep.reply(envelope, queue_full_reply(message.size()));
            return;
        }
        const std::uint64_t seq = queue->last_seq();
        if (kind == ProxyKind::Rep2Req) {
            waiting.emplace(seq, Waiting{std::move(envelope), Clock::now(), false});
        } else if (queue->durable()) {
            // Accepted once committed: answered then (commit(), at the end of this wake-up).
            awaiting_commit.push_back(std::move(envelope));
        } else {
            rep.reply(envelope, encode_response(status::kOk, "OK"));
        }
        if (!queue->needs_commit()) dispatch();
    }

    std::string queue_full_reply(std::size_t size) const {
        return encode_response(status::kProxyFailed,
                               "Proxy " + full_text(size) + ": message dropped");
    }

    // ---- the store
    // Once per wake-up (from next_deadline()), not once per message: a burst of input shares
    // one transaction.
    void commit() {
        auto result = queue->commit();
        auto& q = stats_.queue;
        // The counters first: a client that got its answer reads metrics that include it.
        if (result.rejected > 0) q.dropped.add(result.rejected);
        update_fill();
        if (result.rejected > 0) {
            stats_.errors.add();
            emit(EventKind::StoreError, {},
                 "store " + options.store + ": " + std::to_string(result.rejected) +
                     " message(s) not stored, " + result.error +
                     "; refused (nothing accepted before is lost)");
            for (auto& envelope : awaiting_commit) {
                rep.reply(envelope, encode_response(status::kProxyFailed,
                                                    "Proxy store could not take the message (" +
                                                        result.error + "): message dropped"));
            }
        } else {
            for (auto& envelope : awaiting_commit)
                rep.reply(envelope, encode_response(status::kOk, "OK"));
        }
        awaiting_commit.clear();
        dispatch();
    }

    // ---- output
    void check_drained() {
        if (full && queue->size() <= options.queue_capacity / 2 &&
            (!store_ || options.store_max_bytes == 0 ||
             queue->bytes() <= options.store_max_bytes / 2)) {
            full = false;
            emit(EventKind::QueueDrained, {},
                 "queue has room again; " + std::to_string(drops_while_full) +
                     " message(s) were dropped while it was full");
            drops_while_full = 0;
        }
    }

    // Hands leasable messages to the pipelines that can take them, round-robin.
    void dispatch() {
        if (pipelines.empty() || !queue) return;
        const auto now = Clock::now();
        const std::size_t n = pipelines.size();
        std::size_t idle = 0;  // pipelines tried in a row that could not take one
        while (queue->leasable() > 0 && idle < n) {
            auto& p = *pipelines[rr];
            const std::size_t index = rr;
            if (p.connection_lost()) {
                check_pipeline(index, now);  // gives its requests back; dispatches again
                return;
            }
            if (!p.ready(now)) {
                rr = (rr + 1) % n;
                ++idle;
                continue;
            }
            detail::QueueItem* item = queue->lease();
            if (!item) break;
            const std::uint64_t seq = item->seq;
            if (!p.send(seq, item->message, now)) {
                // No connection can take it there now: back to the queue, untouched.
                --item->deliveries;
                queue->nack(seq);
                rewatch(index);
                rr = (rr + 1) % n;
                ++idle;
                continue;
            }
            if (item->deliveries > 1) stats_.queue.redelivered.add();
            if (kind == ProxyKind::Rep2Req) {
                auto w = waiting.find(seq);
                if (w != waiting.end()) w->second.in_flight = true;
            }
            ++in_flight_total;
            rewatch(index);
            idle = 0;
            // One at a time per endpoint in turn, so that every endpoint that is up gets a share.
            rr = (rr + 1) % n;
        }
        stats_.queue.in_flight.set(in_flight_total);
    }

    struct Watched {
        void* socket = nullptr;
        void* monitor = nullptr;
        std::uint64_t generation = 0;
        short events = -1;
    };

    void unwatch_pipeline(std::size_t i) {
        auto& w = watched[i];
        if (w.socket) unwatch_handle(w.socket);
        if (w.monitor) unwatch_handle(w.monitor);
        w = Watched{};
    }

    void rewatch(std::size_t i) {
        auto& p = *pipelines[i];
        auto* s = p.socket();
        if (!s) return;
        if (watched[i].generation != p.generation()) {
            unwatch_pipeline(i);
            watched[i].generation = p.generation();
        }
        const short wanted = p.wanted_events();
        if (watched[i].socket && watched[i].events == wanted) return;
        // Idle (wanted == 0) stays in the poll set with no events: changing events is cheap,
        // adding and removing sockets rebuilds the set.
        watch(s->socket(), wanted, [this, i](short revents) { on_pipeline_ready(i, revents); });
        watched[i].socket = s->socket().handle();
        watched[i].events = wanted;
        if (!watched[i].monitor) {
            watch_quiet(s->monitor(), [this, i](short) {
                pipelines[i]->socket()->drain_monitor();
                check_pipeline(i, Clock::now());
            });
            watched[i].monitor = s->monitor().handle();
        }
    }

    void on_pipeline_ready(std::size_t i, short revents) {
        auto& p = *pipelines[i];
        if (revents & ZMQ_POLLOUT) p.on_writable();
        if (revents & ZMQ_POLLIN) {
            while (auto reply = p.read_reply())
                on_reply(reply->seq, std::move(reply->body));
            stats_.queue.stale_replies.set(stale_replies_total());
        }
        rewatch(i);
        dispatch();
    }

    std::uint64_t stale_replies_total() const {
        std::uint64_t n = 0;
        for (const auto& p : pipelines)
            n += p->stale_replies();
        return n;
    }

    void on_reply(std::uint64_t seq, zmq::message_t&& reply) {
        --in_flight_total;
        if (kind == ProxyKind::Rep2Req) {
            auto w = waiting.find(seq);
            if (w != waiting.end()) {
                rep.reply(w->second.envelope, std::move(reply));  // passed back unchanged
                waiting.erase(w);
            }
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
        queue->ack(seq);
        stats_.queue.delivered.add();
        update_fill();
        check_drained();
    }

    bool has_waiting_messages() const { return queue && queue->leasable() > 0; }

    void check_pipeline(std::size_t i, Clock::time_point now) {
        auto& p = *pipelines[i];
        auto failure = p.check(now, has_waiting_messages());
        if (failure) on_failure(i, std::move(*failure), now);
        rewatch(i);
        dispatch();
    }

    void on_failure(std::size_t i, detail::Pipeline::Failure&& failure, Clock::time_point now) {
        auto& p = *pipelines[i];
        if (failure.error.kind() == RpcError::Kind::CredentialsRefused) {
            // The reason a Rep2Req client gets when its request finds no endpoint to take it.
            last_refusal = failure.error.what();
            last_refusal_at = now;
        }
        in_flight_total -= failure.given_back.size();
        if (kind == ProxyKind::Rep2Req) {
            // A client decides itself whether to ask again: never sent twice by us.
            for (const auto& f : failure.given_back) {
                answer_failed(f.seq, failure.error.what());
                queue->ack(f.seq);
                stats_.queue.dropped.add();
            }
        } else {
            // At least once: sent again, in order, before anything newer. Input keeps queueing
            // meanwhile.
            for (auto it = failure.given_back.rbegin(); it != failure.given_back.rend(); ++it)
                queue->nack(it->seq);
            if (failure.error.kind() != RpcError::Kind::CredentialsRefused &&
                p.paused_until() < now + options.retry_interval && failure.recreated) {
                p.pause_until(now + options.retry_interval);
            }
        }
        stats_.queue.in_flight.set(in_flight_total);
        update_fill();
        check_drained();
    }

    void answer_failed(std::uint64_t seq, const std::string& why) {
        auto w = waiting.find(seq);
        if (w == waiting.end()) return;
        rep.reply(
            w->second.envelope,
            encode_response(status::kProxyFailed, "Proxy could not deliver the message: " + why));
        waiting.erase(w);
    }

    // Rep2Req: the oldest client whose request no endpoint could take within req_timeout.
    Clock::time_point unsent_deadline() const {
        for (const auto& [seq, w] : waiting) {
            if (!w.in_flight) return w.arrived + options.output.req_timeout;
        }
        return Clock::time_point::max();
    }

    void expire_unsent(Clock::time_point now) {
        while (queue->leasable() > 0) {
            auto it = std::find_if(waiting.begin(), waiting.end(),
                                   [](const auto& e) { return !e.second.in_flight; });
            if (it == waiting.end() || now < it->second.arrived + options.output.req_timeout)
                return;
            detail::QueueItem* item = queue->lease();  // the oldest unsent: this client's
            if (!item) return;
            const auto seq = item->seq;
            const auto waited =
                std::chrono::duration_cast<std::chrono::milliseconds>(now - it->second.arrived);
            const bool refused =
                !last_refusal.empty() && now - last_refusal_at <= options.output.req_timeout;
            answer_failed(seq, refused ? last_refusal
                                       : "unreachable: no connection to " + req_endpoints() +
                                             " within " + detail::ms_text(waited));
            queue->ack(seq);
            stats_.queue.dropped.add();
            update_fill();
        }
    }

    std::string req_endpoints() const {
        std::string joined;
        for (const auto& ep : options.output.req_connect)
            joined += (joined.empty() ? "" : ",") + ep;
        return joined;
    }

    // ---- timers
    Clock::time_point next_deadline() override {
        auto next = sub.next_deadline();
        if (queue && queue->needs_commit()) return Clock::time_point::min();
        if (store_) next = std::min(next, store_->next_sync());
        const bool waiting_messages = has_waiting_messages();
        for (const auto& p : pipelines) {
            next = std::min(next, p->next_deadline());
            if (waiting_messages) {
                next = std::min(next, p->blocked_deadline());
                // A pause stays until on_deadline() ends it: a deadline that has passed must
                // still be returned, or nothing would wake the dispatcher.
                if (p->paused_until() != Clock::time_point::min())
                    next = std::min(next, p->paused_until());
            }
        }
        if (kind == ProxyKind::Rep2Req && waiting_messages)
            next = std::min(next, unsent_deadline());
        if (pub.is_open() && pub.heartbeat_interval().count() > 0)
            next = std::min(next, next_heartbeat);
        return next;
    }

    void on_deadline(Clock::time_point now) override {
        sub.on_deadline(now);
        if (queue && queue->needs_commit()) commit();
        if (store_) store_->sync_if_due(now);
        // Refusals and lost connections come with the monitor's events; here, the clocks.
        const bool waiting_messages = has_waiting_messages();
        for (std::size_t i = 0; i < pipelines.size(); ++i) {
            const auto& p = *pipelines[i];
            if (p.next_deadline() <= now || (waiting_messages && p.blocked_deadline() <= now))
                check_pipeline(i, now);
        }
        if (kind == ProxyKind::Rep2Req && queue) expire_unsent(now);
        for (auto& p : pipelines) {
            if (p->paused_until() != Clock::time_point::min() && p->paused_until() <= now)
                p->pause_until(Clock::time_point::min());
        }
        dispatch();
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
    std::vector<std::unique_ptr<detail::Pipeline>> pipelines;
    std::vector<Watched> watched;
    std::size_t rr = 0;
    std::size_t in_flight_total = 0;

    std::unique_ptr<detail::MessageQueue> queue;
    detail::SqliteQueue* store_ = nullptr;          // queue, when it is a store
    std::map<std::uint64_t, Waiting> waiting;       // Rep2Req, by sequence number
    std::vector<detail::Envelope> awaiting_commit;  // BufferedRep2Req with a store
    bool full = false;
    std::uint64_t drops_while_full = 0;
    Clock::time_point next_heartbeat{};
    std::string last_refusal;  // the last "credentials refused" of any pipeline
    Clock::time_point last_refusal_at{};
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
