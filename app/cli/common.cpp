#include "common.hpp"

#include <pthread.h>
#include <atomic>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

namespace cli {

void CredentialOptions::add(CLI::App& app, const std::string& prefix, const std::string& what) {
    app.add_option("--" + prefix + "user", user, "PLAIN username " + what);
    app.add_option("--" + prefix + "password", password,
                   "password (visible to other users in ps; prefer --" + prefix + "password-env)");
    app.add_option("--" + prefix + "password-env", password_env,
                   "read the password from this environment variable");
    app.add_option("--" + prefix + "password-file", password_file,
                   "read the password from the first line of this file");
}

zmqrpc::Credentials CredentialOptions::resolve(const std::string& prefix) const {
    int sources = !password.empty() + !password_env.empty() + !password_file.empty();
    if (sources > 1) {
        throw Failure{kUsage, "give only one of --" + prefix + "password, --" + prefix +
                                  "password-env and --" + prefix + "password-file"};
    }
    if (user.empty()) {
        if (sources > 0)
            throw Failure{kUsage, "--" + prefix + "password needs --" + prefix + "user"};
        return {};
    }
    zmqrpc::Credentials c;
    c.username = user;
    if (!password.empty()) {
        c.password = password;
    } else if (!password_env.empty()) {
        const char* value = std::getenv(password_env.c_str());
        if (!value) {
            throw Failure{kCannotStart, "environment variable " + password_env + " is not set"};
        }
        c.password = value;
    } else if (!password_file.empty()) {
        std::ifstream in(password_file);
        if (!in) throw Failure{kCannotStart, "cannot read password file " + password_file};
        std::getline(in, c.password);
        if (!c.password.empty() && c.password.back() == '\r') c.password.pop_back();
    } else {
        throw Failure{kUsage, "--" + prefix + "user needs a password (--" + prefix +
                                  "password, --" + prefix + "password-env or --" + prefix +
                                  "password-file)"};
    }
    return c;
}

std::vector<zmqrpc::SubEndpoint> parse_sub_endpoints(const std::vector<std::string>& args) {
    std::vector<zmqrpc::SubEndpoint> out;
    for (const auto& arg : args) {
        auto at = arg.rfind('@');
        if (at == std::string::npos) {
            out.emplace_back(arg);
            continue;
        }
        std::string seconds = arg.substr(at + 1);
        char* end = nullptr;
        double value = std::strtod(seconds.c_str(), &end);
        if (seconds.empty() || *end != '\0' || !(value > 0) || value > 1e6) {
            throw Failure{kUsage, "invalid heartbeat timeout in '" + arg +
                                      "': expected ENDPOINT@SECONDS with SECONDS > 0"};
        }
        out.emplace_back(arg.substr(0, at),
                         std::chrono::milliseconds(static_cast<long>(value * 1000)));
    }
    return out;
}

std::chrono::milliseconds seconds_option(double seconds, const char* name, bool allow_zero) {
    constexpr double kMax = 1e7;
    if (!(seconds >= 0) || (!allow_zero && seconds == 0) || seconds > kMax) {
        std::ostringstream value;
        value << seconds;  // "-1", not std::to_string's "-1.000000"
        throw Failure{kUsage, std::string("invalid ") + name + ": " + value.str() +
                                  " seconds (expected " + (allow_zero ? ">= 0" : "> 0") +
                                  " and at most 10000000)"};
    }
    // Milliseconds, but a positive value never rounds down to zero (which means "none" or is
    // refused by the components).
    auto ms = static_cast<long>(seconds * 1000.0 + 0.5);
    if (seconds > 0 && ms == 0) ms = 1;
    return std::chrono::milliseconds(ms);
}

zmqrpc::json parse_params(const std::string& text) {
    zmqrpc::json value;
    try {
        value = zmqrpc::json::parse(text);
    } catch (const zmqrpc::json::parse_error& e) {
        std::string what = e.what();
        auto bracket = what.find("] ");
        if (bracket != std::string::npos) what = what.substr(bracket + 2);
        throw Failure{kCannotStart, "PARAMS is not valid JSON: " + what};
    }
    if (!value.is_object()) {
        throw Failure{kCannotStart,
                      "PARAMS must be a JSON object of named parameters, e.g. "
                      "'{\"a\": 1, \"b\": 2}'"};
    }
    return value;
}

void block_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_signal(std::chrono::milliseconds timeout) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    ts.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1000000);
    int sig = sigtimedwait(&set, nullptr, &ts);
    return sig > 0 ? sig : 0;
}

void run_until_stopped(const std::function<zmqrpc::MetricsSnapshot()>& metrics) {
    for (;;) {
        int sig = wait_signal(std::chrono::milliseconds(500));
        if (sig == SIGUSR1) std::cerr << counters_line(metrics()) << std::endl;
        if (sig == SIGINT || sig == SIGTERM) return;
    }
}

std::string timestamp(std::chrono::system_clock::time_point t) {
    auto secs = std::chrono::system_clock::to_time_t(t);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
    std::tm tm{};
    localtime_r(&secs, &tm);
    std::ostringstream out;
    out << std::put_time(&tm, "%Y-%m-%dT%H:%M:%S") << '.' << std::setw(3) << std::setfill('0')
        << ms;
    return out.str();
}

std::string format_event(const zmqrpc::Event& e) {
    std::string line = timestamp(e.time) + " " + e.source + " " + zmqrpc::to_string(e.kind);
    if (!e.endpoint.empty()) line += " " + e.endpoint;
    if (!e.text.empty()) line += ": " + e.text;
    return line;
}

struct EventPrinter::Impl {
    std::shared_ptr<zmqrpc::EventBus> bus;
    std::shared_ptr<zmqrpc::EventSubscription> sub;
    std::atomic<bool> stop{false};
    std::thread thread;
};

EventPrinter::EventPrinter(std::shared_ptr<zmqrpc::EventBus> bus)
    : impl_(std::make_unique<Impl>()) {
    impl_->bus = std::move(bus);
    impl_->sub = impl_->bus->subscribe();
    impl_->thread = std::thread([impl = impl_.get()] {
        while (!impl->stop) {
            if (auto e = impl->sub->pop(std::chrono::milliseconds(100))) {
                std::cerr << format_event(*e) << std::endl;
            }
        }
        for (const auto& e : impl->sub->drain())
            std::cerr << format_event(e) << std::endl;
    });
}

EventPrinter::~EventPrinter() {
    impl_->stop = true;
    impl_->thread.join();
}

std::string counters_line(const zmqrpc::MetricsSnapshot& m) {
    std::ostringstream out;
    out << m.name << ": in " << m.messages_in << " msgs/" << m.bytes_in << " B, out "
        << m.messages_out << " msgs/" << m.bytes_out << " B, errors " << m.errors << ", bad input "
        << m.bad_messages << ", failed requests " << m.requests_failed;
    if (m.has_queue) {
        const auto& q = m.queue;
        out << "; queue " << q.fill << "/" << q.capacity << " (high-water " << q.high_water
            << "), received " << q.received << ", delivered " << q.delivered << ", dropped "
            << q.dropped;
    }
    for (const auto& s : m.sockets) {
        out << "; " << s.role << " " << s.endpoint << " " << zmqrpc::to_string(s.connection);
        if (s.heartbeat != zmqrpc::HeartbeatState::Unmonitored) {
            out << ", heartbeat " << zmqrpc::to_string(s.heartbeat) << ", recreated "
                << s.recreates;
        }
        if (s.credentials_refused) out << ", credentials refused " << s.credentials_refused;
    }
    return out.str();
}

}  // namespace cli
