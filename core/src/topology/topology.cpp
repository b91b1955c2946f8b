// The topology model: kinds, ports and property specs, and the Topology document with its checked
// mutations. The file format lives in topology_format.cpp, validation in topology_validate.cpp.
#include "zmqrpc/topology.hpp"
#include "zmqrpc/endpoint.hpp"
#include "zmqrpc/options.hpp"
#include "zmqrpc/proxy.hpp"

#include "topology_internal.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace zmqrpc {

// Files (topologies, credentials) are nlohmann::json, members sorted by key; zmqrpc::json is
// the ordered type of messages.
using njson = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Kinds

const char* to_string(NodeKind kind) noexcept {
    switch (kind) {
        case NodeKind::Sampler:
            return "sampler";
        case NodeKind::RpcServer:
            return "rpc-server";
        case NodeKind::Sub2Req:
            return "sub2req";
        case NodeKind::Sub2Pub:
            return "sub2pub";
        case NodeKind::Rep2Pub:
            return "rep2pub";
        case NodeKind::Rep2Req:
            return "rep2req";
        case NodeKind::BufferedRep2Req:
            return "buffered-rep2req";
        case NodeKind::Tap:
            return "tap";
        case NodeKind::External:
            return "external";
    }
    return "?";
}

std::optional<NodeKind> node_kind_from_string(std::string_view text) noexcept {
    for (NodeKind kind : all_node_kinds()) {
        if (text == to_string(kind)) return kind;
    }
    return std::nullopt;
}

const char* display_name(NodeKind kind) noexcept {
    switch (kind) {
        case NodeKind::Sampler:
            return "Sampler";
        case NodeKind::RpcServer:
            return "RPC server";
        case NodeKind::Sub2Req:
            return "Sub2Req proxy";
        case NodeKind::Sub2Pub:
            return "Sub2Pub proxy";
        case NodeKind::Rep2Pub:
            return "Rep2Pub proxy";
        case NodeKind::Rep2Req:
            return "Rep2Req proxy";
        case NodeKind::BufferedRep2Req:
            return "Buffered Rep2Req proxy";
        case NodeKind::Tap:
            return "Tap";
        case NodeKind::External:
            return "External endpoint";
    }
    return "?";
}

const char* description(NodeKind kind) noexcept {
    switch (kind) {
        case NodeKind::Sampler:
            return "Publishes synthetic invocations at a set rate on a bound PUB, with heartbeats";
        case NodeKind::RpcServer:
            return "Serves the diagnostic functions to REQ clients and/or subscribed publishers";
        case NodeKind::Sub2Req:
            return "Subscribes to publishers and forwards each message as a request (site to "
                   "cloud bridge)";
        case NodeKind::Sub2Pub:
            return "Subscribes to publishers and republishes every message on its own PUB";
        case NodeKind::Rep2Pub:
            return "Answers requests with 200 OK once it has published them on its PUB";
        case NodeKind::Rep2Req:
            return "Forwards requests downstream and answers with the downstream reply";
        case NodeKind::BufferedRep2Req:
            return "Accepts requests at once (200 OK), queues them and delivers them downstream "
                   "in order, retrying";
        case NodeKind::Tap:
            return "Subscribes to a publisher, counts and keeps its last messages, watches its "
                   "heartbeats";
        case NodeKind::External:
            return "A PUB or REP endpoint run elsewhere: referenced and monitored, never launched";
    }
    return "?";
}

const std::vector<NodeKind>& all_node_kinds() {
    static const std::vector<NodeKind> kinds = {
        NodeKind::Sampler,         NodeKind::RpcServer, NodeKind::Sub2Req,
        NodeKind::Sub2Pub,         NodeKind::Rep2Pub,   NodeKind::Rep2Req,
        NodeKind::BufferedRep2Req, NodeKind::Tap,       NodeKind::External,
    };
    return kinds;
}

bool is_proxy(NodeKind kind) noexcept {
    switch (kind) {
        case NodeKind::Sub2Req:
        case NodeKind::Sub2Pub:
        case NodeKind::Rep2Pub:
        case NodeKind::Rep2Req:
        case NodeKind::BufferedRep2Req:
            return true;
        default:
            return false;
    }
}

const char* to_string(SocketType type) noexcept {
    switch (type) {
        case SocketType::Pub:
            return "PUB";
        case SocketType::Sub:
            return "SUB";
        case SocketType::Req:
            return "REQ";
        case SocketType::Rep:
            return "REP";
    }
    return "?";
}

