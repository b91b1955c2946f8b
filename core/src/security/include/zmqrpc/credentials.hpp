// PLAIN username/password. The binding side (REP, PUB) checks them through the Context's ZAP
// handler; the connecting side (REQ, SUB) presents them. The password is never formatted into
// any message, event or log by the library.
#pragma once

#include <string>

namespace zmqrpc {

struct Credentials {
    std::string username;
    std::string password;
    // Both empty means "no credentials" (NULL mechanism, like pyzmqrpc without username).
    bool empty() const noexcept { return username.empty() && password.empty(); }
    // "user 'name'" or "no credentials"; never the password.
    std::string describe() const;
};

}  // namespace zmqrpc
