// Endpoint parsing and connect addresses.
#include "zmqrpc/endpoint.hpp"
#include "zmqrpc/errors.hpp"

#include <cctype>

namespace zmqrpc {

namespace {

constexpr std::string_view kTcp = "tcp://";
constexpr std::string_view kIpc = "ipc://";
constexpr std::string_view kInproc = "inproc://";

[[noreturn]] void fail(std::string_view text, std::string_view what) {
    std::string message = "invalid endpoint '";
    message += text;
    message += "': ";
    message += what;
    throw ConfigError(message);
}

bool is_host_name_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) != 0 || c == '-' || c == '.' || c == '_';
}

bool is_ipv6_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    // hex digits, ':' and '.' (IPv4-mapped), '%' and name characters for a zone id (fe80::1%eth0)
    return std::isalnum(u) != 0 || c == ':' || c == '.' || c == '%' || c == '-' || c == '_';
}

// Parses the port; 0 means "any free port" (written "*" or "0").
int parse_port(std::string_view text, std::string_view port, bool for_bind) {
    if (port.empty()) fail(text, "missing port (expected tcp://host:port)");
    if (port == "*") {
        if (!for_bind) fail(text, "port '*' (any free port) is only valid for bind");
        return 0;
    }
    long value = 0;
    for (char c : port) {
        if (c < '0' || c > '9') {
            fail(text, "port '" + std::string(port) + "' is not a number");
        }
        if (value <= 65535) value = value * 10 + (c - '0');
    }
    if (value > 65535) fail(text, "port " + std::string(port) + " out of range (1-65535)");
    if (value == 0 && !for_bind) fail(text, "port 0 (any free port) is only valid for bind");
    return static_cast<int>(value);
}

Endpoint parse_tcp(std::string_view text, std::string_view rest, bool for_bind) {
    Endpoint endpoint;
    endpoint.transport = Endpoint::Transport::Tcp;
    std::string_view host;
    std::string_view port;
    if (!rest.empty() && rest.front() == '[') {
        const std::size_t close = rest.find(']');
        if (close == std::string_view::npos) fail(text, "missing ']' after IPv6 address");
        host = rest.substr(1, close - 1);
        if (host.empty()) fail(text, "empty IPv6 address");
        for (char c : host) {
            if (!is_ipv6_char(c)) fail(text, "invalid IPv6 address '" + std::string(host) + "'");
        }
        if (host.find(':') == std::string_view::npos) {
            fail(text, "invalid IPv6 address '" + std::string(host) + "'");
        }
        const std::string_view after = rest.substr(close + 1);
        if (after.empty() || after.front() != ':') {
            fail(text, "missing port (expected tcp://[address]:port)");
        }
        port = after.substr(1);
    } else {
        const std::size_t colon = rest.rfind(':');
        if (colon == std::string_view::npos) fail(text, "missing port (expected tcp://host:port)");
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
        if (host.empty()) fail(text, "missing host (expected tcp://host:port)");
        if (host.find(':') != std::string_view::npos) {
            fail(text, "an IPv6 address must be written in brackets, e.g. tcp://[::1]:5555");
        }
        if (host == "*") {
            if (!for_bind) fail(text, "'*' host is only valid for bind");
        } else {
            for (char c : host) {
                if (!is_host_name_char(c)) fail(text, "invalid host '" + std::string(host) + "'");
            }
        }
    }
    endpoint.host = std::string(host);
    endpoint.port = parse_port(text, port, for_bind);
    return endpoint;
}

}  // namespace

std::string Endpoint::str() const {
    switch (transport) {
        case Transport::Tcp: {
            std::string out(kTcp);
            if (host.find(':') != std::string::npos) {
                out += '[';
                out += host;
                out += ']';
            } else {
                out += host;
            }
            out += ':';
            out += port == 0 ? std::string("*") : std::to_string(port);
            return out;
        }
        case Transport::Ipc:
            return std::string(kIpc) + path;
        case Transport::Inproc:
            return std::string(kInproc) + path;
    }
    return {};
}

Endpoint parse_endpoint(std::string_view text, bool for_bind) {
    if (text.starts_with(kTcp)) return parse_tcp(text, text.substr(kTcp.size()), for_bind);
    if (text.starts_with(kIpc) || text.starts_with(kInproc)) {
        const bool ipc = text.starts_with(kIpc);
        Endpoint endpoint;
        endpoint.transport = ipc ? Endpoint::Transport::Ipc : Endpoint::Transport::Inproc;
        endpoint.host.clear();
        endpoint.path = std::string(text.substr(ipc ? kIpc.size() : kInproc.size()));
        if (endpoint.path.empty()) fail(text, ipc ? "empty ipc path" : "empty inproc name");
        if (ipc && endpoint.path == "*" && !for_bind) {
            fail(text, "'*' ipc path is only valid for bind");
        }
        return endpoint;
    }
    fail(text, "expected tcp://host:port, ipc://path or inproc://name");
}

std::string connect_address(std::string_view bound, std::string_view peer_host) {
    Endpoint endpoint = parse_endpoint(bound, true);
    if (endpoint.transport != Endpoint::Transport::Tcp) return endpoint.str();
    if (endpoint.port == 0) {
        fail(bound, "no port to connect to yet (use the endpoint the bind resolved to)");
    }
    if (endpoint.host == "*" || endpoint.host == "0.0.0.0" || endpoint.host == "::" ||
        endpoint.host == "0:0:0:0:0:0:0:0") {
        if (peer_host.size() >= 2 && peer_host.front() == '[' && peer_host.back() == ']') {
            peer_host = peer_host.substr(1, peer_host.size() - 2);  // str() adds the brackets
        }
        endpoint.host = std::string(peer_host);
    }
    return endpoint.str();
}

}  // namespace zmqrpc
