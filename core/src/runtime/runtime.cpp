// The Runtime: node instances keyed by node id, their states, a supervisor thread that samples
// metrics (rates, external health) and publishes them, and the event stream.
//
// Locks: `ops_` serialises start/stop/update (the control operations, which may take a few
// milliseconds per node); `mutex_` guards the document and the slots and is held only briefly,
// never across a component's start or stop, so snapshot() never waits for a node to start.
#include "zmqrpc/runtime.hpp"

#include "runtime_nodes.hpp"

#include "zmqrpc/endpoint.hpp"
#include "zmqrpc/errors.hpp"
#include "zmqrpc/protocol.hpp"
#include "zmqrpc/sender.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace zmqrpc {

using SystemClock = std::chrono::system_clock;
using SteadyClock = std::chrono::steady_clock;

const char* to_string(NodeState state) noexcept {
    switch (state) {
        case NodeState::Stopped:
            return "stopped";
        case NodeState::Starting:
            return "starting";
        case NodeState::Running:
            return "running";
        case NodeState::Stopping:
            return "stopping";
        case NodeState::Failed:
            return "failed";
        case NodeState::External:
            return "external";
        case NodeState::Remote:
            return "remote";
        case NodeState::Waiting:
            return "waiting";
        case NodeState::Unknown:
            return "unknown";
    }
    return "unknown";
}

const char* to_string(DeployResult::Outcome outcome) noexcept {
    switch (outcome) {
        case DeployResult::Outcome::Applied:
            return "applied";
        case DeployResult::Outcome::Failed:
            return "failed";
        case DeployResult::Outcome::Unchanged:
            return "unchanged";
    }
    return "unknown";
}

namespace {

NodeState node_state_from_string(std::string_view text) {
    for (auto s : {NodeState::Stopped, NodeState::Starting, NodeState::Running, NodeState::Stopping,
                   NodeState::Failed, NodeState::External, NodeState::Remote, NodeState::Waiting,
                   NodeState::Unknown}) {
        if (text == to_string(s)) return s;
    }
    throw std::invalid_argument("unknown node state '" + std::string(text) + "'");
}

std::int64_t to_unix_ms(SystemClock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
SystemClock::time_point from_unix_ms(std::int64_t ms) {
    return SystemClock::time_point(std::chrono::milliseconds(ms));
}

// A node cannot start yet: a node it connects to chooses its port when it binds, runs here, and
// has not bound.
struct BinderNotBound : ConfigError {
    BinderNotBound(std::string binder_id, const std::string& text)
        : ConfigError(text), binder(std::move(binder_id)) {}
    std::string binder;
};

bool is_ephemeral(const std::string& endpoint) {
    if (endpoint.rfind("tcp://", 0) != 0) return false;
    try {
        return parse_endpoint(endpoint, true).port == 0;
    } catch (const ConfigError&) {
        return false;
    }
}

// The connecting side of a link: the SUB end of PUB->SUB, the REQ end of REQ->REP.
const PortRef& connector_of(const Topology& t, const Link& link) {
    const Node* from = t.find_node(link.from.node);
    for (const auto& p : port_specs(from->kind, from->properties)) {
        if (p.name == link.from.port) return p.binds ? link.to : link.from;
    }
    return link.to;
}
const PortRef& binder_of(const Topology& t, const Link& link) {
    return &connector_of(t, link) == &link.to ? link.from : link.to;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Snapshot JSON

const NodeStatus* RuntimeSnapshot::node(std::string_view id) const {
    for (const auto& n : nodes) {
        if (n.id == id) return &n;
    }
    return nullptr;
}

const LinkStatus* RuntimeSnapshot::link(std::string_view id) const {
    for (const auto& l : links) {
        if (l.id == id) return &l;
    }
    return nullptr;
}

nlohmann::json RuntimeSnapshot::to_json() const {
    nlohmann::json j;
    j["time_ms"] = to_unix_ms(time);
    j["host"] = host;
    auto& jn = j["nodes"] = nlohmann::json::array();
    for (const auto& n : nodes) {
        jn.push_back({{"id", n.id},
                      {"name", n.name},
                      {"kind", to_string(n.kind)},
                      {"host", n.host},
                      {"state", to_string(n.state)},
                      {"reason", n.reason},
                      {"since_ms", to_unix_ms(n.since)},
                      {"rate_in", n.rate_in},
                      {"rate_out", n.rate_out},
                      {"metrics", n.metrics.to_json()}});
    }
    auto& jl = j["links"] = nlohmann::json::array();
    for (const auto& l : links) {
        jl.push_back({{"id", l.id},
                      {"endpoint", l.endpoint},
                      {"active", l.active},
                      {"connection", to_string(l.connection)},
                      {"heartbeat", to_string(l.heartbeat)},
                      {"heartbeat_timeout_ms", l.heartbeat_timeout.count()},
                      {"last_message_age_ms", l.last_message_age.count()},
                      {"ever_heard", l.ever_heard},
                      {"messages", l.messages},
                      {"recreates", l.recreates},
                      {"connect_retries", l.connect_retries}});
    }
    return j;
}

RuntimeSnapshot RuntimeSnapshot::from_json(const nlohmann::json& value) {
    try {
        RuntimeSnapshot s;
        s.time = from_unix_ms(value.at("time_ms").get<std::int64_t>());
        s.host = value.at("host").get<std::string>();
        for (const auto& jn : value.at("nodes")) {
            NodeStatus n;
            n.id = jn.at("id").get<std::string>();
            n.name = jn.at("name").get<std::string>();
            auto kind = node_kind_from_string(jn.at("kind").get<std::string>());
            if (!kind) throw std::invalid_argument("unknown node kind");
            n.kind = *kind;
            n.host = jn.at("host").get<std::string>();
            n.state = node_state_from_string(jn.at("state").get<std::string>());
            n.reason = jn.at("reason").get<std::string>();
            n.since = from_unix_ms(jn.at("since_ms").get<std::int64_t>());
            n.rate_in = jn.at("rate_in").get<double>();
            n.rate_out = jn.at("rate_out").get<double>();
            n.metrics = MetricsSnapshot::from_json(jn.at("metrics"));
            s.nodes.push_back(std::move(n));
        }
        for (const auto& jl : value.at("links")) {
            LinkStatus l;
            l.id = jl.at("id").get<std::string>();
            l.endpoint = jl.at("endpoint").get<std::string>();
            l.active = jl.at("active").get<bool>();
            l.connection = connection_state_from_string(jl.at("connection").get<std::string>());
            l.heartbeat = heartbeat_state_from_string(jl.at("heartbeat").get<std::string>());
            l.heartbeat_timeout =
                std::chrono::milliseconds(jl.at("heartbeat_timeout_ms").get<std::int64_t>());
            l.last_message_age =
                std::chrono::milliseconds(jl.at("last_message_age_ms").get<std::int64_t>());
            l.ever_heard = jl.at("ever_heard").get<bool>();
            l.messages = jl.at("messages").get<std::uint64_t>();
            l.recreates = jl.at("recreates").get<std::uint64_t>();
            l.connect_retries = jl.at("connect_retries").get<std::uint64_t>();
            s.links.push_back(std::move(l));
        }
        return s;
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(std::string("runtime snapshot: ") + e.what());
    }
}

// ---------------------------------------------------------------------------------------------
// Tap messages' JSON

namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 16 |
                                                  static_cast<unsigned char>(bytes[i + 1]) << 8 |
                                                  static_cast<unsigned char>(bytes[i + 2]));
        for (int shift : {18, 12, 6, 0})
            out += kBase64[(n >> shift) & 63];
    }
    if (i < bytes.size()) {
        std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 16);
        if (i + 1 < bytes.size())
            n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1]) << 8);
        out += kBase64[(n >> 18) & 63];
        out += kBase64[(n >> 12) & 63];
        out += i + 1 < bytes.size() ? kBase64[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::string base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        throw std::invalid_argument("tap message: preview_base64 is not base64 (length " +
                                    std::to_string(text.size()) + ")");
    }
    std::string out;
    std::uint32_t n = 0;
    int bits = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '=') {
            // Padding: only the last one or two characters.
            if (i + 2 < text.size() || (i + 1 < text.size() && text[i + 1] != '=')) {
                throw std::invalid_argument("tap message: preview_base64 is not base64");
            }
            break;
        }
        const char* at = std::strchr(kBase64, c);
        if (c == '\0' || at == nullptr) {
            throw std::invalid_argument("tap message: preview_base64 is not base64 (character " +
                                        std::to_string(i) + ")");
        }
        n = n << 6 | static_cast<std::uint32_t>(at - kBase64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((n >> bits) & 0xff);
        }
    }
    return out;
}

}  // namespace

