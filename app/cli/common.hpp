// Shared pieces of the zmqrpc subcommands: exit codes, security options, endpoint lists with
// heartbeat timeouts, signal handling and event printing. Main thread only unless noted.
#pragma once

#include "printable.hpp"

#include <zmqrpc/zmqrpc.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cli {

// Exit codes, documented in --help and the man page.
enum Exit : int {
    kOk = 0,
    kServerError = 1,  // the server answered a non-200 status
    kInvalid = 1,      // validate: the topology has errors
    kNoAnswer = 2,     // timeout, unreachable, credentials refused
    kCannotStart = 3,  // bad endpoint, address in use, invalid JSON or option value
    kUsage = 64,       // command line does not parse
};

// The largest --count of publish, heartbeat and snoop (about 30 years at 1000 a second).
inline constexpr std::uint64_t kMaxCount = 1'000'000'000'000;

// Thrown by subcommands for "one clear line on stderr, then exit with code". An empty message
// prints nothing (the subcommand already said what is wrong, e.g. located lines).
struct Failure {
    int code;
    std::string message;
};

// Which ways the sockets of one side go: they bind (REP, PUB), connect (REQ, SUB), or both
// (serve with --rep and --sub shares one side's security).
struct Side {
    bool binds = false;
    bool connects = false;
};

// --keys DIR: where key files given by NAME are looked up (once per subcommand).
struct KeysOption {
    std::string dir;
    void add(CLI::App& app);
    // DIR, else zmqrpc::default_keys_dir() ($ZMQRPC_KEYS, else ~/.config/zmqrpc/keys).
    std::filesystem::path path() const;
};

// The security options of one side, with a prefix for proxies and run ("in-", "out-",
// "metrics-"): PLAIN (--user, --password, --password-env, --password-file) or CURVE
// (--curve-secret-file, --curve-secret-env, --curve-server-key, --curve-authorized-keys,
// --curve-any-client). A NAME (no '/') is a file in the keys directory; a PATH has a '/'.
struct CredentialOptions {
    std::string user, password, password_env, password_file;
    std::string curve_secret_file, curve_secret_env, curve_server_key, curve_authorized_keys;
    bool curve_any_client = false;
    // `may`: the ways this side can go in the subcommand; the options of the other way are
    // hidden from --help (and refused by name by resolve()).
    void add(CLI::App& app, const std::string& prefix, const std::string& what, Side may);
    bool plain_given() const;
    bool curve_given() const;
    // The side's Security. Throws Failure: kUsage for PLAIN and CURVE options mixed, options of
    // a way the side does not go (--curve-server-key on a side that only binds), a binding side
    // without its key pair or without saying who may connect, a connecting side without the
    // server's key, malformed key text; kCannotStart for a missing env var or unreadable file
    // and without CURVE in libzmq. Nothing given: no security.
    zmqrpc::Security resolve(const std::string& prefix, Side side,
                             const std::filesystem::path& keys_dir) const;

  private:
    zmqrpc::Credentials resolve_plain(const std::string& prefix) const;
    zmqrpc::CurveSecurity resolve_curve(const std::string& prefix, Side side,
                                        const std::filesystem::path& keys_dir) const;
};

// An endpoint given in option `option`; throws Failure for inproc://, which nothing outside this
// process can reach. Returns `endpoint`.
const std::string& check_endpoint(const std::string& endpoint, const std::string& option);
void check_endpoints(const std::vector<std::string>& endpoints, const std::string& option);

// "EP" or "EP@SECONDS" (a SUB endpoint with its own heartbeat timeout), from option `option`.
std::vector<zmqrpc::SubEndpoint> parse_sub_endpoints(const std::vector<std::string>& args,
                                                     const std::string& option);

// Numeric options are kept as the text given and checked here, so that "-1", "", "nan" or a
// number too large for its type is refused by name instead of wrapping around (CLI11 reads "-1"
// into an unsigned as 2^64-1). Each throws Failure{kUsage} naming the option and its range.
//
// Seconds, fractional, 0 (when allowed) to 10000000; a positive value never rounds down to 0 ms.
std::chrono::milliseconds seconds_option(const std::string& text, const char* name,
                                         bool allow_zero);
// A duration as such an option takes it: 60s -> "60", 100ms -> "0.1". Options show the library's
// own defaults through it, so that a default has one value.
std::string seconds_text(std::chrono::milliseconds duration);
// A whole number from `min` to `max`; `zero_means` (when 0 is allowed) says what 0 does.
std::uint64_t whole_number_option(const std::string& text, const char* name, std::uint64_t min,
                                  std::uint64_t max, const char* zero_means = nullptr);
// A finite number from `min` to `max`, or 0 (meaning `zero_means`) when that is given.
double number_option(const std::string& text, const char* name, double min, double max,
                     const char* zero_means = nullptr);

// Parses a JSON object given on the command line; throws Failure with the parser's message.
zmqrpc::json parse_params(const std::string& text);

// Signals: SIGINT/SIGTERM ask to stop, SIGUSR1 asks for counters. Blocked in every thread
// (call before starting any component), read with wait_signal().
void block_signals();
// Waits up to `timeout` for one of the signals; returns it, or 0.
int wait_signal(std::chrono::milliseconds timeout);

// Blocks until SIGINT/SIGTERM; on SIGUSR1 prints counters_line(metrics()) on stderr.
void run_until_stopped(const std::function<zmqrpc::MetricsSnapshot()>& metrics);

// Prints every event of `bus` on stderr from a background thread while alive.
class EventPrinter {
  public:
    explicit EventPrinter(std::shared_ptr<zmqrpc::EventBus> bus);
    ~EventPrinter();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

std::string format_event(const zmqrpc::Event& e);
// Local time with milliseconds, ISO 8601.
std::string timestamp(std::chrono::system_clock::time_point t);
// One human line of counters for a component.
std::string counters_line(const zmqrpc::MetricsSnapshot& m);

// Registration of each subcommand: adds it to `app` and sets `run` to its body.
struct Command {
    CLI::App* app = nullptr;
    std::function<int()> run;
};
Command add_serve(CLI::App& app);
Command add_call(CLI::App& app);
Command add_publish(CLI::App& app);
Command add_heartbeat(CLI::App& app);
Command add_snoop(CLI::App& app);
Command add_proxy(CLI::App& app);
Command add_validate(CLI::App& app);
Command add_run(CLI::App& app);
Command add_keygen(CLI::App& app);

}  // namespace cli
