// ZeroMQ endpoint strings: parsing with clear errors, and the connect address that matches a
// bind address. Pure functions, safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace zmqrpc {

struct Endpoint {
    enum class Transport { Tcp, Ipc, Inproc };
    Transport transport = Transport::Tcp;
    std::string host;  // tcp: host name, IPv4, [IPv6] without brackets, or "*" (bind only)
    int port = 0;      // tcp: 0 means "any free port" (written "*" or "0"), bind only
    std::string path;  // ipc: file path; inproc: name
    std::string str() const;
};

// Parses "tcp://host:port", "ipc://path", "inproc://name". With for_bind, "*" host and "*"/0 port
// are allowed. Throws ConfigError naming the endpoint and what is wrong with it.
Endpoint parse_endpoint(std::string_view text, bool for_bind);

// The address a peer on `peer_host` connects to for a socket bound at `bound` (as reported by
// libzmq, e.g. "tcp://0.0.0.0:5555"): wildcard hosts are replaced by peer_host.
std::string connect_address(std::string_view bound, std::string_view peer_host = "127.0.0.1");

}  // namespace zmqrpc