nlohmann::json TapMessage::to_json() const {
    nlohmann::json j = {{"seq", seq},
                        {"time_ms", to_unix_ms(time)},
                        {"endpoint", endpoint},
                        {"size", size},
                        {"heartbeat", heartbeat}};
    if (is_valid_utf8(preview)) {
        j["preview"] = preview;
    } else {
        j["preview_base64"] = base64_encode(preview);
    }
    return j;
}

TapMessage TapMessage::from_json(const nlohmann::json& value) {
    try {
        TapMessage m;
        m.seq = value.at("seq").get<std::uint64_t>();
        m.time = from_unix_ms(value.at("time_ms").get<std::int64_t>());
        m.endpoint = value.at("endpoint").get<std::string>();
        m.size = value.at("size").get<std::size_t>();
        m.heartbeat = value.at("heartbeat").get<bool>();
        const bool text = value.contains("preview");
        const bool binary = value.contains("preview_base64");
        if (text == binary) {
            throw std::invalid_argument("tap message: expected one of preview and preview_base64");
        }
        if (text) {
            m.preview = value.at("preview").get<std::string>();
        } else {
            m.preview = base64_decode(value.at("preview_base64").get<std::string>());
        }
        return m;
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(std::string("tap message: ") + e.what());
    }
}

// ---------------------------------------------------------------------------------------------
// Impl

struct Runtime::Impl {
    struct Sample {
        SteadyClock::time_point time;
        std::uint64_t in = 0, out = 0;
    };
    struct Slot {
        NodeState state = NodeState::Stopped;
        std::string reason;
        SystemClock::time_point since = SystemClock::now();
        std::unique_ptr<detail::NodeInstance> instance;
        // Ports whose port was chosen at bind time: the endpoint they got, kept for restarts.
        std::map<std::string, std::string> sticky;
        // What each of its links connects to, as started.
        std::map<std::string, std::string> link_endpoints;
        std::deque<Sample> samples;
        double rate_in = 0, rate_out = 0;
        std::string waiting_for;  // the binder a Waiting node waits for
    };

