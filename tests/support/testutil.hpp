// Shared helpers of the component test suites (tests/core/tst_*.cpp): bounded waits, option
// builders with short timeouts, a recorder for events and calls, and endpoints on loopback.
// Everything here is header-only and links against libzmqrpc + Qt Test only.
//
// Rules the helpers enforce: every wait is bounded, every endpoint is loopback (tcp://127.0.0.1,
// ipc:// under a temporary directory, inproc://), and no test sleeps blindly where it can poll a
// condition instead.
#pragma once

#include <zmqrpc/zmqrpc.hpp>

#include <QtTest>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

// QCOMPARE on std::string prints the values on failure.
namespace QTest {
template <>
inline char* toString(const std::string& value) {
    return qstrdup(value.c_str());
}
template <>
inline char* toString(const nlohmann::json& value) {
    return qstrdup(value.dump().c_str());
}
}  // namespace QTest

namespace testutil {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using zmqrpc::json;

// Bind address for "any free port on loopback"; read the real one back from the component.
inline constexpr const char* kAnyTcp = "tcp://127.0.0.1:*";

// Polls `predicate` every `step` until it is true or `timeout` passed. Returns the last result.
template <class Predicate>
bool waitUntil(Predicate&& predicate, std::chrono::milliseconds timeout = 2000ms,
               std::chrono::milliseconds step = 2ms) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (predicate()) return true;
        if (Clock::now() >= deadline) return predicate();
        std::this_thread::sleep_for(step);
    }
}

inline std::int64_t msSince(Clock::time_point since) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

// Time a callable takes, in milliseconds (fractional).
template <class F>
double timeMs(F&& f) {
    const auto start = Clock::now();
    f();
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A unique inproc name for this process.
inline std::string uniqueInproc(const std::string& stem) {
    static std::atomic<int> counter{0};
    return "inproc://" + stem + "-" + std::to_string(counter.fetch_add(1));
}

// A loopback TCP port that nothing uses now, taken from below the kernel's ephemeral range
// (ip_local_port_range). A port from bind(0) lies inside that range, where every outgoing
// connection of a parallel test takes its local port too: a port picked that way and bound again
// later was seen taken ("Address already in use") under load. Below the range only another explicit
// bind can take it, and each process starts its walk at a point of its own (its pid), so two
// parallel tests rarely even try the same port. The port is checked free by binding it; the
// listening socket that never accepted leaves no TIME_WAIT, so it is free again at once.
inline int unusedLoopbackPort() {
    static std::mutex mutex;
    static int next = 0;
    static int low = 0;
    std::lock_guard<std::mutex> lock(mutex);
    if (low == 0) {
        low = 32768;
        if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
            int a = 0, b = 0;
            if (std::fscanf(f, "%d %d", &a, &b) == 2 && a > 2048) low = a;
            std::fclose(f);
        }
        const int span = low - 1024;
        next = 1024 + static_cast<int>((static_cast<unsigned>(::getpid()) * 7919u) % span);
    }
    const int span = low - 1024;
    for (int attempt = 0; attempt < span; ++attempt) {
        const int port = next;
        next = next + 1 >= low ? 1024 : next + 1;
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) qFatal("socket() failed");
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(static_cast<std::uint16_t>(port));
        const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                          ::listen(fd, 1) == 0;
        ::close(fd);
        if (free) return port;
    }
    qFatal("no free loopback port below the ephemeral range");
}

// A TCP endpoint on loopback that nothing listens on (see unusedLoopbackPort).
inline std::string deadTcpEndpoint() {
    return "tcp://127.0.0.1:" + std::to_string(unusedLoopbackPort());
}

// A free TCP endpoint to bind explicitly, for tests that must bind the very same port again (a
// restart); everything else binds tcp://127.0.0.1:* and reads the port back.
inline std::string freeTcpEndpoint() {
    return "tcp://127.0.0.1:" + std::to_string(unusedLoopbackPort());
}

// ---- Topologies

// `t` with every bind moved to an ephemeral loopback port and every node onto one host, so that
// it runs here beside parallel tests (the runtime hands connectors the ports binders got).
// A CURVE secret key for a reference, the same for the whole test process.
inline std::string testSecretKey(const std::string& source) {
    static std::map<std::string, std::string> keys;
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    auto& key = keys[source];
    if (key.empty()) key = zmqrpc::generate_curve_key_pair().secret_key;
    return key;
}

