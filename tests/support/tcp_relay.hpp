// TcpRelay: a TCP link with latency and faults, on loopback, for tests and benchmarks (issue 13).
// This machine has no `tc netem`, so the link is a relay between a client and an upstream server:
//
//   client ──tcp──> relay.endpoint() ══ TcpRelay ══ tcp ──> upstream (127.0.0.1:port)
//
// Every connection the relay accepts gets a connection of its own to the upstream, and the relay
// pumps bytes both ways. What it can do to the link:
//
//   set_delay(d)       a fixed one-way delay in each direction (set_delay(up, down): one each):
//                      every chunk read is timestamped and written once now >= read time + d, in
//                      order, so a round trip through the relay takes 2 d + the direct round
//                      trip. A delayed direction is a queue of timestamped chunks, not a sleep
//                      per chunk: the delay does not limit throughput (a window of bytes in
//                      flight does, as on a real long link). Applies to bytes read after the
//                      call; earlier bytes keep their time (and no byte overtakes another).
//   cut()              the link goes down: every relayed connection is closed abruptly on both
//                      sides (SO_LINGER 0: an RST, what a peer sees when a middlebox or the far
//                      host drops the connection), and the relay stops listening, so that every
//                      new connection attempt is refused (ECONNREFUSED) until restore(). The port
//                      stays reserved meanwhile (see "the port" below). Why refuse rather than
//                      accept-and-reset: a ZeroMQ peer then sees exactly "lost, and every
//                      reconnect fails" (ZMQ_EVENT_DISCONNECTED, then CONNECT_RETRIED only),
//                      never a connection that opens and dies in its handshake, which zmqrpc
//                      would count as a handshake failure (a server that hangs up during the
//                      handshake is what refused credentials look like). A real cut (cable,
//                      route) makes connects time out instead of being refused; a refusal is
//                      the fast, deterministic form of the same "no connection".
//   restore()          listen again on the same port; connections are relayed again.
//   blackhole(true)    a silent dead link, as seen across the internet: connections stay open
//                      and new ones are still accepted (and connected upstream), but no byte is
//                      forwarded either way. Bytes are held, never dropped (TCP never loses bytes
//                      of a live connection: they arrive late or the connection dies); reading
//                      goes on up to the byte cap, then stops (backpressure). Only timeouts and
//                      heartbeats can tell such a link from a quiet one. blackhole(false): what
//                      was held is written at once, in order, and the link works again: a long
//                      stall, not a loss. What a peer sent into the hole (a request that timed
//                      out, a handshake) arrives late.
//
// The byte cap (Options::cap_bytes, 64 MiB by default) bounds what one direction of one
// connection holds (the relay's own socket buffer): when reached, the relay stops reading from
// that side, so the sender is slowed by TCP's flow control, and no byte is ever dropped.
//
// Capture (Options::capture_bytes, off by default): the relay also keeps a copy of the first
// capture_bytes bytes it read in each direction, all connections together in the order read, so
// that a test can look at what crossed the wire (is a marker or a password there in clear text?).
// The copy is bounded by the cap (the rest is counted as left out, never held); captured()
// returns it from any thread, clear_capture() starts again. Capturing changes nothing relayed.
//
// Counters (stats()): connections accepted, connections open now, connections whose upstream
// refused, connections reset by cut(), bytes forwarded each way, bytes held now each way, the most
// one direction of one connection ever held.
//
// The port: the relay listens on 127.0.0.1, port 0 (port(), endpoint() read it back). A second,
// never-listening socket holds the same port (SO_REUSEPORT, without SO_REUSEADDR) for the relay's
// lifetime, so that while the link is cut no other socket can bind it (libzmq's SO_REUSEADDR
// listeners included), and restore() gets it back.
//
// Design: one relay thread, poll() (ppoll, microsecond timeouts) over the listener, every
// connection's two sockets and an eventfd that wakes it for commands. cut(), restore() and
// blackhole() are synchronous: they return once the relay thread applied them (bounded: they
// throw if it does not answer within 5 s). The destructor stops the thread, closes every
// connection abruptly and joins (bounded by one poll round). Non-blocking sockets, TCP_NODELAY on
// both legs (libzmq sets it on its own sockets; Nagle in the relay would add up to a delayed-ACK
// per small message), MSG_NOSIGNAL on every send (no SIGPIPE, no process-wide signal setting).
//
// Loopback only, always: it binds 127.0.0.1, and the upstream must be 127.0.0.1 or localhost
// (anything else throws std::invalid_argument). Header-only, C++20, POSIX sockets and Linux
// (eventfd, ppoll); no Qt, no libzmq: usable from the core tests and from the benchmarks.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace testutil {

