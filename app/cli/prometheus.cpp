#include "prometheus.hpp"

#include "common.hpp"
#include "printable.hpp"

#include <httplib.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <iostream>
#include <map>
#include <thread>

namespace cli {

namespace {

// One label set, rendered as {a="x",b="y"}; empty values are left out (Prometheus treats an
// empty label as an absent one).
using Labels = std::vector<std::pair<const char*, std::string>>;

std::string render(const Labels& labels) {
    std::string out;
    for (const auto& [name, value] : labels) {
        if (value.empty()) continue;
        out += out.empty() ? "{" : ",";
        out += name;
        out += "=\"";
        out += prometheus_label_value(value);
        out += '"';
    }
    if (!out.empty()) out += '}';
    return out;
}

std::string number(std::uint64_t value) {
    return std::to_string(value);
}

std::string number(double value) {
    std::array<char, 32> buffer{};
    auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    if (ec != std::errc()) return "NaN";
    return std::string(buffer.data(), end);
}

std::string seconds(std::chrono::milliseconds ms) {
    return number(static_cast<double>(ms.count()) / 1000.0);
}

// The families in the order they were first written; each keeps its samples together, as the
// format requires.
class Exposition {
  public:
    void add(const std::string& name, const char* type, const char* help, const Labels& labels,
             const std::string& value) {
        auto [it, added] = index_.try_emplace(name, families_.size());
        if (added) families_.push_back({name, type, help, {}});
        families_[it->second].samples += name + render(labels) + ' ' + value + '\n';
    }
    void counter(const std::string& name, const char* help, const Labels& labels,
                 std::uint64_t value) {
        add(name, "counter", help, labels, number(value));
    }
    void gauge(const std::string& name, const char* help, const Labels& labels,
               const std::string& value) {
        add(name, "gauge", help, labels, value);
    }
    void gauge(const std::string& name, const char* help, const Labels& labels,
               std::uint64_t value) {
        add(name, "gauge", help, labels, number(value));
    }
    // A state set: one sample per state, 1 for the current one.
    template <class State, std::size_t N>
    void states(const std::string& name, const char* help, const Labels& labels,
                const std::array<State, N>& all, State current) {
        for (State s : all) {
            Labels with = labels;
            with.emplace_back("state", to_string(s));
            add(name, "gauge", help, with, s == current ? "1" : "0");
        }
    }

    std::string text() const {
        std::string out;
        for (const auto& f : families_) {
            out += "# HELP " + f.name + ' ' + f.help + '\n';
            out += "# TYPE " + f.name + ' ' + f.type + '\n';
            out += f.samples;
        }
        return out;
    }

