// The control functions of `zmqrpc run --control`; see runner_control.hpp.
#include "runner_control.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace cli {

std::filesystem::path deployed_path(const std::filesystem::path& file,
                                    const std::filesystem::path& state_dir) {
    if (state_dir.empty()) {
        std::filesystem::path out = file;
        out += ".deployed";
        return out;
    }
    std::filesystem::path name = file.filename();
    name += ".deployed";
    return state_dir / name;
}

std::filesystem::path default_state_dir(const char* state_directory) {
    if (state_directory == nullptr) return {};
    const std::string text = state_directory;
    return text.substr(0, text.find(':'));
}

struct RunnerControl::State {
    zmqrpc::Runtime& runtime;
    ControlOptions options;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    void event(const std::string& text) const {
        runtime.events()->publish("control", zmqrpc::EventKind::Control, {}, text);
    }

    // The ids a start/stop names: "nodes" absent, null or empty means every node of this host.
    std::vector<std::string> node_ids(const zmqrpc::json& parameters, const char* function) const {
        auto it = parameters.find("nodes");
        if (it == parameters.end() || it->is_null()) return runtime.local_nodes();
        if (!it->is_array()) {
            throw std::invalid_argument(std::string(function) +
                                        ": 'nodes' must be a list of node ids");
        }
        std::vector<std::string> ids;
        for (const auto& id : *it) {
            if (!id.is_string()) {
                throw std::invalid_argument(std::string(function) +
                                            ": 'nodes' must be a list of node ids");
            }
            ids.push_back(id.get<std::string>());
        }
        if (ids.empty()) return runtime.local_nodes();
        return ids;
    }

    zmqrpc::json states(const std::vector<std::string>& ids) const {
        const auto snapshot = runtime.snapshot();
        zmqrpc::json nodes = zmqrpc::json::array();
        for (const auto& id : ids) {
            const auto* node = snapshot.node(id);
            if (!node) continue;
            nodes.push_back({{"node", id},
                             {"state", zmqrpc::to_string(node->state)},
                             {"reason", node->reason}});
        }
        return nodes;
    }

    zmqrpc::json status() const {
        const auto snapshot = runtime.snapshot();
        zmqrpc::json nodes = zmqrpc::json::array();
        for (const auto& node : snapshot.nodes) {
            nodes.push_back({{"node", node.id},
                             {"state", zmqrpc::to_string(node.state)},
                             {"reason", node.reason}});
        }
        const auto uptime =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
        return {{"version", zmqrpc::version()},
                {"revision", zmqrpc::topology_revision(runtime.topology())},
                {"host", runtime.host()},
                {"file", options.file},
                {"uptime_seconds", uptime.count()},
                {"nodes", nodes}};
    }

    zmqrpc::json start_or_stop(const zmqrpc::json& parameters, bool start) const {
        const char* verb = start ? "start" : "stop";
        const auto ids = node_ids(parameters, verb);
        try {
            if (start) {
                runtime.start(ids);
            } else {
                runtime.stop(ids);
            }
        } catch (const zmqrpc::ConfigError& e) {
            throw std::invalid_argument(std::string(verb) + ": " + e.what() + "; nothing " +
                                        (start ? "started" : "stopped"));
        }
        auto nodes = states(ids);
        std::size_t running = 0, failed = 0;
        for (const auto& n : nodes) {
            if (n["state"] == "running") ++running;
            if (n["state"] == "failed") ++failed;
        }
        std::string text = std::string(verb) + " " + std::to_string(ids.size()) + " node(s):";
        for (std::size_t i = 0; i < ids.size(); ++i)
            text += (i ? ", " : " ") + ids[i];
        if (start) {
            text += " (" + std::to_string(running) + " running";
            if (failed) text += ", " + std::to_string(failed) + " failed";
            text += ")";
        }
        event(text);
        return {{"nodes", nodes}};
    }

