// The runtime: runs the nodes of a topology that belong to one host (or all of them), each as
// the core component of its kind on its own thread, and gives one view over all of them: node
// states, a metrics registry with rates and per-link health, and one event stream.
//
//   sampler           a publisher thread (Sender) sending invocations at a rate, and heartbeats
//   rpc-server        RpcServer with diagnostic_functions()
//   the five proxies  Proxy
//   tap               Receiver whose tap keeps the last N messages
//   external          never launched; its state follows the links that reach it
//
// Starting starts binders before the nodes that connect to them, so that a connector can use an
// endpoint whose port was chosen at bind time ("tcp://127.0.0.1:*"); such a port is kept for
// the runtime's life, so a restarted node binds the same one and its peers find it again. One
// node's failure (address in use, missing password) leaves it Failed with the reason and the
// others running. Stopping everything stops the nodes in parallel and takes well under a second.
//
// Thread-safe: every method may be called from any thread. start()/stop() block until the nodes
// concerned are up or down (a few milliseconds per node; never waiting on a peer), so a GUI calls
// them from a worker thread. A background thread samples metrics every `sample_interval`
// (rates over the last second), watches external nodes, and publishes metrics when asked to.
#pragma once

#include "zmqrpc/context.hpp"
#include "zmqrpc/events.hpp"
#include "zmqrpc/metrics.hpp"
#include "zmqrpc/topology.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace zmqrpc {

enum class NodeState {
    Stopped,
    Starting,
    Running,
    Stopping,
    Failed,    // `reason` says why; start() tries again
    External,  // not launched by us
    Remote,    // belongs to another host: another runner runs it
    // Asked to start, but a node it connects to chooses its port when it binds and is not
    // running yet: it starts by itself as soon as that node does (`reason` names it). stop()
    // cancels the wait.
    Waiting,
    // The Studio cannot tell: the runner of its host is silent (no snapshot, no answer). Only
    // the Studio sets it, on the nodes of a host whose runner it watches; a Runtime never does.
    Unknown,
};
const char* to_string(NodeState state) noexcept;  // "stopped", "starting", ...

struct NodeStatus {
    std::string id;
    std::string name;  // display name
    NodeKind kind = NodeKind::Sampler;
    std::string host;
    NodeState state = NodeState::Stopped;
    std::string reason;  // for Failed: why; for External: what its links see
    std::chrono::system_clock::time_point since;  // when it entered this state
    MetricsSnapshot metrics;  // of the running component (empty when not running)
    // Messages per second over the last second (input side, output side).
    double rate_in = 0, rate_out = 0;
};

// One link as the connecting socket sees it.
struct LinkStatus {
    std::string id;
    std::string endpoint;  // the connect address in use (or that would be used)
    bool active = false;   // the connecting node is running here
    ConnectionState connection = ConnectionState::Idle;
    // A supervised link counts as Alive from its start until its first deadline; ever_heard
    // tells "alive" from "waiting for the first message".
    HeartbeatState heartbeat = HeartbeatState::Unmonitored;
    std::chrono::milliseconds heartbeat_timeout{0};
    std::chrono::milliseconds last_message_age{0};
    bool ever_heard = false;
    std::uint64_t messages = 0;         // what the connecting socket received (SUB) or sent (REQ)
    std::uint64_t recreates = 0;        // times the connecting socket was rebuilt
    std::uint64_t connect_retries = 0;  // failed connection attempts (peer absent, refused)
};

struct RuntimeSnapshot {
    std::chrono::system_clock::time_point time;
    std::string host;               // the host this runtime runs ("" = all)
    std::vector<NodeStatus> nodes;  // in document order
    std::vector<LinkStatus> links;  // in document order

    // Point into this snapshot (null when unknown): keep the snapshot while using them.
    const NodeStatus* node(std::string_view id) const;
    const LinkStatus* link(std::string_view id) const;
    nlohmann::json to_json() const;
    // Reads what to_json() wrote (a remote Studio). Throws std::invalid_argument.
    static RuntimeSnapshot from_json(const nlohmann::json& value);
};

// What a tap node keeps of each message.
struct TapMessage {
    std::uint64_t seq = 0;  // 1, 2, ... per tap, never reused
    std::chrono::system_clock::time_point time;
    std::string endpoint;  // the SUB endpoint it came from
    std::size_t size = 0;
    bool heartbeat = false;
    std::string preview;  // the first bytes (up to 256), as received

    // The wire form (a runner's `tap` control call): {"seq", "time_ms" (Unix milliseconds, as
    // the snapshot), "endpoint", "size", "heartbeat", "preview": text}; a preview that is not
    // valid UTF-8 (cut mid-character at 256 bytes, binary) is "preview_base64" instead.
    nlohmann::json to_json() const;
    // Reads either preview form. Throws std::invalid_argument naming what is wrong.
    static TapMessage from_json(const nlohmann::json& value);
};

