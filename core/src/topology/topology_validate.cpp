// validate(): the semantic problems of a topology document, located for the editor. The model's
// mutations refuse what is structurally wrong; what a user passes through while editing (missing
// endpoints, two binds on one port, credentials on one side only) is reported here.
#include "zmqrpc/endpoint.hpp"
#include "zmqrpc/security.hpp"
#include "zmqrpc/topology.hpp"

#include "topology_internal.hpp"

#include <algorithm>
#include <optional>
#include <utility>

namespace zmqrpc {

// Files (topologies, credentials) are nlohmann::json, members sorted by key; zmqrpc::json is
// the ordered type of messages.
using njson = nlohmann::json;
using topology_detail::format_number;

const char* to_string(Severity severity) noexcept {
    return severity == Severity::Error ? "error" : "warning";
}

std::string Problem::str() const {
    std::string out = to_string(severity);
    out += ": ";
    std::string place;
    if (!host.empty()) place = "host '" + host + "'";
    if (!node.empty()) place += (place.empty() ? "" : ", ") + std::string("node '") + node + "'";
    if (!link.empty()) place += (place.empty() ? "" : ", ") + std::string("link '") + link + "'";
    if (!property.empty()) place += (place.empty() ? "(" : " (") + property + ")";
    if (!place.empty()) out += place + ": ";
    return out + text;
}

bool has_errors(const std::vector<Problem>& problems) {
    return std::any_of(problems.begin(), problems.end(),
                       [](const Problem& p) { return p.severity == Severity::Error; });
}

namespace {

struct Bind {
    const Node* node;
    std::string property;
    std::string text;  // as written
    Endpoint endpoint;
    std::string host;  // node_host
};

bool wildcard_host(const std::string& host) {
    return host == "*" || host == "0.0.0.0" || host == "::" || host == "0:0:0:0:0:0:0:0";
}

bool loopback_host(const std::string& host) {
    return host.starts_with("127.") || host == "localhost" || host == "::1";
}

bool same_bind(const Bind& a, const Bind& b) {
    if (a.host != b.host || a.endpoint.transport != b.endpoint.transport) return false;
    switch (a.endpoint.transport) {
        case Endpoint::Transport::Tcp:
            return a.endpoint.port != 0 && a.endpoint.port == b.endpoint.port &&
                   (a.endpoint.host == b.endpoint.host || wildcard_host(a.endpoint.host) ||
                    wildcard_host(b.endpoint.host));
        case Endpoint::Transport::Ipc:
            return a.endpoint.path != "*" && a.endpoint.path == b.endpoint.path;
        case Endpoint::Transport::Inproc:
            return a.endpoint.path == b.endpoint.path;
    }
    return false;
}

// The configured, parsable bind endpoints of a node's binding ports.
std::vector<Bind> binds_of(const Topology& topology, const Node& node) {
    std::vector<Bind> out;
    for (const PortSpec& port : port_specs(node.kind, node.properties)) {
        if (!port.binds || port.endpoint_property.empty()) continue;
        const njson value = node.property(port.endpoint_property);
        if (!value.is_string() || value.get_ref<const std::string&>().empty()) continue;
        try {
            Endpoint endpoint = parse_endpoint(value.get_ref<const std::string&>(), true);
            out.push_back({&node, port.endpoint_property, value.get<std::string>(),
                           std::move(endpoint), topology.node_host(node)});
        } catch (const ConfigError&) {
            // reported with the node's properties
        }
    }
    return out;
}

double number_property(const Node& node, std::string_view key) {
    const njson value = node.property(key);
    return value.is_number() ? value.get<double>() : 0.0;
}

// The shortest interval at which heartbeats leave `node`'s PUB (its own, or passed on from
// upstream by a Sub2Pub), or nullopt when it sends none. `visiting` guards against cycles.
std::optional<double> heartbeat_period(const Topology& topology, const Node& node,
                                       std::vector<std::string>& visiting) {
    if (std::find(visiting.begin(), visiting.end(), node.id) != visiting.end()) {
        return std::nullopt;
    }
    std::optional<double> best;
    auto consider = [&](double interval) {
        if (interval > 0 && (!best || interval < *best)) best = interval;
    };
    switch (node.kind) {
        case NodeKind::Sampler:
        case NodeKind::Rep2Pub:
        case NodeKind::Sub2Pub:
            consider(number_property(node, "heartbeat_interval"));
            break;
        case NodeKind::External:
            if (node.property("socket") != "rep") {
                consider(number_property(node, "heartbeat_interval"));
            }
            break;
        default:
            break;
    }
    if (node.kind == NodeKind::Sub2Pub) {
        visiting.push_back(node.id);
        for (const Link* link : topology.links_at({node.id, "sub"})) {
            if (link->to.node != node.id) continue;
            if (const Node* upstream = topology.find_node(link->from.node)) {
                if (auto period = heartbeat_period(topology, *upstream, visiting))
                    consider(*period);
            }
        }
        visiting.pop_back();
    }
    return best;
}

std::optional<SecurityRef> security_of(const Node& node, std::string_view port) {
    try {
        return SecurityRef::from_json(node.property(security_property(node.kind, port)));
    } catch (const std::invalid_argument&) {
        return std::nullopt;  // reported with the node's properties
    }
}

bool has_link_from(const Topology& topology, const std::string& node, const char* port) {
    for (const Link* link : topology.links_at({node, port})) {
        if (link->from.node == node) return true;
    }
    return false;
}

bool has_link_into(const Topology& topology, const std::string& node, const char* port) {
    for (const Link* link : topology.links_at({node, port})) {
        if (link->to.node == node) return true;
    }
    return false;
}

class Validator {
  public:
    explicit Validator(const Topology& topology) : t_(topology) {}

