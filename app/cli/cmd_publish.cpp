// zmqrpc publish / zmqrpc heartbeat: fire-and-forget invocations, raw messages and heartbeats on
// a bound PUB socket.
#include "common.hpp"

#include <csignal>
#include <iostream>

namespace cli {

namespace {
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kMaxSubscribers = 100'000;

std::uint64_t count_option(const std::string& text, const char* zero_means) {
    return whole_number_option(text, "--count", 0, kMaxCount, zero_means);
}

int subscribers_option(const std::string& text) {
    return static_cast<int>(
        whole_number_option(text, "--subscribers", 0, kMaxSubscribers, "do not wait"));
}

// Sends `count` messages (0: until a signal) at `rate` per second (0: as fast as possible),
// with heartbeats every `heartbeat` (0: none). Returns how many were sent.
std::uint64_t pace(zmqrpc::Sender& sender, const std::string& message, std::uint64_t count,
                   double rate, std::chrono::milliseconds heartbeat) {
    const auto start = Clock::now();
    auto next_heartbeat = start + heartbeat;
    std::uint64_t sent = 0;
    while (count == 0 || sent < count) {
        if (heartbeat.count() > 0 && Clock::now() >= next_heartbeat) {
            sender.send_heartbeat();
            next_heartbeat = std::max(next_heartbeat + heartbeat, Clock::now());
        }
        sender.publish(message);
        ++sent;
        auto wait = std::chrono::milliseconds(0);
        if (rate > 0) {
            auto due = start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(static_cast<double>(sent) / rate));
            wait = std::chrono::ceil<std::chrono::milliseconds>(due - Clock::now());
        }
        if (rate > 0 || sent % 1024 == 0) {
            int sig = wait_signal(std::max(wait, std::chrono::milliseconds(0)));
            if (sig == SIGINT || sig == SIGTERM) break;
        }
    }
    return sent;
}

// Heartbeats every `interval`, `count` of them (0: until a signal).
std::uint64_t beat(zmqrpc::Sender& sender, std::uint64_t count,
                   std::chrono::milliseconds interval) {
    std::uint64_t sent = 0;
    while (count == 0 || sent < count) {
        sender.send_heartbeat();
        ++sent;
        if (count != 0 && sent >= count) break;
        int sig = wait_signal(interval);
        if (sig == SIGINT || sig == SIGTERM) break;
    }
    return sent;
}

// The sender gets its own context, destroyed after it: terminating a context waits (up to the
// PUB linger) for what was published to leave, so the last messages are not lost at exit.
std::unique_ptr<zmqrpc::Sender> bind_publisher(const std::shared_ptr<zmqrpc::Context>& context,
                                               const std::string& pub,
                                               const zmqrpc::Security& security, const char* name) {
    zmqrpc::SenderOptions options;
    options.context = context;
    options.name = name;
    options.pub_bind = pub;
    options.security = security;
    return std::make_unique<zmqrpc::Sender>(options);
}

enum class Waited { Ready, TimedOut, Interrupted };

Waited wait_for_subscribers(zmqrpc::Sender& sender, int subscribers,
                            std::chrono::milliseconds wait) {
    if (subscribers <= 0) return Waited::Ready;
    auto deadline = Clock::now() + wait;
    while (Clock::now() < deadline) {
        if (sender.wait_for_subscribers(static_cast<std::size_t>(subscribers),
                                        std::chrono::milliseconds(100))) {
            return Waited::Ready;
        }
        int sig = wait_signal(std::chrono::milliseconds(0));
        if (sig == SIGINT || sig == SIGTERM) return Waited::Interrupted;
    }
    return Waited::TimedOut;
}
}  // namespace

