#include "sockets.hpp"

#include "zmqrpc/context.hpp"
#include "zmqrpc/endpoint.hpp"
#include "zmqrpc/protocol.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

namespace zmqrpc::detail {

namespace {
std::atomic<std::uint64_t> g_monitor_counter{0};

// Bounded work per wake-up so one busy socket cannot starve the others or the pipe.
constexpr int kBatch = 256;

// How long a SUB whose credentials were refused waits before it tries again.
constexpr auto kRefusedRetry = std::chrono::seconds(2);

std::string frames_text(std::size_t n) {
    return "multipart message of " + std::to_string(n) +
           " frames refused: pyzmqrpc messages are a single frame";
}

std::string bind_error_text(int error) {
    std::string text = zmq_strerror(error);
    switch (error) {
        case ENODEV:  // libzmq: neither an address nor an interface name it can resolve
            return text + " (not an address or interface of this host)";
        case EADDRNOTAVAIL:
            return text + " (not an address of this host)";
        case EACCES:
            return text + " (ports below 1024 need privileges)";
        case ENOENT:  // only ipc:// binds say this
            return text + " (an ipc:// path's directory must exist)";
        default:
            return text;
    }
}

// libzmq binds an ipc:// path by unlinking whatever is there: a second process would silently
// take the endpoint from a first that still listens. Whether one does: connect to it.
bool ipc_path_listened(const std::string& path) {
    sockaddr_un address{};
    if (path.empty() || path.size() >= sizeof(address.sun_path)) return false;
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.data(), path.size());
    if (path[0] == '@') address.sun_path[0] = '\0';  // Linux's abstract namespace, as libzmq
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    const auto length =
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (path[0] != '@'));
    const bool listened = ::connect(fd, reinterpret_cast<sockaddr*>(&address), length) == 0;
    ::close(fd);
    return listened;
}
}  // namespace

static const char* mechanism_text(Security::Mechanism mechanism) {
    switch (mechanism) {
        case Security::Mechanism::Plain:
            return "PLAIN (username and password)";
        case Security::Mechanism::Curve:
            return "CURVE";
        case Security::Mechanism::None:
            break;
    }
    return "no security";
}

std::string ms_text(std::chrono::milliseconds ms) {
    return std::to_string(ms.count()) + " ms";
}

void Reporter::emit(EventKind kind, const std::string& endpoint, std::string text) const {
    if (events && component) events->publish(component->name, kind, endpoint, std::move(text));
}

// ---------------------------------------------------------------------------------------------
// MonitoredSocket

MonitoredSocket::MonitoredSocket(Context& context, zmq::socket_type type, SocketStats& stats,
                                 Reporter reporter, std::int64_t max_message_size)
    : context_(context),
      stats_(stats),
      reporter_(std::move(reporter)),
      socket_(native_context(context), type),
      monitor_(native_context(context), zmq::socket_type::pair) {
    socket_.set(zmq::sockopt::linger, 0);
    if (max_message_size >= 0) socket_.set(zmq::sockopt::maxmsgsize, max_message_size);
    // The monitor must be listening before the socket binds or connects, or early events
    // (LISTENING, the first CONNECTED) are lost.
    std::string address = "inproc://zmqrpc-monitor-" + std::to_string(g_monitor_counter++);
    if (zmq_socket_monitor(socket_.handle(), address.c_str(),
                           ZMQ_EVENT_LISTENING | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_CONNECTED |
                               ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_BIND_FAILED) != 0) {
        throw zmq::error_t();
    }
    monitor_.set(zmq::sockopt::linger, 0);
    monitor_.connect(address);
    // One empty read, so that libzmq knows this reader waits: only then does the first event
    // signal the socket's ZMQ_FD, which is what actors poll (Actor::watch_quiet).
    drain_monitor();
    stats_.set_connection(ConnectionState::Idle);
    stats_.peers.set(0);
}

MonitoredSocket::~MonitoredSocket() {
    zmq_socket_monitor(socket_.handle(), nullptr, 0);
    socket_.close();
    monitor_.close();
    if (!zap_domain_.empty()) context_.unregister_domain(zap_domain_);
}

void MonitoredSocket::check_plain(const Credentials& credentials) const {
    // ZMTP's PLAIN mechanism carries each in one length byte, and an empty one is no login.
    auto fits = [](const std::string& s) { return !s.empty() && s.size() <= 255; };
    if (!fits(credentials.username) || !fits(credentials.password)) {
        throw ConfigError(reporter_.component->name + ": " + stats_.role + " credentials for " +
                          credentials.describe() +
                          ": the user name and the password must each be 1 to 255 bytes");
    }
}

void MonitoredSocket::refused(const std::string& endpoint, std::string text) {
    stats_.credentials_refused.add();
    stats_.set_connection(ConnectionState::CredentialsRefused);
    last_refusal_ = text;
    reporter_.emit(EventKind::CredentialsRefused, endpoint, std::move(text));
}