// When `secrets` is given, every password the topology names is known there as `password`, and
// every CURVE secret key it names as a key pair generated for the test (testSecretKey()).
inline zmqrpc::Topology localised(zmqrpc::Topology t, zmqrpc::Secrets* secrets = nullptr,
                                  const std::string& password = "test-password") {
    t.set_hosts({});
    std::vector<std::string> ids;
    for (const auto& n : t.nodes())
        ids.push_back(n.id);
    for (const auto& id : ids) {
        const zmqrpc::Node* n = t.find_node(id);
        t.set_node_host(id, "");
        for (const auto& port : zmqrpc::port_specs(n->kind, n->properties)) {
            if (port.binds && n->kind != zmqrpc::NodeKind::External)
                t.set_property(id, port.endpoint_property, kAnyTcp);
        }
        if (!secrets) continue;
        for (const auto& spec : zmqrpc::property_specs(n->kind)) {
            if (spec.type != zmqrpc::PropertyType::Security) continue;
            auto value = t.find_node(id)->property(spec.key);
            if (value.is_null()) continue;
            const auto ref = zmqrpc::SecurityRef::from_json(value);
            if (const auto* plain = ref.plain()) secrets->known[plain->source_text()] = password;
            if (const auto* curve = ref.curve(); curve && !curve->secret_key.empty()) {
                const std::string source = curve->secret_key.source_text();
                secrets->known[source] = testSecretKey(source);
            }
        }
    }
    return t;
}

// A bundled example (resources/examples/<name>.json), localised.
inline zmqrpc::Topology localExample(const std::string& name = "sampler-to-cloud",
                                     zmqrpc::Secrets* secrets = nullptr,
                                     const std::string& password = "test-password") {
    return localised(
        zmqrpc::load_topology_file(std::string(ZMQRPC_EXAMPLES_DIR "/") + name + ".json"), secrets,
        password);
}

// ---- Option builders with short timeouts

inline zmqrpc::RpcServerOptions repServerOptions(std::string repBind = kAnyTcp,
                                                 std::string name = "server") {
    zmqrpc::RpcServerOptions options;
    options.name = std::move(name);
    options.rep_bind = std::move(repBind);
    return options;
}

inline zmqrpc::RpcServerOptions subServerOptions(std::vector<zmqrpc::SubEndpoint> subs,
                                                 std::string name = "sub-server") {
    zmqrpc::RpcServerOptions options;
    options.name = std::move(name);
    options.sub_connect = std::move(subs);
    return options;
}

inline zmqrpc::RpcClientOptions reqClientOptions(std::vector<std::string> endpoints,
                                                 std::chrono::milliseconds timeout = 1000ms,
                                                 std::string name = "client") {
    zmqrpc::RpcClientOptions options;
    options.name = std::move(name);
    options.req_connect = std::move(endpoints);
    options.req_timeout = timeout;
    return options;
}

inline zmqrpc::RpcClientOptions pubClientOptions(std::string pubBind = kAnyTcp,
                                                 std::string name = "pub-client") {
    zmqrpc::RpcClientOptions options;
    options.name = std::move(name);
    options.pub_bind = std::move(pubBind);
    return options;
}

inline zmqrpc::SenderOptions reqSenderOptions(std::vector<std::string> endpoints,
                                              std::chrono::milliseconds timeout = 1000ms,
                                              std::string name = "req-sender") {
    zmqrpc::SenderOptions options;
    options.name = std::move(name);
    options.req_connect = std::move(endpoints);
    options.req_timeout = timeout;
    return options;
}

inline zmqrpc::SenderOptions pubSenderOptions(std::string pubBind = kAnyTcp,
                                              std::string name = "pub-sender") {
    zmqrpc::SenderOptions options;
    options.name = std::move(name);
    options.pub_bind = std::move(pubBind);
    return options;
}

// ---- Recording calls made on server/receiver threads

class CallLog {
  public:
    void add(json value) {
        std::lock_guard lock(mutex_);
        calls_.push_back(std::move(value));
    }
    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return calls_.size();
    }
    std::vector<json> snapshot() const {
        std::lock_guard lock(mutex_);
        return calls_;
    }

  private:
    mutable std::mutex mutex_;
    std::vector<json> calls_;
};

