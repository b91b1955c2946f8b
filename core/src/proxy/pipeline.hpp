// Pipeline: a proxy's output to one REQ endpoint, with up to `window` requests in flight.
// Internal header; everything here runs on the proxy's own thread.
//
// The socket is a DEALER that sends what a REQ with ZMQ_REQ_CORRELATE sends, [id, "", request]:
// a REP server (ours, pyzmqrpc's, any) sees an ordinary request behind an envelope, takes the
// requests in order and returns each reply behind the same envelope, [id, "", reply]. The id
// (8 bytes, new for every send, never reused by this pipeline) pairs a reply with its request, so
// a late reply to an earlier copy of a resent request is recognised, discarded and counted
// rather than paired with the wrong one.
//
// Failures give the requests in flight back to the caller, in the order they were sent, to be
// sent again (Sub2Req, BufferedRep2Req: at-least-once) or answered (Rep2Req):
//   timeout          the oldest request got no reply within req_timeout: the socket is recreated
//                    (Lazy Pirate, as ReqChannel) and everything in flight is given back
//   lost connection  the connection that carried them closed: the socket is recreated and they
//                    are given back, sent again once a connection is up
//   refused          the server refused our credentials: given back; retried no sooner than 2 s
//   unreachable      requests waited for a connection for req_timeout: the socket is recreated
#pragma once

#include "sockets.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace zmqrpc::detail {

class Pipeline {
  public:
    struct InFlight {
        std::uint64_t id = 0;
        std::uint64_t seq = 0;
        Clock::time_point sent{};
    };
    struct Failure {
        RpcError error;
        std::vector<InFlight> given_back;  // in the order they were sent
        bool recreated = false;            // a fresh socket was made
    };
    struct Reply {
        std::uint64_t seq = 0;
        zmq::message_t body;
    };

    // `endpoint` is one of output.req_connect; its statistics are a "req" socket of its own.
    Pipeline(Context& context, ComponentStats& component, Reporter reporter, std::string endpoint,
             const OutputOptions& output, const CommonOptions& common, std::size_t window);
    void open();
    void close();

    MonitoredSocket* socket() noexcept { return socket_.get(); }
    std::uint64_t generation() const noexcept { return generation_; }
    const std::string& endpoint() const noexcept { return endpoint_; }
    std::size_t window() const noexcept { return window_; }
    std::size_t in_flight() const noexcept { return in_flight_.size(); }
    const std::deque<InFlight>& in_flight_list() const noexcept { return in_flight_; }
    // Free to take another request now: room in the window, not blocked, not pausing.
    bool ready(Clock::time_point now) const noexcept {
        return socket_ && !blocked_ && in_flight_.size() < window_ && now >= paused_until_;
    }
    // What to poll the socket for: readable while requests are in flight, writable while blocked.
    short wanted_events() const noexcept;

    // Sends [id, "", message]. False, with nothing sent, when no connection can take it now
    // (none up, or its high-water mark reached): the pipeline is then blocked until the socket
    // polls writable (on_writable()).
    bool send(std::uint64_t seq, std::string_view message, Clock::time_point now);
    void on_writable() noexcept { blocked_ = false; }
    // Before sending more: reads the monitor (at most every 5 ms) and says whether the connection
    // that carried the requests in flight was lost, which check() then handles. A reconnect takes
    // at least the reconnect interval (100 ms), so a proxy that asks before each batch learns of
    // the loss before anything can go out on the new connection, and what it sends again cannot
    // arrive after something newer.
    bool connection_lost() {
        if (!socket_ || in_flight_.empty()) return false;
        socket_->drain_monitor_if_due();
        return stats_->disconnects.get() > disconnects_seen_;
    }
    // The next reply to a request in flight, or nullopt when nothing more is waiting. Replies
    // whose id is not in flight, and malformed ones, are counted and skipped.
    std::optional<Reply> read_reply();

    // When check() next has something to decide about the requests in flight (the oldest one's
    // timeout; time_point::max(): none in flight).
    Clock::time_point next_deadline() const noexcept;
    // While blocked with nothing in flight: when check(now, waiting = true) gives up waiting for
    // a connection (time_point::max(): not blocked).
    Clock::time_point blocked_deadline() const noexcept {
        return blocked_ && in_flight_.empty() ? blocked_since_ + timeout_
                                              : Clock::time_point::max();
    }
    // Timeouts, refusals, a lost connection, and (when `waiting`: the queue holds messages this
    // pipeline could send) no connection for req_timeout. Drains the monitor first.
    std::optional<Failure> check(Clock::time_point now, bool waiting);
    // Pause before this pipeline takes requests again (after a failure).
    void pause_until(Clock::time_point t) noexcept { paused_until_ = t; }
    Clock::time_point paused_until() const noexcept { return paused_until_; }

    std::uint64_t stale_replies() const noexcept { return stale_replies_; }

  private:
    void recreate(const std::string& why);
    Failure fail(RpcError::Kind kind, std::string text, bool recreate_socket);

    Context& context_;
    ComponentStats& component_;
    Reporter reporter_;
    std::string endpoint_;
    Security security_;
    std::int64_t max_message_size_;
    std::chrono::milliseconds timeout_;
    std::size_t window_;
    SocketStats* stats_ = nullptr;
    std::unique_ptr<MonitoredSocket> socket_;
    std::uint64_t generation_ = 0;

    std::deque<InFlight> in_flight_;
    std::uint64_t next_id_ = 1;
    bool blocked_ = false;
    Clock::time_point blocked_since_{};
    Clock::time_point paused_until_ = Clock::time_point::min();
    std::uint64_t disconnects_seen_ = 0;
    std::uint64_t refused_seen_ = 0;
    std::uint64_t handshake_failures_seen_ = 0;
    std::uint64_t stale_replies_ = 0;
    std::vector<zmq::message_t> frames_;  // receive buffer, kept between replies
};

}  // namespace zmqrpc::detail
