// The topology document: nodes (samplers, RPC servers, the five proxies, taps, external
// endpoints) and the links between their ports (PUB->SUB, REQ->REP). This is the model the
// Studio draws and the Runtime runs; it has no Qt and no sockets.
//
// The model keeps itself consistent: every mutation checks its rules (unique ids, known
// properties of the right type, links only between compatible ports of existing nodes) and
// throws TopologyError otherwise, then tells its observers what changed. Semantic problems that a
// user may pass through while editing (a missing endpoint, two binds on one port) are not
// refused: validate() lists them, located, for the editor to mark.
//
// Not thread-safe: one thread owns a Topology (the Studio's GUI thread, or whoever loaded it).
// The Runtime takes its own copy.
#pragma once

#include "zmqrpc/errors.hpp"
#include "zmqrpc/secrets.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zmqrpc {

// ---------------------------------------------------------------------------------------------
// Kinds, ports and properties

enum class NodeKind {
    Sampler,    // synthetic publisher: bound PUB, invocations at a rate, heartbeats
    RpcServer,  // REP and/or SUB inputs serving the diagnostic functions of `zmqrpc serve`
    Sub2Req,    // the five proxies (proxy.hpp)
    Sub2Pub,
    Rep2Pub,
    Rep2Req,
    BufferedRep2Req,
    Tap,       // a SUB that counts, keeps the last N messages and tracks heartbeat health
    External,  // a PUB or REP endpoint run elsewhere: referenced and monitored, never launched
};
// "sampler", "rpc-server", "sub2req", "sub2pub", "rep2pub", "rep2req", "buffered-rep2req",
// "tap", "external".
const char* to_string(NodeKind kind) noexcept;
std::optional<NodeKind> node_kind_from_string(std::string_view text) noexcept;
// "Sampler", "RPC server", "Sub2Req proxy", ... for palettes and tables.
const char* display_name(NodeKind kind) noexcept;
// One line about what the kind does.
const char* description(NodeKind kind) noexcept;
const std::vector<NodeKind>& all_node_kinds();
bool is_proxy(NodeKind kind) noexcept;

enum class SocketType { Pub, Sub, Req, Rep };
const char* to_string(SocketType type) noexcept;  // "PUB", "SUB", "REQ", "REP"

struct PortSpec {
    std::string name;   // "pub", "sub", "req", "rep": unique within a node
    SocketType socket;  // PUB and REQ are outputs, SUB and REP inputs
    bool output = false;
    bool binds = false;  // PUB and REP bind; SUB and REQ connect
    // For a binding port: the property that holds its bind endpoint ("bind", "rep_bind", ...).
    std::string endpoint_property;
};

enum class PropertyType {
    String,
    Endpoint,    // a ZeroMQ endpoint; for binding ports "tcp://*:5555", "tcp://127.0.0.1:*"
    Integer,     // whole number within [minimum, maximum]
    Number,      // real number within [minimum, maximum]
    Seconds,     // a duration in seconds (real), within [minimum, maximum]
    Boolean,     //
    Choice,      // one of `choices`
    JsonObject,  // any JSON object (a sampler's parameter template)
    Security,    // a SecurityRef: none, PLAIN (a username and where its password comes from) or
                 // CURVE (where the secret key comes from, the public key, who may connect)
};
const char* to_string(PropertyType type) noexcept;

struct PropertySpec {
    std::string key;
    PropertyType type = PropertyType::String;
    std::string label;  // "Bind endpoint"
    std::string help;   // one line
    bool required = false;
    nlohmann::json default_value;      // null when there is none
    double minimum = 0, maximum = 0;   // Integer, Number, Seconds
    std::vector<std::string> choices;  // Choice
};

// Every property a kind knows, in the order the file and the inspector list them.
const std::vector<PropertySpec>& property_specs(NodeKind kind);
const PropertySpec* find_property_spec(NodeKind kind, std::string_view key);
// The ports of a kind. An external node's ports depend on its "socket" property ("pub" or
// "rep"), hence the properties argument.
std::vector<PortSpec> port_specs(NodeKind kind, const nlohmann::json& properties);
// The Security property of a node's port: "input_credentials" / "output_credentials" for a
// proxy's input (sub, rep) and output (pub, req) ports, "credentials" for the other kinds.
std::string security_property(NodeKind kind, std::string_view port_name);
// Checks one property value against its spec; returns the problem text, or nullopt when fine.
// A null value is fine for an optional property.
std::optional<std::string> check_property(const PropertySpec& spec, const nlohmann::json& value);

// ---------------------------------------------------------------------------------------------
// The document

struct Point {
    double x = 0, y = 0;
    bool operator==(const Point&) const = default;
};