    Topology topology;
    RuntimeOptions options;
    std::shared_ptr<Context> context;
    std::shared_ptr<EventBus> bus = std::make_shared<EventBus>();

    mutable std::mutex ops;    // control operations, one at a time
    mutable std::mutex mutex;  // document and slots
    std::map<std::string, Slot, std::less<>> slots;

    // Supervisor
    std::thread supervisor;
    std::mutex supervisor_mutex;
    std::condition_variable supervisor_cv;
    bool supervisor_stop = false;
    std::unique_ptr<Sender> metrics_sender;  // used by the supervisor thread only
    std::shared_ptr<EventSubscription> metrics_events;
    std::string metrics_endpoint;

    // ---- helpers (mutex held)

    bool is_local(const Node& node) const { return local_in(topology, node); }

    // Whether node `node` runs here in `t`.
    bool local_in(const Topology& t, const Node& node) const {
        if (node.kind == NodeKind::External) return false;
        const std::string host = t.node_host(node);
        return (options.host.empty() || host == options.host) &&
               options.exclude_hosts.count(host) == 0;
    }

    // Why a node of host `host` is not run here.
    std::string remote_reason(const std::string& host) const {
        if (options.exclude_hosts.count(host) == 0) return "runs on host '" + host + "'";
        const Host* h = topology.find_host(host);
        if (h == nullptr || h->runner.empty()) return "runs on host '" + host + "', by its runner";
        return "runs on host '" + host + "', by its runner at " + h->runner.control;
    }

    void set_state(Slot& slot, const std::string& id, NodeState state, std::string reason = {}) {
        if (state != NodeState::Waiting) slot.waiting_for.clear();
        slot.state = state;
        slot.reason = std::move(reason);
        slot.since = SystemClock::now();
        std::string text = to_string(state);
        if (!slot.reason.empty()) text += ": " + slot.reason;
        bus->publish(id, EventKind::StateChanged, {}, std::move(text));
    }

    void sync_slots() {
        for (const auto& node : topology.nodes()) {
            auto it = slots.find(node.id);
            if (it == slots.end()) it = slots.emplace(node.id, Slot{}).first;
            Slot& slot = it->second;
            if (slot.instance) continue;
            if (node.kind == NodeKind::External) {
                slot.state = NodeState::External;
            } else if (!is_local(node)) {
                slot.state = NodeState::Remote;
                slot.reason = remote_reason(topology.node_host(node));
            } else if (slot.state == NodeState::External || slot.state == NodeState::Remote) {
                slot.state = NodeState::Stopped;
                slot.reason.clear();
            } else if (slot.state == NodeState::Waiting && !waits_for_local_binder(node.id)) {
                // An edit took away what it waited for: it might start now, or fail, but not
                // behind the user's back; they start it again.
                set_state(slot, node.id, NodeState::Stopped,
                          "stopped waiting for '" + slot.waiting_for +
                              "': the topology changed; start it again");
            }
        }
    }

    // Whether node `id` still connects to the node its slot waits for, and that one runs here.
    bool waits_for_local_binder(const std::string& id) const {
        const Slot& slot = slots.at(id);
        const Node* binder = topology.find_node(slot.waiting_for);
        if (!binder || !is_local(*binder)) return false;
        for (const Link* link : topology.links_of(id)) {
            if (connector_of(topology, *link).node == id &&
                binder_of(topology, *link).node == slot.waiting_for)
                return true;
        }
        return false;
    }

    // The endpoint a connector uses for `link`: the binder's actual endpoint when it runs here
    // (or ran here: its port is kept), else the one derived from the document.
    std::string connect_endpoint(const Link& link, std::string& error) const {
        const PortRef& binder = binder_of(topology, link);
        auto it = slots.find(binder.node);
        if (it != slots.end()) {
            const Slot& slot = it->second;
            std::string bound;
            if (slot.instance) bound = slot.instance->bound_endpoint(binder.port);
            if (bound.empty()) {
                auto sticky = slot.sticky.find(binder.port);
                if (sticky != slot.sticky.end()) bound = sticky->second;
            }
            if (!bound.empty()) return zmqrpc::connect_address(bound, "127.0.0.1");
        }
        std::string derived = topology.connect_address(link);
        if (derived.empty()) {
            error =
                "link '" + link.id + "': '" + binder.node + "' has no endpoint for " + binder.port;
        } else if (is_ephemeral(derived)) {
            error = "link '" + link.id + "': '" + binder.node +
                    "' chooses its port when it binds; start it first";
            derived.clear();
        }
        return derived;
    }

    // The node `link`'s connector must wait for, if any: a binder that chooses its port when it
    // binds, runs here, and has not bound (nor ever bound: its port would be kept).
    std::string unbound_local_binder(const Link& link) const {
        const PortRef& binder = binder_of(topology, link);
        auto it = slots.find(binder.node);
        const Node* node = topology.find_node(binder.node);
        if (it == slots.end() || !node || !is_local(*node)) return {};
        if (it->second.instance || it->second.sticky.count(binder.port)) return {};
        return is_ephemeral(topology.connect_address(link)) ? binder.node : std::string{};
    }