// The seed's test function and a few more, each logging its parameters into `log` (if given).
//   test_method(param1, param2) -> param1 + param2 (strings concatenated, numbers added)
//   add(a, b) -> a + b
//   fail() -> throws std::runtime_error("deliberate failure")
//   nothing() -> null (no response_message)
//   echo_len(text) -> text's length
//   sleep_ms(ms) -> sleeps, returns ms
//   record(...) -> logs and returns null
inline zmqrpc::FunctionRegistry standardFunctions(std::shared_ptr<CallLog> log = nullptr) {
    zmqrpc::FunctionRegistry registry;
    auto logged = [log](const json& p) {
        if (log) log->add(p);
    };
    registry.add("test_method",
                 [logged](const json& p) -> json {
                     logged(p);
                     const json& a = p.at("param1");
                     const json& b = p.at("param2");
                     if (a.is_string()) return a.get<std::string>() + b.get<std::string>();
                     return a.get<double>() + b.get<double>();
                 },
                 {"param1", "param2"});
    registry.add("add",
                 [logged](const json& p) -> json {
                     logged(p);
                     return p.at("a").get<std::int64_t>() + p.at("b").get<std::int64_t>();
                 },
                 {"a", "b"});
    registry.add("fail", [logged](const json& p) -> json {
        logged(p);
        throw std::runtime_error("deliberate failure");
    });
    registry.add("nothing", [logged](const json& p) -> json {
        logged(p);
        return nullptr;
    });
    registry.add("echo_len", [logged](const json& p) -> json {
        const auto& text = p.at("text").get_ref<const std::string&>();
        logged(json{{"length", text.size()}});
        return text.size();
    });
    registry.add("sleep_ms", [logged](const json& p) -> json {
        logged(p);
        auto ms = p.at("ms").get<int>();
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        return ms;
    });
    registry.add("record", [logged](const json& p) -> json {
        logged(p);
        return nullptr;
    });
    return registry;
}

// ---- Events

// Subscribes to a bus and keeps everything read so far, so tests can look back and wait ahead.
class EventRecorder {
  public:
    explicit EventRecorder(std::shared_ptr<zmqrpc::EventBus> bus = nullptr)
        : bus_(bus ? std::move(bus) : std::make_shared<zmqrpc::EventBus>()),
          subscription_(bus_->subscribe()) {}
    ~EventRecorder() { bus_->unsubscribe(subscription_); }

    const std::shared_ptr<zmqrpc::EventBus>& bus() const { return bus_; }

    // Reads what is pending and returns everything seen so far.
    const std::vector<zmqrpc::Event>& all() {
        for (auto& e : subscription_->drain())
            seen_.push_back(std::move(e));
        return seen_;
    }
    void clear() {
        all();
        seen_.clear();
    }
    std::size_t count(zmqrpc::EventKind kind, const std::string& endpoint = {}) {
        std::size_t n = 0;
        for (const auto& e : all()) {
            if (e.kind == kind && (endpoint.empty() || e.endpoint == endpoint)) ++n;
        }
        return n;
    }
    // The first event of `kind` (on `endpoint` when given) seen so far or arriving within
    // `timeout`.
    std::optional<zmqrpc::Event> waitFor(zmqrpc::EventKind kind, std::chrono::milliseconds timeout,
                                         const std::string& endpoint = {}) {
        const auto deadline = Clock::now() + timeout;
        std::size_t checked = 0;
        for (;;) {
            const auto& events = all();
            for (; checked < events.size(); ++checked) {
                const auto& e = events[checked];
                if (e.kind == kind && (endpoint.empty() || e.endpoint == endpoint)) return e;
            }
            auto now = Clock::now();
            if (now >= deadline) return std::nullopt;
            auto next = subscription_->pop(std::min<std::chrono::milliseconds>(
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) + 1ms, 50ms));
            if (next) seen_.push_back(std::move(*next));
        }
    }
    QString dump() {
        QString out;
        for (const auto& e : all()) {
            out += QStringLiteral("  [%1] %2 %3 %4\n")
                       .arg(QString::fromStdString(e.source),
                            QString::fromLatin1(zmqrpc::to_string(e.kind)),
                            QString::fromStdString(e.endpoint), QString::fromStdString(e.text));
        }
        return out;
    }

  private:
    std::shared_ptr<zmqrpc::EventBus> bus_;
    std::shared_ptr<zmqrpc::EventSubscription> subscription_;
    std::vector<zmqrpc::Event> seen_;
};

// ---- Metrics

// The first socket of `role` ("rep", "sub", "pub", "req") in a snapshot; the n-th with `index`.
// Returned by value: snapshots are usually temporaries.
inline std::optional<zmqrpc::SocketSnapshot> socketOf(const zmqrpc::MetricsSnapshot& m,
                                                      const std::string& role,
                                                      std::size_t index = 0) {
    for (const auto& s : m.sockets) {
        if (s.role == role) {
            if (index == 0) return s;
            --index;
        }
    }
    return std::nullopt;
}