struct TcpRelayOptions {
    std::chrono::microseconds delay_up{0};    // client -> upstream
    std::chrono::microseconds delay_down{0};  // upstream -> client
    // Most bytes one direction of one connection holds; then the relay stops reading that side.
    std::size_t cap_bytes = std::size_t{64} << 20;
    // Bytes copied per direction for captured(); 0: no capture.
    std::size_t capture_bytes = 0;
};

// What a capturing relay read so far (TcpRelay::captured()).
struct TcpRelayCapture {
    std::string up;                 // client -> upstream, the first capture_bytes bytes
    std::string down;               // upstream -> client
    std::uint64_t left_out_up = 0;  // read beyond the cap, not kept
    std::uint64_t left_out_down = 0;
};

struct TcpRelayStats {
    std::uint64_t accepted = 0;          // connections accepted, ever
    std::uint64_t current = 0;           // relayed connections open now
    std::uint64_t upstream_refused = 0;  // accepted, the upstream refused: closed with an RST
    std::uint64_t reset_by_cut = 0;      // connections cut() closed
    std::uint64_t bytes_up = 0;          // forwarded client -> upstream
    std::uint64_t bytes_down = 0;        // forwarded upstream -> client
    std::uint64_t buffered_up = 0;       // held now, client -> upstream, all connections
    std::uint64_t buffered_down = 0;     // held now, upstream -> client, all connections
    std::uint64_t max_buffered = 0;      // most one direction of one connection ever held
};

class TcpRelay {
  public:
    using Options = TcpRelayOptions;
    using Clock = std::chrono::steady_clock;