    // {"tap": id, "after": seq}: what a tap of this host kept after seq, oldest first.
    zmqrpc::json tap(const zmqrpc::json& parameters) const {
        auto id = parameters.find("tap");
        if (id == parameters.end() || !id->is_string()) {
            throw std::invalid_argument("tap: 'tap' must name a tap node of this host");
        }
        const std::string name = id->get<std::string>();
        std::uint64_t after = 0;
        if (auto it = parameters.find("after"); it != parameters.end() && !it->is_null()) {
            // Text read as Python reads it gives signed integers: 0 and above are fine.
            if (!it->is_number_integer() ||
                (!it->is_number_unsigned() && it->get<std::int64_t>() < 0)) {
                throw std::invalid_argument(
                    "tap: 'after' must be a sequence number (0 or more), got " + it->dump());
            }
            after = it->get<std::uint64_t>();
        }
        const auto topology = runtime.topology();
        const zmqrpc::Node* node = topology.find_node(name);
        if (node == nullptr) throw std::invalid_argument("tap: no node '" + name + "'");
        const auto local = runtime.local_nodes();
        if (node->kind != zmqrpc::NodeKind::Tap ||
            std::find(local.begin(), local.end(), name) == local.end()) {
            throw std::invalid_argument(
                "tap: node '" + name + "' is not a tap of this host (it is a " +
                zmqrpc::to_string(node->kind) + " on host '" + topology.node_host(*node) + "')");
        }
        zmqrpc::json messages = zmqrpc::json::array();
        for (const auto& m : runtime.tap_messages(name, after))
            messages.push_back(zmqrpc::json::parse(m.to_json().dump()));
        return {{"tap", name}, {"messages", messages}};
    }

    zmqrpc::json describe() const {
        const auto topology = runtime.topology();
        return {{"revision", zmqrpc::topology_revision(topology)},
                {"topology", zmqrpc::json::parse(zmqrpc::save_topology(topology))}};
    }

    zmqrpc::json deploy(const zmqrpc::json& parameters) const {
        auto document = parameters.find("topology");
        if (document == parameters.end() || !document->is_object()) {
            throw std::invalid_argument(
                "deploy: 'topology' must be a topology document (a JSON object)");
        }
        auto given = parameters.find("revision");
        const auto current = runtime.topology();
        const std::string current_revision = zmqrpc::topology_revision(current);
        if (given == parameters.end() || !given->is_string()) {
            throw std::invalid_argument(
                "deploy: 'revision' must name the revision this document replaces (current: " +
                current_revision + ")");
        }
        zmqrpc::Topology next;
        try {
            next = zmqrpc::load_topology(document->dump());
        } catch (const zmqrpc::TopologyLoadError& e) {
            std::string text = "deploy: invalid topology, nothing changed:";
            for (const auto& error : e.errors())
                text += " " + error.str() + ";";
            text.pop_back();
            throw std::invalid_argument(text);
        }
        const auto problems = zmqrpc::validate(next);
        if (zmqrpc::has_errors(problems)) {
            std::string text = "deploy: the topology has errors, nothing changed:";
            for (const auto& p : problems) {
                if (p.severity == zmqrpc::Severity::Error) text += " " + p.str() + ";";
            }
            text.pop_back();
            throw std::invalid_argument(text);
        }
        if (given->get<std::string>() != current_revision) {
            throw std::invalid_argument("deploy: revision conflict: the document replaces " +
                                        given->get<std::string>() + " but the runner runs " +
                                        current_revision + "; nothing changed");
        }
        if (!runtime.host().empty()) {
            const auto hosts = next.host_names();
            if (std::find(hosts.begin(), hosts.end(), runtime.host()) == hosts.end()) {
                throw std::invalid_argument("deploy: the topology names no host '" +
                                            runtime.host() +
                                            "' (this runner's --host); nothing changed");
            }
        }
        std::vector<zmqrpc::DeployResult> results;
        try {
            results = runtime.deploy(next);
        } catch (const zmqrpc::ConfigError& e) {
            throw std::invalid_argument(std::string("deploy: ") + e.what() + "; nothing changed");
        }
        const std::string revision = zmqrpc::topology_revision(next);
        zmqrpc::json nodes = zmqrpc::json::array();
        std::size_t applied = 0, failed = 0, unchanged = 0;
        for (const auto& r : results) {
            nodes.push_back(
                {{"node", r.node}, {"result", zmqrpc::to_string(r.outcome)}, {"reason", r.reason}});
            switch (r.outcome) {
                case zmqrpc::DeployResult::Outcome::Applied:
                    ++applied;
                    break;
                case zmqrpc::DeployResult::Outcome::Failed:
                    ++failed;
                    break;
                case zmqrpc::DeployResult::Outcome::Unchanged:
                    ++unchanged;
                    break;
            }
        }
        zmqrpc::json answer = {{"revision", revision},
                               {"previous_revision", current_revision},
                               {"deployed_file", options.deployed_file.string()},
                               {"nodes", nodes}};
        std::string text = "deploy revision " + revision + " (was " + current_revision +
                           "): " + std::to_string(applied) + " applied, " + std::to_string(failed) +
                           " failed, " + std::to_string(unchanged) + " unchanged";
        try {
            zmqrpc::save_topology_file(next, options.deployed_file);
        } catch (const zmqrpc::ConfigError& e) {
            // Running, but a restarted runner would not run it: the caller must know.
            answer["warning"] = std::string("not kept: ") + e.what();
            text += "; NOT kept for a restart: " + std::string(e.what());
        }
        event(text);
        return answer;
    }
};

