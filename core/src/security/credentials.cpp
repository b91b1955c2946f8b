// Credentials: what a log line may say about them.
#include "zmqrpc/credentials.hpp"

namespace zmqrpc {

std::string Credentials::describe() const {
    if (empty()) return "no credentials";
    return "user '" + username + "'";
}

}  // namespace zmqrpc
