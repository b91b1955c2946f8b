// zmqrpc call: invoke a function over REQ and print its response_message.
#include "common.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

namespace cli {

namespace {
// 80 MB of latencies at most.
constexpr std::uint64_t kMaxRepeat = 10'000'000;

int exit_code_for(const zmqrpc::RpcError& e) {
    return e.kind() == zmqrpc::RpcError::Kind::Status ? kServerError : kNoAnswer;
}

// One line, whatever the server put in its status text (newlines, terminal escapes).
std::string error_line(const zmqrpc::RpcError& e) {
    if (e.kind() == zmqrpc::RpcError::Kind::Status) {
        return "status " + std::to_string(e.status_code()) + ": " + printable(e.status_message());
    }
    return printable(e.what());
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

// What the calls so far have printed and counted, shared with the Interrupter's thread.
struct Progress {
    std::mutex mutex;  // held while printing, so that the interruption comes between lines
    std::vector<double> latencies;
    std::size_t errors = 0;
    bool summary = false;  // --repeat: print the summary of the calls so far when interrupted
    bool done = false;     // everything is printed: a late signal changes nothing
};

// The main thread waits in RpcClient::invoke, which does not look at signals (they are
// blocked, see main()); this thread does. On SIGINT/SIGTERM it prints the summary so far (with
// --repeat), then "interrupted", and ends the process at once with 128 + the signal, as a shell
// reports a process killed by it. Stops with its owner, which wakes it with a SIGUSR1 of its own.
class Interrupter {
  public:
    explicit Interrupter(Progress& progress) : progress_(progress) {
        thread_ = std::thread([this] {
            while (!stop_) {
                const int sig = wait_signal(std::chrono::milliseconds(500));
                if (sig != SIGINT && sig != SIGTERM) continue;  // SIGUSR1: no counters here
                std::lock_guard lock(progress_.mutex);
                if (progress_.done) return;
                if (progress_.summary) {
                    std::cout << latency_summary(progress_.latencies, progress_.errors) << '\n';
                }
                std::cout.flush();
                std::cerr << "zmqrpc call: interrupted" << std::endl;
                std::_Exit(128 + sig);
            }
        });
    }
    Interrupter(const Interrupter&) = delete;
    Interrupter& operator=(const Interrupter&) = delete;
    ~Interrupter() {
        stop_ = true;
        ::pthread_kill(thread_.native_handle(), SIGUSR1);  // ends its wait now
        thread_.join();
    }

  private:
    Progress& progress_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};
}  // namespace

Command add_call(CLI::App& parent) {
    struct Args {
        std::string function;
        std::string params = "{}";
        std::vector<std::string> req;
        std::string timeout = seconds_text(zmqrpc::kInteractiveCallTimeout);
        std::string repeat = "1";
        CredentialOptions credentials;
        KeysOption keys;
    };
    auto args = std::make_shared<Args>();
    auto* app = parent.add_subcommand(
        "call",
        "Invoke FUNCTION with PARAMS (a JSON object) over REQ. Prints response_message as JSON "
        "on stdout (exit 0); a non-200 status prints the code and text on stderr (exit 1); a "
        "timeout, an unreachable server or refused credentials says which (exit 2). SIGINT or "
        "SIGTERM interrupts a call in flight (exit 130 or 143).");
    app->add_option("FUNCTION", args->function, "function name")->required();
    app->add_option("PARAMS", args->params, "named parameters as a JSON object")
        ->capture_default_str();
    app->add_option("--req", args->req,
                    "REP endpoint to connect to; repeat the option for round-robin over several")
        ->required()
        ->allow_extra_args(false);
    app->add_option("--timeout", args->timeout, "seconds to wait for each reply")
        ->type_name("SECONDS")
        ->capture_default_str();
    app->add_option("--repeat", args->repeat,
                    "call N times (1 to 10000000) and print a latency summary (min, median, p99, "
                    "max)")
        ->type_name("N")
        ->capture_default_str();
    args->credentials.add(*app, "", "to present to the server", {.connects = true});
    args->keys.add(*app);

    return {app, [args]() -> int {
                auto params = parse_params(args->params);
                const auto repeat = whole_number_option(args->repeat, "--repeat", 1, kMaxRepeat);
                check_endpoints(args->req, "--req");
                zmqrpc::RpcClientOptions options;
                options.name = "call";
                options.req_connect = args->req;
                options.security =
                    args->credentials.resolve("", {.connects = true}, args->keys.path());
                options.req_timeout = seconds_option(args->timeout, "--timeout", false);

                Progress progress;
                progress.summary = repeat > 1;
                Interrupter interrupter(progress);
                zmqrpc::RpcClient client(options);

                if (repeat == 1) {
                    try {
                        auto value = client.invoke(args->function, params);
                        std::lock_guard lock(progress.mutex);
                        std::cout << zmqrpc::dumps(value) << std::endl;
                        progress.done = true;
                        return kOk;
                    } catch (const zmqrpc::RpcError& e) {
                        std::lock_guard lock(progress.mutex);
                        std::cerr << "zmqrpc call: " << error_line(e) << std::endl;
                        progress.done = true;
                        return exit_code_for(e);
                    }
                }
                int last_failure = kOk;
                for (std::uint64_t i = 0; i < repeat; ++i) {
                    auto start = std::chrono::steady_clock::now();
                    try {
                        client.invoke(args->function, params);
                        const double ms = std::chrono::duration<double, std::milli>(
                                              std::chrono::steady_clock::now() - start)
                                              .count();
                        std::lock_guard lock(progress.mutex);
                        progress.latencies.push_back(ms);
                    } catch (const zmqrpc::RpcError& e) {
                        std::lock_guard lock(progress.mutex);
                        ++progress.errors;
                        last_failure = exit_code_for(e);
                        std::cerr << "zmqrpc call: " << error_line(e) << std::endl;
                    }
                }
                std::lock_guard lock(progress.mutex);
                std::cout << latency_summary(progress.latencies, progress.errors) << std::endl;
                progress.done = true;
                return progress.errors ? last_failure : kOk;
            }};
}

}  // namespace cli
