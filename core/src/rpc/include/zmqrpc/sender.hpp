// Sender (pyzmqrpc ZmqSender/ZmqClient): a bound PUB socket and/or one REQ socket connected to a
// list of endpoints (requests go round-robin). Not an actor: it is used synchronously by the one
// thread that owns it (not thread-safe), which is also where its socket-monitor events are read.
//
// REQ follows the zguide's Lazy Pirate: a request waits up to its timeout; on timeout or error the
// socket is closed and a fresh one connected before the next request. The failed request is not
// retried. The error tells timeout, unreachable and refused credentials apart.
#pragma once

#include "zmqrpc/metrics.hpp"
#include "zmqrpc/options.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace zmqrpc {

struct SenderOptions : CommonOptions, OutputOptions {};

class Sender {
  public:
    explicit Sender(SenderOptions options);  // binds/connects; throws ConfigError
    ~Sender();
    Sender(const Sender&) = delete;
    Sender& operator=(const Sender&) = delete;
    Sender(Sender&&) noexcept;
    Sender& operator=(Sender&&) noexcept;

    bool has_pub() const noexcept;
    bool has_req() const noexcept;

    // Publishes one frame on the PUB socket (never blocks; libzmq drops at the high-water mark).
    // Throws ConfigError when there is no PUB socket.
    void publish(std::string_view message);

    // Sends one frame on REQ and returns the reply. Throws RpcError (Timeout, Unreachable,
    // CredentialsRefused) or ConfigError when there is no REQ socket.
    std::string request(std::string_view message, std::chrono::milliseconds timeout);
    // With the configured req_timeout.
    std::string request(std::string_view message);

    // The heartbeat on PUB (if any). With over_req, also over REQ (pyzmqrpc does both) and
    // waits for the 200 OK this project's servers send (Python servers send none: times out).
    void send_heartbeat(bool over_req = false);

    // Waits until `count` subscribers have completed their handshake with the PUB socket.
    // Returns false on timeout. A PUB drops what it sends while no one is connected.
    bool wait_for_subscribers(std::size_t count, std::chrono::milliseconds timeout);

    // Reads pending socket-monitor events (also done during every request).
    void poll_events();

    std::string pub_endpoint() const;  // as bound, port resolved
    MetricsSnapshot metrics() const;

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace zmqrpc