    // `upstream`: "tcp://127.0.0.1:PORT", "127.0.0.1:PORT", "localhost:PORT" (or the same with
    // tcp://localhost). Nothing else: the relay never leaves loopback.
    explicit TcpRelay(const std::string& upstream, Options options = {})
        : upstream_port_(parse_upstream(upstream)),
          cap_(std::max<std::size_t>(options.cap_bytes, 1)),
          capture_cap_(options.capture_bytes) {
        delay_us_[0].store(options.delay_up.count());
        delay_us_[1].store(options.delay_down.count());
        wake_ = Fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
        if (!wake_) throw_errno("eventfd");
        holder_ = Fd(new_socket());
        set_int(holder_.get(), SOL_SOCKET, SO_REUSEPORT, 1);
        sockaddr_in address = loopback(0);
        if (::bind(holder_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
            throw_errno("bind 127.0.0.1:0");
        socklen_t length = sizeof address;
        if (::getsockname(holder_.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
            throw_errno("getsockname");
        port_ = ntohs(address.sin_port);
        std::string error;
        listener_ = open_listener(error);
        if (!listener_) throw std::runtime_error("TcpRelay: " + error);
        thread_ = std::thread([this] { run(); });
    }

    TcpRelay(const TcpRelay&) = delete;
    TcpRelay& operator=(const TcpRelay&) = delete;

    ~TcpRelay() {
        stop_.store(true);
        wake();
        if (thread_.joinable()) thread_.join();
    }

    std::uint16_t port() const noexcept { return port_; }
    std::string host_port() const { return "127.0.0.1:" + std::to_string(port_); }
    std::string endpoint() const { return "tcp://" + host_port(); }  // for ZeroMQ connects
    std::uint16_t upstream_port() const noexcept { return upstream_port_; }

    // A copy of what was read so far in each direction (empty without Options::capture_bytes).
    TcpRelayCapture captured() const {
        std::lock_guard lock(capture_mutex_);
        return capture_;
    }
    // Forgets what was captured; capturing goes on from the next byte read.
    void clear_capture() {
        std::lock_guard lock(capture_mutex_);
        capture_ = {};
    }

    // The same one-way delay in both directions, or one each. Applies to bytes read from now on.
    void set_delay(std::chrono::microseconds one_way) { set_delay(one_way, one_way); }
    void set_delay(std::chrono::microseconds up, std::chrono::microseconds down) {
        if (up.count() < 0 || down.count() < 0)
            throw std::invalid_argument("TcpRelay: negative delay");
        delay_us_[0].store(up.count());
        delay_us_[1].store(down.count());
    }
    std::chrono::microseconds delay_up() const {
        return std::chrono::microseconds(delay_us_[0].load());
    }
    std::chrono::microseconds delay_down() const {
        return std::chrono::microseconds(delay_us_[1].load());
    }

    void cut() { command(Command::Cut); }
    void restore() { command(Command::Restore); }
    void blackhole(bool on) { command(on ? Command::BlackholeOn : Command::BlackholeOff); }
    bool is_cut() const { return cut_flag_.load(); }
    bool is_blackholed() const { return blackhole_flag_.load(); }
    std::size_t cap_bytes() const noexcept { return cap_; }

    TcpRelayStats stats() const {
        TcpRelayStats s;
        s.accepted = accepted_.load();
        s.current = current_.load();
        s.upstream_refused = upstream_refused_.load();
        s.reset_by_cut = reset_by_cut_.load();
        s.bytes_up = forwarded_[0].load();
        s.bytes_down = forwarded_[1].load();
        s.buffered_up = buffered_[0].load();
        s.buffered_down = buffered_[1].load();
        s.max_buffered = max_buffered_.load();
        return s;
    }

  private:
    // ---- small POSIX helpers

    class Fd {
      public:
        Fd() = default;
        explicit Fd(int fd) : fd_(fd) {}
        Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
        Fd& operator=(Fd&& other) noexcept {
            if (this != &other) reset(std::exchange(other.fd_, -1));
            return *this;
        }
        Fd(const Fd&) = delete;
        Fd& operator=(const Fd&) = delete;
        ~Fd() { reset(); }
        int get() const noexcept { return fd_; }
        explicit operator bool() const noexcept { return fd_ >= 0; }
        void reset(int fd = -1) noexcept {
            if (fd_ >= 0) ::close(fd_);
            fd_ = fd;
        }
        // Closes with SO_LINGER 0: the peer gets an RST, not a FIN.
        void abort() noexcept {
            if (fd_ < 0) return;
            linger l{1, 0};
            (void)::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
            reset();
        }

      private:
        int fd_ = -1;
    };

    [[noreturn]] static void throw_errno(const std::string& what) {
        throw std::system_error(errno, std::generic_category(), "TcpRelay: " + what);
    }

    static std::uint16_t parse_upstream(std::string text) {
        const std::string original = text;
        if (text.rfind("tcp://", 0) == 0) text.erase(0, 6);
        auto colon = text.rfind(':');
        if (colon == std::string::npos)
            throw std::invalid_argument("TcpRelay: upstream needs host:port: " + original);
        const std::string host = text.substr(0, colon);
        const std::string port = text.substr(colon + 1);
        if (host != "127.0.0.1" && host != "localhost")
            throw std::invalid_argument("TcpRelay: upstream must be on loopback: " + original);
        unsigned long value = 0;
        if (port.empty() || port.size() > 5 ||
            port.find_first_not_of("0123456789") != std::string::npos ||
            (value = std::stoul(port)) == 0 || value > 65535)
            throw std::invalid_argument("TcpRelay: bad upstream port: " + original);
        return static_cast<std::uint16_t>(value);
    }

    static sockaddr_in loopback(std::uint16_t port) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(port);
        return address;
    }

    static int new_socket() {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) throw_errno("socket");
        return fd;
    }

    static void set_int(int fd, int level, int option, int value) {
        (void)::setsockopt(fd, level, option, &value, sizeof value);
    }

    Fd open_listener(std::string& error) const {
        Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!fd) {
            error = std::string("socket: ") + std::strerror(errno);
            return {};
        }
        set_int(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1);
        set_int(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1);
        sockaddr_in address = loopback(port_);
        if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
            ::listen(fd.get(), 128) != 0) {
            error = "listen on " + host_port() + ": " + std::strerror(errno);
            return {};
        }
        return fd;
    }

