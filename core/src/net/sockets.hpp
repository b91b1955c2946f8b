// Socket building blocks shared by the components. Internal header.
//
//  MonitoredSocket  a zmq socket plus its libzmq socket monitor, translated into SocketStats and
//                   events; also owns the socket's ZAP domain when it checks credentials.
//  SubInput         SUB connects with per-endpoint heartbeat supervision (actor thread).
//  RepInput         the REP side, as a ROUTER so that many clients can be queued (actor thread).
//  PubOutput        a bound PUB (an XPUB underneath, to count subscribers exactly).
//  ReqChannel       one REQ connected to every endpoint, Lazy Pirate, as a non-blocking state
//                   machine that an actor or a synchronous caller drives.
//
// Every object here lives on one thread: the one that owns the component.
#pragma once

#include "actor.hpp"
#include "stats.hpp"

#include "zmqrpc/errors.hpp"
#include "zmqrpc/events.hpp"
#include "zmqrpc/options.hpp"

#include <zmq.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace zmqrpc::detail {

// Where a socket reports: its stats, the bus, the component name.
struct Reporter {
    ComponentStats* component = nullptr;
    std::shared_ptr<EventBus> events;
    void emit(EventKind kind, const std::string& endpoint, std::string text) const;
};

class MonitoredSocket {
  public:
    MonitoredSocket(Context& context, zmq::socket_type type, SocketStats& stats, Reporter reporter,
                    std::int64_t max_message_size);
    ~MonitoredSocket();
    MonitoredSocket(const MonitoredSocket&) = delete;
    MonitoredSocket& operator=(const MonitoredSocket&) = delete;

    zmq::socket_t& socket() noexcept { return socket_; }
    zmq::socket_t& monitor() noexcept { return monitor_; }
    SocketStats& stats() noexcept { return stats_; }

    // Binding side: a PLAIN server checked against the credentials, or a CURVE server with its
    // key pair and client policy (nothing for none). Throws ConfigError for bad settings.
    void require_security(const Security& security);
    // Connecting side: present the credentials, or our CURVE key pair (a fresh one when the
    // side names none). The server key is set per endpoint by connect().
    void present_security(const Security& security);
    // Binds (throws ConfigError with the endpoint and reason) and returns the resolved endpoint.
    std::string bind(const std::string& endpoint);
    void connect(const std::string& endpoint);

    // Reads every pending monitor event.
    void drain_monitor();
    // The same, unless it was done less than 5 ms ago: an empty read still costs syscalls, and
    // on a message path (one per request) that is measurable (tests/bench).
    void drain_monitor_if_due();
    // The text of the last refusal (credentials, key or mechanism) on this socket, or empty.
    const std::string& last_refusal() const noexcept { return last_refusal_; }
    // Handshakes that succeeded since this socket was created.
    std::uint64_t handshakes() const noexcept { return handshakes_; }

  private:
    void on_event(std::uint16_t event, std::uint32_t value, const std::string& endpoint);
    void check_plain(const Credentials& credentials) const;  // throws ConfigError
    [[noreturn]] void config_error(const std::string& text) const;
    void refused(const std::string& endpoint, std::string text);  // CredentialsRefused

    Context& context_;
    SocketStats& stats_;
    Reporter reporter_;
    zmq::socket_t socket_;
    zmq::socket_t monitor_;
    int bind_errno_ = 0;  // from the last BIND_FAILED event
    std::string zap_domain_;
    Security::Mechanism mechanism_ = Security::Mechanism::None;
    std::optional<CurveSecurity> curve_client_;  // connecting side with CURVE: server keys
    std::string curve_public_key_;               // ours, as a client
    std::string server_key_;                     // the last one connect() set
    std::string last_refusal_;
    std::uint64_t handshakes_ = 0;
    Clock::time_point next_drain_{};
    bool retry_reported_ = false;
    bool hangup_reported_ = false;
    bool bound_ = false;
};

