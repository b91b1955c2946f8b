// The running form of each node kind, as the Runtime builds them. Internal header.
//
// A NodeInstance is built from a NodeConfig (everything resolved: endpoints, passwords), started
// on the runtime's control thread, read (metrics, bound endpoints, tap rows) from any thread, and
// stopped on the control thread. Samplers own a thread of their own; the others are core
// components (actors) that do.
#pragma once

#include "zmqrpc/context.hpp"
#include "zmqrpc/events.hpp"
#include "zmqrpc/metrics.hpp"
#include "zmqrpc/options.hpp"
#include "zmqrpc/runtime.hpp"
#include "zmqrpc/topology.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace zmqrpc::detail {

// Everything a node needs to run, resolved by the Runtime.
struct NodeConfig {
    std::string id;
    std::string display_name;
    std::string host;
    NodeKind kind = NodeKind::Sampler;
    nlohmann::json properties;  // with defaults filled in for every known key
    // Binding ports: port name -> endpoint to bind (sticky resolved endpoint when known).
    std::map<std::string, std::string> binds;
    // Connecting ports: SUB endpoints (with their heartbeat timeouts) and REQ endpoints.
    std::vector<SubEndpoint> sub_connect;
    std::vector<std::string> req_connect;
    // Resolved security by property key ("credentials", "input_credentials", ...), CURVE
    // clients with the server keys of their links.
    std::map<std::string, Security> security;
    std::shared_ptr<Context> context;
    std::shared_ptr<EventBus> events;

    // Property values, read through the kind's specs: `properties` holds every key the kind
    // has, its default where the document sets none (property_specs() is the one source of
    // both). A key the kind does not have is a programming error: std::logic_error.
    bool has(const char* key) const;
    const nlohmann::json& value(const char* key) const;
    double number(const char* key) const;
    std::string text(const char* key) const;
    std::chrono::milliseconds seconds(const char* key) const;
    const Security& security_of(const char* key) const;
    // Name (the node id), context and event bus: what every component of a node shares.
    void apply_common(CommonOptions& options) const {
        options.name = id;
        options.context = context;
        options.events = events;
    }
};

class NodeInstance {
  public:
    virtual ~NodeInstance() = default;
    virtual void start() = 0;  // throws ConfigError (address in use, ...)
    virtual void stop() = 0;   // idempotent, bounded
    // False when the component ended on its own (it should not).
    virtual bool running() const = 0;
    virtual MetricsSnapshot metrics() const = 0;
    // The endpoint a binding port is bound at, port resolved ("" when not bound).
    virtual std::string bound_endpoint(const std::string& port) const = 0;
    // Tap nodes only: the kept messages with seq > after.
    virtual std::vector<TapMessage> tap_messages(std::uint64_t /*after*/) const { return {}; }
};

std::unique_ptr<NodeInstance> make_node_instance(NodeConfig config);

// A sampler's message: the invocation of `function` with `parameters`, where "${name}" strings
// are filled in per message. A string that is exactly one placeholder becomes that value with
// its JSON type (a number for seq, time, value, random); a placeholder inside a longer string is
// replaced by its text. Known: seq, time, iso_time, value, random, node, name, host. Others stay
// as written. The encoding is done once; each message only splices the values in.
class SampleTemplate {
  public:
    SampleTemplate(const std::string& function, const nlohmann::json& parameters, std::string node,
                   std::string name, std::string host);
    // The message for sample number `seq` (1, 2, ...) at `time`.
    std::string render(std::uint64_t seq, std::chrono::system_clock::time_point time);

  private:
    enum class Field { Seq, Time, IsoTime, Value, Random, Node, Name, Host };
    struct Piece {
        std::string literal;  // text before the field
        Field field = Field::Seq;
        bool whole = false;  // the whole JSON value (quotes removed)
    };
    std::string value_text(Field field, bool whole, std::uint64_t seq, double unix_seconds);
    std::vector<Piece> pieces_;
    std::string tail_;
    std::string node_, name_, host_;
    std::uint64_t random_state_;
    std::string out_;
};

}  // namespace zmqrpc::detail