const char* to_string(PropertyType type) noexcept {
    switch (type) {
        case PropertyType::String:
            return "string";
        case PropertyType::Endpoint:
            return "endpoint";
        case PropertyType::Integer:
            return "integer";
        case PropertyType::Number:
            return "number";
        case PropertyType::Seconds:
            return "seconds";
        case PropertyType::Boolean:
            return "boolean";
        case PropertyType::Choice:
            return "choice";
        case PropertyType::JsonObject:
            return "object";
        case PropertyType::Security:
            return "security";
    }
    return "?";
}

// ---------------------------------------------------------------------------------------------
// Property specs

namespace {

PropertySpec spec(std::string key, PropertyType type, std::string label, std::string help,
                  bool required = false, njson default_value = nullptr, double minimum = 0,
                  double maximum = 0) {
    PropertySpec s;
    s.key = std::move(key);
    s.type = type;
    s.label = std::move(label);
    s.help = std::move(help);
    s.required = required;
    s.default_value = std::move(default_value);
    s.minimum = minimum;
    s.maximum = maximum;
    return s;
}

// Defaults the library's options already have come from those options, so that a node in a
// topology and a component built in code behave the same when nothing is set.
// Whole seconds as an integer (60, as a person writes it), others as a real (0.1).
njson seconds_of(std::chrono::milliseconds duration) {
    if (duration.count() % 1000 == 0) return njson(duration.count() / 1000);
    return njson(static_cast<double>(duration.count()) / 1000.0);
}
const ProxyOptions kProxyDefaults{};

PropertySpec endpoint_spec(std::string key, std::string label, std::string help,
                           bool required = true) {
    return spec(std::move(key), PropertyType::Endpoint, std::move(label), std::move(help),
                required);
}

PropertySpec credentials_spec(std::string key, std::string label, std::string help) {
    return spec(std::move(key), PropertyType::Security, std::move(label), std::move(help));
}

PropertySpec input_credentials() {
    return credentials_spec("input_credentials", "Input security",
                            "SUB input: what it presents to publishers; REP input: what clients "
                            "must present");
}
PropertySpec output_credentials() {
    return credentials_spec("output_credentials", "Output security",
                            "REQ output: what it presents downstream; PUB output: what "
                            "subscribers must present");
}
PropertySpec queue_capacity() {
    return spec("queue_capacity", PropertyType::Integer, "Queue capacity",
                "messages held between input and output; more are dropped and counted", false,
                kProxyDefaults.queue_capacity, 1, 100000000);
}
PropertySpec req_timeout() {
    return spec("req_timeout", PropertyType::Seconds, "Request timeout",
                "seconds to wait for the downstream reply before the REQ socket is recreated",
                false, seconds_of(kProxyDefaults.output.req_timeout), 0.001, 86400);
}
PropertySpec retry_interval() {
    return spec("retry_interval", PropertyType::Seconds, "Retry interval",
                "pause between retries of an undeliverable message", false,
                seconds_of(kProxyDefaults.retry_interval), 0.001, 3600);
}
PropertySpec window() {
    return spec("window", PropertyType::Integer, "Window",
                "requests in flight per downstream endpoint; 1: the next one waits for the "
                "reply, as pyzmqrpc does",
                false, static_cast<std::int64_t>(kProxyDefaults.window), 1, 100000);
}
PropertySpec store() {
    return spec("store", PropertyType::String, "Store",
                "keep the queue in this SQLite file, so that a restart loses nothing; empty: "
                "in memory",
                false, "");
}
PropertySpec store_max_bytes() {
    return spec("store_max_bytes", PropertyType::Integer, "Store limit (bytes)",
                "payload bytes the store may hold; further input is refused and counted; 0: no "
                "limit",
                false, static_cast<std::int64_t>(kProxyDefaults.store_max_bytes), 0,
                static_cast<double>(std::int64_t{1} << 50));
}
PropertySpec fsync() {
    PropertySpec s = spec("fsync", PropertyType::Choice, "Fsync",
                          "when the store's writes reach the disk: always (every commit), "
                          "interval (every second), off",
                          false, to_string(kProxyDefaults.store_sync));
    s.choices = {"always", "interval", "off"};
    return s;
}
PropertySpec proxy_heartbeat_interval() {
    return spec("heartbeat_interval", PropertyType::Seconds, "Heartbeat interval",
                "own heartbeats on the PUB; upstream heartbeats are passed on anyway", false,
                seconds_of(kProxyDefaults.output.pub_heartbeat_interval), 0, 3600);
}
PropertySpec hwm() {
    return spec("hwm", PropertyType::Integer, "High-water mark",
                "messages the PUB socket buffers per subscriber", false,
                kProxyDefaults.output.pub_hwm, 1, 10000000);
}
PropertySpec rep_bind() {
    return endpoint_spec("rep_bind", "REP bind endpoint",
                         "where the REP input binds, e.g. tcp://*:5610");
}
PropertySpec pub_bind() {
    return endpoint_spec("pub_bind", "PUB bind endpoint",
                         "where the PUB output binds, e.g. tcp://*:5611");
}

std::vector<PropertySpec> make_specs(NodeKind kind) {
    switch (kind) {
        case NodeKind::Sampler: {
            PropertySpec function =
                spec("function", PropertyType::String, "Function",
                     "the remote function each invocation calls", false, "store_sample");
            return {
                endpoint_spec("bind", "Bind endpoint", "where its PUB binds, e.g. tcp://*:5601"),
                function,
                spec("parameters", PropertyType::JsonObject, "Parameters",
                     "parameters of each invocation; ${node}, ${seq}, ${time} and ${value} are "
                     "filled in",
                     false,
                     njson{{"sensor", "${node}"},
                           {"seq", "${seq}"},
                           {"time", "${time}"},
                           {"value", "${value}"}}),
                spec("rate", PropertyType::Number, "Rate", "invocations per second", false, 1,
                     0.001, 1000000),
                spec("heartbeat_interval", PropertyType::Seconds, "Heartbeat interval",
                     "0: no heartbeats", false, 1, 0, 3600),
                credentials_spec("credentials", "Security", "what subscribers must present"),
                hwm(),
            };
        }
        case NodeKind::RpcServer:
            return {
                endpoint_spec("rep_bind", "REP bind endpoint",
                              "where its REP binds for clients; empty: SUB input only", false),
                credentials_spec("credentials", "Security",
                                 "REP: what clients must present; SUB: what this server "
                                 "presents to publishers"),
            };
        case NodeKind::Sub2Req:
            return {input_credentials(),
                    output_credentials(),
                    queue_capacity(),
                    req_timeout(),
                    retry_interval(),
                    window(),
                    store(),
                    store_max_bytes(),
                    fsync()};
        case NodeKind::Sub2Pub:
            return {pub_bind(),       input_credentials(),        output_credentials(),
                    queue_capacity(), proxy_heartbeat_interval(), hwm()};
        case NodeKind::Rep2Pub:
            return {rep_bind(),
                    pub_bind(),
                    input_credentials(),
                    output_credentials(),
                    queue_capacity(),
                    proxy_heartbeat_interval(),
                    hwm()};
        case NodeKind::Rep2Req:
            return {rep_bind(),       input_credentials(), output_credentials(),
                    queue_capacity(), req_timeout(),       window()};
        case NodeKind::BufferedRep2Req:
            return {rep_bind(),
                    input_credentials(),
                    output_credentials(),
                    queue_capacity(),
                    req_timeout(),
                    retry_interval(),
                    window(),
                    store(),
                    store_max_bytes(),
                    fsync()};
        case NodeKind::Tap:
            return {
                spec("keep", PropertyType::Integer, "Messages kept", "messages kept for viewing",
                     false, 100, 1, 100000),
                credentials_spec("credentials", "Security", "what it presents to the publisher"),
            };
        case NodeKind::External: {
            PropertySpec socket = spec("socket", PropertyType::Choice, "Socket",
                                       "the socket it binds: pub or rep", true, "pub");
            socket.choices = {"pub", "rep"};
            return {
                socket,
                endpoint_spec("endpoint", "Endpoint",
                              "where it is bound, as seen on its host: tcp://*:5555 or "
                              "tcp://10.0.0.7:5555"),
                spec("heartbeat_interval", PropertyType::Seconds, "Heartbeat interval",
                     "how often it sends heartbeats; 0: none or unknown", false, 0, 0, 3600),
                credentials_spec("credentials", "Security", "what it requires"),
            };
        }
    }
    return {};
}

PortSpec port(std::string name, SocketType socket, std::string endpoint_property = {}) {
    PortSpec p;
    p.name = std::move(name);
    p.socket = socket;
    p.output = socket == SocketType::Pub || socket == SocketType::Req;
    p.binds = !endpoint_property.empty();
    p.endpoint_property = std::move(endpoint_property);
    return p;
}

}  // namespace

