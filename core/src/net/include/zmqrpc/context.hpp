// The ZeroMQ context shared by components, and the ZAP handler that checks PLAIN credentials
// and CURVE client keys for every binding socket of this context. libzmq allows one ZAP handler
// per context, so it is owned here: each binding socket with security gets its own ZAP domain,
// and the handler answers each domain by that socket's policy: its username/password, or which
// client keys may connect (any that holds the server key, or those of an authorized_keys file,
// read again at every handshake). Thread-safe.
#pragma once

#include "zmqrpc/security.hpp"

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

    // Registers a binding side's security for a new ZAP domain and returns the domain name.
    // Starts the ZAP handler on first use. A PLAIN client with other credentials, and a CURVE
    // client whose key the policy does not allow, are refused (status 400).
    std::string register_domain(const Security& security);
    void unregister_domain(const std::string& domain);
    // Why the domain's last refused handshake was refused ("client key ... is not in ...").
    std::string last_refusal(const std::string& domain) const;

    // Number of PLAIN and CURVE attempts the ZAP handler refused, over all domains.
    std::uint64_t refused_count() const noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace zmqrpc