    // ---- commands (caller thread -> relay thread)

    enum class Command { Cut, Restore, BlackholeOn, BlackholeOff };

    void wake() noexcept {
        std::uint64_t one = 1;
        (void)!::write(wake_.get(), &one, sizeof one);
    }

    void command(Command c) {
        std::unique_lock lock(mutex_);
        if (thread_done_) throw std::runtime_error("TcpRelay: relay thread failed: " + failure_);
        commands_.push_back(c);
        const std::uint64_t mine = ++requested_;
        wake();
        if (!done_.wait_for(lock, std::chrono::seconds(5),
                            [&] { return applied_ >= mine || thread_done_; }))
            throw std::runtime_error("TcpRelay: relay thread does not answer");
        if (applied_ < mine) throw std::runtime_error("TcpRelay: relay thread failed: " + failure_);
        if (!command_error_.empty())
            throw std::runtime_error("TcpRelay: " + std::exchange(command_error_, {}));
    }

    // ---- the relay thread's state

    struct Chunk {
        Clock::time_point due;
        std::vector<char> bytes;
    };

    // One direction of one connection: bytes read from fd[src], to be written to fd[1 - src].
    struct Pipe {
        std::deque<Chunk> queue;
        std::size_t head_offset = 0;  // of queue.front() already written
        std::size_t held = 0;         // bytes in queue not yet written
        bool eof = false;             // the source sent FIN
        Clock::time_point eof_due{};  // ... and the FIN is passed on at this time
        bool shut = false;            // FIN passed on (shutdown(SHUT_WR) of the destination)
        bool blocked = false;         // the destination said EAGAIN: wait for POLLOUT
    };

    struct Connection {
        Fd fd[2];  // 0: the accepted client, 1: the upstream
        bool connecting = true;
        bool dead = false;
        Pipe pipe[2];  // 0: client -> upstream ("up"), 1: upstream -> client ("down")
    };

    static constexpr std::size_t kReadSize = std::size_t{256} << 10;
    static constexpr int kReadsPerEvent = 4;
    static constexpr int kMaxIov = 64;

    void run() noexcept {
        try {
            loop();
        } catch (const std::exception& e) {
            std::lock_guard lock(mutex_);
            failure_ = e.what();
        } catch (...) {
            std::lock_guard lock(mutex_);
            failure_ = "unknown exception";
        }
        for (auto& c : connections_)
            close_connection(*c, true);
        connections_.clear();
        listener_.reset();
        std::lock_guard lock(mutex_);
        thread_done_ = true;
        done_.notify_all();
    }