    // A CURVE client side learns the public key of the server at the other end of `link`, for
    // the endpoint it connects to there: derived from the link, never typed twice.
    void add_server_key(const Link& link, const PortRef& connector, const std::string& endpoint,
                        detail::NodeConfig& c) const {
        auto side = c.security.find(security_property(c.kind, connector.port));
        if (side == c.security.end() || side->second.curve() == nullptr) return;
        const PortRef& binder = binder_of(topology, link);
        const Node* server = topology.find_node(binder.node);
        if (server == nullptr) return;
        const auto ref =
            SecurityRef::from_json(server->property(security_property(server->kind, binder.port)));
        if (ref.curve() == nullptr) return;  // validation reports the mismatch
        side->second.curve()->server_keys[endpoint] = options.secrets.server_public_key(
            *ref.curve(), "link '" + link.id + "': CURVE server '" + server->id + "'");
    }

    // Everything node `id` needs to run. Throws ConfigError (missing password, unresolved
    // upstream). Mutex held.
    detail::NodeConfig build_config(const Node& node, Slot& slot) {
        detail::NodeConfig c;
        c.id = node.id;
        c.display_name = node.display_name();
        c.host = topology.node_host(node);
        c.kind = node.kind;
        c.context = context;
        c.events = bus;
        c.properties = nlohmann::json::object();
        for (const auto& spec : property_specs(node.kind)) {
            auto value = node.property(spec.key);
            if (spec.type == PropertyType::Security) {
                if (value.is_null()) continue;
                c.security[spec.key] = options.secrets.resolve(SecurityRef::from_json(value));
                continue;
            }
            if (!value.is_null()) c.properties[spec.key] = value;
        }
        for (const auto& port : port_specs(node.kind, node.properties)) {
            if (!port.binds) continue;
            auto sticky = slot.sticky.find(port.name);
            std::string ep = sticky != slot.sticky.end()
                                 ? sticky->second
                                 : node.property(port.endpoint_property).get<std::string>();
            if (!ep.empty()) c.binds[port.name] = ep;
        }
        slot.link_endpoints.clear();
        for (const Link* link : topology.links_of(node.id)) {
            const PortRef& connector = connector_of(topology, *link);
            if (connector.node != node.id) continue;
            std::string error;
            std::string ep = connect_endpoint(*link, error);
            if (ep.empty()) {
                std::string binder = unbound_local_binder(*link);
                if (!binder.empty()) {
                    throw BinderNotBound(binder, "until '" + binder + "' binds (link '" + link->id +
                                                     "'): it chooses its port when it binds");
                }
                throw ConfigError(error);
            }
            slot.link_endpoints[link->id] = ep;
            add_server_key(*link, connector, ep, c);
            if (link->to.node == node.id) {  // PUB -> our SUB
                c.sub_connect.emplace_back(ep, std::chrono::milliseconds(static_cast<std::int64_t>(
                                                   link->heartbeat_timeout * 1000.0 + 0.5)));
            } else {  // our REQ -> REP
                if (std::find(c.req_connect.begin(), c.req_connect.end(), ep) ==
                    c.req_connect.end())
                    c.req_connect.push_back(ep);
            }
        }
        return c;
    }

    // Binders before the nodes that connect to them; cycles (possible with fixed ports only)
    // keep document order.
    std::vector<std::string> start_order(const std::vector<std::string>& ids) const {
        std::set<std::string> wanted(ids.begin(), ids.end());
        std::map<std::string, std::set<std::string>> deps;  // node -> binders it needs
        for (const auto& id : ids)
            deps[id];
        for (const auto& link : topology.links()) {
            const PortRef& c = connector_of(topology, link);
            const PortRef& b = binder_of(topology, link);
            if (wanted.count(c.node) && wanted.count(b.node) && c.node != b.node)
                deps[c.node].insert(b.node);
        }
        std::vector<std::string> order;
        std::set<std::string> done;
        std::vector<std::string> doc_order;
        for (const auto& node : topology.nodes()) {
            if (wanted.count(node.id)) doc_order.push_back(node.id);
        }
        bool progress = true;
        while (order.size() < doc_order.size() && progress) {
            progress = false;
            for (const auto& id : doc_order) {
                if (done.count(id)) continue;
                bool ready = std::all_of(deps[id].begin(), deps[id].end(),
                                         [&](const std::string& d) { return done.count(d) > 0; });
                if (ready) {
                    order.push_back(id);
                    done.insert(id);
                    progress = true;
                }
            }
        }
        for (const auto& id : doc_order) {
            if (!done.count(id)) order.push_back(id);
        }
        return order;
    }

    void check_ids(const std::vector<std::string>& ids) const {
        for (const auto& id : ids) {
            const Node* node = topology.find_node(id);
            if (!node) throw ConfigError("no node '" + id + "'");
            if (node->kind == NodeKind::External)
                throw ConfigError("node '" + id + "' is external: it runs elsewhere");
            if (!is_local(*node)) {
                const std::string host = topology.node_host(*node);
                if (options.exclude_hosts.count(host) != 0) {
                    throw ConfigError("node '" + id + "' " + remote_reason(host) +
                                      ", not by this runtime: stop it there");
                }
                throw ConfigError("node '" + id + "' runs on host '" + host + "', not on '" +
                                  options.host + "'");
            }
        }
    }

    void start(const std::vector<std::string>& ids) {
        std::lock_guard op(ops);
        std::vector<std::string> order;
        {
            std::lock_guard lock(mutex);
            check_ids(ids);
            order = start_order(ids);
        }
        for (const auto& id : order)
            start_with_waiting(id);
    }