// ---- PUB/SUB joining

// Waits until `publisher` has `subscribers` subscribers: after that, what the publisher sends
// reaches every one of them. No settle time is needed: a Sender's PUB is an XPUB, which enters a
// subscription into its filter before it hands the subscription message up, and it counts a
// subscriber only when it read that message. So once counted, a subscriber is matched by the
// very next send.
inline bool waitForSubscribers(zmqrpc::Sender& publisher, std::size_t subscribers = 1,
                               std::chrono::milliseconds timeout = 3000ms) {
    return publisher.wait_for_subscribers(subscribers, timeout);
}

// Calls `send` every `interval` until `received` is true (bounded by `timeout`). For chains
// whose intermediate subscriptions we cannot observe (a proxy's PUB).
template <class Send, class Received>
bool sendUntil(Send&& send, Received&& received, std::chrono::milliseconds timeout = 3000ms,
               std::chrono::milliseconds interval = 50ms) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        send();
        if (waitUntil(received, interval)) return true;
        if (Clock::now() >= deadline) return false;
    }
}

// Stopping may take this long in a debug/sanitizer build; the contract says 200 ms.
// Functional time bounds (stop within 200 ms, deadlines within 50 ms) hold on an idle machine;
// sanitizer builds run several times slower, so their upper bounds are scaled.
#ifndef ZMQRPC_TEST_TIMING_FACTOR
#define ZMQRPC_TEST_TIMING_FACTOR 1
#endif
inline constexpr double kTimingFactor = ZMQRPC_TEST_TIMING_FACTOR;
// Upper bound slack in ms for a deadline that is promised to within `ms`.
inline constexpr double slackMs(double ms) {
    return ms * kTimingFactor;
}
inline constexpr double kStopBudgetMs = 250.0 * kTimingFactor;

// How late a thread may wake up at a deadline it waits for (a poll timeout, a receive timeout,
// an actor's timer), on a machine whose cores are all busy (scripts/test-under-load.sh: one busy
// loop per core beside `ctest -j2`). Deadlines are never early (actors and Sender round their
// waits up), so a timing check is `deadline <= t < deadline + kWakeupSlackMs`: the lower bound is
// exact, the upper bound says "at the deadline, not at some later event". Measured beside the CPU
// hog and a parallel `ctest -j2` (30 runs of tst_heartbeat's and tst_rpc's deadline checks), the
// events came at most 10 ms late; 200 ms leaves a wide margin and is still well inside the
// intervals the tests tell apart (a timeout against a reply 800 ms later, a recreate against the
// next one a whole timeout later).
inline constexpr double kWakeupSlackMs = 200.0 * kTimingFactor;

inline QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

// The RpcError `f` throws, if any (other exceptions propagate).
template <class F>
std::optional<zmqrpc::RpcError> rpcErrorOf(F&& f) {
    try {
        f();
    } catch (const zmqrpc::RpcError& e) {
        return e;
    }
    return std::nullopt;
}

inline QString describe(const std::optional<zmqrpc::RpcError>& e) {
    if (!e) return QStringLiteral("no RpcError thrown");
    return QStringLiteral("%1: %2").arg(QString::fromLatin1(zmqrpc::to_string(e->kind())),
                                        QString::fromUtf8(e->what()));
}

}  // namespace testutil

// Fails the test (with the exception's text) unless `expr` throws zmqrpc::RpcError of `kind_`.
#define EXPECT_RPC_ERROR(expr, kind_)                                                         \
    do {                                                                                      \
        bool threw_ = false;                                                                  \
        try {                                                                                 \
            (void)(expr);                                                                     \
        } catch (const zmqrpc::RpcError& e_) {                                                \
            threw_ = true;                                                                    \
            QVERIFY2(e_.kind() == (kind_),                                                    \
                     qPrintable(QStringLiteral("expected kind %1, got %2: %3")                \
                                    .arg(QString::fromLatin1(zmqrpc::to_string(kind_)),       \
                                         QString::fromLatin1(zmqrpc::to_string(e_.kind())),   \
                                         QString::fromUtf8(e_.what()))));                     \
        }                                                                                     \
        QVERIFY2(threw_, "expected zmqrpc::RpcError of kind " #kind_ ", nothing was thrown"); \
    } while (false)