const std::vector<PropertySpec>& property_specs(NodeKind kind) {
    static const std::vector<std::vector<PropertySpec>> specs = [] {
        std::vector<std::vector<PropertySpec>> all;
        for (NodeKind k : all_node_kinds())
            all.push_back(make_specs(k));
        return all;
    }();
    return specs.at(static_cast<std::size_t>(kind));
}

const PropertySpec* find_property_spec(NodeKind kind, std::string_view key) {
    for (const PropertySpec& s : property_specs(kind)) {
        if (s.key == key) return &s;
    }
    return nullptr;
}

std::vector<PortSpec> port_specs(NodeKind kind, const nlohmann::json& properties) {
    switch (kind) {
        case NodeKind::Sampler:
            return {port("pub", SocketType::Pub, "bind")};
        case NodeKind::RpcServer:
            return {port("rep", SocketType::Rep, "rep_bind"), port("sub", SocketType::Sub)};
        case NodeKind::Sub2Req:
            return {port("sub", SocketType::Sub), port("req", SocketType::Req)};
        case NodeKind::Sub2Pub:
            return {port("sub", SocketType::Sub), port("pub", SocketType::Pub, "pub_bind")};
        case NodeKind::Rep2Pub:
            return {port("rep", SocketType::Rep, "rep_bind"),
                    port("pub", SocketType::Pub, "pub_bind")};
        case NodeKind::Rep2Req:
        case NodeKind::BufferedRep2Req:
            return {port("rep", SocketType::Rep, "rep_bind"), port("req", SocketType::Req)};
        case NodeKind::Tap:
            return {port("sub", SocketType::Sub)};
        case NodeKind::External: {
            const bool rep = properties.is_object() && properties.contains("socket") &&
                             properties["socket"] == "rep";
            if (rep) return {port("rep", SocketType::Rep, "endpoint")};
            return {port("pub", SocketType::Pub, "endpoint")};
        }
    }
    return {};
}