void MonitoredSocket::config_error(const std::string& text) const {
    throw ConfigError(reporter_.component->name + ": " + stats_.role + ": " + text);
}

void MonitoredSocket::require_security(const Security& security) {
    if (const auto* plain = security.plain()) {
        check_plain(*plain);
        zap_domain_ = context_.register_domain(security);
        socket_.set(zmq::sockopt::zap_domain, zap_domain_);
        socket_.set(zmq::sockopt::plain_server, 1);
    } else if (const auto* curve = security.curve()) {
        require_curve(reporter_.component->name + ": " + stats_.role);
        if (curve->keys.secret_key.empty()) {
            config_error("a CURVE server needs its key pair (a secret key)");
        }
        if (auto problem = check_curve_key(curve->keys.secret_key)) {
            config_error("CURVE secret key: " + *problem);
        }
        if (curve->clients == CurveClients::AuthorizedKeys) {
            if (curve->authorized_keys.empty()) {
                config_error(
                    "a CURVE server must say who may connect: an authorized_keys file, or any "
                    "client that holds its public key");
            }
            try {
                (void)load_authorized_keys(curve->authorized_keys);  // a clear error now
            } catch (const ConfigError& e) {
                config_error(e.what());
            }
        }
        zap_domain_ = context_.register_domain(security);
        socket_.set(zmq::sockopt::zap_domain, zap_domain_);
        socket_.set(zmq::sockopt::curve_server, 1);
        socket_.set(zmq::sockopt::curve_secretkey, curve->keys.secret_key);
    }
    mechanism_ = security.mechanism();
}

void MonitoredSocket::present_security(const Security& security) {
    if (const auto* plain = security.plain()) {
        check_plain(*plain);
        socket_.set(zmq::sockopt::plain_username, plain->username);
        socket_.set(zmq::sockopt::plain_password, plain->password);
    } else if (const auto* curve = security.curve()) {
        require_curve(reporter_.component->name + ": " + stats_.role);
        CurveKeyPair keys = curve->keys;
        if (keys.secret_key.empty()) keys = generate_curve_key_pair();
        if (auto problem = check_curve_key(keys.secret_key)) {
            config_error("CURVE secret key: " + *problem);
        }
        if (keys.public_key.empty()) keys.public_key = curve_public_key(keys.secret_key);
        socket_.set(zmq::sockopt::curve_publickey, keys.public_key);
        socket_.set(zmq::sockopt::curve_secretkey, keys.secret_key);
        curve_client_ = *curve;
        curve_public_key_ = keys.public_key;
    }
    mechanism_ = security.mechanism();
}