// Reads one whole message (all frames) without blocking. Empty when nothing is waiting.
std::optional<std::vector<zmq::message_t>> recv_frames(zmq::socket_t& socket);
// The same into `frames` (cleared first; its capacity is reused). False when nothing is waiting.
bool recv_frames(zmq::socket_t& socket, std::vector<zmq::message_t>& frames);

class SubInput {
  public:
    // The received frame itself: a proxy may send it on as it is (no copy); it may hold on to a
    // share of libzmq's 8 KiB receive buffer, so whoever keeps a message copies it out.
    using Deliver = std::function<void(zmq::message_t&& message)>;
    // tap (optional) sees every single-frame message, heartbeats included, before filtering.
    using Tap =
        std::function<void(const std::string& endpoint, std::string_view message, bool heartbeat)>;
    SubInput(Actor& host, const InputOptions& input, const CommonOptions& common, Deliver deliver,
             Tap tap = {});
    void open();
    void close();
    Clock::time_point next_deadline() const;
    void on_deadline(Clock::time_point now);
    bool empty() const noexcept { return links_.empty(); }

  private:
    struct Link {
        std::string endpoint;
        std::chrono::milliseconds timeout{0};
        SocketStats* stats = nullptr;
        std::unique_ptr<MonitoredSocket> socket;
        Clock::time_point last_heard{};
        Clock::time_point recreate_at{};
        Clock::time_point refused_retry_at = Clock::time_point::max();
        bool late = false;
        bool lost = false;
    };
    void create(Link& link);
    void destroy(Link& link);
    void recreate(Link& link, const std::string& why);
    void on_readable(Link& link);
    void heard(Link& link, Clock::time_point now);

    Actor& host_;
    Security security_;
    std::int64_t max_message_size_;
    Deliver deliver_;
    Tap tap_;
    std::vector<Link> links_;  // fixed size after construction
};

// Replies a REP input (a ROUTER) queues for one client before libzmq drops them.
inline constexpr int kRepSendHwm = 100000;

// A REQ client's return address on the ROUTER, and the request id frames before the delimiter.
using Envelope = std::vector<zmq::message_t>;

class RepInput {
  public:
    // `message` is valid during the call only.
    using Deliver = std::function<void(Envelope&& envelope, std::string_view message)>;
    RepInput(Actor& host, const InputOptions& input, const CommonOptions& common, Deliver deliver);
    void open();
    void close();
    bool configured() const noexcept { return !bind_.empty(); }
    std::string endpoint() const { return stats_ ? stats_->endpoint() : std::string{}; }
    void reply(Envelope& envelope, std::string_view message);
    // Sends `message` itself (no copy), e.g. a downstream reply passed back unchanged.
    void reply(Envelope& envelope, zmq::message_t&& message);
    // A server's replies are its output; a proxy's output is elsewhere (its PUB or REQ side),
    // so its replies are counted on the socket only.
    void set_replies_count_as_output(bool yes) noexcept { replies_count_as_output_ = yes; }
    // Called after a heartbeat that came over REQ has been answered (Rep2Pub passes it on).
    void set_on_heartbeat(std::function<void()> on_heartbeat) {
        on_heartbeat_ = std::move(on_heartbeat);
    }

  private:
    void on_readable();

    Actor& host_;
    std::string bind_;
    Security security_;
    std::int64_t max_message_size_;
    Deliver deliver_;
    SocketStats* stats_ = nullptr;
    std::unique_ptr<MonitoredSocket> socket_;
    bool replies_count_as_output_ = true;
    std::function<void()> on_heartbeat_;
    Envelope frames_;  // receive buffer, kept between messages
};

class PubOutput {
  public:
    PubOutput(Context& context, ComponentStats& component, Reporter reporter,
              const OutputOptions& output, const CommonOptions& common);
    void open();
    void close();
    bool configured() const noexcept { return !bind_.empty(); }
    bool is_open() const noexcept { return socket_ != nullptr; }
    MonitoredSocket* socket() noexcept { return socket_.get(); }
    std::string endpoint() const { return stats_ ? stats_->endpoint() : std::string{}; }
    void publish(std::string_view message);
    // Sends the frame itself (a proxy forwarding what it received: no copy).
    void publish(zmq::message_t&& message);
    void send_heartbeat();
    // Reads subscription messages; keeps subscribers() exact.
    void drain_subscriptions();
    std::size_t subscribers() const noexcept { return subscribers_; }
    std::chrono::milliseconds heartbeat_interval() const noexcept { return heartbeat_interval_; }