    // True when it started now (not when it ran already, waits or failed). ops held.
    bool start_one(const std::string& id) {
        std::unique_ptr<detail::NodeInstance> instance;
        {
            std::lock_guard lock(mutex);
            Slot& slot = slots.at(id);
            if (slot.instance) return false;  // running already
            set_state(slot, id, NodeState::Starting);
            try {
                instance = detail::make_node_instance(build_config(*topology.find_node(id), slot));
            } catch (const BinderNotBound& e) {
                set_state(slot, id, NodeState::Waiting, e.what());
                slot.waiting_for = e.binder;
                return false;
            } catch (const std::exception& e) {
                set_state(slot, id, NodeState::Failed, e.what());
                return false;
            }
        }
        std::string failure;
        try {
            instance->start();
        } catch (const std::exception& e) {
            failure = e.what();
            // Components name themselves after the node ("front: cannot bind ..."); the state
            // is the node's already.
            const std::string own = id + ": ";
            if (failure.rfind(own, 0) == 0 && failure.size() > own.size())
                failure.erase(0, own.size());
        }
        std::lock_guard lock(mutex);
        Slot& slot = slots.at(id);
        if (!failure.empty()) {
            instance.reset();
            set_state(slot, id, NodeState::Failed, failure);
            return false;
        }
        const Node* node = topology.find_node(id);
        for (const auto& port : port_specs(node->kind, node->properties)) {
            if (!port.binds) continue;
            auto configured = node->property(port.endpoint_property);
            if (configured.is_string() && is_ephemeral(configured.get<std::string>())) {
                auto bound = instance->bound_endpoint(port.name);
                if (!bound.empty()) slot.sticky[port.name] = bound;
            }
        }
        slot.instance = std::move(instance);
        slot.samples.clear();
        slot.rate_in = slot.rate_out = 0;
        set_state(slot, id, NodeState::Running);
        return true;
    }

    // start_one, then whatever was waiting for that node, and so on down the chain.
    void start_with_waiting(const std::string& id) {
        if (!start_one(id)) return;
        std::vector<std::string> waiting;
        {
            std::lock_guard lock(mutex);
            for (const auto& [other, slot] : slots) {
                if (slot.state == NodeState::Waiting && slot.waiting_for == id)
                    waiting.push_back(other);
            }
        }
        for (const auto& other : waiting)
            start_with_waiting(other);
    }

    void stop(const std::vector<std::string>& ids) {
        std::lock_guard op(ops);
        stop_locked(ids);
    }

    // Replaces the excluded hosts in one control operation: the active nodes of newly
    // excluded hosts are stopped first (Stopped events), then every slot whose locality changed
    // is told (Remote, or Stopped again).
    void set_excluded_hosts(std::set<std::string> hosts) {
        std::lock_guard op(ops);
        std::vector<std::string> stopping;
        {
            std::lock_guard lock(mutex);
            for (const auto& node : topology.nodes()) {
                if (!is_local(node) || hosts.count(topology.node_host(node)) == 0) continue;
                const Slot& slot = slots.at(node.id);
                if (slot.instance || slot.state == NodeState::Waiting ||
                    slot.state == NodeState::Failed)
                    stopping.push_back(node.id);
            }
        }
        if (!stopping.empty()) stop_locked(stopping);
        std::lock_guard lock(mutex);
        options.exclude_hosts = std::move(hosts);
        for (const auto& node : topology.nodes()) {
            if (node.kind == NodeKind::External) continue;
            Slot& slot = slots.at(node.id);
            if (slot.instance) continue;  // local before and after: untouched
            const bool local = is_local(node);
            if (!local && slot.state != NodeState::Remote) {
                // Its runner binds its own ports: a port kept from here would mislead the
                // connectors of this runtime.
                slot.sticky.clear();
                set_state(slot, node.id, NodeState::Remote,
                          remote_reason(topology.node_host(node)));
            } else if (!local) {
                slot.reason = remote_reason(topology.node_host(node));
            } else if (slot.state == NodeState::Remote) {
                set_state(slot, node.id, NodeState::Stopped);
            }
        }
        sync_slots();  // nodes that waited for a binder of an excluded host stop waiting
    }

    // Replaces the document in one control operation: the removed nodes are stopped (with their
    // Stopped events, outside the document mutex) and their slots erased before any other
    // operation (a start, a stop, another update) can run. Released in between, a start of a
    // removed node would have put an instance back into a slot that is then erased under the
    // mutex: its stop ran there, blocking every snapshot, and no Stopped event was sent.
    void update(Topology next) {
        std::lock_guard op(ops);
        std::vector<std::string> gone;
        {
            std::lock_guard lock(mutex);
            gone = slots_not_in(next);
        }
        if (!gone.empty()) stop_locked(gone);
        std::lock_guard lock(mutex);
        adopt(std::move(next), gone);
    }

    // The slots whose node `next` does not have. Mutex held.
    std::vector<std::string> slots_not_in(const Topology& next) const {
        std::vector<std::string> gone;
        for (const auto& [id, slot] : slots) {
            if (!next.find_node(id)) gone.push_back(id);
        }
        return gone;
    }

    // Makes `next` the document; the slots `gone` (stopped already) go. Mutex held.
    void adopt(Topology next, const std::vector<std::string>& gone) {
        topology = std::move(next);
        for (const auto& id : gone)
            slots.erase(id);
        sync_slots();
    }