    std::vector<Problem> run() {
        std::vector<Bind> binds;
        std::vector<std::pair<const Node*, std::string>> stores;
        for (const Host& host : t_.hosts())
            check_runner(host);
        for (const Node& node : t_.nodes()) {
            check_node(node);
            check_binds(node, binds);
            check_store(node, stores);
            check_connections(node);
            check_host(node);
        }
        for (const Link& link : t_.links())
            check_link(link);
        std::stable_partition(problems_.begin(), problems_.end(),
                              [](const Problem& p) { return p.severity == Severity::Error; });
        return std::move(problems_);
    }

  private:
    void add(Severity severity, std::string node, std::string link, std::string property,
             std::string text) {
        problems_.push_back(
            {severity, std::move(node), std::move(link), std::move(property), std::move(text)});
    }

    void add_host(const Host& host, std::string property, std::string text) {
        Problem p{Severity::Error, {}, {}, std::move(property), std::move(text)};
        p.host = host.name;
        problems_.push_back(std::move(p));
    }

    // 11. A host's runner, as the Studio reaches it: a control endpoint it can connect to, and
    // security that a handshake with it can pass (CURVE needs the runner's public key; PLAIN
    // and none have no use for one).
    void check_runner(const Host& host) {
        const Runner& r = host.runner;
        if (r.control.empty()) {
            if (!r.metrics.empty() || !r.server_key.empty() || !r.security.none()) {
                add_host(host, "runner.control",
                         "the runner has no control endpoint: its metrics, server_key and "
                         "security say how to reach a control endpoint; give it (\"control\": "
                         "\"tcp://HOST:PORT\")");
            }
            return;
        }
        auto connectable = [&](const std::string& endpoint, const char* what) {
            if (endpoint.empty()) return;
            try {
                parse_endpoint(endpoint, false);
            } catch (const ConfigError& e) {
                add_host(host, std::string("runner.") + what,
                         std::string("the Studio connects to the runner's ") + what +
                             " endpoint: " + e.what());
            }
        };
        connectable(r.control, "control");
        connectable(r.metrics, "metrics");
        const bool curve = r.security.mechanism() == Security::Mechanism::Curve;
        if (!r.server_key.empty()) {
            if (auto problem = check_curve_key(r.server_key)) {
                add_host(host, "runner.server_key", "not the runner's Z85 public key: " + *problem);
            } else if (!curve) {
                add_host(host, "runner.server_key",
                         std::string("a server key is for CURVE, but the runner's security is ") +
                             (r.security.none() ? "none" : "PLAIN") +
                             ": set CURVE security or remove the key");
            }
        } else if (curve) {
            add_host(host, "runner.server_key",
                     "CURVE needs the runner's public key (server_key; `zmqrpc keygen` printed "
                     "it for the runner's control key)");
        }
    }

    // 1. Required properties, types, ranges, endpoint syntax.
    void check_node(const Node& node) {
        for (const PropertySpec& spec : property_specs(node.kind)) {
            if (auto problem = check_property(spec, node.property(spec.key))) {
                add(Severity::Error, node.id, {}, spec.key, *problem);
            }
        }
    }

