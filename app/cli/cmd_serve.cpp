// zmqrpc serve: an RPC server with the built-in diagnostic functions.
#include "common.hpp"

#include <csignal>
#include <iostream>

namespace cli {

Command add_serve(CLI::App& parent) {
    struct Args {
        std::string rep;
        std::vector<std::string> subs;
        double heartbeat_timeout = 60;
        std::int64_t max_message_size = 64 * 1024 * 1024;
        bool events = false;
        CredentialOptions credentials;
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
                    "heartbeat timeout); repeatable");
    app->add_option("--heartbeat-timeout", args->heartbeat_timeout,
                    "seconds of silence after which a SUB socket is recreated, for --sub "
                    "endpoints without @SECONDS (0: never)")
        ->capture_default_str();
    app->add_option("--max-message-size", args->max_message_size,
                    "largest accepted message in bytes (-1: no limit)")
        ->capture_default_str();
    app->add_flag("--events", args->events, "print connection and heartbeat events on stderr");
    args->credentials.add(*app, "", "that clients must present (REP) / we present (SUB)");

    return {app, [args]() -> int {
                if (args->rep.empty() && args->subs.empty()) {
                    throw Failure{kUsage, "serve needs --rep and/or --sub"};
                }
                zmqrpc::RpcServerOptions options;
                options.name = "serve";
                options.rep_bind = args->rep;
                options.sub_connect = parse_sub_endpoints(args->subs);
                options.default_heartbeat_timeout =
                    seconds_option(args->heartbeat_timeout, "--heartbeat-timeout", true);
                options.max_message_size = args->max_message_size;
                options.credentials = args->credentials.resolve("");
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