    void loop() {
        buffer_.resize(kReadSize);
        std::vector<pollfd> fds;
        struct Slot {
            Connection* connection;
            int side;
        };
        std::vector<Slot> slots;
        while (!stop_.load()) {
            auto now = Clock::now();
            for (auto& c : connections_) {
                flush(*c, 0, now);
                flush(*c, 1, now);
            }
            std::erase_if(connections_,
                          [](const std::unique_ptr<Connection>& c) { return c->dead; });

            // What to wait for, and until when.
            fds.clear();
            slots.clear();
            fds.push_back({wake_.get(), POLLIN, 0});
            slots.push_back({nullptr, -1});
            if (listener_) {
                fds.push_back({listener_.get(), POLLIN, 0});
                slots.push_back({nullptr, -2});
            }
            Clock::time_point next = Clock::time_point::max();
            now = Clock::now();
            for (auto& c : connections_) {
                for (int side = 0; side < 2; ++side) {
                    int events = 0;
                    if (wants_read(*c, side)) events |= POLLIN;
                    if (side == 1 && c->connecting) events |= POLLOUT;
                    if (!c->connecting && c->pipe[1 - side].blocked) events |= POLLOUT;
                    // An fd that waits for nothing is left out: poll would report its
                    // POLLHUP/POLLERR on every round.
                    fds.push_back({events ? c->fd[side].get() : -1, static_cast<short>(events), 0});
                    slots.push_back({c.get(), side});
                    const Pipe& p = c->pipe[side];
                    if (blackhole_ || c->connecting || p.blocked) continue;
                    if (!p.queue.empty()) {
                        next = std::min(next, p.queue.front().due);
                    } else if (p.eof && !p.shut) {
                        next = std::min(next, p.eof_due);
                    }
                }
            }
            timespec timeout{};
            timespec* timeout_ptr = nullptr;
            if (next != Clock::time_point::max()) {
                auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(next - now);
                if (wait.count() < 0) wait = std::chrono::nanoseconds(0);
                timeout.tv_sec = static_cast<time_t>(wait.count() / 1000000000);
                timeout.tv_nsec = static_cast<long>(wait.count() % 1000000000);
                timeout_ptr = &timeout;
            }
            int ready = ::ppoll(fds.data(), static_cast<nfds_t>(fds.size()), timeout_ptr, nullptr);
            if (ready < 0) {
                if (errno == EINTR) continue;
                throw_errno("ppoll");
            }
            if (ready == 0) continue;
            for (std::size_t i = 0; i < fds.size(); ++i) {
                const short revents = fds[i].revents;
                if (!revents) continue;
                const Slot slot = slots[i];
                if (slot.side == -1) {
                    std::uint64_t count = 0;
                    (void)!::read(wake_.get(), &count, sizeof count);
                    apply_commands();
                    if (stop_.load()) return;
                } else if (slot.side == -2) {
                    if (listener_) accept_all();
                } else {
                    on_ready(*slot.connection, slot.side, revents);
                }
            }
        }
    }

    bool wants_read(const Connection& c, int side) const {
        if (side == 1 && c.connecting) return false;
        const Pipe& p = c.pipe[side];
        return !p.eof && p.held < cap_;
    }

    void apply_commands() {
        std::unique_lock lock(mutex_);
        auto commands = std::exchange(commands_, {});
        const std::uint64_t requested = requested_;
        lock.unlock();
        std::string error;
        for (Command c : commands) {
            switch (c) {
                case Command::Cut:
                    // Stop listening first, so that no reconnect slips in between.
                    listener_.reset();
                    for (auto& connection : connections_) {
                        if (connection->dead) continue;
                        reset_by_cut_.fetch_add(1);
                        close_connection(*connection, true);
                    }
                    cut_flag_.store(true);
                    break;
                case Command::Restore:
                    if (!listener_) listener_ = open_listener(error);
                    cut_flag_.store(!listener_);
                    break;
                case Command::BlackholeOn:
                    blackhole_ = true;
                    blackhole_flag_.store(true);
                    break;
                case Command::BlackholeOff:
                    blackhole_ = false;
                    blackhole_flag_.store(false);
                    break;
            }
        }
        lock.lock();
        applied_ = requested;
        if (!error.empty()) command_error_ = error;
        done_.notify_all();
    }