    // What a node's configuration is made of, for deploy(): kind, host, properties, and each
    // link touching it with its connect address (which follows the binder's endpoint and hosts).
    static nlohmann::json node_signature(const Topology& t, const Node& node) {
        nlohmann::json links = nlohmann::json::array();
        for (const Link* link : t.links_of(node.id)) {
            links.push_back({link->id, link->from.str(), link->to.str(), link->heartbeat_timeout,
                             t.connect_address(*link)});
        }
        return {{"kind", static_cast<int>(node.kind)},
                {"host", t.node_host(node)},
                {"properties", node.properties},
                {"links", links}};
    }

    std::vector<DeployResult> deploy(Topology next) {
        using Outcome = DeployResult::Outcome;
        std::lock_guard op(ops);
        std::vector<std::string> gone;      // slots that disappear
        std::vector<std::string> stopping;  // local nodes to stop (removed, moved, restarted)
        std::vector<std::string> starting;  // to start once the new document is in
        std::vector<DeployResult> results;
        std::vector<DeployResult> removed;
        {
            std::lock_guard lock(mutex);
            gone = slots_not_in(next);
            for (const auto& node : next.nodes()) {
                if (!local_in(next, node)) continue;
                const Node* old = topology.find_node(node.id);
                auto slot = slots.find(node.id);
                const bool active =
                    slot != slots.end() &&
                    (slot->second.instance || slot->second.state == NodeState::Waiting);
                if (!old || !is_local(*old)) {
                    starting.push_back(node.id);
                    results.push_back({node.id, Outcome::Applied, "started: new on this host"});
                } else if (node_signature(topology, *old) == node_signature(next, node)) {
                    results.push_back({node.id, Outcome::Unchanged, {}});
                } else if (active) {
                    stopping.push_back(node.id);
                    starting.push_back(node.id);
                    results.push_back({node.id, Outcome::Applied, "restarted: changed"});
                    // A bind endpoint that changed does not keep the port it had.
                    for (const auto& port : port_specs(node.kind, node.properties)) {
                        if (!port.binds) continue;
                        if (old->kind != node.kind || old->property(port.endpoint_property) !=
                                                          node.property(port.endpoint_property))
                            slot->second.sticky.erase(port.name);
                    }
                } else {
                    results.push_back({node.id, Outcome::Applied,
                                       "changed: not running, takes it at its next start"});
                    if (slot != slots.end()) slot->second.sticky.clear();
                }
            }
            for (const auto& node : topology.nodes()) {
                if (!is_local(node)) continue;
                const Node* now = next.find_node(node.id);
                if (now && local_in(next, *now)) continue;
                const bool active =
                    slots.at(node.id).instance || slots.at(node.id).state == NodeState::Waiting;
                removed.push_back(
                    {node.id, Outcome::Applied,
                     std::string(active ? "stopped: " : "") +
                         (now ? "moved to host '" + next.node_host(*now) + "'" : "removed")});
                stopping.push_back(node.id);
            }
        }
        if (!stopping.empty()) stop_locked(stopping);
        std::vector<std::string> order;
        {
            std::lock_guard lock(mutex);
            adopt(std::move(next), gone);
            order = start_order(starting);
        }
        for (const auto& id : order)
            start_with_waiting(id);
        std::lock_guard lock(mutex);
        for (auto& result : results) {
            if (result.outcome == Outcome::Unchanged) continue;
            if (std::find(starting.begin(), starting.end(), result.node) == starting.end())
                continue;
            const Slot& slot = slots.at(result.node);
            if (slot.state == NodeState::Failed) {
                result.outcome = Outcome::Failed;
                result.reason = slot.reason;
            } else if (slot.state == NodeState::Waiting) {
                result.reason += "; " + slot.reason;
            }
        }
        results.insert(results.end(), removed.begin(), removed.end());
        return results;
    }

    // ops held.
    void stop_locked(const std::vector<std::string>& ids) {
        std::vector<std::pair<std::string, std::unique_ptr<detail::NodeInstance>>> stopping;
        {
            std::lock_guard lock(mutex);
            for (const auto& id : ids) {
                auto it = slots.find(id);
                if (it == slots.end()) throw ConfigError("no node '" + id + "'");
            }
            for (const auto& id : ids) {
                Slot& slot = slots.at(id);
                if (slot.instance) {
                    set_state(slot, id, NodeState::Stopping);
                    stopping.emplace_back(id, std::move(slot.instance));
                } else if (slot.state == NodeState::Failed || slot.state == NodeState::Waiting) {
                    set_state(slot, id, NodeState::Stopped);
                }
            }
        }
        // In parallel: each stop is bounded (200 ms), so stopping everything is too.
        std::vector<std::thread> threads;
        threads.reserve(stopping.size());
        for (auto& entry : stopping) {
            threads.emplace_back([&entry] {
                entry.second->stop();
                entry.second.reset();
            });
        }
        for (auto& t : threads)
            t.join();
        std::lock_guard lock(mutex);
        for (auto& entry : stopping) {
            auto it = slots.find(entry.first);
            if (it == slots.end()) continue;
            it->second.samples.clear();
            it->second.rate_in = it->second.rate_out = 0;
            set_state(it->second, entry.first, NodeState::Stopped);
        }
    }

    // Nodes that run, or wait to: what "stop all" stops.
    std::vector<std::string> active_ids() const {
        std::lock_guard lock(mutex);
        std::vector<std::string> ids;
        for (const auto& [id, slot] : slots) {
            if (slot.instance || slot.state == NodeState::Waiting) ids.push_back(id);
        }
        return ids;
    }

    // ---- reading