  private:
    struct Family {
        std::string name;
        std::string type;
        std::string help;  // plain text: no backslash or newline in ours
        std::string samples;
    };
    std::vector<Family> families_;
    std::map<std::string, std::size_t> index_;
};

using zmqrpc::ConnectionState;
using zmqrpc::HeartbeatState;
using zmqrpc::NodeState;

constexpr std::array kNodeStates{NodeState::Stopped,  NodeState::Starting, NodeState::Running,
                                 NodeState::Stopping, NodeState::Failed,   NodeState::External,
                                 NodeState::Remote,   NodeState::Waiting};
constexpr std::array kConnectionStates{
    ConnectionState::Idle,           ConnectionState::Listening,
    ConnectionState::Connecting,     ConnectionState::Connected,
    ConnectionState::Disconnected,   ConnectionState::CredentialsRefused,
    ConnectionState::HandshakeFailed};
constexpr std::array kHeartbeatStates{HeartbeatState::Unmonitored, HeartbeatState::Alive,
                                      HeartbeatState::Late, HeartbeatState::Dead};

void write_node(Exposition& out, const zmqrpc::NodeStatus& node) {
    const Labels labels{{"host", node.host}, {"node", node.id}, {"kind", to_string(node.kind)}};
    out.states("zmqrpc_node_state", "State of the node (1 for the current state).", labels,
               kNodeStates, node.state);
    // Nodes of other hosts and external ones have no metrics here; those not running have
    // zeros (a restart resets the counters, which Prometheus' rate() expects).
    if (node.state == NodeState::Remote || node.state == NodeState::External) return;
    const auto& m = node.metrics;
    out.counter("zmqrpc_node_messages_in_total", "Messages received at the node's input side.",
                labels, m.messages_in);
    out.counter("zmqrpc_node_bytes_in_total", "Payload bytes received at the input side.", labels,
                m.bytes_in);
    out.counter("zmqrpc_node_messages_out_total", "Messages sent at the node's output side.",
                labels, m.messages_out);
    out.counter("zmqrpc_node_bytes_out_total", "Payload bytes sent at the output side.", labels,
                m.bytes_out);
    out.counter("zmqrpc_node_errors_total",
                "Handler exceptions, failed deliveries and refused input.", labels, m.errors);
    out.counter("zmqrpc_node_bad_messages_total", "Invalid input refused with a status.", labels,
                m.bad_messages);
    out.counter("zmqrpc_node_requests_failed_total",
                "REQ timeouts, refusals and unreachable peers.", labels, m.requests_failed);
    out.gauge("zmqrpc_node_rate_in", "Messages per second at the input side over the last second.",
              labels, number(node.rate_in));
    out.gauge("zmqrpc_node_rate_out",
              "Messages per second at the output side over the last second.", labels,
              number(node.rate_out));

    if (m.has_queue) {
        const auto& q = m.queue;
        out.gauge("zmqrpc_queue_capacity", "Messages the queue holds at most.", labels, q.capacity);
        out.gauge("zmqrpc_queue_fill", "Messages queued now (in flight included).", labels, q.fill);
        out.gauge("zmqrpc_queue_fill_bytes", "Payload bytes queued now.", labels, q.fill_bytes);
        out.gauge("zmqrpc_queue_high_water", "Largest fill seen.", labels, q.high_water);
        out.gauge("zmqrpc_queue_in_flight", "Messages sent downstream whose reply is awaited.",
                  labels, q.in_flight);
        out.gauge("zmqrpc_queue_window", "Requests in flight allowed per endpoint.", labels,
                  q.window);
        out.gauge("zmqrpc_queue_durable", "1 when the queue is a store on disk (--store).", labels,
                  std::uint64_t{q.durable ? 1u : 0u});
        out.gauge("zmqrpc_queue_store_limit_bytes", "Byte limit of the durable store (0: none).",
                  labels, q.store_limit_bytes);
        out.counter("zmqrpc_queue_received_total", "Messages offered to the queue.", labels,
                    q.received);
        out.counter("zmqrpc_queue_delivered_total", "Messages handed to the output successfully.",
                    labels, q.delivered);
        out.counter("zmqrpc_queue_dropped_total",
                    "Messages refused (queue full) or given up (delivery failed).", labels,
                    q.dropped);
        out.counter("zmqrpc_queue_recovered_total", "Messages found in the durable store at start.",
                    labels, q.recovered);
        out.counter("zmqrpc_queue_redelivered_total", "Sends of a message sent before.", labels,
                    q.redelivered);
        out.counter("zmqrpc_queue_stale_replies_total",
                    "Replies whose request was no longer in flight (discarded).", labels,
                    q.stale_replies);
    }

    for (const auto& s : m.sockets) {
        Labels sl = labels;
        sl.emplace_back("role", s.role);
        sl.emplace_back("endpoint", s.endpoint);
        out.states("zmqrpc_socket_connection_state",
                   "Connection state of the socket (1 for the current state).", sl,
                   kConnectionStates, s.connection);
        out.gauge("zmqrpc_socket_peers", "Handshaken peers now.", sl, s.peers);
        out.counter("zmqrpc_socket_messages_in_total", "Messages the socket received.", sl,
                    s.messages_in);
        out.counter("zmqrpc_socket_bytes_in_total", "Bytes the socket received.", sl, s.bytes_in);
        out.counter("zmqrpc_socket_messages_out_total", "Messages the socket sent.", sl,
                    s.messages_out);
        out.counter("zmqrpc_socket_bytes_out_total", "Bytes the socket sent.", sl, s.bytes_out);
        out.counter("zmqrpc_socket_heartbeats_in_total", "Heartbeats the socket received.", sl,
                    s.heartbeats_in);
        out.counter("zmqrpc_socket_heartbeats_out_total", "Heartbeats the socket sent.", sl,
                    s.heartbeats_out);
        out.counter("zmqrpc_socket_connects_total", "Peers that connected.", sl, s.connects);
        out.counter("zmqrpc_socket_disconnects_total", "Peers that disconnected.", sl,
                    s.disconnects);
        out.counter("zmqrpc_socket_connect_retries_total",
                    "Failed connection attempts (peer absent, refused).", sl, s.connect_retries);
        out.counter("zmqrpc_socket_credentials_refused_total",
                    "Handshakes that failed on credentials.", sl, s.credentials_refused);
        out.counter("zmqrpc_socket_handshake_failures_total",
                    "Handshakes that failed for another reason.", sl, s.handshake_failures);
        out.counter("zmqrpc_socket_recreations_total",
                    "Times the socket was destroyed and rebuilt.", sl, s.recreates);
        out.counter("zmqrpc_socket_errors_total", "Errors on the socket.", sl, s.errors);
        out.states("zmqrpc_socket_heartbeat_state",
                   "Heartbeat health of a SUB socket (1 for the current state).", sl,
                   kHeartbeatStates, s.heartbeat);
        out.gauge("zmqrpc_socket_heartbeat_timeout_seconds",
                  "Silence after which the SUB socket is recreated (0: not supervised).", sl,
                  seconds(s.heartbeat_timeout));
        out.gauge("zmqrpc_socket_last_message_age_seconds",
                  "Time since the last message or heartbeat (since creation when none).", sl,
                  seconds(s.last_message_age));
    }
}

void write_link(Exposition& out, const zmqrpc::LinkStatus& link, const std::string& host,
                const zmqrpc::Link* topology_link) {
    Labels labels{{"host", host}, {"link", link.id}};
    if (topology_link) {
        labels.emplace_back("from", topology_link->from.node);
        labels.emplace_back("to", topology_link->to.node);
    }
    labels.emplace_back("endpoint", link.endpoint);
    out.gauge("zmqrpc_link_active", "1 when the link's connecting node runs here.", labels,
              std::uint64_t{link.active ? 1u : 0u});
    if (!link.active) return;
    out.states("zmqrpc_link_connection_state",
               "Connection state of the link's connecting socket (1 for the current state).",
               labels, kConnectionStates, link.connection);
    out.states("zmqrpc_link_heartbeat_state",
               "Heartbeat health of a supervised link (1 for the current state).", labels,
               kHeartbeatStates, link.heartbeat);
    out.gauge("zmqrpc_link_heard", "1 once the link has carried a message or heartbeat.", labels,
              std::uint64_t{link.ever_heard ? 1u : 0u});
    out.gauge("zmqrpc_link_last_message_age_seconds", "Time since the link's last message.", labels,
              seconds(link.last_message_age));
    out.counter("zmqrpc_link_messages_total",
                "Messages the connecting socket received (SUB) or sent (REQ).", labels,
                link.messages);
    out.counter("zmqrpc_link_recreations_total", "Times the connecting socket was rebuilt.", labels,
                link.recreates);
    out.counter("zmqrpc_link_connect_retries_total", "Failed connection attempts.", labels,
                link.connect_retries);
}

// "HOST:PORT" -> host, port. Throws Failure{kUsage}.
std::pair<std::string, int> parse_address(const std::string& address) {
    auto bad = [&](const std::string& why) {
        return Failure{kUsage, "--prometheus: '" + printable(address) + "' " + why +
                                   " (expected HOST:PORT, e.g. 127.0.0.1:9464, [::1]:9464 or "
                                   "*:9464)"};
    };
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) throw bad("has no port");
    std::string host = address.substr(0, colon);
    const std::string port_text = address.substr(colon + 1);
    int port = -1;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
        port < 0 || port > 65535) {
        throw bad("has no valid port (0-65535)");
    }
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string::npos) {
        throw bad("names an IPv6 address without brackets");
    }
    if (host == "*") host = "0.0.0.0";
    if (host.empty()) throw bad("has no host");
    return {host, port};
}

}  // namespace

