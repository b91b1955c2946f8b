// zmqrpc proxy KIND: run one of the five proxies.
#include "common.hpp"

#include <csignal>
#include <iostream>

namespace cli {

namespace {
// Each queued message is at least a std::string: 100 million of them is gigabytes already.
constexpr std::uint64_t kMaxQueue = 100'000'000;
constexpr std::uint64_t kMaxStoreBytes = std::uint64_t{1} << 50;
}  // namespace

Command add_proxy(CLI::App& parent) {
    static const zmqrpc::ProxyOptions kDefaults{};
    struct Args {
        std::string kind;
        std::string in_rep;
        std::vector<std::string> in_sub;
        std::string out_pub;
        std::vector<std::string> out_req;
        // The library's defaults, as a proxy built in code has them.
        std::string heartbeat_timeout = seconds_text(kDefaults.input.default_heartbeat_timeout);
        std::string req_timeout = seconds_text(kDefaults.output.req_timeout);
        std::string retry_interval = seconds_text(kDefaults.retry_interval);
        std::string heartbeat_interval = seconds_text(kDefaults.output.pub_heartbeat_interval);
        std::string queue = std::to_string(kDefaults.queue_capacity);
        std::string window = std::to_string(kDefaults.window);
        std::string store;
        std::string store_max_bytes = std::to_string(kDefaults.store_max_bytes);
        std::string fsync = zmqrpc::to_string(kDefaults.store_sync);
        bool events = false;
        CredentialOptions in_credentials, out_credentials;
        KeysOption keys;
    };
    auto args = std::make_shared<Args>();
    auto* app = parent.add_subcommand(
        "proxy",
        "Run a proxy: sub2req (SUB -> REQ), sub2pub (SUB -> PUB), rep2pub (REP -> PUB, answers "
        "200 once published), rep2req (REP -> REQ, passes the reply back; 482 when it cannot "
        "deliver), buffered-rep2req (answers 200 on acceptance, delivers in order once the "
        "downstream is back). A bounded queue sits between input and output. SIGUSR1 prints "
        "the counters on stderr; so does the exit.");
    app->add_option("KIND", args->kind, "sub2req, sub2pub, rep2pub, rep2req or buffered-rep2req")
        ->required();
    app->add_option("--in-rep", args->in_rep, "input REP endpoint to bind (rep* kinds)");
    app->add_option("--in-sub", args->in_sub,
                    "input PUB endpoint to subscribe to, ENDPOINT or ENDPOINT@SECONDS; "
                    "repeat the option for several (sub* kinds)")
        ->allow_extra_args(false);
    app->add_option("--out-pub", args->out_pub, "output PUB endpoint to bind (*2pub kinds)");
    app->add_option("--out-req", args->out_req,
                    "output REP endpoint to connect to; repeat the option for round-robin over "
                    "several (*2req kinds)")
        ->allow_extra_args(false);
    app->add_option("--heartbeat-timeout", args->heartbeat_timeout,
                    "input SUB: seconds of silence before recreating the socket (0: never)")
        ->type_name("SECONDS")
        ->capture_default_str();
    app->add_option("--req-timeout", args->req_timeout, "output REQ: seconds to wait for a reply")
        ->type_name("SECONDS")
        ->capture_default_str();
    app->add_option("--retry-interval", args->retry_interval,
                    "sub2req, buffered-rep2req: seconds between delivery attempts")
        ->type_name("SECONDS")
        ->capture_default_str();
    app->add_option("--heartbeat-interval", args->heartbeat_interval,
                    "output PUB: send own heartbeats every SECONDS (0: none)")
        ->type_name("SECONDS")
        ->capture_default_str();
    app->add_option("--queue", args->queue, "queue capacity in messages, 1 to 100000000")
        ->type_name("N")
        ->capture_default_str();
    app->add_option("--window", args->window,
                    "*2req kinds: requests in flight per --out-req endpoint, 1 to 100000 (1: "
                    "wait for each reply, as pyzmqrpc does)")
        ->type_name("N")
        ->capture_default_str();
    app->add_option("--store", args->store,
                    "sub2req, buffered-rep2req: keep the queue in this SQLite file, so that a "
                    "restart or a kill loses nothing accepted (a bad file is moved aside)")
        ->type_name("PATH");
    app->add_option("--store-max-bytes", args->store_max_bytes,
                    "with --store: payload bytes it may hold; more input is refused (0: no limit)")
        ->type_name("BYTES")
        ->capture_default_str();
    app->add_option("--fsync", args->fsync,
                    "with --store: always (every commit reaches the disk), interval (every "
                    "second), off (when the kernel likes); a kill loses nothing with any")
        ->type_name("POLICY")
        ->capture_default_str();
    app->add_flag("--events", args->events, "print connection and heartbeat events on stderr");
    args->in_credentials.add(*app, "in-", "for the input side", {.binds = true, .connects = true});
    args->out_credentials.add(*app, "out-", "for the output side",
                              {.binds = true, .connects = true});
    args->keys.add(*app);

    return {
        app, [args]() -> int {
            zmqrpc::ProxyKind kind;
            try {
                kind = zmqrpc::proxy_kind_from_string(args->kind);
            } catch (const zmqrpc::ConfigError& e) {
                throw Failure{kUsage, e.what()};
            }
            // Each kind has one input and one output option; say which, by its option name
            // (the core's message names its option fields).
            const bool rep_in = kind == zmqrpc::ProxyKind::Rep2Pub ||
                                kind == zmqrpc::ProxyKind::Rep2Req ||
                                kind == zmqrpc::ProxyKind::BufferedRep2Req;
            const bool pub_out =
                kind == zmqrpc::ProxyKind::Sub2Pub || kind == zmqrpc::ProxyKind::Rep2Pub;
            const std::string in_option = rep_in ? "--in-rep" : "--in-sub";
            const std::string out_option = pub_out ? "--out-pub" : "--out-req";
            const std::string takes =
                std::string(zmqrpc::to_string(kind)) + " takes " + in_option + " and " + out_option;
            const bool has_rep = !args->in_rep.empty(), has_sub = !args->in_sub.empty();
            const bool has_pub = !args->out_pub.empty(), has_req = !args->out_req.empty();
            if (rep_in ? has_sub : has_rep) {
                throw Failure{kUsage, takes + ", not " + (rep_in ? "--in-sub" : "--in-rep")};
            }
            if (pub_out ? has_req : has_pub) {
                throw Failure{kUsage, takes + ", not " + (pub_out ? "--out-req" : "--out-pub")};
            }
            if (!(rep_in ? has_rep : has_sub) || !(pub_out ? has_pub : has_req)) {
                throw Failure{kUsage, takes + "; missing " +
                                          (!(rep_in ? has_rep : has_sub) ? in_option : out_option)};
            }
            zmqrpc::ProxyOptions options;
            options.name = "proxy";
            options.input.rep_bind = check_endpoint(args->in_rep, "--in-rep");
            options.input.sub_connect = parse_sub_endpoints(args->in_sub, "--in-sub");
            options.input.default_heartbeat_timeout =
                seconds_option(args->heartbeat_timeout, "--heartbeat-timeout", true);
            options.input.security = args->in_credentials.resolve(
                "in-", {.binds = rep_in, .connects = !rep_in}, args->keys.path());
            options.output.pub_bind = check_endpoint(args->out_pub, "--out-pub");
            check_endpoints(args->out_req, "--out-req");
            options.output.req_connect = args->out_req;
            options.output.req_timeout = seconds_option(args->req_timeout, "--req-timeout", false);
            options.output.pub_heartbeat_interval =
                seconds_option(args->heartbeat_interval, "--heartbeat-interval", true);
            options.output.security = args->out_credentials.resolve(
                "out-", {.binds = pub_out, .connects = !pub_out}, args->keys.path());
            options.retry_interval = seconds_option(args->retry_interval, "--retry-interval", true);
            options.queue_capacity =
                static_cast<std::size_t>(whole_number_option(args->queue, "--queue", 1, kMaxQueue));
            options.window =
                static_cast<std::size_t>(whole_number_option(args->window, "--window", 1, 100000));
            options.store = args->store;
            options.store_max_bytes =
                whole_number_option(args->store_max_bytes, "--store-max-bytes", 0, kMaxStoreBytes);
            try {
                options.store_sync = zmqrpc::store_sync_from_string(args->fsync);
            } catch (const zmqrpc::ConfigError& e) {
                throw Failure{kUsage, std::string("--fsync: ") + e.what()};
            }
            const bool storable =
                kind == zmqrpc::ProxyKind::Sub2Req || kind == zmqrpc::ProxyKind::BufferedRep2Req;
            if (!args->store.empty() && !storable) {
                throw Failure{kUsage, "--store is for sub2req and buffered-rep2req, not " +
                                          std::string(zmqrpc::to_string(kind))};
            }
            auto bus = std::make_shared<zmqrpc::EventBus>();
            options.events = bus;
            std::optional<EventPrinter> printer;
            if (args->events) printer.emplace(bus);

            zmqrpc::Proxy proxy(kind, options);
            proxy.start();
            std::string in = !args->in_rep.empty() ? "rep " + proxy.input_endpoint() : "";
            for (const auto& s : options.input.sub_connect) {
                in += (in.empty() ? "sub " : ", sub ") + s.endpoint;
            }
            std::string out = !args->out_pub.empty() ? "pub " + proxy.output_endpoint() : "";
            for (const auto& r : args->out_req)
                out += (out.empty() ? "req " : ", req ") + r;
            std::cout << "zmqrpc proxy " << zmqrpc::to_string(kind) << ": ready; in " << in
                      << "; out " << out;
            if (!options.store.empty()) {
                std::cout << "; store " << options.store << " (" << proxy.metrics().queue.recovered
                          << " message(s) recovered)";
            }
            std::cout << std::endl;
            run_until_stopped([&] { return proxy.metrics(); });
            proxy.stop();
            std::cerr << counters_line(proxy.metrics()) << std::endl;
            return kOk;
        }};
}

}  // namespace cli