    NodeStatus status_of(const Node& node, const Slot& slot) const {
        NodeStatus s;
        s.id = node.id;
        s.name = node.display_name();
        s.kind = node.kind;
        s.host = topology.node_host(node);
        s.state = slot.state;
        s.reason = slot.reason;
        s.since = slot.since;
        if (slot.instance) s.metrics = slot.instance->metrics();
        s.rate_in = slot.rate_in;
        s.rate_out = slot.rate_out;
        return s;
    }

    LinkStatus link_status(const Link& link) const {
        LinkStatus ls;
        ls.id = link.id;
        const PortRef& connector = connector_of(topology, link);
        const Slot& slot = slots.at(connector.node);
        auto ep = slot.link_endpoints.find(link.id);
        if (slot.instance && ep != slot.link_endpoints.end()) {
            ls.endpoint = ep->second;
            ls.active = true;
            const bool sub = link.to.node == connector.node;
            const auto metrics = slot.instance->metrics();
            // A SUB, and a proxy's REQ output (one pipeline per endpoint), has statistics of its
            // own per endpoint; a sender's one REQ serves all of its links.
            const SocketSnapshot* match = nullptr;
            for (const auto& s : metrics.sockets) {
                if (s.role == (sub ? "sub" : "req") && s.endpoint == ls.endpoint) {
                    match = &s;
                    break;
                }
            }
            if (!match && !sub) {
                for (const auto& s : metrics.sockets) {
                    if (s.role == "req") {
                        match = &s;
                        break;
                    }
                }
            }
            if (match) {
                ls.connection = match->connection;
                ls.heartbeat = match->heartbeat;
                ls.heartbeat_timeout = match->heartbeat_timeout;
                ls.last_message_age = match->last_message_age;
                ls.ever_heard = match->ever_heard;
                ls.messages = sub ? match->messages_in : match->messages_out;
                ls.recreates = match->recreates;
                ls.connect_retries = match->connect_retries;
            }
        } else {
            std::string error;
            ls.endpoint = connect_endpoint(link, error);
            ls.heartbeat_timeout = std::chrono::milliseconds(
                static_cast<std::int64_t>(link.heartbeat_timeout * 1000.0 + 0.5));
        }
        return ls;
    }

    // An external node's state text, from the links that reach it.
    std::string external_reason(const Node& node) const {
        int links = 0, active = 0, connected = 0, refused = 0;
        for (const Link* link : topology.links_of(node.id)) {
            ++links;
            auto ls = link_status(*link);
            if (!ls.active) continue;
            ++active;
            if (ls.connection == ConnectionState::Connected) ++connected;
            if (ls.connection == ConnectionState::CredentialsRefused) ++refused;
        }
        if (links == 0) return "not linked";
        if (active == 0) return "no running node links to it";
        if (connected == 0 && refused > 0) {
            return "refuses " + std::to_string(refused) + " of " + std::to_string(active) +
                   " link(s): credentials or keys";
        }
        if (connected == 0) return "unreachable: " + std::to_string(active) + " link(s) connecting";
        return "reached by " + std::to_string(connected) + " of " + std::to_string(active) +
               " running link(s)";
    }

    RuntimeSnapshot snapshot() const {
        std::lock_guard lock(mutex);
        RuntimeSnapshot snap;
        snap.time = SystemClock::now();
        snap.host = options.host;
        for (const auto& node : topology.nodes()) {
            const Slot& slot = slots.at(node.id);
            auto status = status_of(node, slot);
            if (node.kind == NodeKind::External) status.reason = external_reason(node);
            snap.nodes.push_back(std::move(status));
        }
        for (const auto& link : topology.links())
            snap.links.push_back(link_status(link));
        return snap;
    }

    // ---- supervisor

    void sample() {
        std::vector<std::string> died;
        {
            std::lock_guard lock(mutex);
            auto now = SteadyClock::now();
            for (auto& [id, slot] : slots) {
                if (!slot.instance) continue;
                if (!slot.instance->running()) {
                    died.push_back(id);
                    continue;
                }
                auto m = slot.instance->metrics();
                slot.samples.push_back({now, m.messages_in, m.messages_out});
                // Rates over the last second (or what we have of it).
                while (slot.samples.size() > 2 &&
                       now - slot.samples[1].time >= std::chrono::seconds(1))
                    slot.samples.pop_front();
                const auto& first = slot.samples.front();
                double dt = std::chrono::duration<double>(now - first.time).count();
                if (dt > 0.05) {
                    slot.rate_in = static_cast<double>(m.messages_in - first.in) / dt;
                    slot.rate_out = static_cast<double>(m.messages_out - first.out) / dt;
                }
            }
        }
        if (died.empty()) return;
        // A component whose thread ended on its own: say so and free it.
        std::lock_guard op(ops);
        for (const auto& id : died) {
            std::unique_ptr<detail::NodeInstance> instance;
            {
                std::lock_guard lock(mutex);
                auto it = slots.find(id);
                if (it == slots.end() || !it->second.instance || it->second.instance->running())
                    continue;
                instance = std::move(it->second.instance);
                set_state(it->second, id, NodeState::Failed, "its thread ended unexpectedly");
            }
            instance->stop();
        }
    }

    void publish_metrics(bool with_snapshot) {
        if (!metrics_sender) return;
        for (const auto& event : metrics_events->drain()) {
            metrics_sender->publish(
                dumps(nlohmann::json{{"type", "event"}, {"event", event_to_json(event)}}));
        }
        if (with_snapshot) {
            metrics_sender->publish(
                dumps(nlohmann::json{{"type", "snapshot"}, {"snapshot", snapshot().to_json()}}));
        }
        metrics_sender->poll_events();
    }