std::string MonitoredSocket::bind(const std::string& endpoint) {
    const Endpoint parsed = parse_endpoint(endpoint, true);  // clear error for malformed text
    // libzmq closes sockets asynchronously: right after a component on this endpoint stopped,
    // its listener may still hold the port for a moment. Retry briefly before giving up.
    auto give_up = Clock::now() + std::chrono::milliseconds(250);
    for (;;) {
        int error = 0;
        if (parsed.transport == Endpoint::Transport::Ipc && ipc_path_listened(parsed.path)) {
            error = EADDRINUSE;
        } else {
            try {
                socket_.bind(endpoint);
                break;
            } catch (const zmq::error_t& e) {
                // With a monitor attached, zmq_bind's errno is EAGAIN whatever went wrong
                // (sending the BIND_FAILED event overwrites it); the event carries the real one.
                bind_errno_ = 0;
                drain_monitor();
                error = bind_errno_ != 0 ? bind_errno_ : e.num();
            }
        }
        if (error != EADDRINUSE || Clock::now() >= give_up) {
            stats_.errors.add();
            throw ConfigError(reporter_.component->name + ": cannot bind " + stats_.role + " to '" +
                              endpoint + "': " + bind_error_text(error));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::string resolved = socket_.get(zmq::sockopt::last_endpoint);
    stats_.set_endpoint(resolved);
    stats_.set_connection(ConnectionState::Listening);
    bound_ = true;
    return resolved;
}

void MonitoredSocket::connect(const std::string& endpoint) {
    (void)parse_endpoint(endpoint, false);
    if (curve_client_) {
        // libzmq takes the options at connect time, so each endpoint may have its own server.
        const std::string& key = curve_client_->server_key_for(endpoint);
        if (key.empty()) config_error("no CURVE server key for " + endpoint);
        if (auto problem = check_curve_key(key)) {
            config_error("CURVE server key for " + endpoint + ": " + *problem);
        }
        socket_.set(zmq::sockopt::curve_serverkey, key);
        server_key_ = key;
    }
    try {
        socket_.connect(endpoint);
    } catch (const zmq::error_t& e) {
        throw ConfigError(reporter_.component->name + ": cannot connect " + stats_.role + " to '" +
                          endpoint + "': " + e.what());
    }
    stats_.set_connection(ConnectionState::Connecting);
}

void MonitoredSocket::drain_monitor_if_due() {
    if (Clock::now() >= next_drain_) drain_monitor();
}

void MonitoredSocket::drain_monitor() {
    next_drain_ = Clock::now() + std::chrono::milliseconds(5);
    // Until empty: monitors are polled by descriptor (edge-triggered), and carry few events.
    for (;;) {
        auto frames = recv_frames(monitor_);
        if (!frames) return;
        if (frames->size() < 2 || (*frames)[0].size() < 6) continue;
        std::uint16_t event = 0;
        std::uint32_t value = 0;
        std::memcpy(&event, (*frames)[0].data(), 2);
        std::memcpy(&value, static_cast<const char*>((*frames)[0].data()) + 2, 4);
        on_event(event, value, (*frames)[1].to_string());
    }
}

void MonitoredSocket::on_event(std::uint16_t event, std::uint32_t value,
                               const std::string& endpoint) {
    auto after_loss = [&] {
        if (stats_.peers.get() > 0) return;
        stats_.set_connection(bound_ ? ConnectionState::Listening : ConnectionState::Disconnected);
    };
    switch (event) {
        case ZMQ_EVENT_LISTENING:
            stats_.set_connection(ConnectionState::Listening);
            reporter_.emit(EventKind::Listening, endpoint, "listening (" + stats_.role + ")");
            break;
        case ZMQ_EVENT_BIND_FAILED:
            // Only bind() binds, and it says why it failed once, when it gives up; an event per
            // attempt would repeat it every 10 ms while it retries a busy port.
            bind_errno_ = static_cast<int>(value);
            break;
        case ZMQ_EVENT_ACCEPTED:
            stats_.connects.add();
            reporter_.emit(EventKind::Accepted, endpoint, "peer connected");
            break;
        case ZMQ_EVENT_CONNECTED:
            stats_.connects.add();
            retry_reported_ = false;
            reporter_.emit(EventKind::Connected, endpoint, "connected");
            break;
        case ZMQ_EVENT_CONNECT_RETRIED:
            stats_.connect_retries.add();
            if (stats_.peers.get() == 0 &&
                stats_.get_connection() != ConnectionState::CredentialsRefused) {
                stats_.set_connection(ConnectionState::Connecting);
            }
            // One event per outage, not one per retry interval.
            if (!retry_reported_) {
                retry_reported_ = true;
                reporter_.emit(EventKind::ConnectRetried, endpoint,
                               "connection refused or lost; retrying");
            }
            break;
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            ++handshakes_;
            hangup_reported_ = false;
            stats_.peers.add();
            stats_.set_connection(ConnectionState::Connected);
            reporter_.emit(EventKind::HandshakeSucceeded, endpoint, "handshake succeeded");
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: {
            std::string text;
            if (bound_) {
                const std::string why = context_.last_refusal(zap_domain_);
                text =
                    mechanism_ == Security::Mechanism::Curve
                        ? "refused a client's CURVE key" + (why.empty() ? "" : ": " + why)
                        : "refused a peer's credentials (ZAP status " + std::to_string(value) + ")";
            } else if (mechanism_ == Security::Mechanism::Curve) {
                text = "our CURVE key " + key_fingerprint(curve_public_key_) +
                       " was refused by the server (ZAP status " + std::to_string(value) +
                       "): it is not among the keys the server allows";
            } else {
                text =
                    "credentials refused by the server (ZAP status " + std::to_string(value) + ")";
            }
            refused(endpoint, std::move(text));
            break;
        }
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
            if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
                refused(endpoint,
                        std::string("credentials refused: security mismatch: this side uses ") +
                            mechanism_text(mechanism_) +
                            " and the peer another (none, PLAIN or CURVE)");
            } else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC && bound_) {
                // A CURVE client whose HELLO cannot be opened encrypted it for another key.
                refused(endpoint,
                        "refused a CURVE client that does not hold this server's public key "
                        "(its handshake cannot be decrypted)");
            } else {
                stats_.handshake_failures.add();
                stats_.set_connection(ConnectionState::HandshakeFailed);
                reporter_.emit(EventKind::HandshakeFailed, endpoint,
                               "handshake failed: protocol error " + std::to_string(value));
            }
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            if (value == EPIPE || value == ECONNRESET) {
                // On a bound socket: a client that hangs up mid-handshake, typically right
                // after we refused its credentials; not a failure of ours.
                if (bound_) break;
                // On a connecting socket: the server hung up during the handshake. A CURVE
                // server does that to a client that encrypted for another server key.
                if (mechanism_ == Security::Mechanism::Curve) {
                    if (!hangup_reported_ ||
                        stats_.get_connection() != ConnectionState::CredentialsRefused) {
                        hangup_reported_ = true;
                        refused(endpoint,
                                "the server closed the CURVE handshake: is the server key " +
                                    key_fingerprint(server_key_) +
                                    " the public key of the server bound at " + endpoint + "?");
                    } else {
                        stats_.credentials_refused.add();
                    }
                    break;
                }
                // Else what a PLAIN server does to a client that presents no credentials (it
                // sees the mismatch first). Counted; reported once per outage.
                stats_.handshake_failures.add();
                if (stats_.get_connection() != ConnectionState::CredentialsRefused) {
                    stats_.set_connection(ConnectionState::HandshakeFailed);
                }
                if (!hangup_reported_) {
                    hangup_reported_ = true;
                    reporter_.emit(EventKind::HandshakeFailed, endpoint,
                                   "the server closed the connection during the handshake "
                                   "(does it require credentials?)");
                }
                break;
            }
            stats_.handshake_failures.add();
            stats_.set_connection(ConnectionState::HandshakeFailed);
            reporter_.emit(
                EventKind::HandshakeFailed, endpoint,
                "handshake failed: " + std::string(zmq_strerror(static_cast<int>(value))));
            break;
        case ZMQ_EVENT_DISCONNECTED: {
            stats_.disconnects.add();
            auto connection = stats_.get_connection();
            bool was_up = stats_.peers.get() > 0;
            if (was_up) stats_.peers.set(stats_.peers.get() - 1);
            // A failed handshake also ends in a disconnect; keep its more precise state.
            if (connection != ConnectionState::CredentialsRefused &&
                connection != ConnectionState::HandshakeFailed) {
                after_loss();
            }
            if (was_up) reporter_.emit(EventKind::Disconnected, endpoint, "disconnected");
            break;
        }
        default:
            break;
    }
}