    void accept_all() {
        for (;;) {
            Fd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
            if (!client) {
                if (errno == EINTR || errno == ECONNABORTED) continue;
                return;  // EAGAIN, or out of descriptors: try again on the next round
            }
            accepted_.fetch_add(1);
            set_int(client.get(), IPPROTO_TCP, TCP_NODELAY, 1);
            auto c = std::make_unique<Connection>();
            c->fd[0] = std::move(client);
            c->fd[1] = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
            if (!c->fd[1]) {
                c->fd[0].abort();
                continue;
            }
            set_int(c->fd[1].get(), IPPROTO_TCP, TCP_NODELAY, 1);
            current_.fetch_add(1);
            sockaddr_in address = loopback(upstream_port_);
            int rc = ::connect(c->fd[1].get(), reinterpret_cast<const sockaddr*>(&address),
                               sizeof address);
            if (rc == 0) {
                c->connecting = false;
            } else if (errno != EINPROGRESS && errno != EINTR) {
                upstream_refused_.fetch_add(1);
                close_connection(*c, true);
                continue;
            }
            connections_.push_back(std::move(c));
        }
    }

    void on_ready(Connection& c, int side, short revents) {
        if (c.dead) return;
        if (side == 1 && c.connecting) {
            int error = 0;
            socklen_t length = sizeof error;
            if (::getsockopt(c.fd[1].get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0)
                error = errno;
            if (error == EINPROGRESS || error == EALREADY ||
                (error == 0 && !(revents & (POLLOUT | POLLERR | POLLHUP))))
                return;
            if (error != 0 || (revents & (POLLERR | POLLHUP))) {
                upstream_refused_.fetch_add(1);
                close_connection(c, true);
                return;
            }
            c.connecting = false;
            return;  // the next round flushes what the client sent meanwhile
        }
        if (revents & (POLLOUT | POLLERR | POLLHUP)) c.pipe[1 - side].blocked = false;
        if ((revents & (POLLIN | POLLERR | POLLHUP)) && wants_read(c, side)) read_side(c, side);
    }

    void read_side(Connection& c, int src) {
        Pipe& p = c.pipe[src];
        const int dst = 1 - src;
        for (int i = 0; i < kReadsPerEvent && !c.dead; ++i) {
            const std::size_t room = cap_ - p.held;
            if (room == 0) return;
            const std::size_t want = std::min(room, buffer_.size());
            ssize_t n = ::recv(c.fd[src].get(), buffer_.data(), want, 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) return;
                close_connection(c, true);  // reset by the peer: pass the reset on
                return;
            }
            const auto now = Clock::now();
            const auto delay = std::chrono::microseconds(delay_us_[src].load());
            if (n == 0) {
                p.eof = true;
                p.eof_due = now + delay;
                return;
            }
            const auto got = static_cast<std::size_t>(n);
            if (capture_cap_ > 0) capture(src, got);
            std::size_t written = 0;
            // Fast path: nothing queued, nothing to wait for: write straight from the buffer.
            if (delay.count() == 0 && p.queue.empty() && !blackhole_ && !c.connecting &&
                !p.blocked) {
                ssize_t w = ::send(c.fd[dst].get(), buffer_.data(), got, MSG_NOSIGNAL);
                if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    close_connection(c, true);
                    return;
                }
                if (w > 0) {
                    written = static_cast<std::size_t>(w);
                    forwarded_[src].fetch_add(written);
                }
                if (written < got) p.blocked = true;
            }
            if (written < got) {
                p.queue.push_back(
                    {now + delay, std::vector<char>(buffer_.begin() + static_cast<long>(written),
                                                    buffer_.begin() + static_cast<long>(got))});
                add_held(p, src, got - written);
            }
            if (got < want) return;  // drained for now
        }
    }

    // Keeps a copy of the `got` bytes read_side() just read into buffer_, up to the capture cap.
    void capture(int src, std::size_t got) {
        std::lock_guard lock(capture_mutex_);
        std::string& kept = src == 0 ? capture_.up : capture_.down;
        std::uint64_t& left_out = src == 0 ? capture_.left_out_up : capture_.left_out_down;
        const std::size_t take = std::min(got, capture_cap_ - std::min(capture_cap_, kept.size()));
        kept.append(buffer_.data(), take);
        left_out += got - take;
    }

    void add_held(Pipe& p, int src, std::size_t bytes) {
        p.held += bytes;
        std::uint64_t seen = max_buffered_.load();
        while (p.held > seen && !max_buffered_.compare_exchange_weak(seen, p.held)) {
        }
        buffered_[src].fetch_add(bytes);  // after the maximum: who sees this sees that
    }

    // Writes what is due of pipe `src` to the other side; passes a due FIN on.
    void flush(Connection& c, int src, Clock::time_point now) {
        Pipe& p = c.pipe[src];
        if (c.dead || c.connecting || blackhole_ || p.blocked) return;
        const int dst = 1 - src;
        while (!p.queue.empty() && p.queue.front().due <= now) {
            iovec iov[kMaxIov];
            int count = 0;
            for (auto it = p.queue.begin();
                 it != p.queue.end() && count < kMaxIov && it->due <= now; ++it, ++count) {
                const std::size_t skip = count == 0 ? p.head_offset : 0;
                iov[count].iov_base = it->bytes.data() + skip;
                iov[count].iov_len = it->bytes.size() - skip;
            }
            msghdr message{};
            message.msg_iov = iov;
            message.msg_iovlen = static_cast<decltype(message.msg_iovlen)>(count);
            ssize_t w = ::sendmsg(c.fd[dst].get(), &message, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    p.blocked = true;
                    return;
                }
                close_connection(c, true);
                return;
            }
            auto left = static_cast<std::size_t>(w);
            forwarded_[src].fetch_add(left);
            p.held -= left;
            buffered_[src].fetch_sub(left);
            std::size_t offered = 0;
            for (int k = 0; k < count; ++k)
                offered += iov[k].iov_len;
            while (left > 0) {
                const std::size_t rest = p.queue.front().bytes.size() - p.head_offset;
                if (left < rest) {
                    p.head_offset += left;
                    break;
                }
                left -= rest;
                p.queue.pop_front();
                p.head_offset = 0;
            }
            if (static_cast<std::size_t>(w) < offered) {
                p.blocked = true;  // a short write: the socket buffer is full
                return;
            }
        }
        if (p.queue.empty() && p.eof && !p.shut && now >= p.eof_due) {
            ::shutdown(c.fd[dst].get(), SHUT_WR);
            p.shut = true;
            if (c.pipe[dst].shut) close_connection(c, false);  // both FINs passed on: done
        }
    }

    // Counters first, then the sockets: whoever sees the close sees the counters updated.
    void close_connection(Connection& c, bool abruptly) {
        if (c.dead) return;
        c.dead = true;
        current_.fetch_sub(1);
        for (int side = 0; side < 2; ++side) {
            Pipe& p = c.pipe[side];
            buffered_[side].fetch_sub(p.held);
            p.held = 0;
            p.queue.clear();
        }
        for (int side = 0; side < 2; ++side) {
            if (abruptly) {
                c.fd[side].abort();
            } else {
                c.fd[side].reset();
            }
        }
    }

    // ---- members

    const std::uint16_t upstream_port_;
    const std::size_t cap_;
    const std::size_t capture_cap_;
    std::uint16_t port_ = 0;
    Fd wake_, holder_, listener_;

    std::atomic<std::int64_t> delay_us_[2]{};
    std::atomic<bool> stop_{false};
    std::atomic<bool> cut_flag_{false};
    std::atomic<bool> blackhole_flag_{false};
    std::atomic<std::uint64_t> accepted_{0}, current_{0}, upstream_refused_{0}, reset_by_cut_{0};
    std::atomic<std::uint64_t> forwarded_[2]{}, buffered_[2]{}, max_buffered_{0};

    std::mutex mutex_;
    std::condition_variable done_;
    std::vector<Command> commands_;
    std::uint64_t requested_ = 0, applied_ = 0;
    bool thread_done_ = false;
    std::string failure_, command_error_;

    mutable std::mutex capture_mutex_;
    TcpRelayCapture capture_;

    // Relay thread only.
    bool blackhole_ = false;
    std::vector<std::unique_ptr<Connection>> connections_;
    std::vector<char> buffer_;

    std::thread thread_;  // last: started once everything above exists
};

}  // namespace testutil