std::string prometheus_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string prometheus_text(const zmqrpc::RuntimeSnapshot& snapshot,
                            const zmqrpc::Topology* topology) {
    Exposition out;
    for (const auto& node : snapshot.nodes)
        write_node(out, node);
    for (const auto& link : snapshot.links)
        write_link(out, link, snapshot.host, topology ? topology->find_link(link.id) : nullptr);
    return out.text();
}

struct PrometheusServer::Impl {
    httplib::Server server;
    std::string host;
    int port = 0;
    std::thread thread;
};

PrometheusServer::PrometheusServer(const std::string& address, std::function<std::string()> body)
    : impl_(std::make_unique<Impl>()) {
    auto [host, port] = parse_address(address);
    impl_->host = host;
    auto& server = impl_->server;
    // Two workers are plenty for a scraper or two. One request per connection and short
    // timeouts: a stop never waits long for an idle client.
    server.new_task_queue = [] { return new httplib::ThreadPool(2); };
    server.set_keep_alive_max_count(1);
    server.set_keep_alive_timeout(1);
    server.set_read_timeout(2, 0);
    server.set_write_timeout(2, 0);
    server.Get("/metrics", [body](const httplib::Request&, httplib::Response& response) {
        try {
            response.set_content(body(), "text/plain; version=0.0.4; charset=utf-8");
        } catch (const std::exception& e) {
            response.status = 500;
            response.set_content(std::string("snapshot failed: ") + e.what() + "\n",
                                 "text/plain; charset=utf-8");
        }
    });
    errno = 0;
    bool bound = false;
    if (port == 0) {
        const int chosen = server.bind_to_any_port(host);
        bound = chosen > 0;
        if (bound) port = chosen;
    } else {
        bound = server.bind_to_port(host, port);
    }
    if (!bound) {
        const int error = errno;
        throw Failure{kCannotStart, "--prometheus: cannot listen on " + printable(address) +
                                        (error ? std::string(": ") + std::strerror(error)
                                               : std::string(": address in use or not local"))};
    }
    impl_->port = port;
    impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
}

PrometheusServer::~PrometheusServer() {
    // stop() only acts on a running server: wait (briefly) until the thread got there.
    for (int i = 0; i < 2000 && !impl_->server.is_running(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    impl_->server.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

std::string PrometheusServer::url() const {
    const bool v6 = impl_->host.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + impl_->host + "]" : impl_->host) + ":" +
           std::to_string(impl_->port) + "/metrics";
}

std::unique_ptr<PrometheusServer> start_prometheus(const std::string& address,
                                                   const zmqrpc::Runtime& runtime) {
    if (address.empty()) return nullptr;
    auto server = std::make_unique<PrometheusServer>(address, [&runtime] {
        const auto topology = runtime.topology();
        return prometheus_text(runtime.snapshot(), &topology);
    });
    std::cerr << "zmqrpc run: prometheus metrics on " << server->url() << std::endl;
    return server;
}

}  // namespace cli
