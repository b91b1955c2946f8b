// RPC client (pyzmqrpc ZmqRpcClient): invokes functions over REQ (with a response) or PUB
// (fire-and-forget). Owned by one thread, like Sender.
#pragma once

#include "zmqrpc/protocol.hpp"
#include "zmqrpc/sender.hpp"

#include <chrono>

namespace zmqrpc {

// How long a call that a person waits for (`zmqrpc call`, the Studio's console) waits for its
// reply by default: a person wants to hear of a dead server sooner than pyzmqrpc's 600 s.
inline constexpr std::chrono::milliseconds kInteractiveCallTimeout = std::chrono::seconds(10);

struct RpcClientOptions : SenderOptions {
    RpcClientOptions() { req_timeout = 600s; }  // pyzmqrpc's invoke default
};

class RpcClient {
  public:
    explicit RpcClient(RpcClientOptions options);

    // Over REQ when configured: returns response_message (null when absent) or throws RpcError
    // (Timeout, Unreachable, CredentialsRefused, Status with the server's code and text,
    // Protocol). Over PUB only: publishes and returns null.
    json invoke(std::string_view function, const json& parameters = json::object());
    json invoke(std::string_view function, const json& parameters,
                std::chrono::milliseconds timeout);

    // Fire-and-forget over PUB, even when REQ is configured too.
    void publish(std::string_view function, const json& parameters = json::object());

    void send_heartbeat(bool over_req = false) { sender_.send_heartbeat(over_req); }
    Sender& sender() noexcept { return sender_; }
    MetricsSnapshot metrics() const { return sender_.metrics(); }

  private:
    Sender sender_;
};

}  // namespace zmqrpc