std::optional<std::string> check_property(const PropertySpec& spec, const nlohmann::json& value) {
    const bool string_like = spec.type == PropertyType::String ||
                             spec.type == PropertyType::Endpoint ||
                             spec.type == PropertyType::Choice;
    if (value.is_null() ||
        (string_like && value.is_string() && value.get_ref<const std::string&>().empty())) {
        if (spec.required) return std::string("required");
        return std::nullopt;
    }
    if (auto problem = topology_detail::property_type_problem(spec, value)) return problem;
    switch (spec.type) {
        case PropertyType::Integer:
        case PropertyType::Number:
        case PropertyType::Seconds: {
            const double number = value.get<double>();
            if (!std::isfinite(number)) return std::string("must be a finite number");
            if (spec.type == PropertyType::Integer && number != std::floor(number)) {
                return std::string("must be a whole number");
            }
            if (spec.minimum != 0 || spec.maximum != 0) {
                if (number < spec.minimum) {
                    return "must be at least " + topology_detail::format_number(spec.minimum);
                }
                if (number > spec.maximum) {
                    return "must be at most " + topology_detail::format_number(spec.maximum);
                }
            }
            return std::nullopt;
        }
        case PropertyType::Choice: {
            const auto& text = value.get_ref<const std::string&>();
            if (std::find(spec.choices.begin(), spec.choices.end(), text) != spec.choices.end()) {
                return std::nullopt;
            }
            std::string list;
            for (const std::string& c : spec.choices)
                list += (list.empty() ? "" : ", ") + c;
            return "'" + text + "' is not one of: " + list;
        }
        case PropertyType::Endpoint:
            try {
                parse_endpoint(value.get_ref<const std::string&>(), true);
            } catch (const ConfigError& e) {
                return std::string(e.what());
            }
            return std::nullopt;
        case PropertyType::Security:
            if (spec.required && SecurityRef::from_json(value).none()) {
                return std::string("required");
            }
            return std::nullopt;
        case PropertyType::String:
        case PropertyType::Boolean:
        case PropertyType::JsonObject:
            return std::nullopt;
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

namespace topology_detail {

std::string format_number(double value) {
    if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15) {
        return std::to_string(static_cast<long long>(value));
    }
    return njson(value).dump();
}

std::string quote(std::string_view text) {
    return njson(std::string(text)).dump(-1, ' ', false, njson::error_handler_t::replace);
}

bool valid_id(std::string_view id) {
    if (id.empty()) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
    });
}