std::optional<std::vector<zmq::message_t>> recv_frames(zmq::socket_t& socket) {
    std::vector<zmq::message_t> frames;
    if (!recv_frames(socket, frames)) return std::nullopt;
    return frames;
}

bool recv_frames(zmq::socket_t& socket, std::vector<zmq::message_t>& frames) {
    frames.clear();
    // A request through a ROUTER is three frames; the buffer may have been handed on (a proxy
    // keeps the envelope): one allocation rather than three while it grows.
    if (frames.capacity() < 4) frames.reserve(4);
    zmq::message_t first;
    if (!socket.recv(first, zmq::recv_flags::dontwait)) return false;
    bool more = first.more();
    frames.push_back(std::move(first));
    while (more) {
        zmq::message_t part;
        // The rest of a multipart message is already here: libzmq delivers them atomically.
        (void)socket.recv(part, zmq::recv_flags::none);
        more = part.more();
        frames.push_back(std::move(part));
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// SubInput

SubInput::SubInput(Actor& host, const InputOptions& input, const CommonOptions& common,
                   Deliver deliver, Tap tap)
    : host_(host),
      security_(input.security),
      max_message_size_(common.max_message_size),
      deliver_(std::move(deliver)),
      tap_(std::move(tap)) {
    links_.reserve(input.sub_connect.size());
    for (const auto& sub : input.sub_connect) {
        (void)parse_endpoint(sub.endpoint, false);
        Link link;
        link.endpoint = sub.endpoint;
        link.timeout = sub.heartbeat_timeout.count() > 0 ? sub.heartbeat_timeout
                                                         : input.default_heartbeat_timeout;
        if (link.timeout.count() < 0) link.timeout = std::chrono::milliseconds{0};
        link.stats = &host.stats().add_socket("sub", sub.endpoint, link.timeout);
        links_.push_back(std::move(link));
    }
}

void SubInput::open() {
    auto now = Clock::now();
    for (auto& link : links_) {
        link.last_heard = now;
        link.recreate_at = now + link.timeout;
        link.late = link.lost = false;
        link.stats->last_heard_ns.store(now_ns());
        link.stats->ever_heard = false;
        if (link.timeout.count() > 0)
            link.stats->heartbeat.store(static_cast<int>(HeartbeatState::Alive));
        create(link);
    }
}

void SubInput::close() {
    for (auto& link : links_)
        destroy(link);
}

void SubInput::recreate(Link& link, const std::string& why) {
    destroy(link);
    create(link);
    link.stats->recreates.add();
    host_.emit(EventKind::SocketRecreated, link.endpoint, why);
}

void SubInput::create(Link& link) {
    link.refused_retry_at = Clock::time_point::max();
    Reporter reporter{&host_.stats(), host_.events()};
    link.socket = std::make_unique<MonitoredSocket>(*host_.context(), zmq::socket_type::sub,
                                                    *link.stats, reporter, max_message_size_);
    auto& s = link.socket->socket();
    s.set(zmq::sockopt::subscribe, "");
    link.socket->present_security(security_);
    link.socket->connect(link.endpoint);
    host_.watch(s, ZMQ_POLLIN, [this, &link](short) { on_readable(link); });
    host_.watch_quiet(link.socket->monitor(), [&link](short) {
        link.socket->drain_monitor();
        // libzmq never reconnects a connection whose credentials were refused: try again later
        // with a fresh socket, so a publisher that is fixed or restarted is picked up.
        if (link.stats->get_connection() == ConnectionState::CredentialsRefused &&
            link.stats->peers.get() == 0 && link.refused_retry_at == Clock::time_point::max()) {
            link.refused_retry_at = Clock::now() + kRefusedRetry;
        }
    });
}

void SubInput::destroy(Link& link) {
    if (!link.socket) return;
    link.socket->drain_monitor();
    host_.unwatch(link.socket->socket());
    host_.unwatch(link.socket->monitor());
    link.socket.reset();
}

void SubInput::heard(Link& link, Clock::time_point now) {
    link.last_heard = now;
    link.recreate_at = now + link.timeout;
    link.stats->heard_at(now);
    if (link.late || link.lost) {
        host_.emit(EventKind::HeartbeatRecovered, link.endpoint,
                   link.lost ? "heard again after the socket was recreated" : "heard again");
        link.late = link.lost = false;
    }
    if (link.timeout.count() > 0) {
        link.stats->heartbeat.store(static_cast<int>(HeartbeatState::Alive),
                                    std::memory_order_relaxed);
    }
}

void SubInput::on_readable(Link& link) {
    auto& component = host_.stats();
    // One clock read per wake-up: a batch arrives within microseconds.
    const auto now = Clock::now();
    for (int i = 0; i < kBatch && link.socket; ++i) {
        // One frame, received and handed on as it is: no vector, no copy (tests/bench row 3).
        zmq::message_t message;
        if (!link.socket->socket().recv(message, zmq::recv_flags::dontwait)) return;
        heard(link, now);
        if (message.more()) {
            // pyzmqrpc sends one frame: read the rest of this message and refuse it whole.
            std::size_t frames = 1;
            for (bool more = true; more; ++frames) {
                zmq::message_t part;
                (void)link.socket->socket().recv(part, zmq::recv_flags::none);
                more = part.more();
            }
            link.stats->errors.add();
            component.bad_messages.add();
            host_.emit(EventKind::BadMessage, link.endpoint, frames_text(frames));
            continue;
        }
        const std::string_view text = message.to_string_view();
        const std::size_t size = text.size();
        const bool heartbeat = text == kHeartbeat;
        if (tap_) tap_(link.endpoint, text, heartbeat);
        if (heartbeat) {
            link.stats->heartbeats_in.add();
            continue;
        }
        link.stats->messages_in.add();
        link.stats->bytes_in.add(size);
        std::size_t bad = 0;
        if (!is_valid_utf8(text, &bad)) {
            component.bad_messages.add();
            host_.emit(EventKind::BadMessage, link.endpoint,
                       "message refused: invalid UTF-8 at byte " + std::to_string(bad));
            continue;
        }
        component.messages_in.add();
        component.bytes_in.add(size);
        deliver_(std::move(message));
    }
}

Clock::time_point SubInput::next_deadline() const {
    auto next = Clock::time_point::max();
    for (const auto& link : links_) {
        if (!link.socket) continue;
        next = std::min(next, link.refused_retry_at);
        if (link.timeout.count() <= 0) continue;
        next = std::min(next, link.recreate_at);
        if (!link.late) next = std::min(next, link.last_heard + link.timeout / 2);
    }
    return next;
}

void SubInput::on_deadline(Clock::time_point now) {
    for (auto& link : links_) {
        if (!link.socket) continue;
        if (now >= link.refused_retry_at) {
            recreate(link, "SUB socket recreated to retry refused credentials");
        }
        if (link.timeout.count() <= 0) continue;
        if (!link.late && now >= link.last_heard + link.timeout / 2) {
            link.late = true;
            link.stats->heartbeat.store(static_cast<int>(HeartbeatState::Late));
            host_.emit(EventKind::HeartbeatLate, link.endpoint,
                       "nothing heard for half the heartbeat timeout of " + ms_text(link.timeout));
        }
        if (now >= link.recreate_at) {
            auto silent =
                std::chrono::duration_cast<std::chrono::milliseconds>(now - link.last_heard);
            if (!link.lost) {
                link.lost = true;
                host_.emit(EventKind::HeartbeatLost, link.endpoint,
                           "nothing heard for " + ms_text(silent) + " (timeout " +
                               ms_text(link.timeout) + ")");
            }
            link.stats->heartbeat.store(static_cast<int>(HeartbeatState::Dead));
            recreate(link, "SUB socket recreated after " + ms_text(silent) + " of silence");
            link.recreate_at = now + link.timeout;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// RepInput

RepInput::RepInput(Actor& host, const InputOptions& input, const CommonOptions& common,
                   Deliver deliver)
    : host_(host),
      bind_(input.rep_bind),
      security_(input.security),
      max_message_size_(common.max_message_size),
      deliver_(std::move(deliver)) {
    if (bind_.empty()) return;
    (void)parse_endpoint(bind_, true);
    stats_ = &host.stats().add_socket("rep", bind_);
}

void RepInput::open() {
    if (bind_.empty()) return;
    Reporter reporter{&host_.stats(), host_.events()};
    socket_ = std::make_unique<MonitoredSocket>(*host_.context(), zmq::socket_type::router, *stats_,
                                                reporter, max_message_size_);
    // A ROUTER drops a reply, silently, when its peer's pipe holds libzmq's default of 1000: a
    // pipelining client (our proxies' window, 1000 by default) can have that many replies
    // queued while it is busy. libzmq's view of what the peer has read also lags by up to half
    // the mark, so 1000 in flight already lost replies (tests/bench row 8, 1 run in 3). Like a
    // PUB's, the mark is 100000: memory stays bounded per client.
    socket_->socket().set(zmq::sockopt::sndhwm, kRepSendHwm);
    socket_->require_security(security_);
    socket_->bind(bind_);
    host_.watch(socket_->socket(), ZMQ_POLLIN, [this](short) { on_readable(); });
    host_.watch_quiet(socket_->monitor(), [this](short) { socket_->drain_monitor(); });
}

void RepInput::close() {
    if (!socket_) return;
    // Replies sent just before stopping (e.g. 482 to waiting clients) still go out; close()
    // itself does not wait for this.
    socket_->socket().set(zmq::sockopt::linger, 1000);
    socket_->drain_monitor();
    host_.unwatch(socket_->socket());
    host_.unwatch(socket_->monitor());
    socket_.reset();
    // Keep the resolved endpoint for whoever looks afterwards; the socket is gone, though.
    stats_->set_connection(ConnectionState::Idle);
    stats_->peers.set(0);
}

void RepInput::reply(Envelope& envelope, std::string_view message) {
    zmq::message_t body(message.data(), message.size());
    reply(envelope, std::move(body));
}

void RepInput::reply(Envelope& envelope, zmq::message_t&& message) {
    if (!socket_) return;
    auto& s = socket_->socket();
    host_.touched(s);
    for (auto& frame : envelope) {
        zmq::message_t copy;
        copy.copy(frame);
        if (!s.send(copy, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
            stats_->errors.add();
            return;
        }
    }
    const std::size_t size = message.size();
    if (!s.send(message, zmq::send_flags::dontwait)) {
        stats_->errors.add();
        return;
    }
    stats_->messages_out.add();
    stats_->bytes_out.add(size);
    if (replies_count_as_output_) {
        host_.stats().messages_out.add();
        host_.stats().bytes_out.add(size);
    }
}

void RepInput::on_readable() {
    auto& component = host_.stats();
    for (int i = 0; i < kBatch && socket_; ++i) {
        // Received into a kept buffer, and the body is handed on as a view of its frame: on a
        // server's request path every allocation and copy shows (tests/bench row 1).
        if (!recv_frames(socket_->socket(), frames_)) {
            host_.drained(socket_->socket());
            return;
        }
        stats_->heard();
        // [routing id][...][empty delimiter][body...]: a REQ client always sends the delimiter.
        auto delimiter = std::find_if(frames_.begin(), frames_.end(),
                                      [](const zmq::message_t& f) { return f.size() == 0; });
        if (delimiter == frames_.end()) {
            stats_->errors.add();
            component.bad_messages.add();
            host_.emit(EventKind::BadMessage, stats_->endpoint(),
                       "message without a REQ envelope dropped");
            continue;
        }
        auto body_begin = std::next(delimiter);
        std::size_t body_frames =
            static_cast<std::size_t>(std::distance(body_begin, frames_.end()));
        if (body_frames != 1) {
            std::size_t envelope_frames =
                static_cast<std::size_t>(std::distance(frames_.begin(), body_begin));
            frames_.resize(envelope_frames);
            component.bad_messages.add();
            std::string text = frames_text(body_frames);
            host_.emit(EventKind::BadMessage, stats_->endpoint(), text);
            reply(frames_, encode_response(status::kBadJson, status_text_bad_json(text)));
            continue;
        }
        // The body is the last frame; what is left in frames_ is the envelope.
        zmq::message_t body = std::move(frames_.back());
        frames_.pop_back();
        const std::string_view message = body.to_string_view();
        const std::size_t size = message.size();
        if (message == kHeartbeat) {
            stats_->heartbeats_in.add();
            // pyzmqrpc leaves a heartbeating REQ client hanging; we answer (docs/PROTOCOL.md).
            reply(frames_, encode_response(status::kOk, "OK"));
            if (on_heartbeat_) on_heartbeat_();
            continue;
        }
        stats_->messages_in.add();
        stats_->bytes_in.add(size);
        std::size_t bad = 0;
        if (!is_valid_utf8(message, &bad)) {
            component.bad_messages.add();
            std::string text = "invalid UTF-8 at byte " + std::to_string(bad);
            host_.emit(EventKind::BadMessage, stats_->endpoint(), "message refused: " + text);
            reply(frames_, encode_response(status::kBadJson, status_text_bad_json(text)));
            continue;
        }
        component.messages_in.add();
        component.bytes_in.add(size);
        // A receiver answers within the call and leaves the envelope here (its buffer is kept);
        // a proxy takes it along with the request.
        deliver_(std::move(frames_), message);
    }
}

// ---------------------------------------------------------------------------------------------
// PubOutput

PubOutput::PubOutput(Context& context, ComponentStats& component, Reporter reporter,
                     const OutputOptions& output, const CommonOptions& common)
    : context_(context),
      component_(component),
      reporter_(std::move(reporter)),
      bind_(output.pub_bind),
      security_(output.security),
      hwm_(output.pub_hwm),
      max_message_size_(common.max_message_size),
      heartbeat_interval_(output.pub_heartbeat_interval) {
    if (bind_.empty()) return;
    (void)parse_endpoint(bind_, true);
    if (hwm_ < 0) throw ConfigError(component.name + ": pub_hwm must not be negative");
    stats_ = &component.add_socket("pub", bind_);
}

void PubOutput::open() {
    if (bind_.empty()) return;
    // An XPUB is a PUB on the wire; it also tells us about each subscription, which makes
    // "wait until a subscriber is there" exact instead of a blind sleep.
    socket_ = std::make_unique<MonitoredSocket>(context_, zmq::socket_type::xpub, *stats_,
                                                reporter_, max_message_size_);
    auto& s = socket_->socket();
    s.set(zmq::sockopt::sndhwm, hwm_);
    s.set(zmq::sockopt::xpub_verboser, 1);
    // Let what was just published leave before the socket goes (bounded, close never blocks).
    s.set(zmq::sockopt::linger, 200);
    socket_->require_security(security_);
    socket_->bind(bind_);
    subscribers_ = 0;
}

void PubOutput::close() {
    if (!socket_) return;
    socket_->drain_monitor();
    socket_.reset();
    // Keep the resolved endpoint for whoever looks afterwards; the socket is gone, though.
    stats_->set_connection(ConnectionState::Idle);
    stats_->peers.set(0);
    subscribers_ = 0;
}

void PubOutput::publish(std::string_view message) {
    if (!socket_) return;
    count_sent(socket_->socket().send(zmq::buffer(message), zmq::send_flags::dontwait).has_value(),
               message.size());
}

void PubOutput::publish(zmq::message_t&& message) {
    if (!socket_) return;
    const std::size_t bytes = message.size();
    count_sent(socket_->socket().send(message, zmq::send_flags::dontwait).has_value(), bytes);
}

void PubOutput::count_sent(bool sent, std::size_t bytes) noexcept {
    if (sent) {
        stats_->messages_out.add();
        stats_->bytes_out.add(bytes);
        component_.messages_out.add();
        component_.bytes_out.add(bytes);
    } else {
        stats_->errors.add();
    }
}

void PubOutput::send_heartbeat() {
    if (!socket_) return;
    if (socket_->socket().send(zmq::buffer(kHeartbeat), zmq::send_flags::dontwait)) {
        stats_->heartbeats_out.add();
    }
}

void PubOutput::drain_subscriptions() {
    if (!socket_) return;
    for (int i = 0; i < kBatch; ++i) {
        auto frames = recv_frames(socket_->socket());
        if (!frames) return;
        const auto& f = frames->front();
        if (f.size() == 0) continue;
        auto kind = *static_cast<const unsigned char*>(f.data());
        if (kind == 1) {
            ++subscribers_;
        } else if (kind == 0 && subscribers_ > 0) {
            --subscribers_;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ReqChannel

ReqChannel::ReqChannel(Context& context, ComponentStats& component, Reporter reporter,
                       const OutputOptions& output, const CommonOptions& common)
    : context_(context),
      component_(component),
      reporter_(std::move(reporter)),
      endpoints_(output.req_connect),
      security_(output.security),
      max_message_size_(common.max_message_size),
      timeout_(output.req_timeout) {
    if (endpoints_.empty()) return;
    std::string joined;
    for (const auto& ep : endpoints_) {
        (void)parse_endpoint(ep, false);
        joined += (joined.empty() ? "" : ",") + ep;
    }
    if (timeout_.count() <= 0) throw ConfigError(component.name + ": req_timeout must be positive");
    stats_ = &component.add_socket("req", joined);
}

std::string ReqChannel::endpoints_text() const {
    return stats_ ? stats_->endpoint() : "";
}

void ReqChannel::open() {
    if (endpoints_.empty()) return;
    socket_ = std::make_unique<MonitoredSocket>(context_, zmq::socket_type::req, *stats_, reporter_,
                                                max_message_size_);
    // Queue only to peers that completed the handshake: a request is never parked on the pipe
    // of a dead endpoint while another one is up (round-robin over live peers).
    socket_->socket().set(zmq::sockopt::immediate, 1);
    socket_->present_security(security_);
    for (const auto& ep : endpoints_)
        socket_->connect(ep);
    state_ = State::Idle;
}

void ReqChannel::close() {
    if (socket_) socket_->drain_monitor();
    socket_.reset();
    state_ = State::Idle;
}

void ReqChannel::recreate(const std::string& why) {
    socket_.reset();
    open();
    stats_->recreates.add();
    reporter_.emit(EventKind::SocketRecreated, endpoints_text(), why);
}

void ReqChannel::begin(std::string_view message, Clock::time_point deadline) {
    socket_->drain_monitor_if_due();
    // libzmq gives up on a connection whose credentials were refused and never reconnects it.
    // A new request deserves a fresh attempt (the server may have been fixed meanwhile).
    if (stats_->get_connection() == ConnectionState::CredentialsRefused &&
        stats_->peers.get() == 0) {
        recreate("REQ socket recreated to retry refused credentials");
    }
    message_.assign(message);
    started_ = Clock::now();
    deadline_ = deadline;
    refused_at_begin_ = stats_->credentials_refused.get();
    handshake_failures_at_begin_ = stats_->handshake_failures.get();
    state_ = State::Sending;
    try_send();
}

short ReqChannel::wanted_events() const noexcept {
    switch (state_) {
        case State::Sending:
            return ZMQ_POLLOUT;
        case State::Awaiting:
            return ZMQ_POLLIN;
        default:
            return 0;
    }
}

bool ReqChannel::try_send() {
    if (!socket_->socket().send(zmq::buffer(message_), zmq::send_flags::dontwait)) return false;
    stats_->messages_out.add();
    stats_->bytes_out.add(message_.size());
    component_.messages_out.add();
    component_.bytes_out.add(message_.size());
    state_ = State::Awaiting;
    return true;
}

std::optional<zmq::message_t> ReqChannel::on_ready(short revents) {
    if (state_ == State::Sending && (revents & ZMQ_POLLOUT)) {
        try_send();
        return std::nullopt;
    }
    if (state_ != State::Awaiting || !(revents & ZMQ_POLLIN)) return std::nullopt;
    return read_reply(zmq::recv_flags::dontwait);
}

std::optional<std::string> ReqChannel::receive(std::chrono::milliseconds timeout) {
    if (state_ != State::Awaiting) return std::nullopt;
    socket_->socket().set(zmq::sockopt::rcvtimeo, static_cast<int>(timeout.count()));
    try {
        if (auto reply = read_reply(zmq::recv_flags::none)) return reply->to_string();
        return std::nullopt;
    } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) return std::nullopt;  // the caller checks its deadline and waits on
        throw;
    }
}

std::optional<zmq::message_t> ReqChannel::read_reply(zmq::recv_flags flags) {
    // A reply is one frame: read it without collecting frames in a vector first.
    zmq::message_t first;
    if (!socket_->socket().recv(first, flags)) return std::nullopt;
    std::size_t size = first.size();
    std::size_t frames = 1;
    for (bool more = first.more(); more; ++frames) {
        zmq::message_t part;
        (void)socket_->socket().recv(part, zmq::recv_flags::none);
        more = part.more();
        size += part.size();
    }
    stats_->messages_in.add();
    stats_->bytes_in.add(size);
    stats_->heard();
    if (replies_count_as_input_) {
        component_.messages_in.add();
        component_.bytes_in.add(size);
    }
    state_ = State::Idle;
    if (frames != 1) {
        stats_->errors.add();
        reporter_.emit(EventKind::BadMessage, endpoints_text(),
                       "reply of " + std::to_string(frames) + " frames; using the first");
    }
    return first;
}

RpcError ReqChannel::fail(RpcError::Kind kind, std::string text) {
    // Lazy Pirate: a REQ that lost its reply is stuck; close it and connect a fresh one.
    stats_->errors.add();
    component_.requests_failed.add();
    reporter_.emit(EventKind::RequestFailed, endpoints_text(), text);
    recreate("REQ socket recreated");
    state_ = State::Idle;
    return RpcError(kind, std::move(text));
}

std::string ReqChannel::refused_text() const {
    std::string text =
        "credentials refused by " + endpoints_text() + " (" + security_.describe() + ")";
    const std::string& why = socket_->last_refusal();
    return why.empty() ? text : text + ": " + why;
}

std::optional<RpcError> ReqChannel::check(Clock::time_point now, bool drain) {
    if (state_ == State::Idle) return std::nullopt;
    if (drain) socket_->drain_monitor();
    bool refused = stats_->credentials_refused.get() > refused_at_begin_;
    if (refused && state_ == State::Sending && stats_->peers.get() == 0) {
        return fail(RpcError::Kind::CredentialsRefused, refused_text());
    }
    if (now < deadline_) return std::nullopt;
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now - started_);
    if (state_ == State::Sending) {
        if (refused) return fail(RpcError::Kind::CredentialsRefused, refused_text());
        if (security_.none() && stats_->handshake_failures.get() > handshake_failures_at_begin_) {
            return fail(RpcError::Kind::CredentialsRefused,
                        "credentials refused by " + endpoints_text() +
                            ": it closed every handshake, so it requires credentials and we "
                            "present none");
        }
        return fail(
            RpcError::Kind::Unreachable,
            "unreachable: no connection to " + endpoints_text() + " within " + ms_text(waited));
    }
    return fail(RpcError::Kind::Timeout,
                "timed out: no reply from " + endpoints_text() + " within " + ms_text(waited));
}

}  // namespace zmqrpc::detail