Command add_publish(CLI::App& parent) {
    struct Args {
        std::string pub;
        std::string function;
        std::string params = "{}";
        std::string raw;
        std::string count = "1";
        std::string rate = "0";
        std::string heartbeat_interval = "0";
        std::string subscribers = "1";
        std::string wait = "10";
        CredentialOptions credentials;
        KeysOption keys;
    };
    auto args = std::make_shared<Args>();
    auto* app = parent.add_subcommand(
        "publish",
        "Publish fire-and-forget invocations of FUNCTION with PARAMS (or --raw messages) on a "
        "bound PUB endpoint. Waits until --subscribers have subscribed (at most --wait "
        "seconds) before the first message, since a PUB drops what nobody hears.");
    app->add_option("FUNCTION", args->function, "function to invoke");
    app->add_option("PARAMS", args->params, "named parameters as a JSON object")
        ->capture_default_str();
    app->add_option("--pub", args->pub, "PUB endpoint to bind, e.g. tcp://*:30001")->required();
    app->add_option("--raw", args->raw, "send this exact text instead of an invocation");
    app->add_option("--count", args->count, "messages to send (0: until SIGINT/SIGTERM)")
        ->type_name("N")
        ->capture_default_str();
    app->add_option("--rate", args->rate,
                    "messages per second, 0.001 to 1000000000 (0: as fast as possible)")
        ->type_name("PER_SECOND")
        ->capture_default_str();
    app->add_option("--heartbeat-interval", args->heartbeat_interval,
                    "also send a heartbeat every SECONDS (0: none)")
        ->type_name("SECONDS")
        ->capture_default_str();
    app->add_option("--subscribers", args->subscribers,
                    "subscribers to wait for before sending, up to 100000 (0: do not wait)")
        ->type_name("N")
        ->capture_default_str();
    app->add_option("--wait", args->wait, "seconds to wait for them; then exit 2")
        ->type_name("SECONDS")
        ->capture_default_str();
    args->credentials.add(*app, "", "that subscribers must present", {.binds = true});
    args->keys.add(*app);

    return {app, [args]() -> int {
                std::string message;
                if (!args->raw.empty()) {
                    if (!args->function.empty()) {
                        throw Failure{kUsage, "give either FUNCTION [PARAMS] or --raw, not both"};
                    }
                    message = args->raw;
                } else {
                    if (args->function.empty()) {
                        throw Failure{kUsage, "give FUNCTION [PARAMS] or --raw TEXT"};
                    }
                    message = zmqrpc::encode_request(args->function, parse_params(args->params));
                }
                // Every option is checked before the bind: a misuse gives one line, no more.
                auto count = count_option(args->count, "until SIGINT/SIGTERM");
                auto rate = number_option(args->rate, "--rate", 0.001, 1e9, "as fast as possible");
                auto heartbeat =
                    seconds_option(args->heartbeat_interval, "--heartbeat-interval", true);
                auto subscribers = subscribers_option(args->subscribers);
                auto wait = seconds_option(args->wait, "--wait", true);
                check_endpoint(args->pub, "--pub");
                auto context = std::make_shared<zmqrpc::Context>();
                auto sender = bind_publisher(
                    context, args->pub,
                    args->credentials.resolve("", {.binds = true}, args->keys.path()), "publish");
                std::cerr << "zmqrpc publish: bound " << sender->pub_endpoint();
                if (subscribers > 0) {
                    std::cerr << ", waiting for " << subscribers << " subscriber(s)";
                }
                std::cerr << std::endl;
                switch (wait_for_subscribers(*sender, subscribers, wait)) {
                    case Waited::Ready:
                        break;
                    case Waited::Interrupted:
                        std::cerr << "zmqrpc publish: interrupted before any message was sent"
                                  << std::endl;
                        return kOk;
                    case Waited::TimedOut:
                        std::cerr << "zmqrpc publish: no subscriber within " << args->wait << " s"
                                  << std::endl;
                        return kNoAnswer;
                }
                auto sent = pace(*sender, message, count, rate, heartbeat);
                std::cout << "published " << sent << " message(s) on " << sender->pub_endpoint()
                          << std::endl;
                return kOk;
            }};
}

Command add_heartbeat(CLI::App& parent) {
    struct Args {
        std::string pub;
        std::string interval = "1";
        std::string count = "0";
        CredentialOptions credentials;
        KeysOption keys;
    };
    auto args = std::make_shared<Args>();
    auto* app = parent.add_subcommand(
        "heartbeat",
        "Send heartbeats (\"zmq_sub_heartbeat\") on a bound PUB endpoint at an "
        "interval, until --count or SIGINT/SIGTERM.");
    app->add_option("--pub", args->pub, "PUB endpoint to bind")->required();
    app->add_option("--interval", args->interval, "seconds between heartbeats")
        ->type_name("SECONDS")
        ->capture_default_str();
    app->add_option("--count", args->count, "heartbeats to send (0: until a signal)")
        ->type_name("N")
        ->capture_default_str();
    args->credentials.add(*app, "", "that subscribers must present", {.binds = true});
    args->keys.add(*app);
    return {app, [args]() -> int {
                auto interval = seconds_option(args->interval, "--interval", false);
                auto count = count_option(args->count, "until a signal");
                check_endpoint(args->pub, "--pub");
                auto context = std::make_shared<zmqrpc::Context>();
                auto sender = bind_publisher(
                    context, args->pub,
                    args->credentials.resolve("", {.binds = true}, args->keys.path()), "heartbeat");
                std::cout << "zmqrpc heartbeat: ready on " << sender->pub_endpoint() << ", every "
                          << args->interval << " s" << std::endl;
                auto sent = beat(*sender, count, interval);
                std::cerr << "sent " << sent << " heartbeat(s)" << std::endl;
                return kOk;
            }};
}

}  // namespace cli