std::string invalid_id_text(std::string_view what, std::string_view id) {
    if (id.empty()) return std::string(what) + " id is empty";
    return std::string(what) + " id '" + std::string(id) +
           "' may only contain letters, digits, '-' and '_'";
}

std::string known_kinds_text() {
    std::string out;
    for (NodeKind kind : all_node_kinds())
        out += (out.empty() ? "" : ", ") + std::string(to_string(kind));
    return out;
}

std::string unknown_property_text(NodeKind kind, std::string_view key) {
    std::string known;
    for (const PropertySpec& s : property_specs(kind))
        known += (known.empty() ? "" : ", ") + s.key;
    return "unknown property '" + std::string(key) + "' of " +
           (kind == NodeKind::External ? "an " : "a ") + to_string(kind) + " (known: " + known +
           ")";
}

std::optional<std::string> property_type_problem(const PropertySpec& spec,
                                                 const nlohmann::json& value) {
    if (value.is_null()) return std::nullopt;
    auto expected = [&](const char* what) -> std::optional<std::string> {
        return "expected " + std::string(what) + ", got " + json_type_name(value);
    };
    switch (spec.type) {
        case PropertyType::String:
        case PropertyType::Endpoint:
        case PropertyType::Choice:
            if (!value.is_string()) return expected("a string");
            return std::nullopt;
        case PropertyType::Integer:
        case PropertyType::Number:
        case PropertyType::Seconds:
            if (!value.is_number()) return expected("a number");
            return std::nullopt;
        case PropertyType::Boolean:
            if (!value.is_boolean()) return expected("true or false");
            return std::nullopt;
        case PropertyType::JsonObject:
            if (!value.is_object()) return expected("an object");
            return std::nullopt;
        case PropertyType::Security:
            try {
                SecurityRef::from_json(value);
            } catch (const std::invalid_argument& e) {
                return std::string(e.what());
            }
            return std::nullopt;
    }
    return std::nullopt;
}

const PortSpec* find_port(const std::vector<PortSpec>& ports, std::string_view name) {
    for (const PortSpec& p : ports) {
        if (p.name == name) return &p;
    }
    return nullptr;
}

std::string ports_text(const std::vector<PortSpec>& ports) {
    std::string out;
    for (const PortSpec& p : ports)
        out += (out.empty() ? "" : ", ") + p.name;
    return out.empty() ? "none" : out;
}

std::optional<std::string> port_problem(const Topology& topology, const PortRef& from,
                                        const PortRef& to) {
    const Node* from_node = topology.find_node(from.node);
    if (from_node == nullptr) return "no node '" + from.node + "'";
    const Node* to_node = topology.find_node(to.node);
    if (to_node == nullptr) return "no node '" + to.node + "'";
    const auto from_ports = port_specs(from_node->kind, from_node->properties);
    const PortSpec* from_port = find_port(from_ports, from.port);
    if (from_port == nullptr) {
        return "node '" + from.node + "' has no port '" + from.port +
               "' (its ports: " + ports_text(from_ports) + ")";
    }
    const auto to_ports = port_specs(to_node->kind, to_node->properties);
    const PortSpec* to_port = find_port(to_ports, to.port);
    if (to_port == nullptr) {
        return "node '" + to.node + "' has no port '" + to.port +
               "' (its ports: " + ports_text(to_ports) + ")";
    }
    if (from.node == to.node) return std::string("a node cannot link to itself");
    const std::string rule = "links go from an output (PUB, REQ) to an input (SUB, REP): ";
    if (!from_port->output) return rule + "'" + from.str() + "' is an input";
    if (to_port->output) return rule + "'" + to.str() + "' is an output";
    if (from_port->socket == SocketType::Pub && to_port->socket != SocketType::Sub) {
        return "'" + to.str() + "' is an input but not a SUB: a PUB output links to a SUB input";
    }
    if (from_port->socket == SocketType::Req && to_port->socket != SocketType::Rep) {
        return "'" + to.str() + "' is an input but not a REP: a REQ output links to a REP input";
    }
    return std::nullopt;
}

}  // namespace topology_detail

std::string security_property(NodeKind kind, std::string_view port_name) {
    if (is_proxy(kind)) {
        return port_name == "sub" || port_name == "rep" ? "input_credentials"
                                                        : "output_credentials";
    }
    return "credentials";
}

// ---------------------------------------------------------------------------------------------
// The document

nlohmann::json Node::property(std::string_view key) const {
    if (properties.is_object()) {
        auto it = properties.find(key);
        if (it != properties.end() && !it->is_null()) return *it;
    }
    if (const PropertySpec* s = find_property_spec(kind, key)) return s->default_value;
    return nullptr;
}