    void supervise() {
        auto next_snapshot = SteadyClock::now();
        std::unique_lock lock(supervisor_mutex);
        while (!supervisor_stop) {
            lock.unlock();
            sample();
            auto now = SteadyClock::now();
            bool with_snapshot = now >= next_snapshot;
            if (with_snapshot) next_snapshot = now + std::chrono::seconds(1);
            publish_metrics(with_snapshot);
            lock.lock();
            supervisor_cv.wait_for(lock, options.sample_interval,
                                   [this] { return supervisor_stop; });
        }
    }
};

// ---------------------------------------------------------------------------------------------

namespace {
void refuse_errors(const Topology& topology) {
    auto problems = validate(topology);
    if (!has_errors(problems)) return;
    std::string text = "the topology has errors:";
    for (const auto& p : problems) {
        if (p.severity == Severity::Error) text += "\n  " + p.str();
    }
    throw ConfigError(text);
}
}  // namespace

Runtime::Runtime(Topology topology, RuntimeOptions options) : impl_(std::make_unique<Impl>()) {
    refuse_errors(topology);
    impl_->topology = std::move(topology);
    impl_->options = std::move(options);
    if (impl_->options.sample_interval.count() <= 0)
        impl_->options.sample_interval = std::chrono::milliseconds(250);
    impl_->context = impl_->options.context ? impl_->options.context : std::make_shared<Context>();
    {
        std::lock_guard lock(impl_->mutex);
        impl_->sync_slots();
    }
    if (!impl_->options.metrics_bind.empty()) {
        SenderOptions so;
        so.name = "metrics";
        so.context = impl_->context;
        so.pub_bind = impl_->options.metrics_bind;
        so.security = impl_->options.metrics_security;
        impl_->metrics_sender = std::make_unique<Sender>(std::move(so));
        impl_->metrics_endpoint = impl_->metrics_sender->pub_endpoint();
        impl_->metrics_events = impl_->bus->subscribe(10000);
    }
    impl_->supervisor = std::thread([this] { impl_->supervise(); });
}

Runtime::~Runtime() {
    stop_all();
    {
        std::lock_guard lock(impl_->supervisor_mutex);
        impl_->supervisor_stop = true;
    }
    impl_->supervisor_cv.notify_all();
    impl_->supervisor.join();
    if (impl_->metrics_sender) impl_->publish_metrics(true);  // the last word: all stopped
    impl_->metrics_sender.reset();
}

Topology Runtime::topology() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->topology;
}

void Runtime::update_topology(Topology topology) {
    refuse_errors(topology);
    impl_->update(std::move(topology));
}

void Runtime::set_secrets(Secrets secrets) {
    std::lock_guard lock(impl_->mutex);
    impl_->options.secrets = std::move(secrets);
}

void Runtime::set_excluded_hosts(std::set<std::string> hosts) {
    impl_->set_excluded_hosts(std::move(hosts));
}

std::set<std::string> Runtime::excluded_hosts() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->options.exclude_hosts;
}

std::vector<DeployResult> Runtime::deploy(Topology topology) {
    refuse_errors(topology);
    return impl_->deploy(std::move(topology));
}

const std::string& Runtime::host() const noexcept {
    return impl_->options.host;
}

std::vector<std::string> Runtime::local_nodes() const {
    std::lock_guard lock(impl_->mutex);
    std::vector<std::string> ids;
    for (const auto& node : impl_->topology.nodes()) {
        if (impl_->is_local(node)) ids.push_back(node.id);
    }
    return ids;
}

void Runtime::start(const std::vector<std::string>& ids) {
    impl_->start(ids);
}

void Runtime::stop(const std::vector<std::string>& ids) {
    impl_->stop(ids);
}

void Runtime::start_all() {
    impl_->start(local_nodes());
}

void Runtime::stop_all() {
    impl_->stop(impl_->active_ids());
}

NodeStatus Runtime::status(std::string_view id) const {
    std::lock_guard lock(impl_->mutex);
    const Node* node = impl_->topology.find_node(id);
    if (!node) throw ConfigError("no node '" + std::string(id) + "'");
    auto s = impl_->status_of(*node, impl_->slots.at(node->id));
    if (node->kind == NodeKind::External) s.reason = impl_->external_reason(*node);
    return s;
}

RuntimeSnapshot Runtime::snapshot() const {
    return impl_->snapshot();
}

std::shared_ptr<EventBus> Runtime::events() const {
    return impl_->bus;
}

std::shared_ptr<EventSubscription> Runtime::subscribe(std::size_t capacity) const {
    return impl_->bus->subscribe(capacity);
}

std::vector<TapMessage> Runtime::tap_messages(std::string_view tap_id,
                                              std::uint64_t after_seq) const {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->slots.find(tap_id);
    if (it == impl_->slots.end()) throw ConfigError("no node '" + std::string(tap_id) + "'");
    if (!it->second.instance) return {};
    return it->second.instance->tap_messages(after_seq);
}

std::string Runtime::bound_endpoint(const PortRef& port) const {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->slots.find(port.node);
    if (it == impl_->slots.end() || !it->second.instance) return {};
    return it->second.instance->bound_endpoint(port.port);
}

std::string Runtime::metrics_endpoint() const {
    return impl_->metrics_endpoint;
}

}  // namespace zmqrpc
