// zmqrpc call: invoke a function over REQ and print its response_message.
#include "common.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace cli {

namespace {
int exit_code_for(const zmqrpc::RpcError& e) {
    return e.kind() == zmqrpc::RpcError::Kind::Status ? kServerError : kNoAnswer;
}

std::string error_line(const zmqrpc::RpcError& e) {
    if (e.kind() == zmqrpc::RpcError::Kind::Status) {
        return "status " + std::to_string(e.status_code()) + ": " + e.status_message();
    }
    return e.what();
}

std::string latency_summary(std::vector<double> ms, std::size_t errors) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(3);
    out << ms.size() << " calls ok, " << errors << " failed";
    if (!ms.empty()) {
        std::sort(ms.begin(), ms.end());
        auto at = [&](double q) {
            auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(ms.size()))) - 1;
            return ms[std::min(i, ms.size() - 1)];
        };
        out << "; latency ms: min " << ms.front() << ", median " << at(0.5) << ", p99 " << at(0.99)
            << ", max " << ms.back();
    }
    return out.str();
}
}  // namespace

Command add_call(CLI::App& parent) {
    struct Args {
        std::string function;
        std::string params = "{}";
        std::vector<std::string> req;
        double timeout = 10;
        int repeat = 1;
        CredentialOptions credentials;
    };
    auto args = std::make_shared<Args>();
    auto* app = parent.add_subcommand(
        "call",
        "Invoke FUNCTION with PARAMS (a JSON object) over REQ. Prints response_message as JSON "
        "on stdout (exit 0); a non-200 status prints the code and text on stderr (exit 1); a "
        "timeout, an unreachable server or refused credentials says which (exit 2).");
    app->add_option("FUNCTION", args->function, "function name")->required();
    app->add_option("PARAMS", args->params, "named parameters as a JSON object")
        ->capture_default_str();
    app->add_option("--req", args->req,
                    "REP endpoint to connect to; repeat for round-robin over several")
        ->required();
    app->add_option("--timeout", args->timeout, "seconds to wait for each reply")
        ->capture_default_str();
    app->add_option("--repeat", args->repeat,
                    "call N times and print a latency summary (min, median, p99, max)")
        ->capture_default_str();
    args->credentials.add(*app, "", "to present to the server");

    return {app, [args]() -> int {
                auto params = parse_params(args->params);
                if (args->repeat < 1) throw Failure{kUsage, "--repeat must be at least 1"};
                zmqrpc::RpcClientOptions options;
                options.name = "call";
                options.req_connect = args->req;
                options.credentials = args->credentials.resolve("");
                options.req_timeout = seconds_option(args->timeout, "--timeout", false);
                zmqrpc::RpcClient client(options);

                if (args->repeat == 1) {
                    try {
                        auto value = client.invoke(args->function, params);
                        std::cout << zmqrpc::dumps(value) << std::endl;
                        return kOk;
                    } catch (const zmqrpc::RpcError& e) {
                        std::cerr << "zmqrpc call: " << error_line(e) << std::endl;
                        return exit_code_for(e);
                    }
                }
                std::vector<double> latencies;
                latencies.reserve(static_cast<std::size_t>(args->repeat));
                std::size_t errors = 0;
                int last_failure = kOk;
                for (int i = 0; i < args->repeat; ++i) {
                    if (wait_signal(std::chrono::milliseconds(0))) break;
                    auto start = std::chrono::steady_clock::now();
                    try {
                        client.invoke(args->function, params);
                        latencies.push_back(std::chrono::duration<double, std::milli>(
                                                std::chrono::steady_clock::now() - start)
                                                .count());
                    } catch (const zmqrpc::RpcError& e) {
                        ++errors;
                        last_failure = exit_code_for(e);
                        std::cerr << "zmqrpc call: " << error_line(e) << std::endl;
                    }
                }
                std::cout << latency_summary(latencies, errors) << std::endl;
                return errors ? last_failure : kOk;
            }};
}

}  // namespace cli