// The runner that runs a host's nodes (`zmqrpc run --host H --control ...`), as the Studio
// reaches it. Empty control: no runner; the Studio runs the host's nodes itself.
// In the file, a host's "runner": {"control": ..., "metrics": ..., "server_key": ...,
// "security": SecurityRef JSON}, only the members that are not empty.
struct Runner {
    std::string control;     // the runner's control endpoint, as the Studio connects to it
    std::string metrics;     // its --metrics endpoint; empty: none (snapshots polled)
    std::string server_key;  // Z85 public key of the runner (CURVE); empty for PLAIN/none
    SecurityRef security;    // what the Studio presents: PLAIN credentials ref, or
                             // {"curve": {"secret_key": ref}} (absent secret: ephemeral)
    bool empty() const noexcept { return control.empty(); }
    bool operator==(const Runner&) const = default;
};

struct Host {
    std::string name;     // as nodes name it
    std::string address;  // how other hosts reach it (IP or DNS name); empty: the name itself
    Runner runner = {};   // empty: the Studio runs this host's nodes itself
    bool operator==(const Host&) const = default;
};

struct Node {
    std::string id;  // [A-Za-z0-9_-]+, unique
    NodeKind kind = NodeKind::Sampler;
    std::string name;  // free text for humans; empty shows the id
    std::string host;  // the host it runs on; empty: the document's default host ("local")
    Point position;    // editor position (scene coordinates)
    // Only keys of property_specs(kind), each of its type. Absent keys take their default.
    nlohmann::json properties = nlohmann::json::object();

    // The property's value, or its default, or null.
    nlohmann::json property(std::string_view key) const;
    const std::string& display_name() const { return name.empty() ? id : name; }
    bool operator==(const Node&) const = default;
};

struct PortRef {
    std::string node;
    std::string port;
    std::string str() const { return node + "." + port; }  // "sampler-1.pub", as in the file
    bool operator==(const PortRef&) const = default;
};

struct Link {
    std::string id;  // [A-Za-z0-9_-]+, unique
    PortRef from;    // an output port (PUB or REQ)
    PortRef to;      // an input port (SUB or REP)
    // PUB->SUB only: seconds of silence after which the SUB socket is recreated (late at half of
    // it); zero: not supervised.
    double heartbeat_timeout = 0;
    bool operator==(const Link&) const = default;
};

// What changed, for observers.
struct TopologyChange {
    enum class What {
        NodeAdded,
        NodeRemoved,
        NodeChanged,  // name, host, position or a property
        LinkAdded,
        LinkRemoved,
        LinkChanged,
        DocumentChanged,  // name, description, hosts, or everything (assignment)
    };
    What what;
    std::string id;  // node or link id; empty for DocumentChanged
};

// A mutation that breaks the model's rules (unknown node, incompatible ports, duplicate id).
class TopologyError : public ConfigError {
  public:
    using ConfigError::ConfigError;
};

class Topology {
  public:
    static constexpr const char* kDefaultHost = "local";

    Topology() = default;
    // Copies and moves carry the document, not the observers: an assigned-to Topology keeps
    // its own observers and tells them DocumentChanged.
    Topology(const Topology& other);
    Topology& operator=(const Topology& other);
    Topology(Topology&& other) noexcept;
    Topology& operator=(Topology&& other) noexcept;

    const std::string& name() const noexcept { return name_; }
    const std::string& description() const noexcept { return description_; }
    void set_name(std::string name);
    void set_description(std::string description);

    const std::vector<Host>& hosts() const noexcept { return hosts_; }
    // Replaces the host list (names unique and non-empty, or TopologyError).
    void set_hosts(std::vector<Host> hosts);
    // The address other hosts use for `host` (its Host::address, else the name itself).
    std::string host_address(std::string_view host) const;
    // Every host named by a node or the host list, the default host for nodes that name none.
    std::vector<std::string> host_names() const;
    // The host a node runs on ("local" when it names none).
    std::string node_host(const Node& node) const;
    // The host list's entry named `name`, or null.
    const Host* find_host(std::string_view name) const;

    const std::vector<Node>& nodes() const noexcept { return nodes_; }
    const std::vector<Link>& links() const noexcept { return links_; }
    const Node* find_node(std::string_view id) const;
    const Link* find_link(std::string_view id) const;
    // Links touching a node, or one of its ports.
    std::vector<const Link*> links_of(std::string_view node_id) const;
    std::vector<const Link*> links_at(const PortRef& port) const;

    // A fresh id from a base ("sampler" -> "sampler-1", "sampler-2", ...).
    std::string unique_node_id(std::string_view base) const;
    std::string unique_link_id() const;

