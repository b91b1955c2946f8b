#include "zmqrpc/receiver.hpp"

#include "actor.hpp"
#include "sockets.hpp"

#include "zmqrpc/errors.hpp"
#include "zmqrpc/protocol.hpp"

namespace zmqrpc {

using detail::Clock;

struct Receiver::Impl final : detail::Actor {
    Impl(ReceiverOptions opts, MessageHandler h)
        : detail::Actor(opts.context, opts.events, stats_),
          stats_(opts.name.empty() ? "receiver" : opts.name, "receiver"),
          options(std::move(opts)),
          handler(std::move(h)),
          rep(*this, options, options,
              [this](detail::Envelope&& e, std::string_view m) { on_rep(e, m); }),
          sub(
              *this, options, options, [this](zmq::message_t&& m) { on_sub(m.to_string_view()); },
              options.tap) {
        if (!handler) throw ConfigError(stats_.name + ": no message handler");
        if (options.rep_bind.empty() && options.sub_connect.empty()) {
            throw ConfigError(stats_.name +
                              ": nothing to listen on (give rep_bind and/or sub_connect)");
        }
    }
    ~Impl() override { stop(); }

    void setup() override {
        rep.open();
        sub.open();
    }
    void teardown() override {
        rep.close();
        sub.close();
    }
    Clock::time_point next_deadline() override { return sub.next_deadline(); }
    void on_deadline(Clock::time_point now) override { sub.on_deadline(now); }

    void on_rep(detail::Envelope& envelope, std::string_view message) {
        std::string reply;
        try {
            reply = handler(message, Origin::Rep);
        } catch (const std::exception& e) {
            stats_.errors.add();
            emit(EventKind::Error, rep.endpoint(), std::string("handler raised: ") + e.what());
            reply =
                encode_response(status::kFunctionRaised,
                                std::string("Exception raised when handling message. Exception: ") +
                                    e.what() + " ");
        }
        rep.reply(envelope, reply);
    }

    void on_sub(std::string_view message) {
        try {
            (void)handler(message, Origin::Sub);
        } catch (const std::exception& e) {
            stats_.errors.add();
            emit(EventKind::Error, {}, std::string("handler raised: ") + e.what());
        }
    }

    detail::ComponentStats stats_;
    ReceiverOptions options;
    MessageHandler handler;
    detail::RepInput rep;
    detail::SubInput sub;
};

Receiver::Receiver(ReceiverOptions options, MessageHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}
Receiver::~Receiver() = default;
void Receiver::start() {
    impl_->start();
}
void Receiver::stop() {
    impl_->stop();
}
void Receiver::join() {
    impl_->join();
}
bool Receiver::running() const {
    return impl_->running();
}
std::string Receiver::rep_endpoint() const {
    return impl_->rep.endpoint();
}
MetricsSnapshot Receiver::metrics() const {
    return impl_->stats_.snapshot();
}

}  // namespace zmqrpc
