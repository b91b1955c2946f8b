#include "pipeline.hpp"

#include "zmqrpc/endpoint.hpp"

#include <algorithm>
#include <cstring>

namespace zmqrpc::detail {

namespace {
constexpr std::size_t kIdSize = sizeof(std::uint64_t);
constexpr auto kRefusedPause = std::chrono::seconds(2);
}  // namespace

Pipeline::Pipeline(Context& context, ComponentStats& component, Reporter reporter,
                   std::string endpoint, const OutputOptions& output, const CommonOptions& common,
                   std::size_t window)
    : context_(context),
      component_(component),
      reporter_(std::move(reporter)),
      endpoint_(std::move(endpoint)),
      security_(output.security),
      max_message_size_(common.max_message_size),
      timeout_(output.req_timeout),
      window_(window) {
    (void)parse_endpoint(endpoint_, false);
    if (timeout_.count() <= 0) throw ConfigError(component.name + ": req_timeout must be positive");
    if (window_ == 0) throw ConfigError(component.name + ": window must be at least 1");
    stats_ = &component.add_socket("req", endpoint_);
}

void Pipeline::open() {
    socket_ = std::make_unique<MonitoredSocket>(context_, zmq::socket_type::dealer, *stats_,
                                                reporter_, max_message_size_);
    auto& s = socket_->socket();
    // Queue only to a connection that completed the handshake: a request is never parked on
    // the pipe of a dead endpoint (send() reports "blocked" instead, and the proxy hands the
    // message to another endpoint or waits).
    s.set(zmq::sockopt::immediate, 1);
    // libzmq's default, set because connection_lost() relies on it: a lost connection is back
    // no sooner than this.
    s.set(zmq::sockopt::reconnect_ivl, 100);
    // The window, not libzmq's default of 1000, bounds what is in flight; the high-water marks
    // must never be what refuses a request the window allows.
    const int hwm = static_cast<int>(std::min<std::size_t>(window_ + 64, 1 << 24));
    s.set(zmq::sockopt::sndhwm, hwm);
    s.set(zmq::sockopt::rcvhwm, hwm);
    socket_->present_security(security_);
    socket_->connect(endpoint_);
    ++generation_;
    in_flight_.clear();
    blocked_ = false;
    disconnects_seen_ = stats_->disconnects.get();
    refused_seen_ = stats_->credentials_refused.get();
    handshake_failures_seen_ = stats_->handshake_failures.get();
}

void Pipeline::close() {
    if (socket_) socket_->drain_monitor();
    socket_.reset();
    in_flight_.clear();
    blocked_ = false;
}

void Pipeline::recreate(const std::string& why) {
    socket_.reset();
    open();
    stats_->recreates.add();
    reporter_.emit(EventKind::SocketRecreated, endpoint_, why);
}

short Pipeline::wanted_events() const noexcept {
    short events = 0;
    if (!in_flight_.empty()) events |= ZMQ_POLLIN;
    if (blocked_) events |= ZMQ_POLLOUT;
    return events;
}

bool Pipeline::send(std::uint64_t seq, std::string_view message, Clock::time_point now) {
    auto& s = socket_->socket();
    const std::uint64_t id = next_id_;
    zmq::message_t id_frame(&id, kIdSize);
    // With ZMQ_IMMEDIATE and no connection, or at the high-water mark, the first frame is
    // refused and nothing is queued; once it is taken, libzmq takes the rest of the message.
    if (!s.send(id_frame, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        if (!blocked_) {
            blocked_ = true;
            blocked_since_ = now;
        }
        return false;
    }
    (void)s.send(zmq::message_t(), zmq::send_flags::sndmore);
    (void)s.send(zmq::buffer(message), zmq::send_flags::none);
    ++next_id_;
    in_flight_.push_back({id, seq, now});
    stats_->messages_out.add();
    stats_->bytes_out.add(message.size());
    component_.messages_out.add();
    component_.bytes_out.add(message.size());
    return true;
}

std::optional<Pipeline::Reply> Pipeline::read_reply() {
    while (socket_ && recv_frames(socket_->socket(), frames_)) {
        std::size_t size = 0;
        for (const auto& f : frames_)
            size += f.size();
        stats_->messages_in.add();
        stats_->bytes_in.add(size);
        stats_->heard();
        // [id, "", reply]: what a REP returns to what send() sent.
        if (frames_.size() != 3 || frames_[0].size() != kIdSize || frames_[1].size() != 0) {
            stats_->errors.add();
            component_.errors.add();
            reporter_.emit(EventKind::BadMessage, endpoint_,
                           "reply of " + std::to_string(frames_.size()) +
                               " frame(s) without the request's envelope: discarded");
            continue;
        }
        std::uint64_t id = 0;
        std::memcpy(&id, frames_[0].data(), kIdSize);
        // A REP answers in order: the reply is almost always to the oldest request.
        auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                               [id](const InFlight& f) { return f.id == id; });
        if (it == in_flight_.end()) {
            // A reply to a request given up already (timed out and sent again): the copy that
            // is in flight now gets its own.
            ++stale_replies_;
            continue;
        }
        Reply reply{it->seq, std::move(frames_[2])};
        in_flight_.erase(it);
        return reply;
    }
    return std::nullopt;
}

Clock::time_point Pipeline::next_deadline() const noexcept {
    auto next = Clock::time_point::max();
    if (!in_flight_.empty()) next = in_flight_.front().sent + timeout_;
    return next;
}

Pipeline::Failure Pipeline::fail(RpcError::Kind kind, std::string text, bool recreate_socket) {
    stats_->errors.add();
    component_.requests_failed.add();
    reporter_.emit(EventKind::RequestFailed, endpoint_, text);
    Failure failure{RpcError(kind, std::move(text)),
                    std::vector<InFlight>(in_flight_.begin(), in_flight_.end()), false};
    in_flight_.clear();
    blocked_ = false;
    if (recreate_socket) {
        recreate("REQ socket recreated");
        failure.recreated = true;
    }
    return failure;
}

std::optional<Pipeline::Failure> Pipeline::check(Clock::time_point now, bool waiting) {
    if (!socket_) return std::nullopt;
    socket_->drain_monitor();
    const bool busy = waiting || !in_flight_.empty();
    // Refused credentials: libzmq does not reconnect such a connection by itself, so a fresh
    // socket tries again, after a pause (they will not fix themselves in milliseconds). The
    // fresh socket is refused at once too; during the pause that is no news (and it stays
    // shown as refused): without waiting for the pause, refusal, new socket and refusal again
    // went round as fast as the handshakes did.
    if (stats_->credentials_refused.get() > refused_seen_ && stats_->peers.get() == 0 && busy &&
        now >= paused_until_) {
        refused_seen_ = stats_->credentials_refused.get();
        std::string text =
            "credentials refused by " + endpoint_ + " (" + security_.describe() + ")";
        if (!socket_->last_refusal().empty()) text += ": " + socket_->last_refusal();
        auto f = fail(RpcError::Kind::CredentialsRefused, std::move(text), true);
        paused_until_ = now + kRefusedPause;
        return f;
    }
    // The connection that carried the requests in flight is gone, and with it their replies.
    // A fresh socket sends them again: the monitor reports the loss before the socket itself
    // has dropped its pipe to that connection, and what was sent into that pipe meanwhile would
    // be lost too, and overtaken by what goes out on the next connection.
    if (stats_->disconnects.get() > disconnects_seen_) {
        disconnects_seen_ = stats_->disconnects.get();
        if (!in_flight_.empty()) {
            const auto n = in_flight_.size();
            return fail(RpcError::Kind::Unreachable,
                        "connection to " + endpoint_ + " lost with " + std::to_string(n) +
                            " request(s) in flight: they are sent again once it is back",
                        true);
        }
    }
    if (!in_flight_.empty() && now >= in_flight_.front().sent + timeout_) {
        const auto waited =
            std::chrono::duration_cast<std::chrono::milliseconds>(now - in_flight_.front().sent);
        return fail(RpcError::Kind::Timeout,
                    "timed out: no reply from " + endpoint_ + " within " + ms_text(waited), true);
    }
    if (blocked_ && waiting && in_flight_.empty() && now >= blocked_since_ + timeout_) {
        const auto waited =
            std::chrono::duration_cast<std::chrono::milliseconds>(now - blocked_since_);
        if (security_.none() && stats_->handshake_failures.get() > handshake_failures_seen_) {
            return fail(RpcError::Kind::CredentialsRefused,
                        "credentials refused by " + endpoint_ +
                            ": it closed every handshake, so it requires credentials and we "
                            "present none",
                        true);
        }
        return fail(RpcError::Kind::Unreachable,
                    "unreachable: no connection to " + endpoint_ + " within " + ms_text(waited),
                    true);
    }
    return std::nullopt;
}

}  // namespace zmqrpc::detail
