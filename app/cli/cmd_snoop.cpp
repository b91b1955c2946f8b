// zmqrpc snoop: print every message from one or more PUB endpoints, one line each.
#include "common.hpp"

#include <condition_variable>
#include <csignal>
#include <deque>
#include <iostream>
#include <mutex>

namespace cli {

namespace {
// Printable single line: control characters and invalid UTF-8 escaped.
std::string printable(std::string_view message) {
    if (zmqrpc::is_valid_utf8(message)) {
        std::string out;
        for (char c : message) {
            auto u = static_cast<unsigned char>(c);
            if (u < 0x20 || u == 0x7f) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\x%02x", u);
                out += buf;
            } else {
                out += c;
            }
        }
        return out;
    }
    std::string out = "(invalid UTF-8) ";
    for (char c : message) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) {
            out += c;
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        }
    }
    return out;
}

// Lines travel from the receiver thread to the main thread through a bounded queue, so a slow
// terminal never stalls the receiver; what does not fit is counted.
struct Lines {
    std::mutex mutex;
    std::condition_variable cv;
    struct Line {
        std::string text;
        bool heartbeat;
    };
    std::deque<Line> lines;
    std::uint64_t dropped = 0;
    static constexpr std::size_t kCapacity = 100000;
    void push(std::string text, bool heartbeat) {
        {
            std::lock_guard lock(mutex);
            if (lines.size() >= kCapacity) {
                ++dropped;
                return;
            }
            lines.push_back({std::move(text), heartbeat});
        }
        cv.notify_one();
    }
};
}  // namespace

Command add_snoop(CLI::App& parent) {
    struct Args {
        std::vector<std::string> subs;
        std::uint64_t count = 0;
        double heartbeat_timeout = 0;
        bool no_heartbeats = false;
        bool events = false;
        CredentialOptions credentials;
    };
    auto args = std::make_shared<Args>();
    auto* app = parent.add_subcommand(
        "snoop",
        "Print every message published on one or more PUB endpoints, one line each: time, "
        "endpoint, message. Heartbeats are shown as HEARTBEAT. Stops after --count messages "
        "or on SIGINT/SIGTERM.");
    app->add_option("--sub", args->subs,
                    "PUB endpoint to subscribe to, ENDPOINT or ENDPOINT@SECONDS; repeatable")
        ->required();
    app->add_option("--count", args->count, "stop after this many messages (0: never)")
        ->capture_default_str();
    app->add_option("--heartbeat-timeout", args->heartbeat_timeout,
                    "recreate a SUB socket silent this many seconds (0: never)")
        ->capture_default_str();
    app->add_flag("--no-heartbeats", args->no_heartbeats, "do not print heartbeats");
    app->add_flag("--events", args->events, "print connection and heartbeat events on stderr");
    args->credentials.add(*app, "", "to present to the publishers");

    return {app, [args]() -> int {
                auto lines = std::make_shared<Lines>();
                zmqrpc::ReceiverOptions options;
                options.name = "snoop";
                options.sub_connect = parse_sub_endpoints(args->subs);
                options.default_heartbeat_timeout =
                    seconds_option(args->heartbeat_timeout, "--heartbeat-timeout", true);
                options.credentials = args->credentials.resolve("");
                const bool show_heartbeats = !args->no_heartbeats;
                options.tap = [lines, show_heartbeats](const std::string& endpoint,
                                                       std::string_view message, bool heartbeat) {
                    if (heartbeat && !show_heartbeats) return;
                    lines->push(timestamp(std::chrono::system_clock::now()) + " " + endpoint + " " +
                                    (heartbeat ? std::string("HEARTBEAT") : printable(message)),
                                heartbeat);
                };
                auto bus = std::make_shared<zmqrpc::EventBus>();
                options.events = bus;
                std::optional<EventPrinter> printer;
                if (args->events) printer.emplace(bus);

                zmqrpc::Receiver receiver(
                    options, [](std::string_view, zmqrpc::Origin) { return std::string(); });
                receiver.start();
                std::uint64_t printed = 0;
                bool stop = false;
                while (!stop) {
                    std::deque<Lines::Line> batch;
                    {
                        std::unique_lock lock(lines->mutex);
                        lines->cv.wait_for(lock, std::chrono::milliseconds(100),
                                           [&] { return !lines->lines.empty(); });
                        batch.swap(lines->lines);
                    }
                    for (auto& line : batch) {
                        std::cout << line.text << '\n';
                        if (!line.heartbeat) ++printed;
                        if (args->count != 0 && printed >= args->count) {
                            stop = true;
                            break;
                        }
                    }
                    std::cout.flush();
                    int sig = wait_signal(std::chrono::milliseconds(0));
                    if (sig == SIGINT || sig == SIGTERM) stop = true;
                }
                receiver.stop();
                if (lines->dropped) {
                    std::cerr << "zmqrpc snoop: " << lines->dropped
                              << " message(s) not printed: the terminal could not keep up"
                              << std::endl;
                }
                return kOk;
            }};
}

}  // namespace cli