    // Two proxies on one host cannot share a store file: the second would find it locked.
    void check_store(const Node& node, std::vector<std::pair<const Node*, std::string>>& seen) {
        if (!find_property_spec(node.kind, "store")) return;
        const auto& value = node.property("store");
        if (!value.is_string() || value.get_ref<const std::string&>().empty()) return;
        const std::string path = value.get<std::string>();
        const std::string host = t_.node_host(node);
        for (const auto& [other, other_path] : seen) {
            if (other_path == path && t_.node_host(*other) == host) {
                add(Severity::Error, node.id, {}, "store",
                    "store " + path + " on host '" + host + "' is also node '" + other->id +
                        "''s: one file holds one queue");
                return;
            }
        }
        seen.emplace_back(&node, path);
    }

    // 2. Two binds on one host:port (path, name).
    void check_binds(const Node& node, std::vector<Bind>& seen) {
        for (Bind& bind : binds_of(t_, node)) {
            auto clash = std::find_if(seen.begin(), seen.end(),
                                      [&](const Bind& other) { return same_bind(other, bind); });
            if (clash != seen.end()) {
                std::string text = "binds " + bind.text + " on host '" + bind.host + "', ";
                text += clash->node == &node ? "as does its " + clash->property
                                             : "as does node '" + clash->node->id + "'";
                add(Severity::Error, node.id, {}, bind.property, std::move(text));
            }
            seen.push_back(std::move(bind));
        }
    }

    // 6, 7. Proxies without input or output; RPC servers with nothing to serve.
    void check_connections(const Node& node) {
        switch (node.kind) {
            case NodeKind::Sub2Req:
            case NodeKind::Rep2Req:
            case NodeKind::BufferedRep2Req:
                if (!has_link_from(t_, node.id, "req")) {
                    add(Severity::Error, node.id, {}, {},
                        "no output: link its REQ output to a REP input");
                }
                break;
            case NodeKind::Sub2Pub:
            case NodeKind::Rep2Pub:
                if (!has_link_from(t_, node.id, "pub")) {
                    add(Severity::Warning, node.id, {}, {},
                        "nobody in this topology subscribes to its PUB");
                }
                break;
            default:
                break;
        }
        if ((node.kind == NodeKind::Sub2Req || node.kind == NodeKind::Sub2Pub ||
             node.kind == NodeKind::Tap) &&
            !has_link_into(t_, node.id, "sub")) {
            add(Severity::Warning, node.id, {}, {}, "no input: link a PUB to its SUB input");
        }
        if (node.kind == NodeKind::RpcServer && t_.bind_endpoint({node.id, "rep"}).empty() &&
            !has_link_into(t_, node.id, "sub")) {
            add(Severity::Error, node.id, {}, "rep_bind",
                "nothing to serve: set rep_bind or link a PUB to its SUB input");
        }
    }

    // 9. Hosts outside a given host list.
    void check_host(const Node& node) {
        if (t_.hosts().empty()) return;
        const std::string host = t_.node_host(node);
        for (const Host& h : t_.hosts()) {
            if (h.name == host) return;
        }
        add(Severity::Warning, node.id, {}, {},
            "host '" + host + "' is not in the host list: other hosts reach it by that name");
    }

    void check_link(const Link& link) {
        // 10. (The model refuses these; a document assembled otherwise may still have them.)
        if (link.heartbeat_timeout < 0) {
            add(Severity::Error, {}, link.id, "heartbeat_timeout",
                "a heartbeat timeout cannot be negative");
        }
        // 3. Ports that no longer exist (an external's socket changed) or no longer fit.
        if (auto problem = topology_detail::port_problem(t_, link.from, link.to)) {
            add(Severity::Error, {}, link.id, {}, *problem);
            return;
        }
        const Node& from = *t_.find_node(link.from.node);
        const Node& to = *t_.find_node(link.to.node);
        const auto from_ports = port_specs(from.kind, from.properties);
        const PortSpec& from_port = *topology_detail::find_port(from_ports, link.from.port);
        const bool pub = from_port.socket == SocketType::Pub;
        if (!pub && link.heartbeat_timeout > 0) {
            add(Severity::Error, {}, link.id, "heartbeat_timeout",
                "a heartbeat timeout applies to PUB->SUB links only, not REQ->REP");
        }
        const Node& binder = from_port.binds ? from : to;
        const Node& connector = from_port.binds ? to : from;
        const PortRef& binder_port = from_port.binds ? link.from : link.to;
        const PortRef& connector_port = from_port.binds ? link.to : link.from;

        // 7. A link into an RPC server's REP that does not bind.
        const std::string endpoint = t_.bind_endpoint(binder_port);
        if (binder.kind == NodeKind::RpcServer && endpoint.empty()) {
            add(Severity::Error, {}, link.id, {},
                "'" + binder.id + "' has no rep_bind: set it, or '" + connector.id +
                    "' has nothing to connect to");
        }
        check_security(link, binder, binder_port, connector, connector_port);
        if (pub) check_heartbeats(link, from);
        check_cross_host(link, binder, connector, endpoint);
    }