    // Adds a node. An empty id gets a fresh one from the kind. Returns the id.
    std::string add_node(Node node);
    // Removes a node and its links; returns the links removed (for undo).
    std::vector<Link> remove_node(std::string_view id);
    void set_node_name(std::string_view id, std::string name);
    void set_node_host(std::string_view id, std::string host);
    void set_node_position(std::string_view id, Point position);
    // Sets a property (null removes it, i.e. back to the default). Refuses unknown keys and
    // values of the wrong type; accepts values a user types on the way (validate() reports).
    void set_property(std::string_view id, std::string_view key, nlohmann::json value);

    // Why `from` cannot link to `to`, or nullopt when it can: both ports exist, `from` is an
    // output and `to` an input of another node, PUB->SUB or REQ->REP, and not linked yet.
    std::optional<std::string> can_link(const PortRef& from, const PortRef& to) const;
    // Adds a link (empty id: a fresh one). Throws TopologyError with can_link()'s reason.
    std::string add_link(Link link);
    void remove_link(std::string_view id);
    void set_link_heartbeat_timeout(std::string_view id, double seconds);

    // Endpoints. The bind endpoint of a binding port as configured (may be empty). The address
    // a connecting socket at the other end of `link` uses: derived from the binding side's
    // endpoint and the two hosts (a wildcard bind is reached at the binder's host address, or
    // at 127.0.0.1 from the same host). Empty when the binder has no endpoint.
    std::string bind_endpoint(const PortRef& port) const;
    std::string connect_address(const Link& link) const;

    // Observers are told after each successful mutation. Returns a handle for unobserve().
    using Observer = std::function<void(const TopologyChange&)>;
    int observe(Observer observer);
    void unobserve(int handle);

    // Equal documents (observers aside).
    bool operator==(const Topology& other) const;

  private:
    Node& node_ref(std::string_view id);
    void notify(TopologyChange::What what, std::string id);

    std::string name_;
    std::string description_;
    std::vector<Host> hosts_;
    std::vector<Node> nodes_;
    std::vector<Link> links_;
    std::vector<std::pair<int, Observer>> observers_;
    int next_observer_ = 1;
};

// ---------------------------------------------------------------------------------------------
// The file format: versioned JSON, keys in a fixed order, two-space indent, so that diffs are
// small. See docs in README ("Topology files").

inline constexpr const char* kTopologyFormat = "zmqrpc-topology";
inline constexpr int kTopologyVersion = 1;

struct LocatedError {
    std::string where;  // "links[3].to", "nodes[0].properties.rate", "line 4, column 7"
    std::string text;   // "no node 'proxy-2'"
    std::string str() const { return where.empty() ? text : where + ": " + text; }
};

// Everything wrong with a file, each error with its place. what() lists them, one per line.
class TopologyLoadError : public ConfigError {
  public:
    explicit TopologyLoadError(std::vector<LocatedError> errors, std::string file = {});
    const std::vector<LocatedError>& errors() const noexcept { return errors_; }

  private:
    std::vector<LocatedError> errors_;
};

Topology load_topology(std::string_view text);
// Loads a file; errors name the file. Throws TopologyLoadError (also when it cannot be read).
Topology load_topology_file(const std::filesystem::path& path);
// The canonical text: load_topology(save_topology(t)) == t, and saving what was loaded from a
// canonical text gives the same bytes.
std::string save_topology(const Topology& topology);
// Writes atomically (temporary file + rename). Throws ConfigError when it cannot.
void save_topology_file(const Topology& topology, const std::filesystem::path& path);
// A document's revision: FNV-1a 64-bit of its canonical text (save_topology), as 16 lowercase
// hex digits. Equal documents have equal revisions on every host (a runner's control endpoint
// names the revision it runs; a deploy names the one it replaces).
std::string topology_revision(const Topology& topology);

// ---------------------------------------------------------------------------------------------
// Validation

enum class Severity { Warning, Error };
const char* to_string(Severity severity) noexcept;  // "warning", "error"

struct Problem {
    Severity severity = Severity::Error;
    std::string node;      // the node concerned, or empty
    std::string link;      // the link concerned, or empty
    std::string property;  // the property concerned ("bind", "heartbeat_timeout"), or empty
    std::string text;
    // The host concerned (its entry in the host list: "runner.control", ...), or empty.
    std::string host = {};
    // "error: node 'site-proxy' (queue_capacity): must be at least 1",
    // "error: host 'edge' (runner.control): ..."
    std::string str() const;
};

// Every problem of the document, errors first, then in document order. A document with no
// Error-severity problem can run.
std::vector<Problem> validate(const Topology& topology);
bool has_errors(const std::vector<Problem>& problems);

}  // namespace zmqrpc