Topology::Topology(const Topology& other)
    : name_(other.name_),
      description_(other.description_),
      hosts_(other.hosts_),
      nodes_(other.nodes_),
      links_(other.links_) {}

Topology& Topology::operator=(const Topology& other) {
    if (this == &other) return *this;
    name_ = other.name_;
    description_ = other.description_;
    hosts_ = other.hosts_;
    nodes_ = other.nodes_;
    links_ = other.links_;
    notify(TopologyChange::What::DocumentChanged, {});
    return *this;
}

Topology::Topology(Topology&& other) noexcept
    : name_(std::move(other.name_)),
      description_(std::move(other.description_)),
      hosts_(std::move(other.hosts_)),
      nodes_(std::move(other.nodes_)),
      links_(std::move(other.links_)) {}

Topology& Topology::operator=(Topology&& other) noexcept {
    if (this == &other) return *this;
    name_ = std::move(other.name_);
    description_ = std::move(other.description_);
    hosts_ = std::move(other.hosts_);
    nodes_ = std::move(other.nodes_);
    links_ = std::move(other.links_);
    notify(TopologyChange::What::DocumentChanged, {});
    return *this;
}

bool Topology::operator==(const Topology& other) const {
    return name_ == other.name_ && description_ == other.description_ && hosts_ == other.hosts_ &&
           nodes_ == other.nodes_ && links_ == other.links_;
}

void Topology::set_name(std::string name) {
    name_ = std::move(name);
    notify(TopologyChange::What::DocumentChanged, {});
}

void Topology::set_description(std::string description) {
    description_ = std::move(description);
    notify(TopologyChange::What::DocumentChanged, {});
}

void Topology::set_hosts(std::vector<Host> hosts) {
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        if (hosts[i].name.empty()) throw TopologyError("a host needs a name");
        for (std::size_t j = 0; j < i; ++j) {
            if (hosts[j].name == hosts[i].name) {
                throw TopologyError("host '" + hosts[i].name + "' is listed twice");
            }
        }
    }
    hosts_ = std::move(hosts);
    notify(TopologyChange::What::DocumentChanged, {});
}

std::string Topology::host_address(std::string_view host) const {
    for (const Host& h : hosts_) {
        if (h.name == host && !h.address.empty()) return h.address;
    }
    return std::string(host);
}

std::vector<std::string> Topology::host_names() const {
    std::vector<std::string> names;
    for (const Host& h : hosts_)
        names.push_back(h.name);
    for (const Node& n : nodes_) {
        std::string host = node_host(n);
        if (std::find(names.begin(), names.end(), host) == names.end()) {
            names.push_back(std::move(host));
        }
    }
    return names;
}

std::string Topology::node_host(const Node& node) const {
    return node.host.empty() ? std::string(kDefaultHost) : node.host;
}

const Host* Topology::find_host(std::string_view name) const {
    for (const Host& h : hosts_) {
        if (h.name == name) return &h;
    }
    return nullptr;
}

const Node* Topology::find_node(std::string_view id) const {
    for (const Node& n : nodes_) {
        if (n.id == id) return &n;
    }
    return nullptr;
}

const Link* Topology::find_link(std::string_view id) const {
    for (const Link& l : links_) {
        if (l.id == id) return &l;
    }
    return nullptr;
}

std::vector<const Link*> Topology::links_of(std::string_view node_id) const {
    std::vector<const Link*> out;
    for (const Link& l : links_) {
        if (l.from.node == node_id || l.to.node == node_id) out.push_back(&l);
    }
    return out;
}

std::vector<const Link*> Topology::links_at(const PortRef& port) const {
    std::vector<const Link*> out;
    for (const Link& l : links_) {
        if (l.from == port || l.to == port) out.push_back(&l);
    }
    return out;
}

std::string Topology::unique_node_id(std::string_view base) const {
    std::string stem;
    for (char c : base)
        stem += topology_detail::valid_id(std::string_view(&c, 1)) ? c : '-';
    if (stem.empty()) stem = "node";
    for (int i = 1;; ++i) {
        std::string id = stem + "-" + std::to_string(i);
        if (find_node(id) == nullptr) return id;
    }
}

std::string Topology::unique_link_id() const {
    for (int i = 1;; ++i) {
        std::string id = "link-" + std::to_string(i);
        if (find_link(id) == nullptr) return id;
    }
}

