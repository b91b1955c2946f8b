#include "common.hpp"

#include <pthread.h>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

namespace cli {

void KeysOption::add(CLI::App& app) {
    app.add_option("--keys", dir,
                   "directory of the key files given by NAME (default: $ZMQRPC_KEYS, else "
                   "~/.config/zmqrpc/keys)")
        ->type_name("DIR");
}

std::filesystem::path KeysOption::path() const {
    return dir.empty() ? zmqrpc::default_keys_dir() : std::filesystem::path(dir);
}

void CredentialOptions::add(CLI::App& app, const std::string& prefix, const std::string& what,
                            Side may) {
    const std::string p = "--" + prefix;
    app.add_option(p + "user", user, "PLAIN username " + what);
    app.add_option(p + "password", password,
                   "password (visible to other users in ps; prefer " + p + "password-env)");
    app.add_option(p + "password-env", password_env,
                   "read the password from this environment variable");
    app.add_option(p + "password-file", password_file,
                   "read the password from the first line of this file");
    app.add_option(p + "curve-secret-file", curve_secret_file,
                   "CURVE: our key pair, from a secret key file: NAME is NAME.key_secret in the "
                   "keys directory "
                   "(make one with `zmqrpc keygen NAME`), a PATH has a '/'")
        ->type_name("NAME|PATH");
    app.add_option(p + "curve-secret-env", curve_secret_env,
                   "CURVE: our secret key's Z85 text from this environment variable (the public "
                   "key is derived from it)")
        ->type_name("VAR");
    auto* server_key =
        app.add_option(p + "curve-server-key", curve_server_key,
                       "CURVE, connecting: the server's public key: its Z85 text, NAME (NAME.key "
                       "in the keys directory) or a PATH with a '/'. Without " +
                           p +
                           "curve-secret-*, a fresh key pair is used, which only a server "
                           "that lets any client with its key in accepts")
            ->type_name("KEY|NAME|PATH");
    auto* authorized =
        app.add_option(p + "curve-authorized-keys", curve_authorized_keys,
                       "CURVE, binding: let in only the clients whose public keys this file "
                       "lists (one Z85 key per line, '#' comments; re-read at each connection); "
                       "NAME is a file in the keys directory, a PATH has a '/'")
            ->type_name("NAME|PATH");
    auto* any = app.add_flag(p + "curve-any-client", curve_any_client,
                             "CURVE, binding: let in any client that holds our public key");
    // Options of a way this side never goes stay parsed (resolve() says why they do not fit)
    // but out of --help.
    if (!may.connects) server_key->group("");
    if (!may.binds) {
        authorized->group("");
        any->group("");
    }
}

bool CredentialOptions::plain_given() const {
    return !user.empty() || !password.empty() || !password_env.empty() || !password_file.empty();
}

bool CredentialOptions::curve_given() const {
    return !curve_secret_file.empty() || !curve_secret_env.empty() || !curve_server_key.empty() ||
           !curve_authorized_keys.empty() || curve_any_client;
}

zmqrpc::Security CredentialOptions::resolve(const std::string& prefix, Side side,
                                            const std::filesystem::path& keys_dir) const {
    if (plain_given() && curve_given()) {
        throw Failure{kUsage, "give either PLAIN options (--" + prefix + "user, --" + prefix +
                                  "password...) or CURVE options (--" + prefix +
                                  "curve-...) for one side, not both"};
    }
    if (curve_given()) return resolve_curve(prefix, side, keys_dir);
    return resolve_plain(prefix);
}

namespace {

// A file named on the command line: NAME (no '/') is NAME + `suffix` in `keys_dir`.
std::filesystem::path key_path(const std::string& text, const std::filesystem::path& keys_dir,
                               const std::string& suffix) {
    if (text.find('/') != std::string::npos) return text;
    return keys_dir / (text + suffix);
}

bool file_exists(const std::filesystem::path& path) {
    std::error_code ec;
    return std::filesystem::exists(path, ec);
}

}  // namespace

zmqrpc::CurveSecurity CredentialOptions::resolve_curve(
    const std::string& prefix, Side side, const std::filesystem::path& keys_dir) const {
    const std::string p = "--" + prefix;
    if (!curve_secret_file.empty() && !curve_secret_env.empty()) {
        throw Failure{kUsage,
                      "give only one of " + p + "curve-secret-file and " + p + "curve-secret-env"};
    }
    if (!curve_server_key.empty() && !side.connects) {
        throw Failure{kUsage, p +
                                  "curve-server-key names the server a connecting side talks to, "
                                  "but this side only binds: give its own key pair with " +
                                  p + "curve-secret-file NAME"};
    }
    if ((!curve_authorized_keys.empty() || curve_any_client) && !side.binds) {
        throw Failure{kUsage, std::string(curve_any_client ? p + "curve-any-client"
                                                           : p + "curve-authorized-keys") +
                                  " says who may connect to a binding side, but this side only "
                                  "connects: give the server's public key with " +
                                  p + "curve-server-key"};
    }
    if (!curve_authorized_keys.empty() && curve_any_client) {
        throw Failure{kUsage, "give only one of " + p + "curve-authorized-keys and " + p +
                                  "curve-any-client"};
    }
    const bool has_secret = !curve_secret_file.empty() || !curve_secret_env.empty();
    if (side.binds && !has_secret) {
        throw Failure{kUsage, "a CURVE side that binds needs its key pair: give " + p +
                                  "curve-secret-file NAME (make one with `zmqrpc keygen NAME`) "
                                  "or " +
                                  p + "curve-secret-env VAR"};
    }
    if (side.binds && curve_authorized_keys.empty() && !curve_any_client) {
        throw Failure{kUsage, "say who may connect: " + p +
                                  "curve-authorized-keys FILE (only the clients whose public "
                                  "keys it lists) or " +
                                  p + "curve-any-client (any client that holds our public key)"};
    }
    if (side.connects && curve_server_key.empty()) {
        throw Failure{kUsage, "a CURVE side that connects needs the server's public key: give " +
                                  p + "curve-server-key KEY|NAME|PATH"};
    }
    try {
        zmqrpc::require_curve("zmqrpc");
    } catch (const zmqrpc::ConfigError& e) {
        throw Failure{kCannotStart, e.what()};
    }

    zmqrpc::CurveSecurity curve;
    if (!curve_secret_file.empty()) {
        const auto path = key_path(curve_secret_file, keys_dir, ".key_secret");
        if (!file_exists(path)) {
            std::string make = curve_secret_file.find('/') == std::string::npos
                                   ? " (make one with: zmqrpc keygen " + curve_secret_file +
                                         (keys_dir == zmqrpc::default_keys_dir()
                                              ? std::string()
                                              : " --keys " + keys_dir.string()) +
                                         ")"
                                   : std::string();
            throw Failure{kCannotStart, p + "curve-secret-file: secret key file " + path.string() +
                                            " does not exist" + make};
        }
        try {
            curve.keys = zmqrpc::load_curve_secret_file(path);
        } catch (const zmqrpc::ConfigError& e) {
            throw Failure{kCannotStart, p + "curve-secret-file: " + e.what()};
        }
    } else if (!curve_secret_env.empty()) {
        const char* value = std::getenv(curve_secret_env.c_str());
        if (!value) {
            throw Failure{kCannotStart, p + "curve-secret-env: environment variable " +
                                            curve_secret_env + " is not set"};
        }
        if (auto problem = zmqrpc::check_curve_key(value)) {
            throw Failure{kCannotStart, p + "curve-secret-env: environment variable " +
                                            curve_secret_env + ": " + *problem};
        }
        curve.keys = {zmqrpc::curve_public_key(value), value};
    }
    if (!curve_server_key.empty()) {
        const auto problem = zmqrpc::check_curve_key(curve_server_key);
        if (!problem) {
            curve.server_key = curve_server_key;
        } else {
            const auto path = key_path(curve_server_key, keys_dir, ".key");
            if (!file_exists(path)) {
                // 40 characters without a '/': meant as a key, not as a name.
                const bool key_like = curve_server_key.size() == 40 &&
                                      curve_server_key.find('/') == std::string::npos;
                throw Failure{key_like ? kUsage : kCannotStart,
                              p + "curve-server-key '" + curve_server_key + "' is not a key (" +
                                  *problem + ") and there is no public key file " + path.string()};
            }
            try {
                curve.server_key = zmqrpc::load_curve_public_file(path);
            } catch (const zmqrpc::ConfigError& e) {
                throw Failure{kCannotStart, p + "curve-server-key: " + e.what()};
            }
        }
    }
    if (!curve_authorized_keys.empty()) {
        curve.clients = zmqrpc::CurveClients::AuthorizedKeys;
        curve.authorized_keys =
            std::filesystem::absolute(key_path(curve_authorized_keys, keys_dir, ""));
        if (!file_exists(curve.authorized_keys)) {
            throw Failure{kCannotStart, p + "curve-authorized-keys: authorized keys file " +
                                            curve.authorized_keys.string() + " does not exist"};
        }
    } else if (curve_any_client) {
        curve.clients = zmqrpc::CurveClients::AnyWithServerKey;
    }
    return curve;
}

zmqrpc::Credentials CredentialOptions::resolve_plain(const std::string& prefix) const {
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

namespace {

constexpr double kMaxSeconds = 1e7;

// Numbers as a person writes them, for messages: "0.5", "1000000000", "-1".
std::string number_text(double value) {
    std::ostringstream out;
    out << std::setprecision(12) << value;  // 1000000000, not 1e+09
    return out.str();
}

// Milliseconds of `seconds` (checked: 0 < seconds <= kMaxSeconds, or 0), rounded to the nearest
// millisecond, but a positive value never rounds down to zero (which means "none" or is refused
// by the components).
std::chrono::milliseconds to_milliseconds(double seconds) {
    auto ms = static_cast<long>(seconds * 1000.0 + 0.5);
    if (seconds > 0 && ms == 0) ms = 1;
    return std::chrono::milliseconds(ms);
}

// Parses all of `text` as a number; nullopt when it is not one (empty, trailing characters).
std::optional<double> parse_number(const std::string& text) {
    if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) return {};
    char* end = nullptr;
    double value = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0') return {};
    return value;
}

std::string quoted(const std::string& text) {
    return text.empty() ? std::string("empty") : "'" + text + "'";
}

}  // namespace

const std::string& check_endpoint(const std::string& endpoint, const std::string& option) {
    constexpr std::string_view kInproc = "inproc://";
    if (endpoint.size() >= kInproc.size() &&
        std::equal(kInproc.begin(), kInproc.end(), endpoint.begin(), [](char a, char b) {
            return a == std::tolower(static_cast<unsigned char>(b));
        })) {
        throw Failure{kCannotStart,
                      option + " " + endpoint +
                          ": inproc:// endpoints work only inside one process; use ipc:// or "
                          "tcp://"};
    }
    return endpoint;
}

void check_endpoints(const std::vector<std::string>& endpoints, const std::string& option) {
    for (const auto& endpoint : endpoints)
        check_endpoint(endpoint, option);
}

std::vector<zmqrpc::SubEndpoint> parse_sub_endpoints(const std::vector<std::string>& args,
                                                     const std::string& option) {
    std::vector<zmqrpc::SubEndpoint> out;
    for (const auto& arg : args) {
        auto at = arg.rfind('@');
        if (at == std::string::npos) {
            out.emplace_back(check_endpoint(arg, option));
            continue;
        }
        auto value = parse_number(arg.substr(at + 1));
        if (!value || !(*value > 0) || *value > kMaxSeconds) {
            throw Failure{kUsage, "invalid heartbeat timeout in " + option + " '" + arg +
                                      "': expected ENDPOINT@SECONDS with SECONDS > 0 and at "
                                      "most 10000000"};
        }
        out.emplace_back(check_endpoint(arg.substr(0, at), option), to_milliseconds(*value));
    }
    return out;
}

std::string seconds_text(std::chrono::milliseconds duration) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", static_cast<double>(duration.count()) / 1000.0);
    return text;
}