    // 4. Security: the two ends of a link must speak the same mechanism; PLAIN: the same
    // user and password source; CURVE: a server with its key and a client policy, a server key
    // the client can know, a client key an allow-list can name. Between hosts, PLAIN and none
    // are warned about: the password (or everything) crosses the network in clear.
    void check_security(const Link& link, const Node& binder, const PortRef& binder_port,
                        const Node& connector, const PortRef& connector_port) {
        const auto server = security_of(binder, binder_port.port);
        const auto client = security_of(connector, connector_port.port);
        if (!server || !client) return;
        const std::string b = "'" + binder.id + "'";
        const std::string c = "'" + connector.id + "'";
        using M = Security::Mechanism;
        const M sm = server->mechanism();
        const M cm = client->mechanism();
        if (sm == M::Curve && cm != M::Curve) {
            add(Severity::Error, {}, link.id, {},
                b + " requires CURVE but " + c + " presents " +
                    (cm == M::Plain ? "a PLAIN password" : "no security") +
                    " (the handshake would fail)");
        } else if (cm == M::Curve && sm != M::Curve) {
            add(Severity::Error, {}, link.id, {},
                c + " uses CURVE but " + b + " " +
                    (sm == M::Plain ? "requires a PLAIN password" : "has no security") +
                    " (the handshake would fail)");
        } else if (sm == M::Curve) {
            check_curve(link, binder, *server->curve(), connector, *client->curve());
        } else {
            check_plain(link, b, server->plain(), c, client->plain());
        }
        if (sm != M::Curve && cm != M::Curve) check_clear_text(link, binder, connector, sm);
    }

    void check_plain(const Link& link, const std::string& b, const CredentialRef* required,
                     const std::string& c, const CredentialRef* presented) {
        if (required && !presented) {
            add(Severity::Error, {}, link.id, {},
                c + " presents no credentials but " + b + " requires user '" + required->username +
                    "'");
        } else if (!required && presented) {
            add(Severity::Error, {}, link.id, {},
                c + " presents user '" + presented->username + "' but " + b +
                    " accepts no credentials (the handshake would fail)");
        } else if (required && required->username != presented->username) {
            add(Severity::Error, {}, link.id, {},
                c + " presents user '" + presented->username + "' but " + b + " requires user '" +
                    required->username + "'");
        } else if (required && required->source_text() != presented->source_text()) {
            add(Severity::Warning, {}, link.id, {},
                "passwords come from different places (" + presented->source_text() + ", " +
                    required->source_text() + "): they must be equal");
        }
    }

    void check_curve(const Link& link, const Node& binder, const CurveRef& server,
                     const Node& connector, const CurveRef& client) {
        const std::string b = "'" + binder.id + "'";
        const std::string c = "'" + connector.id + "'";
        if (binder.kind == NodeKind::External) {
            if (server.public_key.empty()) {
                add(Severity::Error, binder.id, {}, "credentials",
                    "a CURVE external endpoint needs its public key (curve.public_key), which " +
                        c + " must know");
            }
        } else {
            if (server.secret_key.empty()) {
                add(Severity::Error, {}, link.id, {},
                    b + " is the CURVE server of this link and needs its secret key "
                        "(curve.secret_key)");
            }
            if (!server.clients_given) {
                add(Severity::Error, {}, link.id, {},
                    b + " must say who may connect: curve.clients \"any\" (any client that "
                        "holds its public key) or {\"authorized_keys\": PATH}");
            }
            if (server.public_key.empty() && !server.secret_key.empty() &&
                server.secret_key.source != CredentialRef::Source::File &&
                t_.node_host(binder) != t_.node_host(connector)) {
                add(Severity::Error, {}, link.id, {},
                    c + " on host '" + t_.node_host(connector) + "' cannot know " + b +
                        "'s public key: write it into " + b + "'s curve.public_key");
            }
        }
        if (client.secret_key.empty() && server.clients_given &&
            server.clients == CurveClients::AuthorizedKeys) {
            add(Severity::Error, {}, link.id, {},
                c + " has no key pair of its own (curve.secret_key), so " + b +
                    "'s authorized_keys cannot list it");
        }
    }