namespace {

void check_position(const Point& position) {
    if (!std::isfinite(position.x) || !std::isfinite(position.y)) {
        throw TopologyError("a position must be finite");
    }
}

// set_property's rules for one value; throws TopologyError.
void check_property_value(const Node& node, std::string_view key, const njson& value) {
    const PropertySpec* s = find_property_spec(node.kind, key);
    if (s == nullptr) {
        throw TopologyError("node '" + node.id +
                            "': " + topology_detail::unknown_property_text(node.kind, key));
    }
    if (auto problem = topology_detail::property_type_problem(*s, value)) {
        throw TopologyError("node '" + node.id + "' (" + s->key + "): " + *problem);
    }
}

}  // namespace

std::string Topology::add_node(Node node) {
    if (node.id.empty()) node.id = unique_node_id(to_string(node.kind));
    if (!topology_detail::valid_id(node.id)) {
        throw TopologyError(topology_detail::invalid_id_text("node", node.id));
    }
    if (find_node(node.id) != nullptr) {
        throw TopologyError("there is a node '" + node.id + "' already");
    }
    if (node_kind_from_string(to_string(node.kind)) == std::nullopt) {
        throw TopologyError("node '" + node.id + "': unknown kind");
    }
    check_position(node.position);
    if (node.properties.is_null()) node.properties = njson::object();
    if (!node.properties.is_object()) {
        throw TopologyError("node '" + node.id + "': properties must be a JSON object");
    }
    njson properties = njson::object();
    for (const auto& [key, value] : node.properties.items()) {
        check_property_value(node, key, value);
        if (!value.is_null()) properties[key] = value;  // null: the default
    }
    node.properties = std::move(properties);
    std::string id = node.id;
    nodes_.push_back(std::move(node));
    notify(TopologyChange::What::NodeAdded, id);
    return id;
}

std::vector<Link> Topology::remove_node(std::string_view id) {
    auto it = std::find_if(nodes_.begin(), nodes_.end(), [&](const Node& n) { return n.id == id; });
    if (it == nodes_.end()) throw TopologyError("no node '" + std::string(id) + "'");
    std::vector<Link> removed;
    std::vector<Link> kept;
    for (Link& l : links_) {
        (l.from.node == id || l.to.node == id ? removed : kept).push_back(std::move(l));
    }
    links_ = std::move(kept);
    const std::string node_id(id);
    nodes_.erase(it);
    for (const Link& l : removed)
        notify(TopologyChange::What::LinkRemoved, l.id);
    notify(TopologyChange::What::NodeRemoved, node_id);
    return removed;
}

Node& Topology::node_ref(std::string_view id) {
    for (Node& n : nodes_) {
        if (n.id == id) return n;
    }
    throw TopologyError("no node '" + std::string(id) + "'");
}

void Topology::set_node_name(std::string_view id, std::string name) {
    Node& node = node_ref(id);
    node.name = std::move(name);
    notify(TopologyChange::What::NodeChanged, node.id);
}

void Topology::set_node_host(std::string_view id, std::string host) {
    Node& node = node_ref(id);
    node.host = std::move(host);
    notify(TopologyChange::What::NodeChanged, node.id);
}

void Topology::set_node_position(std::string_view id, Point position) {
    Node& node = node_ref(id);
    check_position(position);
    node.position = position;
    notify(TopologyChange::What::NodeChanged, node.id);
}

void Topology::set_property(std::string_view id, std::string_view key, nlohmann::json value) {
    Node& node = node_ref(id);
    check_property_value(node, key, value);
    if (value.is_null()) {
        node.properties.erase(std::string(key));
    } else {
        node.properties[std::string(key)] = std::move(value);
    }
    notify(TopologyChange::What::NodeChanged, node.id);
}

std::optional<std::string> Topology::can_link(const PortRef& from, const PortRef& to) const {
    if (auto problem = topology_detail::port_problem(*this, from, to)) return problem;
    for (const Link& l : links_) {
        if (l.from == from && l.to == to) {
            return "'" + from.str() + "' and '" + to.str() + "' are already linked";
        }
    }
    return std::nullopt;
}

