// Receiver (pyzmqrpc ZmqReceiver / ZmqReceiverThread): listens on a REP bind and/or SUB connects
// and hands each message to a handler. An actor: start() returns once its thread has bound and
// connected everything (or throws ConfigError), stop() returns within 200 ms.
//
// Heartbeats never reach the handler; REP answers them with 200 OK. Each SUB endpoint with a
// heartbeat timeout is destroyed and recreated when nothing arrived on it for that long (exact
// to the millisecond, not once per poll). Multipart or non-UTF-8 input is refused (400 on REP).
#pragma once

#include "zmqrpc/metrics.hpp"
#include "zmqrpc/options.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace zmqrpc {

enum class Origin { Rep, Sub };

// Called on the receiver's thread for every valid (single-frame, UTF-8) non-heartbeat message.
// For REP the returned string is the reply; for SUB it is ignored. A handler that throws gets
// a 463-style reply on REP and an Error event; the receiver keeps running.
using MessageHandler = std::function<std::string(std::string_view message, Origin origin)>;

// Sees every single-frame message arriving on a SUB endpoint, heartbeats included, before any
// filtering (for taps and snoopers; RPC handlers never see heartbeats). Receiver thread.
using TapFunction =
    std::function<void(const std::string& endpoint, std::string_view message, bool heartbeat)>;

struct ReceiverOptions : CommonOptions, InputOptions {
    TapFunction tap;  // optional
};

class Receiver {
  public:
    Receiver(ReceiverOptions options, MessageHandler handler);
    ~Receiver();  // stops
    Receiver(const Receiver&) = delete;
    Receiver& operator=(const Receiver&) = delete;

    void start();  // throws ConfigError (bad endpoint, address in use, ...)
    void stop();   // idempotent, returns within 200 ms
    void join();   // waits until the thread ends (after stop())
    bool running() const;

    // The REP endpoint as bound (port 0 / "*" resolved), empty if none. Valid after start().
    std::string rep_endpoint() const;
    MetricsSnapshot metrics() const;

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace zmqrpc
