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
// The REQ outputs ("REQ connects") are one pipeline per endpoint with up to `window` requests in
// flight (a DEALER sending what a REQ sends behind an id envelope; core/src/proxy/pipeline.hpp);
// Sub2Req and BufferedRep2Req deliver at least once. With `store`, their queue is an SQLite file
// (core/src/proxy/sqlite_queue.hpp) that survives a restart; without, stopping loses the queued
// messages, and the Stopped event says how many.
#pragma once

#include "zmqrpc/metrics.hpp"
#include "zmqrpc/options.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace zmqrpc {

enum class ProxyKind { Sub2Req, Sub2Pub, Rep2Pub, Rep2Req, BufferedRep2Req };
const char* to_string(ProxyKind kind) noexcept;  // "sub2req", ...
// Parses "sub2req", "sub2pub", "rep2pub", "rep2req", "buffered-rep2req"; throws ConfigError.
ProxyKind proxy_kind_from_string(std::string_view text);

// When a durable store's writes reach the disk (`--fsync`). Every committed message survives a
// kill of the process whichever is chosen: the kernel has it. They differ on a power cut.
enum class StoreSync {
    Always,    // fsync at every commit: a power cut loses nothing that was accepted
    Interval,  // fsync at most every sync interval: a power cut loses up to that much
    Off,       // never: the kernel writes when it likes; a power cut can lose or damage the file
};
const char* to_string(StoreSync sync) noexcept;           // "always", "interval", "off"
StoreSync store_sync_from_string(std::string_view text);  // throws ConfigError

// The default window: see README "Pipelined delivery" for the measurement behind it.
inline constexpr std::size_t kDefaultWindow = 1000;

struct ProxyOptions : CommonOptions {
    InputOptions input;    // rep_bind for Rep*, sub_connect for Sub*
    OutputOptions output;  // pub_bind for *2Pub, req_connect for *2Req
    std::size_t queue_capacity = 100000;
    // Sub2Req / BufferedRep2Req: pause between retries of an undeliverable message.
    std::chrono::milliseconds retry_interval = 100ms;
    // Sub2Req, Rep2Req, BufferedRep2Req: requests in flight per output endpoint (`--window`).
    // 1 is pyzmqrpc's behaviour: the next request goes out after the reply to the last one.
    std::size_t window = kDefaultWindow;
    // Sub2Req, BufferedRep2Req: keep the queue in this SQLite file (`--store`); empty: in RAM.
    std::string store;
    // The store's limit on payload bytes; 0: none (the queue_capacity in messages still holds).
    std::uint64_t store_max_bytes = std::uint64_t{1} << 30;
    StoreSync store_sync = StoreSync::Interval;
    std::chrono::milliseconds store_sync_interval = 1000ms;
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