    void check_clear_text(const Link& link, const Node& binder, const Node& connector,
                          Security::Mechanism mechanism) {
        const std::string binder_host = t_.node_host(binder);
        const std::string connector_host = t_.node_host(connector);
        if (binder_host == connector_host) return;
        if (loopback_host(t_.host_address(binder_host)) &&
            loopback_host(t_.host_address(connector_host))) {
            return;  // one machine under two names: nothing crosses a network
        }
        const std::string between =
            "between host '" + connector_host + "' and host '" + binder_host + "'";
        if (mechanism == Security::Mechanism::Plain) {
            add(Severity::Warning, {}, link.id, {},
                "the password crosses the network in clear " + between +
                    " (PLAIN): use CURVE to encrypt the link");
        } else {
            add(Severity::Warning, {}, link.id, {},
                "unauthenticated and unencrypted " + between +
                    ": anyone on the path can read and send messages; use CURVE");
        }
    }

    // 5. Heartbeat timeouts against what the publisher sends.
    void check_heartbeats(const Link& link, const Node& publisher) {
        if (link.heartbeat_timeout <= 0) return;
        std::vector<std::string> visiting;
        const auto period = heartbeat_period(t_, publisher, visiting);
        const std::string timeout = format_number(link.heartbeat_timeout);
        if (!period) {
            add(Severity::Warning, {}, link.id, "heartbeat_timeout",
                "'" + publisher.id +
                    "' sends no heartbeats: the link will be recreated whenever it is quiet "
                    "for " +
                    timeout + " s");
        } else if (*period >= link.heartbeat_timeout) {
            add(Severity::Warning, {}, link.id, "heartbeat_timeout",
                "heartbeats every " + format_number(*period) + " s but the timeout is " + timeout +
                    " s: the link will be recreated between beats");
        }
    }

    // 8. Links between hosts to endpoints other hosts cannot reach.
    void check_cross_host(const Link& link, const Node& binder, const Node& connector,
                          const std::string& endpoint) {
        const std::string binder_host = t_.node_host(binder);
        const std::string connector_host = t_.node_host(connector);
        if (endpoint.empty() || binder_host == connector_host) return;
        Endpoint parsed;
        try {
            parsed = parse_endpoint(endpoint, true);
        } catch (const ConfigError&) {
            return;  // reported with the binder's properties
        }
        // Hosts that are both reached at a loopback address are one machine under two names
        // (a split tried out locally): ipc and loopback binds reach across them.
        const bool one_machine = loopback_host(t_.host_address(binder_host)) &&
                                 loopback_host(t_.host_address(connector_host));
        switch (parsed.transport) {
            case Endpoint::Transport::Ipc:
                if (one_machine) break;
                add(Severity::Error, {}, link.id, {},
                    "ipc endpoints are reachable only on the same host ('" + binder.id +
                        "' binds " + endpoint + " on host '" + binder_host + "')");
                return;
            case Endpoint::Transport::Inproc:
                add(Severity::Error, {}, link.id, {},
                    "inproc endpoints are reachable only on the same host, in one process ('" +
                        binder.id + "' binds " + endpoint + ")");
                return;
            case Endpoint::Transport::Tcp:
                break;
        }
        if (parsed.transport != Endpoint::Transport::Tcp) return;
        if (loopback_host(parsed.host) && !one_machine) {
            add(Severity::Error, {}, link.id, {},
                "bound to loopback: '" + connector.id + "' on host '" + connector_host +
                    "' cannot reach it");
        } else if (parsed.port == 0) {
            add(Severity::Error, {}, link.id, {},
                "its port is chosen at bind time; another host cannot know it: give a fixed "
                "port");
        }
    }

    const Topology& t_;
    std::vector<Problem> problems_;
};

}  // namespace

std::vector<Problem> validate(const Topology& topology) {
    return Validator(topology).run();
}

}  // namespace zmqrpc
