// zmqrpc serve: an RPC server with the built-in diagnostic functions.
#include "common.hpp"

#include <csignal>
#include <iostream>

namespace cli {

namespace {
constexpr std::uint64_t kMaxMessageSize = 1024 * 1024 * 1024;  // 1 GiB; larger: -1

// -1 (no limit) or 1 to kMaxMessageSize bytes.
std::int64_t max_message_size_option(const std::string& text) {
    if (text == "-1") return -1;
    try {
        return static_cast<std::int64_t>(
            whole_number_option(text, "--max-message-size", 1, kMaxMessageSize));
    } catch (const Failure&) {
        // The same, with the -1 that whole numbers leave out.
        throw Failure{kUsage,
                      "--max-message-size must be -1 (no limit) or a whole number of "
                      "bytes from 1 to " +
                          std::to_string(kMaxMessageSize) + ", not " +
                          (text.empty() ? std::string("empty") : "'" + text + "'")};
    }
}
}  // namespace

Command add_serve(CLI::App& parent) {
    static const zmqrpc::RpcServerOptions kDefaults{};
    struct Args {
        std::string rep;
        std::vector<std::string> subs;
        // The library's defaults, as a server built in code has them.
        std::string heartbeat_timeout = seconds_text(kDefaults.default_heartbeat_timeout);
        std::string max_message_size = std::to_string(kDefaults.max_message_size);
        bool events = false;
        CredentialOptions credentials;
        KeysOption keys;
    };
    auto args = std::make_shared<Args>();
    auto* app = parent.add_subcommand(
        "serve",
        "Serve the built-in diagnostic functions over REP and/or SUB: ping -> \"pong\"; "
        "echo(**p) -> p; add(a, b) -> a + b; sleep(seconds) -> seconds; fail(message) -> "
        "raises (463); _describe -> the functions. Prints one line when ready; stops on "
        "SIGINT/SIGTERM.");
    app->add_option("--rep", args->rep, "REP endpoint to bind, e.g. tcp://*:30000");
    app->add_option("--sub", args->subs,
                    "PUB endpoint to subscribe to, as ENDPOINT or ENDPOINT@SECONDS (its own "
                    "heartbeat timeout); repeat the option for several")
        ->allow_extra_args(false);
    app->add_option("--heartbeat-timeout", args->heartbeat_timeout,
                    "seconds of silence after which a SUB socket is recreated, for --sub "
                    "endpoints without @SECONDS (0: never)")
        ->type_name("SECONDS")
        ->capture_default_str();
    app->add_option("--max-message-size", args->max_message_size,
                    "largest accepted message in bytes, 1 to 1073741824 (-1: no limit)")
        ->type_name("BYTES")
        ->capture_default_str();
    app->add_flag("--events", args->events, "print connection and heartbeat events on stderr");
    args->credentials.add(*app, "", "that clients must present (REP) / we present (SUB)",
                          {.binds = true, .connects = true});
    args->keys.add(*app);

    return {app, [args]() -> int {
                if (args->rep.empty() && args->subs.empty()) {
                    throw Failure{kUsage, "give --rep and/or --sub"};
                }
                zmqrpc::RpcServerOptions options;
                options.name = "serve";
                options.rep_bind = check_endpoint(args->rep, "--rep");
                options.sub_connect = parse_sub_endpoints(args->subs, "--sub");
                options.default_heartbeat_timeout =
                    seconds_option(args->heartbeat_timeout, "--heartbeat-timeout", true);
                options.max_message_size = max_message_size_option(args->max_message_size);
                options.security = args->credentials.resolve(
                    "", {.binds = !args->rep.empty(), .connects = !args->subs.empty()},
                    args->keys.path());
                auto bus = std::make_shared<zmqrpc::EventBus>();
                options.events = bus;
                std::optional<EventPrinter> printer;
                if (args->events) printer.emplace(bus);

                auto functions = zmqrpc::diagnostic_functions();
                std::string names;
                for (const auto& f : functions.describe())
                    names += f.name + ", ";
                names += "_describe";

                zmqrpc::RpcServer server(options, std::move(functions));
                server.start();
                std::string where;
                if (!args->rep.empty()) where += "rep " + server.rep_endpoint();
                for (const auto& s : options.sub_connect) {
                    where += (where.empty() ? "sub " : ", sub ") + s.endpoint;
                }
                std::cout << "zmqrpc serve: ready on " << where << " (functions: " << names << ")"
                          << std::endl;
                run_until_stopped([&] { return server.metrics(); });
                server.stop();
                std::cerr << counters_line(server.metrics()) << std::endl;
                return kOk;
            }};
}

}  // namespace cli
