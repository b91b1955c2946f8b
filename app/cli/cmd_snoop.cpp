// zmqrpc snoop: print every message from one or more PUB endpoints, one line each.
#include "common.hpp"

#include <condition_variable>
#include <csignal>
#include <deque>
#include <iostream>
#include <mutex>
#include <set>
#include <utility>

namespace cli {

namespace {

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

// Refused credentials and failed handshakes: the publisher will never send us anything. Said
// once per endpoint and kind, "zmqrpc snoop: ENDPOINT: TEXT", until a handshake succeeds there
// again; libzmq retries every few hundred milliseconds and each retry fails the same way.
class FailureReporter {
  public:
    // Inactive (when --events prints every event anyway): reports nothing.
    FailureReporter(zmqrpc::EventBus& bus, bool active) {
        if (active) events_ = bus.subscribe();
    }
    // Says what happened since the last call.
    void report() {
        if (!events_) return;
        for (const auto& e : events_->drain())
            report(e);
    }

  private:
    void report(const zmqrpc::Event& e) {
        using K = zmqrpc::EventKind;
        if (e.kind == K::HandshakeSucceeded) {
            std::erase_if(said_, [&](const auto& s) { return s.first == e.endpoint; });
            return;
        }
        if (e.kind != K::CredentialsRefused && e.kind != K::HandshakeFailed && e.kind != K::Error) {
            return;
        }
        if (!said_.emplace(e.endpoint, e.kind).second) return;
        std::cerr << "zmqrpc snoop: " << (e.endpoint.empty() ? "" : printable(e.endpoint) + ": ")
                  << printable(e.text.empty() ? zmqrpc::to_string(e.kind) : e.text) << std::endl;
    }

    std::shared_ptr<zmqrpc::EventSubscription> events_;
    std::set<std::pair<std::string, zmqrpc::EventKind>> said_;
};
}  // namespace

Command add_snoop(CLI::App& parent) {
    struct Args {
        std::vector<std::string> subs;
        std::string count = "0";
        std::string heartbeat_timeout = "0";
        bool no_heartbeats = false;
        bool events = false;
        CredentialOptions credentials;
        KeysOption keys;
    };
    auto args = std::make_shared<Args>();
    auto* app = parent.add_subcommand(
        "snoop",
        "Print every message published on one or more PUB endpoints, one line each: time, "
        "endpoint, message. Heartbeats are shown as HEARTBEAT. Stops after --count messages "
        "(heartbeats not counted) or on SIGINT/SIGTERM. Refused credentials and failed "
        "handshakes are said on stderr even without --events.");
    app->add_option("--sub", args->subs,
                    "PUB endpoint to subscribe to, ENDPOINT or ENDPOINT@SECONDS; repeat the "
                    "option for several")
        ->required()
        ->allow_extra_args(false);
    app->add_option("--count", args->count,
                    "stop after this many messages, heartbeats not counted (0: never)")
        ->type_name("N")
        ->capture_default_str();
    app->add_option("--heartbeat-timeout", args->heartbeat_timeout,
                    "recreate a SUB socket silent this many seconds (0: never)")
        ->type_name("SECONDS")
        ->capture_default_str();
    app->add_flag("--no-heartbeats", args->no_heartbeats, "do not print heartbeats");
    app->add_flag("--events", args->events, "print connection and heartbeat events on stderr");
    args->credentials.add(*app, "", "to present to the publishers", {.connects = true});
    args->keys.add(*app);

    return {
        app, [args]() -> int {
            auto lines = std::make_shared<Lines>();
            auto count = whole_number_option(args->count, "--count", 0, kMaxCount, "never");
            zmqrpc::ReceiverOptions options;
            options.name = "snoop";
            options.sub_connect = parse_sub_endpoints(args->subs, "--sub");
            options.default_heartbeat_timeout =
                seconds_option(args->heartbeat_timeout, "--heartbeat-timeout", true);
            options.security = args->credentials.resolve("", {.connects = true}, args->keys.path());
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
            // Without --events, what means that nothing will ever arrive is still said.
            FailureReporter failures(*bus, !args->events);

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
                    if (count != 0 && printed >= count) {
                        stop = true;
                        break;
                    }
                }
                std::cout.flush();
                failures.report();
                int sig = wait_signal(std::chrono::milliseconds(0));
                if (sig == SIGINT || sig == SIGTERM) stop = true;
            }
            receiver.stop();
            failures.report();
            if (lines->dropped) {
                std::cerr << "zmqrpc snoop: " << lines->dropped
                          << " message(s) not printed: the terminal could not keep up" << std::endl;
            }
            return kOk;
        }};
}

}  // namespace cli