std::chrono::milliseconds seconds_option(const std::string& text, const char* name,
                                         bool allow_zero) {
    const std::string expected =
        std::string(" (expected ") + (allow_zero ? ">= 0" : "> 0") + " and at most 10000000)";
    if (text.empty()) throw Failure{kUsage, std::string("invalid ") + name + ": empty" + expected};
    auto seconds = parse_number(text);
    if (!seconds) {
        throw Failure{kUsage, std::string("invalid ") + name + ": '" + text +
                                  "' is not a number of seconds" + expected};
    }
    if (!(*seconds >= 0) || (!allow_zero && *seconds == 0) || *seconds > kMaxSeconds) {
        throw Failure{kUsage, std::string("invalid ") + name + ": " + number_text(*seconds) +
                                  " seconds" + expected};
    }
    return to_milliseconds(*seconds);
}

std::uint64_t whole_number_option(const std::string& text, const char* name, std::uint64_t min,
                                  std::uint64_t max, const char* zero_means) {
    std::uint64_t value = 0;
    bool ok = !text.empty();
    for (char c : text) {
        if (c < '0' || c > '9') {
            ok = false;
            break;
        }
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (max - digit) / 10) {  // more than max: stop before it can overflow
            ok = false;
            break;
        }
        value = value * 10 + digit;
    }
    if (!ok || value < min) {
        std::string range =
            "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
        if (min == 0 && zero_means) range += std::string(" (0: ") + zero_means + ")";
        throw Failure{kUsage, std::string(name) + " must be " + range + ", not " + quoted(text)};
    }
    return value;
}

