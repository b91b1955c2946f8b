// zmqrpc run FILE: run the nodes of a topology file that belong to this host (or all of them),
// print a live status table, stop cleanly on SIGINT/SIGTERM.
#include "common.hpp"
#include "prometheus.hpp"
#include "runner_control.hpp"
#include "status_table.hpp"
#include "topology_file.hpp"

#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

namespace cli {

namespace {

using Clock = std::chrono::steady_clock;

// Events that change what the table shows, or that an operator must see: printed on stderr and
// followed by a fresh table (at most one a second).
bool worth_a_look(zmqrpc::EventKind kind) {
    using K = zmqrpc::EventKind;
    switch (kind) {
        case K::StateChanged:
        case K::HeartbeatLate:
        case K::HeartbeatLost:
        case K::HeartbeatRecovered:
        case K::SocketRecreated:
        case K::CredentialsRefused:
        case K::HandshakeFailed:
        case K::QueueFull:
        case K::QueueDrained:
        case K::StoreError:
        case K::RequestFailed:
        case K::Error:
        case K::Control:
            return true;
        default:
            return false;
    }
}

std::string join(const std::vector<std::string>& items, const char* separator = ", ") {
    std::string out;
    for (const auto& item : items)
        out += (out.empty() ? "" : separator) + item;
    return out;
}

// Why a password is not known, for the prompt: "env ZMQRPC_BRIDGE_PASSWORD is not set".
std::string missing_because(const zmqrpc::CredentialRef& ref) {
    switch (ref.source) {
        case zmqrpc::CredentialRef::Source::Env:
            return "env " + ref.key + " is not set";
        case zmqrpc::CredentialRef::Source::File:
            return "credentials-file entry '" + ref.key + "' not found";
        case zmqrpc::CredentialRef::Source::Keychain:
            return "keychain entry '" + ref.key + "' is only read by the Studio";
        case zmqrpc::CredentialRef::Source::None:
            break;
    }
    return "no password source";
}

// Reads one line from the terminal on stdin without echo. Signals are blocked (main()), so a
// Ctrl-C is noticed between polls and ends the prompt. nullopt at end of input.
std::optional<std::string> read_password(const std::string& prompt) {
    std::cerr << prompt << std::flush;
    termios saved{};
    const bool have_termios = ::tcgetattr(STDIN_FILENO, &saved) == 0;
    if (have_termios) {
        termios quiet = saved;
        quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
        quiet.c_lflag |= ECHONL;
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    auto restore = [&] {
        if (have_termios) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    };
    std::string line;
    for (;;) {
        pollfd fd{STDIN_FILENO, POLLIN, 0};
        int ready = ::poll(&fd, 1, 100);
        if (ready < 0 && errno != EINTR) break;
        if (ready > 0) {
            char c = 0;
            ssize_t n = ::read(STDIN_FILENO, &c, 1);
            if (n <= 0) {
                restore();
                if (!have_termios) std::cerr << std::endl;
                return line.empty() ? std::nullopt : std::optional<std::string>(line);
            }
            if (c == '\n') break;
            line += c;
            continue;
        }
        int sig = wait_signal(std::chrono::milliseconds(0));
        if (sig == SIGINT || sig == SIGTERM) {
            restore();
            std::cerr << std::endl;
            throw Failure{kCannotStart, "interrupted at the password prompt; nothing started"};
        }
    }
    restore();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

// The PLAIN references of `nodes` whose password `secrets` cannot find, one per source. CURVE
// secret keys are never prompted for: a node whose key is missing fails to start, saying which
// file it looked for and how to make it.
std::map<std::string, zmqrpc::CredentialRef> missing_passwords(
    const zmqrpc::Topology& topology, const std::vector<std::string>& nodes,
    const zmqrpc::Secrets& secrets) {
    std::map<std::string, zmqrpc::CredentialRef> missing;
    for (const auto& id : nodes) {
        const zmqrpc::Node* node = topology.find_node(id);
        if (!node) continue;
        for (const auto& spec : zmqrpc::property_specs(node->kind)) {
            if (spec.type != zmqrpc::PropertyType::Security) continue;
            zmqrpc::SecurityRef security;
            try {
                security = zmqrpc::SecurityRef::from_json(node->property(spec.key));
            } catch (const std::invalid_argument&) {
                continue;  // validate() reports it
            }
            const zmqrpc::CredentialRef* ref = security.plain();
            if (!ref || ref->empty() || ref->source == zmqrpc::CredentialRef::Source::None) {
                continue;
            }
            if (!secrets.has(*ref)) missing.emplace(ref->source_text(), *ref);
        }
    }
    return missing;
}

}  // namespace

Command add_run(CLI::App& parent) {
    struct Args {
        std::string file;
        std::string host;
        std::string credentials;
        std::string metrics;
        std::string prometheus;
        CredentialOptions metrics_credentials;
        std::string control;
        CredentialOptions control_credentials;
        bool control_insecure = false;
        bool ignore_deployed = false;
        std::string state_dir;
        KeysOption keys;
        std::vector<std::string> nodes;
        std::string status_interval = "10";
        bool quiet = false;
    };
    auto args = std::make_shared<Args>();
    auto* app = parent.add_subcommand(
        "run",
        "Run a topology file headless: the nodes of one host (--host) or all of them. Prints a "
        "status table (state, rates, queue fill, heartbeat health) at start, on every notable "
        "event (at most once a second; the event itself goes to stderr), every "
        "--status-interval seconds and on SIGUSR1; stops on SIGINT/SIGTERM. Exit 3 when the "
        "topology cannot load or validate, the metrics, control or Prometheus endpoint cannot "
        "bind, or no node could start (each failed, or waits for an upstream that chooses its "
        "port when it binds and does not run); single failed nodes are shown in the table and "
        "the rest runs.");
    app->add_option("FILE", args->file, "topology file (.json)")->required();
    app->add_option("--host", args->host,
                    "run only the nodes of this host (as the file names it); default: every node");
    app->add_option("--credentials", args->credentials,
                    "credentials file with the passwords the topology names (default: "
                    "$ZMQRPC_CREDENTIALS, else ~/.config/zmqrpc/credentials.json if it exists)");
    app->add_option("--metrics", args->metrics,
                    "publish snapshots and events as JSON on this PUB endpoint, e.g. "
                    "tcp://*:5690 (read it with `zmqrpc snoop`)");
    args->metrics_credentials.add(*app, "metrics-", "that metrics subscribers must present",
                                  {.binds = true});
    app->add_option("--prometheus", args->prometheus,
                    "serve the snapshot in Prometheus' text format on GET /metrics at this "
                    "HTTP address, e.g. 127.0.0.1:9464 or *:9464 (port 0: any free port)")
        ->type_name("ADDR:PORT");
    app->add_option("--control", args->control,
                    "serve control calls (status, snapshot, start, stop, describe, deploy) as an "
                    "RPC server on this REP endpoint, e.g. tcp://*:5691 (drive it with `zmqrpc "
                    "call`); needs --control-user... (PLAIN) or --control-curve-* (CURVE), or "
                    "--control-insecure-no-auth. A deployed document is kept in "
                    "STATE_DIR/FILE.deployed (see --state-dir)");
    args->control_credentials.add(*app, "control-", "that control clients must present",
                                  {.binds = true});
    app->add_flag("--control-insecure-no-auth", args->control_insecure,
                  "serve --control without any authentication: anyone who reaches the endpoint "
                  "can stop and replace what runs (a warning is printed)");
    app->add_flag("--ignore-deployed", args->ignore_deployed,
                  "run FILE even when its .deployed file (what a control deploy left) exists");
    app->add_option("--state-dir", args->state_dir,
                    "keep what a control deploy sends in DIR/BASENAME.deployed, and run it from "
                    "there at the next start (default: the first directory of "
                    "$STATE_DIRECTORY, which systemd's StateDirectory= sets, else next to FILE)")
        ->type_name("DIR");
    app->add_option("--keys", args->keys.dir,
                    "directory of the key files that the topology and the --metrics-curve-* "
                    "options name (default: $ZMQRPC_KEYS, else ~/.config/zmqrpc/keys); a CURVE "
                    "secret key is never prompted for: a node whose key file is missing fails "
                    "to start and says so")
        ->type_name("DIR");
    app->add_option("--nodes", args->nodes, "start only these nodes (comma-separated ids)")
        ->delimiter(',')
        ->allow_extra_args(false);
    app->add_option("--status-interval", args->status_interval,
                    "also print the table every SECONDS, for live rates (0: only on events)")
        ->type_name("SECONDS")
        ->capture_default_str();
    app->add_flag("--quiet", args->quiet, "print the table only at start and at stop");

    return {
        app, [args]() -> int {
            const auto interval = seconds_option(args->status_interval, "--status-interval", true);
            check_endpoint(args->metrics, "--metrics");
            if (args->metrics.empty() && (args->metrics_credentials.plain_given() ||
                                          args->metrics_credentials.curve_given())) {
                throw Failure{kUsage, std::string(args->metrics_credentials.curve_given()
                                                      ? "--metrics-curve-* options need"
                                                      : "--metrics-user needs") +
                                          " --metrics"};
            }
            const zmqrpc::Security metrics_security =
                args->metrics_credentials.resolve("metrics-", {.binds = true}, args->keys.path());
            check_endpoint(args->control, "--control");
            const bool control_credentials =
                args->control_credentials.plain_given() || args->control_credentials.curve_given();
            if (args->control.empty() && (control_credentials || args->control_insecure)) {
                throw Failure{kUsage,
                              std::string(args->control_insecure ? "--control-insecure-no-auth"
                                          : args->control_credentials.curve_given()
                                              ? "--control-curve-* options"
                                              : "--control-user") +
                                  " needs --control"};
            }
            if (!args->control.empty() && !control_credentials && !args->control_insecure) {
                throw Failure{kUsage,
                              "--control needs authentication: --control-user with "
                              "--control-password-env/--control-password-file (PLAIN), or "
                              "--control-curve-secret-file with --control-curve-authorized-keys "
                              "(CURVE); --control-insecure-no-auth serves it to anyone"};
            }
            if (control_credentials && args->control_insecure) {
                throw Failure{kUsage,
                              "--control-insecure-no-auth and --control-user/--control-curve-* "
                              "contradict each other: give one"};
            }
            const zmqrpc::Security control_security =
                args->control_credentials.resolve("control-", {.binds = true}, args->keys.path());

            // What a control deploy left next to FILE runs instead of FILE.
            const std::filesystem::path state_dir =
                !args->state_dir.empty() ? std::filesystem::path(args->state_dir)
                                         : default_state_dir(std::getenv("STATE_DIRECTORY"));
            if (!state_dir.empty()) {
                std::error_code ec;
                std::filesystem::create_directories(state_dir, ec);
                if (ec || !std::filesystem::is_directory(state_dir, ec)) {
                    throw Failure{kCannotStart, "state directory " + state_dir.string() +
                                                    ": not a directory it can create (" +
                                                    (ec ? ec.message() : "a file") + ")"};
                }
            }
            const std::filesystem::path deployed = deployed_path(args->file, state_dir);
            std::string source = args->file;
            {
                std::error_code ec;
                if (std::filesystem::exists(deployed, ec)) {
                    if (args->ignore_deployed) {
                        std::cerr << "zmqrpc run: ignoring " << printable(deployed.string())
                                  << " (--ignore-deployed); running " << printable(args->file)
                                  << std::endl;
                    } else {
                        source = deployed.string();
                        std::cerr << "zmqrpc run: running " << printable(source)
                                  << ", deployed by a control call, instead of "
                                  << printable(args->file) << " (--ignore-deployed runs the file)"
                                  << std::endl;
                    }
                }
            }

            zmqrpc::Topology topology = load_topology_or_fail(source);
            const auto problems = zmqrpc::validate(topology);
            for (const auto& p : problems)
                std::cerr << printable(source + ": " + p.str()) << '\n';
            std::cerr.flush();
            if (zmqrpc::has_errors(problems)) {
                throw Failure{kCannotStart, "cannot run " + source +
                                                ": fix its errors first (zmqrpc "
                                                "validate " +
                                                source + ")"};
            }

            // The nodes to run: of --host (every node without it), external ones excluded.
            if (!args->host.empty()) {
                const bool named = std::any_of(
                    topology.nodes().begin(), topology.nodes().end(),
                    [&](const zmqrpc::Node& n) { return topology.node_host(n) == args->host; });
                if (!named) {
                    throw Failure{kCannotStart,
                                  "no node of " + source + " runs on host '" + args->host +
                                      "' (hosts: " + join(topology.host_names()) + ")"};
                }
            }
            std::vector<std::string> local;
            for (const auto& n : topology.nodes()) {
                if (n.kind == zmqrpc::NodeKind::External) continue;
                if (!args->host.empty() && topology.node_host(n) != args->host) continue;
                local.push_back(n.id);
            }
            std::vector<std::string> ids = local;
            if (!args->nodes.empty()) {
                ids.clear();
                for (const auto& id : args->nodes) {
                    const zmqrpc::Node* node = topology.find_node(id);
                    if (!node) {
                        std::vector<std::string> all;
                        for (const auto& n : topology.nodes())
                            all.push_back(n.id);
                        throw Failure{kCannotStart, "--nodes: no node '" + id + "' in " + source +
                                                        " (nodes: " + join(all) + ")"};
                    }
                    if (node->kind == zmqrpc::NodeKind::External) {
                        throw Failure{kCannotStart, "--nodes: '" + id +
                                                        "' is an external node: it runs "
                                                        "elsewhere and is only monitored"};
                    }
                    if (std::find(local.begin(), local.end(), id) == local.end()) {
                        throw Failure{kCannotStart, "--nodes: '" + id + "' runs on host '" +
                                                        topology.node_host(*node) + "', not '" +
                                                        args->host + "'"};
                    }
                    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
                }
            }
            if (topology.nodes().empty()) {
                throw Failure{kCannotStart, "nothing to run: " + source + " has no nodes"};
            }
            if (ids.empty()) {
                throw Failure{
                    kCannotStart,
                    "nothing to run" +
                        (args->host.empty() ? std::string() : " on host '" + args->host + "'") +
                        ": " + source + " has only external nodes there"};
            }

            // Passwords: the credentials file, then a prompt for what is still missing.
            zmqrpc::RuntimeOptions options;
            options.host = args->host;
            const auto keys_dir = args->keys.path();
            std::filesystem::path credentials = args->credentials;
            if (credentials.empty()) {
                std::error_code ec;
                auto fallback = zmqrpc::default_credentials_path();
                if (std::filesystem::exists(fallback, ec)) credentials = fallback;
            }
            if (!credentials.empty()) {
                try {
                    options.secrets = zmqrpc::load_credentials_file(credentials);
                } catch (const zmqrpc::ConfigError& e) {
                    throw Failure{kCannotStart, e.what()};
                }
            }
            options.secrets.keys_dir = keys_dir;
            if (::isatty(STDIN_FILENO)) {
                for (const auto& [where, ref] : missing_passwords(topology, ids, options.secrets)) {
                    auto password = read_password("password for user '" + ref.username + "' (" +
                                                  missing_because(ref) + "): ");
                    if (password && !password->empty()) options.secrets.known[where] = *password;
                }
            }
            options.metrics_bind = args->metrics;
            options.metrics_security = metrics_security;

            zmqrpc::Runtime runtime(topology, options);
            auto events = runtime.subscribe();
            const auto prometheus = start_prometheus(args->prometheus, runtime);
            if (!args->metrics.empty()) {
                std::cerr << "zmqrpc run: metrics on " << runtime.metrics_endpoint() << std::endl;
            }
            std::unique_ptr<RunnerControl> control;
            if (!args->control.empty()) {
                control = std::make_unique<RunnerControl>(
                    runtime, ControlOptions{args->control, control_security, source, deployed});
                if (args->control_insecure) {
                    std::cerr << "zmqrpc run: WARNING: control on " << control->endpoint()
                              << " has no authentication (--control-insecure-no-auth): anyone "
                                 "who reaches it can stop and replace what runs"
                              << std::endl;
                } else {
                    std::cerr << "zmqrpc run: control on " << control->endpoint() << " ("
                              << (args->control_credentials.curve_given() ? "CURVE" : "PLAIN")
                              << ")" << std::endl;
                }
            }
            auto print_events = [&] {
                bool notable = false;
                for (const auto& e : events->drain()) {
                    if (!worth_a_look(e.kind)) continue;
                    // Every node passes through these; the table shows where it ended up.
                    if (e.kind == zmqrpc::EventKind::StateChanged &&
                        (e.text == "starting" || e.text == "stopping")) {
                        continue;
                    }
                    std::cerr << format_event(e) << '\n';
                    notable = true;
                }
                std::cerr.flush();
                return notable;
            };
            auto last_table = Clock::now();
            auto print_table = [&] {
                std::cout << format_status_table(runtime.snapshot(), runtime.topology())
                          << std::endl;
                last_table = Clock::now();
            };

            if (args->nodes.empty()) {
                runtime.start_all();
            } else {
                runtime.start(ids);
            }
            print_events();  // what starting did is in the first table
            auto first = runtime.snapshot();
            std::cout << format_status_table(first, topology) << std::endl;
            last_table = Clock::now();
            // Nothing here restarts a failed node, so a node waiting for one waits for ever.
            auto count = [&](zmqrpc::NodeState state) {
                return std::count_if(ids.begin(), ids.end(), [&](const auto& id) {
                    const auto* status = first.node(id);
                    return status && status->state == state;
                });
            };
            const auto failed = count(zmqrpc::NodeState::Failed);
            const auto waiting = count(zmqrpc::NodeState::Waiting);
            if (static_cast<std::size_t>(failed + waiting) == ids.size()) {
                std::string why;
                if (waiting == 0) {
                    why =
                        ids.size() == 1 ? "the node failed to start" : "every node failed to start";
                } else {
                    why = ids.size() == 1 ? "the node waits for a node that does not run"
                                          : "no node could start: each failed or waits for a "
                                            "node that does not run";
                }
                throw Failure{kCannotStart, why};
            }

            bool table_due = false;
            for (;;) {
                const int sig = wait_signal(std::chrono::milliseconds(100));
                if (sig == SIGINT || sig == SIGTERM) break;
                if (print_events()) table_due = true;
                const auto since = Clock::now() - last_table;
                if (sig == SIGUSR1) {
                    print_table();
                    table_due = false;
                } else if (!args->quiet && ((table_due && since >= std::chrono::seconds(1)) ||
                                            (interval.count() > 0 && since >= interval))) {
                    print_table();
                    table_due = false;
                }
            }

            control.reset();  // no control call from here on
            print_events();
            auto last = runtime.snapshot();
            std::cout << format_status_table(last, runtime.topology()) << std::endl;
            std::size_t stopped = 0;
            for (const auto& id : runtime.local_nodes()) {
                const auto* status = last.node(id);
                if (status && (status->state == zmqrpc::NodeState::Running ||
                               status->state == zmqrpc::NodeState::Starting)) {
                    ++stopped;
                }
            }
            runtime.stop_all();
            std::cout << "stopped " << stopped << " node(s)" << std::endl;
            return kOk;
        }};
}

}  // namespace cli
