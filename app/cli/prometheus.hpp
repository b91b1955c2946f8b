// `zmqrpc run --prometheus ADDR:PORT`: the runner's snapshot in the Prometheus text exposition
// format (version 0.0.4), served on GET /metrics by an HTTP server on threads of its own (cpp-
// httplib). Each scrape takes a fresh snapshot; the runtime never waits for a scrape.
//
// Families (counters end in _total): per node (labels host, node, kind), per queue (same), per
// socket (plus role, endpoint) and per link (link, from, to, endpoint). States are state sets:
// one sample per possible state, 1 for the current one.
#pragma once

#include <zmqrpc/runtime.hpp>

#include <functional>
#include <memory>
#include <string>

namespace cli {

// The exposition text of one snapshot; `topology` (optional) gives the links' from/to labels.
std::string prometheus_text(const zmqrpc::RuntimeSnapshot& snapshot,
                            const zmqrpc::Topology* topology = nullptr);

// Escapes a label value: backslash, double quote and newline (the format's three).
std::string prometheus_label_value(std::string_view value);

class PrometheusServer {
  public:
    // Listens on `address` ("HOST:PORT", "[IPv6]:PORT", "*:PORT" for every IPv4 address; port 0
    // picks a free one) and serves `body()` on GET /metrics, 404 elsewhere. Throws Failure
    // (kUsage for a malformed address, kCannotStart when it cannot listen).
    PrometheusServer(const std::string& address, std::function<std::string()> body);
    ~PrometheusServer();  // stops listening and joins the server's threads
    PrometheusServer(const PrometheusServer&) = delete;
    PrometheusServer& operator=(const PrometheusServer&) = delete;

    // "http://127.0.0.1:9464/metrics", with the port as bound.
    std::string url() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The hook of `zmqrpc run`: null when `address` is empty; prints the URL on stderr.
std::unique_ptr<PrometheusServer> start_prometheus(const std::string& address,
                                                   const zmqrpc::Runtime& runtime);

}  // namespace cli