RunnerControl::RunnerControl(zmqrpc::Runtime& runtime, ControlOptions options)
    : state_(std::make_shared<State>(State{runtime, std::move(options)})) {
    zmqrpc::FunctionRegistry functions;
    auto state = state_;
    functions.add(
        "status", [state](const zmqrpc::json&) { return state->status(); }, {},
        "zmqrpc version, topology revision, host, uptime and the state of every node");
    functions.add(
        "snapshot", [state](const zmqrpc::json&) { return state->runtime.snapshot().to_json(); },
        {}, "the runtime snapshot (states, metrics, links), as --metrics publishes it");
    functions.add(
        "start", [state](const zmqrpc::json& p) { return state->start_or_stop(p, true); },
        {"nodes"}, "start these nodes (absent or empty: every node of this host)");
    functions.add(
        "stop", [state](const zmqrpc::json& p) { return state->start_or_stop(p, false); },
        {"nodes"}, "stop these nodes (absent or empty: every node of this host)");
    functions.add(
        "tap", [state](const zmqrpc::json& p) { return state->tap(p); }, {"tap", "after"},
        "the messages a tap of this host kept after sequence number `after` (default 0), "
        "oldest first");
    functions.add(
        "describe", [state](const zmqrpc::json&) { return state->describe(); }, {},
        "the topology document being run and its revision");
    functions.add(
        "deploy", [state](const zmqrpc::json& p) { return state->deploy(p); },
        {"topology", "revision"},
        "run this document instead of the one of `revision`: new nodes start, removed ones "
        "stop, changed ones restart, the rest keeps running");

    zmqrpc::RpcServerOptions server_options;
    server_options.name = "control";
    server_options.rep_bind = state_->options.endpoint;
    server_options.security = state_->options.security;
    server_options.events = runtime.events();
    server_ = std::make_unique<zmqrpc::RpcServer>(server_options, std::move(functions));
    try {
        server_->start();
    } catch (const std::exception& e) {
        throw Failure{kCannotStart, "--control " + state_->options.endpoint + ": " + e.what()};
    }
}

RunnerControl::~RunnerControl() {
    if (server_) server_->stop();
}

std::string RunnerControl::endpoint() const {
    return server_->rep_endpoint();
}

}  // namespace cli