namespace {

bool is_req_link(const Topology& topology, const Link& link) {
    const Node* from = topology.find_node(link.from.node);
    if (from == nullptr) return false;
    const auto ports = port_specs(from->kind, from->properties);
    const PortSpec* p = topology_detail::find_port(ports, link.from.port);
    return p != nullptr && p->socket == SocketType::Req;
}

void check_heartbeat_timeout(const Topology& topology, const Link& link, double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) {
        throw TopologyError("link '" + link.id +
                            "': a heartbeat timeout must be zero or a positive number of seconds");
    }
    if (seconds > 0 && is_req_link(topology, link)) {
        throw TopologyError("link '" + link.id +
                            "': a heartbeat timeout applies to PUB->SUB links only, not REQ->REP");
    }
}

}  // namespace

std::string Topology::add_link(Link link) {
    if (link.id.empty()) link.id = unique_link_id();
    if (!topology_detail::valid_id(link.id)) {
        throw TopologyError(topology_detail::invalid_id_text("link", link.id));
    }
    if (find_link(link.id) != nullptr) {
        throw TopologyError("there is a link '" + link.id + "' already");
    }
    if (auto problem = can_link(link.from, link.to)) throw TopologyError(*problem);
    check_heartbeat_timeout(*this, link, link.heartbeat_timeout);
    std::string id = link.id;
    links_.push_back(std::move(link));
    notify(TopologyChange::What::LinkAdded, id);
    return id;
}

void Topology::remove_link(std::string_view id) {
    auto it = std::find_if(links_.begin(), links_.end(), [&](const Link& l) { return l.id == id; });
    if (it == links_.end()) throw TopologyError("no link '" + std::string(id) + "'");
    const std::string link_id(id);
    links_.erase(it);
    notify(TopologyChange::What::LinkRemoved, link_id);
}

void Topology::set_link_heartbeat_timeout(std::string_view id, double seconds) {
    auto it = std::find_if(links_.begin(), links_.end(), [&](const Link& l) { return l.id == id; });
    if (it == links_.end()) throw TopologyError("no link '" + std::string(id) + "'");
    check_heartbeat_timeout(*this, *it, seconds);
    it->heartbeat_timeout = seconds;
    notify(TopologyChange::What::LinkChanged, it->id);
}

std::string Topology::bind_endpoint(const PortRef& port) const {
    const Node* node = find_node(port.node);
    if (node == nullptr) return {};
    const auto ports = port_specs(node->kind, node->properties);
    const PortSpec* p = topology_detail::find_port(ports, port.port);
    if (p == nullptr || !p->binds || p->endpoint_property.empty()) return {};
    const njson value = node->property(p->endpoint_property);
    return value.is_string() ? value.get<std::string>() : std::string();
}

std::string Topology::connect_address(const Link& link) const {
    const Node* from = find_node(link.from.node);
    const Node* to = find_node(link.to.node);
    if (from == nullptr || to == nullptr) return {};
    const auto from_ports = port_specs(from->kind, from->properties);
    const PortSpec* from_port = topology_detail::find_port(from_ports, link.from.port);
    if (from_port == nullptr) return {};
    const bool from_binds = from_port->binds;
    const PortRef& binder_ref = from_binds ? link.from : link.to;
    const Node& binder = from_binds ? *from : *to;
    const Node& connector = from_binds ? *to : *from;
    const std::string bound = bind_endpoint(binder_ref);
    if (bound.empty()) return {};
    const std::string binder_host = node_host(binder);
    const std::string peer =
        binder_host == node_host(connector) ? std::string("127.0.0.1") : host_address(binder_host);
    Endpoint endpoint;
    try {
        endpoint = parse_endpoint(bound, true);
    } catch (const ConfigError&) {
        return {};  // validate() reports it
    }
    if (endpoint.transport == Endpoint::Transport::Tcp && endpoint.port == 0) {
        // The Runtime substitutes the port resolved at bind time; the host is known already.
        Endpoint wildcard_free = endpoint;
        wildcard_free.port = 5555;
        std::string address = zmqrpc::connect_address(wildcard_free.str(), peer);
        return address.substr(0, address.rfind(':')) + ":*";
    }
    return zmqrpc::connect_address(bound, peer);
}

int Topology::observe(Observer observer) {
    const int handle = next_observer_++;
    observers_.emplace_back(handle, std::move(observer));
    return handle;
}

void Topology::unobserve(int handle) {
    std::erase_if(observers_, [handle](const auto& entry) { return entry.first == handle; });
}

void Topology::notify(TopologyChange::What what, std::string id) {
    const TopologyChange change{what, std::move(id)};
    // A copy: an observer may unobserve (or observe) while being told.
    const auto observers = observers_;
    for (const auto& [handle, observer] : observers) {
        if (observer) observer(change);
    }
}

}  // namespace zmqrpc
