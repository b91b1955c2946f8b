// The five message proxies (pyzmqrpc ZmqProxy*Thread). Each is an actor: input stage -> bounded
// queue -> output stage on one thread that owns all its sockets.
//
//   kind             input            output        reply on input
//   Sub2Req          SUB connects     REQ connects  none; downstream reply discarded, non-200
//                                                   counted as errors; on timeout the socket is
//                                                   recreated and the message retried (queued
//                                                   input keeps flowing in meanwhile)
//   Sub2Pub          SUB connects     PUB bind      none; heartbeats are passed on too
//   Rep2Pub          REP bind         PUB bind      200 OK once published
//   Rep2Req          REP bind         REQ connects  the downstream reply, unchanged; 482 with the
//                                                   reason when it cannot be delivered
//   BufferedRep2Req  REP bind         REQ connects  200 OK on acceptance; delivered in order,
//                                                   retried until the downstream answers
//
// The REP input accepts many clients at once (a ROUTER underneath, identical on the wire), so
// requests from several clients really queue. When the queue is full, new input is dropped and
// counted (REP inputs answer 482 "queue full"). For every queue:
// delivered + dropped + queued == received.
//
// Stopping loses queued messages of a buffered proxy; the Stopped event says how many.
#pragma once

#include "zmqrpc/metrics.hpp"
#include "zmqrpc/options.hpp"

#include <cstddef>
#include <memory>
#include <string>

namespace zmqrpc {

enum class ProxyKind { Sub2Req, Sub2Pub, Rep2Pub, Rep2Req, BufferedRep2Req };
const char* to_string(ProxyKind kind) noexcept;  // "sub2req", ...
// Parses "sub2req", "sub2pub", "rep2pub", "rep2req", "buffered-rep2req"; throws ConfigError.
ProxyKind proxy_kind_from_string(std::string_view text);

struct ProxyOptions : CommonOptions {
    InputOptions input;    // rep_bind for Rep*, sub_connect for Sub*
    OutputOptions output;  // pub_bind for *2Pub, req_connect for *2Req
    std::size_t queue_capacity = 100000;
    // Sub2Req / BufferedRep2Req: pause between retries of an undeliverable message.
    std::chrono::milliseconds retry_interval = 100ms;
};

class Proxy {
  public:
    Proxy(ProxyKind kind, ProxyOptions options);  // checks that the right sides are configured
    ~Proxy();
    Proxy(const Proxy&) = delete;
    Proxy& operator=(const Proxy&) = delete;

    void start();  // throws ConfigError
    void stop();   // returns within 200 ms
    void join();
    bool running() const;

    ProxyKind kind() const noexcept;
    std::string input_endpoint() const;   // REP as bound (Rep* kinds)
    std::string output_endpoint() const;  // PUB as bound (*2Pub kinds)
    MetricsSnapshot metrics() const;

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace zmqrpc
