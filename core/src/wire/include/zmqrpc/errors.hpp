// Exceptions thrown by libzmqrpc. Every error text is meant for a human and never contains a
// password.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace zmqrpc {

// Base of every exception the library throws.
class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Bad configuration: an endpoint that does not parse, an address already in use, a missing
// socket for the operation asked for. Thrown by constructors and start().
class ConfigError : public Error {
  public:
    using Error::Error;
};

// A failed remote call. kind() says which of the failure classes the issue asks us to tell apart.
class RpcError : public Error {
  public:
    enum class Kind {
        Timeout,             // nothing answered within the timeout (peer connected, but silent)
        Unreachable,         // no connection could be made to any endpoint within the timeout
        CredentialsRefused,  // the server refused our username/password (or we sent none)
        Status,              // the server answered with a non-200 status_code
        Protocol,            // the reply is not a pyzmqrpc response (no status_code, not JSON)
    };
    RpcError(Kind kind, std::string what, int status_code = 0, std::string status_message = {})
        : Error(std::move(what)),
          kind_(kind),
          status_code_(status_code),
          status_message_(std::move(status_message)) {}
    Kind kind() const noexcept { return kind_; }
    // For Kind::Status: the server's status_code and status_message, verbatim.
    int status_code() const noexcept { return status_code_; }
    const std::string& status_message() const noexcept { return status_message_; }

  private:
    Kind kind_;
    int status_code_;
    std::string status_message_;
};

const char* to_string(RpcError::Kind kind) noexcept;

}  // namespace zmqrpc