  private:
    void count_sent(bool sent, std::size_t bytes) noexcept;

    Context& context_;
    ComponentStats& component_;
    Reporter reporter_;
    std::string bind_;
    Security security_;
    int hwm_;
    std::int64_t max_message_size_;
    std::chrono::milliseconds heartbeat_interval_;
    SocketStats* stats_ = nullptr;
    std::unique_ptr<MonitoredSocket> socket_;
    std::size_t subscribers_ = 0;
};

class ReqChannel {
  public:
    ReqChannel(Context& context, ComponentStats& component, Reporter reporter,
               const OutputOptions& output, const CommonOptions& common);
    void open();
    void close();
    bool configured() const noexcept { return !endpoints_.empty(); }
    MonitoredSocket* socket() noexcept { return socket_.get(); }
    // Changes each time the socket is (re)created. Handles cannot tell: a new socket may get the
    // address of the one just closed.
    std::uint64_t generation() const noexcept { return generation_; }
    std::chrono::milliseconds default_timeout() const noexcept { return timeout_; }

    bool idle() const noexcept { return state_ == State::Idle; }
    // Starts a request; sends at once when a peer is ready, else when one becomes ready.
    void begin(std::string_view message, Clock::time_point deadline);
    // The events to poll the socket for in the current state (0 when idle).
    short wanted_events() const noexcept;
    // Call when the socket is writable (sends the pending request) or readable (returns the
    // reply and goes idle).
    std::optional<zmq::message_t> on_ready(short revents);
    // While awaiting the reply: waits for it up to `timeout` in a blocking receive, which is
    // what a synchronous caller wants (one wake-up; no poll set). Empty when none came.
    std::optional<std::string> receive(std::chrono::milliseconds timeout);
    Clock::time_point deadline() const noexcept { return deadline_; }
    // Fails the request when its deadline passed or its credentials were refused with no other
    // peer: recreates the socket (Lazy Pirate), goes idle, returns the error.
    std::optional<RpcError> check(Clock::time_point now, bool drain = true);
    // The request text in flight (valid unless idle).
    const std::string& in_flight() const noexcept { return message_; }
    // A sender's replies are its input; a proxy's input is elsewhere (its SUB or REP side), so
    // the replies it gets from downstream are counted on the socket only.
    void set_replies_count_as_input(bool yes) noexcept { replies_count_as_input_ = yes; }

  private:
    enum class State { Idle, Sending, Awaiting };
    bool try_send();
    std::optional<zmq::message_t> read_reply(zmq::recv_flags flags);
    // Lazy Pirate: close the socket and connect a fresh one (counted, with an event).
    void recreate(const std::string& why);
    RpcError fail(RpcError::Kind kind, std::string text);
    std::string endpoints_text() const;
    std::string refused_text() const;  // "credentials refused by EP (ours): why"

    Context& context_;
    ComponentStats& component_;
    Reporter reporter_;
    std::vector<std::string> endpoints_;
    Security security_;
    std::int64_t max_message_size_;
    std::chrono::milliseconds timeout_;
    SocketStats* stats_ = nullptr;
    std::unique_ptr<MonitoredSocket> socket_;
    std::uint64_t generation_ = 0;

    State state_ = State::Idle;
    std::string message_;  // its capacity is reused from one request to the next
    Clock::time_point started_{};
    Clock::time_point deadline_{};
    std::uint64_t refused_at_begin_ = 0;
    std::uint64_t handshake_failures_at_begin_ = 0;
    bool replies_count_as_input_ = true;
};

std::string ms_text(std::chrono::milliseconds ms);

}  // namespace zmqrpc::detail