// What Runtime::deploy() did to one node of this runtime's host.
struct DeployResult {
    enum class Outcome { Applied, Failed, Unchanged };
    std::string node;
    Outcome outcome = Outcome::Unchanged;
    // What was done ("started", "stopped: removed", "restarted: changed", ...) or, for
    // Failed, why.
    std::string reason;
};
const char* to_string(DeployResult::Outcome outcome) noexcept;  // "applied", "failed", ...

struct RuntimeOptions {
    // Run the nodes of this host only; empty: every node of the document.
    std::string host;
    // Shared by all nodes; a new one when null.
    std::shared_ptr<Context> context;
    // Passwords and secret keys for the security the nodes name.
    Secrets secrets;
    // How often metrics are sampled for rates and external-node health.
    std::chrono::milliseconds sample_interval{250};
    // Publish a snapshot (about once a second) and every event as JSON on this PUB endpoint:
    // {"type": "snapshot", "snapshot": {...}} and {"type": "event", "event": {...}}. Empty: no.
    std::string metrics_bind;
    Security metrics_security;
    // Hosts whose nodes this runtime does not run: a runner of theirs does (the Studio leaves a
    // host with a runner attached to it). Their nodes are Remote, as those of another host.
    std::set<std::string> exclude_hosts;
};

class Runtime {
  public:
    // Validates first: a topology with errors is refused (ConfigError listing them). The metrics
    // endpoint, if any, is bound here (ConfigError when it cannot be).
    explicit Runtime(Topology topology, RuntimeOptions options = {});
    ~Runtime();  // stops everything
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    // A copy of the document being run.
    Topology topology() const;
    // Replaces the document (e.g. after an edit in the Studio). Running nodes keep running with
    // the configuration they started with; the new one applies when they next start. Nodes
    // that disappeared are stopped. Refused (ConfigError) when the new one has errors.
    void update_topology(Topology topology);
    // Replaces the document and applies the difference to this host's nodes, in one control
    // operation (no start or stop runs in between): nodes that are new here are started, nodes
    // gone from here (removed, or moved to another host) are stopped, changed nodes that ran
    // (or waited) are restarted with the new configuration, changed ones that did not run only
    // take it for their next start, and the others keep running untouched (the same instance,
    // bound endpoints and counters). A node changed when its kind, host or properties, or a
    // link touching it (its ports, heartbeat timeout or connect address) differ; its name and
    // position do not count. One result per node of this host in either document (new
    // document order, then the removed ones). Refused (ConfigError, nothing changed) when the
    // new document has errors.
    std::vector<DeployResult> deploy(Topology topology);
    const std::string& host() const noexcept;
    // Replaces the passwords; nodes that start from now on use them (running ones keep theirs).
    void set_secrets(Secrets secrets);
    // Replaces RuntimeOptions::exclude_hosts in one control operation: the running or waiting
    // nodes of newly excluded hosts are stopped (with their Stopped events) and become Remote;
    // the nodes of hosts no longer excluded become Stopped (startable). The nodes of the other
    // hosts are untouched.
    void set_excluded_hosts(std::set<std::string> hosts);
    std::set<std::string> excluded_hosts() const;

    // The nodes this runtime launches (those of its host, externals and excluded hosts left
    // out).
    std::vector<std::string> local_nodes() const;
    // Starts the given nodes (binders first); ids of other or excluded hosts, or externals, are
    // refused with ConfigError before anything starts. Failures of single nodes are states, not
    // exceptions. A node whose binder (here, port chosen at bind time) has not bound yet is
    // Waiting, and starts when that binder does, by whichever start() starts it.
    void start(const std::vector<std::string>& ids);
    // Stops running nodes and cancels waiting ones; a failed one becomes Stopped.
    void stop(const std::vector<std::string>& ids);
    void start_all();
    void stop_all();  // everything running or waiting

    NodeStatus status(std::string_view id) const;  // throws ConfigError for an unknown id
    RuntimeSnapshot snapshot() const;

    // The event stream: node state changes (source = node id) and every event of the nodes'
    // components. Subscribe from any thread; each subscription is bounded (drops oldest).
    std::shared_ptr<EventBus> events() const;
    std::shared_ptr<EventSubscription> subscribe(std::size_t capacity = 10000) const;

    // A tap node's kept messages with seq > after_seq (oldest first).
    std::vector<TapMessage> tap_messages(std::string_view tap_id,
                                         std::uint64_t after_seq = 0) const;
    // The endpoint a binding port is bound at (port resolved), empty when not bound.
    std::string bound_endpoint(const PortRef& port) const;
    // The metrics endpoint as bound, empty when none.
    std::string metrics_endpoint() const;

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace zmqrpc