double number_option(const std::string& text, const char* name, double min, double max,
                     const char* zero_means) {
    const auto value = parse_number(text);
    const bool ok = value && std::isfinite(*value) &&
                    ((zero_means && *value == 0) || (*value >= min && *value <= max));
    if (!ok) {
        std::string range = "a number from " + number_text(min) + " to " + number_text(max);
        if (zero_means) range += std::string(", or 0 (") + zero_means + ")";
        throw Failure{kUsage, std::string(name) + " must be " + range + ", not " + quoted(text)};
    }
    return *value == 0 ? 0.0 : *value;  // not -0
}

zmqrpc::json parse_params(const std::string& text) {
    // Read as Python's json.loads() reads it, as pyzmqrpc's client does before it sends: integers
    // of any size stay exact (not a double), 1e400 is Infinity, NaN is read, a repeated key keeps
    // its first place; errors in Python's words with the position.
    std::string error;
    std::optional<zmqrpc::json> parsed = zmqrpc::parse_json_text(text, &error);
    if (!parsed) throw Failure{kCannotStart, "PARAMS is not valid JSON: " + error};
    zmqrpc::json value = std::move(*parsed);
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
    // The text may carry what a peer sent (a status text, a bad message); keep it one line.
    std::string line =
        timestamp(e.time) + " " + printable(e.source) + " " + zmqrpc::to_string(e.kind);
    if (!e.endpoint.empty()) line += " " + printable(e.endpoint);
    if (!e.text.empty()) line += ": " + printable(e.text);
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
        if (q.recovered > 0) out << " (recovered " << q.recovered << " from the store)";
        if (q.window > 0) out << ", window " << q.window << ", in flight " << q.in_flight;
        if (q.redelivered > 0) out << ", redelivered " << q.redelivered;
        if (q.stale_replies > 0) out << ", stale replies " << q.stale_replies;
        if (q.durable) out << ", stored " << q.fill_bytes << " B";
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
