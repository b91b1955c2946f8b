// The ZeroMQ context shared by components, and the ZAP handler that checks PLAIN credentials
// for every binding socket of this context. libzmq allows one ZAP handler per context, so it is
// owned here: each binding socket with credentials gets its own ZAP domain, and the handler
// answers each domain with that socket's username/password. Thread-safe.
#pragma once

#include "zmqrpc/credentials.hpp"

#include <memory>
#include <string>

namespace zmqrpc {

class Context {
  public:
    Context();
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    // The process-wide context used when a component is given none.
    static std::shared_ptr<Context> shared_default();

    // The underlying zmq::context_t, as void* to keep libzmq out of public headers.
    void* native() noexcept;

    // Registers credentials for a new ZAP domain and returns the domain name. Starts the ZAP
    // handler on first use. A PLAIN client with other credentials is refused (status 400).
    std::string register_plain_domain(const Credentials& credentials);
    void unregister_domain(const std::string& domain);

    // Number of PLAIN attempts the ZAP handler refused, over all domains.
    std::uint64_t refused_count() const noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace zmqrpc
