// The Runtime running real topologies in-process: every example, heartbeat loss and recovery,
// failures isolated to one node, start order, sticky ports, hosts, externals, events to several
// readers, the metrics PUB, and no silent loss in a buffered proxy.
#include "testutil.hpp"

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

using namespace testutil;
using namespace zmqrpc;

namespace {

constexpr const char* kPassword = "runtime-test-password";

Node makeNode(std::string id, NodeKind kind, json properties, std::string host = {}) {
    Node n;
    n.id = std::move(id);
    n.kind = kind;
    n.host = std::move(host);
    n.properties = std::move(properties);
    return n;
}

Link makeLink(std::string from, std::string to, double heartbeatTimeout = 0) {
    auto split = [](const std::string& s) {
        auto dot = s.find('.');
        return PortRef{s.substr(0, dot), s.substr(dot + 1)};
    };
    Link l;
    l.from = split(from);
    l.to = split(to);
    l.heartbeat_timeout = heartbeatTimeout;
    return l;
}

json sampler(double rate = 50, double heartbeat = 0.1, std::string bind = kAnyTcp) {
    return {{"bind", bind}, {"rate", rate}, {"heartbeat_interval", heartbeat}};
}

RuntimeOptions quickOptions() {
    RuntimeOptions o;
    o.sample_interval = 50ms;
    o.secrets.use_environment = false;
    return o;
}

NodeState stateOf(const Runtime& r, const std::string& id) {
    return r.status(id).state;
}

bool allRunning(const Runtime& r) {
    for (const auto& id : r.local_nodes()) {
        if (stateOf(r, id) != NodeState::Running) return false;
    }
    return true;
}

QString statesText(const Runtime& r) {
    QString out;
    for (const auto& n : r.snapshot().nodes) {
        out += QStringLiteral("%1=%2(%3) ")
                   .arg(qs(n.id), QString::fromLatin1(to_string(n.state)), qs(n.reason));
    }
    return out;
}

std::optional<Event> waitForEvent(EventSubscription& sub, std::vector<Event>& seen,
                                  const std::function<bool(const Event&)>& match,
                                  std::chrono::milliseconds timeout) {
    for (const auto& e : seen) {
        if (match(e)) return e;
    }
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        auto e = sub.pop(50ms);
        if (!e) continue;
        seen.push_back(*e);
        if (match(*e)) return e;
    }
    return std::nullopt;
}

// A sampler linked to a tap, with heartbeat supervision on the link.
Topology samplerToTap(double heartbeatTimeout = 0.6, double heartbeatInterval = 0.1) {
    Topology t;
    t.add_node(makeNode("sampler", NodeKind::Sampler, sampler(50, heartbeatInterval)));
    t.add_node(makeNode("tap", NodeKind::Tap, {{"keep", 50}}));
    t.add_link(makeLink("sampler.pub", "tap.sub", heartbeatTimeout));
    return t;
}

}  // namespace

class TestRuntime : public QObject {
    Q_OBJECT

  private slots:
    void examplesRun_data() {
        QTest::addColumn<QString>("file");
        QDir dir(QStringLiteral(ZMQRPC_EXAMPLES_DIR));
        const auto files = dir.entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name);
        QVERIFY2(files.size() >= 3, "expected the three bundled examples");
        for (const auto& f : files)
            QTest::newRow(qPrintable(f)) << dir.filePath(f);
    }

    // Each example validates clean, runs, and messages reach every tap at a rate above zero.
    void examplesRun() {
        QFETCH(QString, file);
        Topology original = load_topology_file(file.toStdString());
        auto problems = validate(original);
        QVERIFY2(problems.empty(), problems.empty() ? "" : problems.front().str().c_str());

        RuntimeOptions options = quickOptions();
        Topology t = localised(original, &options.secrets, kPassword);
        Runtime runtime(t, options);
        runtime.start_all();
        QVERIFY2(allRunning(runtime), qPrintable(statesText(runtime)));

        std::vector<std::string> taps;
        for (const auto& n : t.nodes()) {
            if (n.kind == NodeKind::Tap) taps.push_back(n.id);
        }
        QVERIFY(!taps.empty());
        for (const auto& tap : taps) {
            QVERIFY2(waitUntil([&] { return runtime.status(tap).rate_in > 0; }, 5000ms),
                     qPrintable(qs(tap) + " saw no messages: " + statesText(runtime)));
            QVERIFY(!runtime.tap_messages(tap).empty());
        }
        // Every supervised link is alive, and every running node counted traffic.
        QVERIFY(waitUntil(
            [&] {
                for (const auto& l : runtime.snapshot().links) {
                    if (l.heartbeat_timeout.count() > 0 && l.heartbeat != HeartbeatState::Alive)
                        return false;
                    if (l.connection != ConnectionState::Connected) return false;
                }
                return true;
            },
            5000ms));
        // REP inputs that nothing in the topology calls are there for outside clients: call
        // each a few times (ping answers through any chain of proxies down to a server).
        for (const auto& n : t.nodes()) {
            if (n.kind == NodeKind::External || n.kind == NodeKind::Rep2Pub) continue;
            PortRef rep{n.id, "rep"};
            if (runtime.bound_endpoint(rep).empty() || !t.links_at(rep).empty()) continue;
            RpcClient client(
                reqClientOptions({connect_address(runtime.bound_endpoint(rep))}, 3000ms));
            for (int i = 0; i < 6; ++i)  // a REQ output spreads calls round robin
                QCOMPARE(client.invoke("ping"), json("pong"));
        }
        // Waited for, not read once: a buffered-rep2req answers on acceptance and delivers after,
        // so the server behind it may count its first message a moment later (under load).
        std::string silent;
        QVERIFY2(waitUntil(
                     [&] {
                         silent.clear();
                         for (const auto& n : runtime.snapshot().nodes) {
                             if (n.metrics.messages_in + n.metrics.messages_out == 0)
                                 silent += n.id + " ";
                         }
                         return silent.empty();
                     },
                     5000ms),
                 qPrintable("no traffic counted by: " + qs(silent)));
        double stopMs = timeMs([&] { runtime.stop_all(); });
        QVERIFY2(stopMs < 1000.0 * kTimingFactor, qPrintable(QString::number(stopMs)));
        for (const auto& id : runtime.local_nodes())
            QCOMPARE(stateOf(runtime, id), NodeState::Stopped);
    }

    // The sampler's messages are pyzmqrpc invocations with the template filled in.
    void samplerMessages() {
        Topology t;
        t.add_node(makeNode("s1", NodeKind::Sampler,
                            {{"bind", kAnyTcp},
                             {"rate", 200},
                             {"heartbeat_interval", 0.05},
                             {"function", "store"},
                             {"parameters",
                              {{"sensor", "${node}"},
                               {"seq", "${seq}"},
                               {"value", "${value}"},
                               {"label", "n-${seq}"},
                               {"at", "${iso_time}"}}}}));
        t.add_node(makeNode("tap", NodeKind::Tap, {{"keep", 1000}}));
        t.add_link(makeLink("s1.pub", "tap.sub"));
        Runtime runtime(t, quickOptions());
        runtime.start_all();
        // 20 rows and a heartbeat among them (one goes out every 50 ms, i.e. every ~10 rows,
        // but a late sampler thread sends a burst of due messages after a single heartbeat).
        QVERIFY(waitUntil(
            [&] {
                auto rows = runtime.tap_messages("tap");
                return rows.size() >= 20 &&
                       std::any_of(rows.begin(), rows.end(), [](auto& r) { return r.heartbeat; });
            },
            5000ms));
        auto rows = runtime.tap_messages("tap");
        std::int64_t lastSeq = 0;
        int invocations = 0, heartbeats = 0;
        for (const auto& row : rows) {
            if (row.heartbeat) {
                ++heartbeats;
                QCOMPARE(row.preview, std::string(kHeartbeat));
                continue;
            }
            ++invocations;
            auto decoded = decode_request(row.preview);
            QVERIFY2(decoded.request.has_value(), row.preview.c_str());
            QCOMPARE(decoded.request->function, std::string("store"));
            const auto& p = decoded.request->parameters;
            QCOMPARE(p.at("sensor").get<std::string>(), std::string("s1"));
            QVERIFY(p.at("seq").is_number_integer());
            QVERIFY(p.at("value").is_number());
            QCOMPARE(p.at("label").get<std::string>(),
                     "n-" + std::to_string(p.at("seq").get<std::int64_t>()));
            QVERIFY(p.at("at").get<std::string>().size() == 24);
            QVERIFY(p.at("seq").get<std::int64_t>() > lastSeq);
            lastSeq = p.at("seq").get<std::int64_t>();
        }
        QVERIFY(invocations >= 10);
        QVERIFY(heartbeats >= 1);
        // tap_messages(after) returns only newer rows, and seq numbers are never reused.
        auto newer = runtime.tap_messages("tap", rows.back().seq);
        for (const auto& row : newer)
            QVERIFY(row.seq > rows.back().seq);
    }

    // The sampler keeps its rate: message n is due at start + (n - 1) / rate and never sent
    // before, so by any time t at most 1 + rate * (t - start) were sent, however late its thread
    // ran (it catches up). That upper bound is exact; from below the sampler must keep going at
    // a fair share of its rate even on a loaded machine (300 messages at 200/s within 10 s).
    void samplerRate() {
        constexpr double rate = 200;
        constexpr std::uint64_t count = 300;
        Topology t = samplerToTap(0, 0);
        t.set_property("sampler", "rate", rate);
        Runtime runtime(t, quickOptions());
        const auto starting = Clock::now();  // the sampler's start is later
        runtime.start_all();
        std::uint64_t sent = 0;
        QVERIFY(waitUntil(
            [&] {
                sent = runtime.status("sampler").metrics.messages_out;
                return sent >= count;
            },
            10000ms));
        const double elapsed =
            std::chrono::duration<double>(Clock::now() - starting).count();  // after the read
        QVERIFY2(static_cast<double>(sent) <= 1 + rate * elapsed,
                 qPrintable(QStringLiteral("%1 sent within %2 s").arg(sent).arg(elapsed)));
        // The runtime's one-second rate shows it (catching up, a late sampler can exceed it).
        QVERIFY(waitUntil([&] { return runtime.status("sampler").rate_out > rate / 4; }, 5000ms));
        QVERIFY(waitUntil([&] { return runtime.status("tap").metrics.messages_in > 0; }, 3000ms));
    }

    // Stop the publisher: the tap's link goes late, then dead with its socket recreated; start
    // it again (same port: kept for restarts) and the link recovers.
    void heartbeatLostAndRecovered() {
        Runtime runtime(samplerToTap(0.6, 0.1), quickOptions());
        auto sub = runtime.subscribe();
        std::vector<Event> seen;
        runtime.start_all();
        QVERIFY(allRunning(runtime));
        QVERIFY(waitUntil(
            [&] {
                const auto snapshot = runtime.snapshot();  // link() points into it
                const auto* l = snapshot.link("link-1");
                return l && l->ever_heard && l->heartbeat == HeartbeatState::Alive;
            },
            3000ms));
        const std::string endpoint = runtime.bound_endpoint({"sampler", "pub"});
        QVERIFY(!endpoint.empty());

        runtime.stop({"sampler"});
        QCOMPARE(stateOf(runtime, "sampler"), NodeState::Stopped);
        auto of = [](EventKind kind) {
            return [kind](const Event& e) { return e.source == "tap" && e.kind == kind; };
        };
        QVERIFY(waitForEvent(*sub, seen, of(EventKind::HeartbeatLate), 2000ms));
        // Late, until the timeout (300 ms later) makes it dead. The receiver emits the lost
        // event before it stores "dead", so a snapshot taken before that event was queued (we
        // look for it only afterwards) must say late; after it, either is right.
        const auto lateLink = *runtime.snapshot().link("link-1");
        for (auto& e : sub->drain())
            seen.push_back(std::move(e));
        if (std::none_of(seen.begin(), seen.end(), of(EventKind::HeartbeatLost))) {
            QCOMPARE(lateLink.heartbeat, HeartbeatState::Late);
        } else {
            QVERIFY(lateLink.heartbeat == HeartbeatState::Late ||
                    lateLink.heartbeat == HeartbeatState::Dead);
        }
        QVERIFY(waitForEvent(*sub, seen, of(EventKind::HeartbeatLost), 2000ms));
        QVERIFY(waitForEvent(*sub, seen, of(EventKind::SocketRecreated), 2000ms));
        auto dead = *runtime.snapshot().link("link-1");
        QCOMPARE(dead.heartbeat, HeartbeatState::Dead);
        QVERIFY(dead.recreates >= 1);

        runtime.start({"sampler"});
        QCOMPARE(runtime.bound_endpoint({"sampler", "pub"}), endpoint);
        QVERIFY(waitForEvent(*sub, seen, of(EventKind::HeartbeatRecovered), 3000ms));
        QVERIFY(waitUntil(
            [&] { return runtime.snapshot().link("link-1")->heartbeat == HeartbeatState::Alive; },
            2000ms));
        // The state changes were evented too, with the node as source.
        auto stopped = [](const Event& e) {
            return e.source == "sampler" && e.kind == EventKind::StateChanged &&
                   e.text == "stopped";
        };
        QVERIFY(waitForEvent(*sub, seen, stopped, 100ms));
    }

    // A node whose address is in use fails with the reason; the others run.
    void addressInUseIsolated() {
        SenderOptions holder = pubSenderOptions(kAnyTcp, "holder");
        Sender occupying(holder);
        const std::string taken = occupying.pub_endpoint();

        Topology t = samplerToTap(0, 0.1);
        t.add_node(makeNode("clash", NodeKind::Sampler, sampler(10, 0.1, taken)));
        Runtime runtime(t, quickOptions());
        auto sub = runtime.subscribe();
        std::vector<Event> seen;
        runtime.start_all();
        auto clash = runtime.status("clash");
        QCOMPARE(clash.state, NodeState::Failed);
        QVERIFY2(clash.reason.find("in use") != std::string::npos, clash.reason.c_str());
        QCOMPARE(stateOf(runtime, "sampler"), NodeState::Running);
        QCOMPARE(stateOf(runtime, "tap"), NodeState::Running);
        QVERIFY(waitUntil([&] { return runtime.status("tap").metrics.messages_in > 0; }, 3000ms));
        QVERIFY(waitForEvent(
            *sub, seen,
            [](const Event& e) {
                return e.source == "clash" && e.kind == EventKind::StateChanged &&
                       e.text.rfind("failed: ", 0) == 0;
            },
            100ms));
        // stop() of a failed node clears it; start() tries again (still in use).
        runtime.stop({"clash"});
        QCOMPARE(stateOf(runtime, "clash"), NodeState::Stopped);
        runtime.start({"clash"});
        QCOMPARE(stateOf(runtime, "clash"), NodeState::Failed);
    }

    // A password that cannot be found fails that node only, naming where it was looked for.
    void missingPasswordIsolated() {
        Topology t = samplerToTap(0, 0.1);
        json creds = {{"username", "u"}, {"password", {{"env", "ZMQRPC_TEST_NOT_SET_ANYWHERE"}}}};
        t.add_node(
            makeNode("secure", NodeKind::Sampler, {{"bind", kAnyTcp}, {"credentials", creds}}));
        Runtime runtime(t, quickOptions());
        runtime.start_all();
        auto secure = runtime.status("secure");
        QCOMPARE(secure.state, NodeState::Failed);
        QVERIFY2(secure.reason.find("ZMQRPC_TEST_NOT_SET_ANYWHERE") != std::string::npos,
                 secure.reason.c_str());
        QCOMPARE(stateOf(runtime, "tap"), NodeState::Running);
    }

    // Credentials: the right password gets through; a wrong one shows on the link itself.
    void credentialsOnLinks_data() {
        QTest::addColumn<QString>("tapPassword");
        QTest::addColumn<bool>("accepted");
        QTest::newRow("right") << QString::fromLatin1(kPassword) << true;
        QTest::newRow("wrong") << QStringLiteral("not-the-password") << false;
    }
    void credentialsOnLinks() {
        QFETCH(QString, tapPassword);
        QFETCH(bool, accepted);
        Topology t;
        t.add_node(makeNode(
            "s", NodeKind::Sampler,
            {{"bind", kAnyTcp},
             {"rate", 50},
             {"credentials", {{"username", "site"}, {"password", {{"file", "publisher"}}}}}}));
        t.add_node(makeNode(
            "tap", NodeKind::Tap,
            {{"credentials", {{"username", "site"}, {"password", {{"file", "subscriber"}}}}}}));
        t.add_link(makeLink("s.pub", "tap.sub"));
        RuntimeOptions options = quickOptions();
        options.secrets.file_entries["publisher"] = kPassword;
        options.secrets.file_entries["subscriber"] = tapPassword.toStdString();
        Runtime runtime(t, options);
        auto sub = runtime.subscribe();
        std::vector<Event> seen;
        runtime.start_all();
        QVERIFY(allRunning(runtime));
        if (accepted) {
            QVERIFY(
                waitUntil([&] { return runtime.status("tap").metrics.messages_in > 0; }, 3000ms));
            QCOMPARE(runtime.snapshot().link("link-1")->connection, ConnectionState::Connected);
        } else {
            QVERIFY(waitUntil(
                [&] {
                    return runtime.snapshot().link("link-1")->connection ==
                           ConnectionState::CredentialsRefused;
                },
                3000ms));
            QVERIFY(waitForEvent(
                *sub, seen, [](const Event& e) { return e.kind == EventKind::CredentialsRefused; },
                1000ms));
            QCOMPARE(runtime.status("tap").metrics.messages_in, std::uint64_t(0));
        }
    }

    // CURVE in a topology: key pairs from key files, the server key derived from the link (the
    // connector names none), an allow-list in the keys directory. A key the list lacks shows as
    // refused on the link, and listing it lets the next connection in, the server still running.
    void curveOnLinks() {
        if (!curve_available()) QSKIP("this libzmq has no CURVE");
        QTemporaryDir keys;
        QVERIFY(keys.isValid());
        const std::filesystem::path dir = keys.path().toStdString();
        const CurveKeyPair server = generate_curve_key_pair();
        const CurveKeyPair client = generate_curve_key_pair();
        write_curve_key_pair(dir, "bridge", server, false);
        write_curve_key_pair(dir, "site", client, false);
        const auto list = dir / "bridge.authorized_keys";
        auto writeList = [&](const std::string& text) {
            std::FILE* f = std::fopen((list.string() + ".new").c_str(), "w");
            QVERIFY(f != nullptr);
            std::fputs(text.c_str(), f);
            std::fclose(f);
            QCOMPARE(std::rename((list.string() + ".new").c_str(), list.c_str()), 0);
        };
        writeList("# nobody yet\n" + generate_curve_key_pair().public_key + " someone else\n");
        Topology t;
        t.add_node(makeNode("s", NodeKind::Sampler, sampler(50, 0.1)));
        t.add_node(
            makeNode("proxy", NodeKind::Sub2Req,
                     {{"req_timeout", 1},
                      {"output_credentials", {{"curve", {{"secret_key", {{"file", "site"}}}}}}}}));
        t.add_node(
            makeNode("bridge", NodeKind::Rep2Pub,
                     {{"rep_bind", kAnyTcp},
                      {"pub_bind", kAnyTcp},
                      {"input_credentials",
                       {{"curve",
                         {{"secret_key", {{"file", "bridge"}}},
                          {"clients", {{"authorized_keys", "bridge.authorized_keys"}}}}}}}}));
        t.add_link(makeLink("s.pub", "proxy.sub"));
        Link uplink = makeLink("proxy.req", "bridge.rep");
        uplink.id = "uplink";
        t.add_link(uplink);
        RuntimeOptions options = quickOptions();
        options.secrets.keys_dir = dir;
        Runtime runtime(t, options);
        auto sub = runtime.subscribe();
        std::vector<Event> seen;
        runtime.start_all();
        QVERIFY(allRunning(runtime));
        QVERIFY(waitUntil(
            [&] {
                return runtime.snapshot().link("uplink")->connection ==
                       ConnectionState::CredentialsRefused;
            },
            5000ms));
        QVERIFY(waitForEvent(
            *sub, seen,
            [&](const Event& e) {
                return e.kind == EventKind::CredentialsRefused && e.source == "bridge" &&
                       e.text.find(key_fingerprint(client.public_key)) != std::string::npos;
            },
            2000ms));
        QCOMPARE(runtime.status("bridge").metrics.messages_in, std::uint64_t(0));
        // Rotate the list: the site's key is in; the proxy's next connection gets through.
        writeList(client.public_key + " site proxy\n");
        QVERIFY(
            waitUntil([&] { return runtime.status("bridge").metrics.messages_in > 0; }, 8000ms));
        QCOMPARE(runtime.snapshot().link("uplink")->connection, ConnectionState::Connected);
    }

    // A CURVE server's key that cannot be found fails that node alone, saying where it looked.
    void missingKeyFileIsolated() {
        if (!curve_available()) QSKIP("this libzmq has no CURVE");
        QTemporaryDir keys;
        Topology t = samplerToTap(0, 0.1);
        t.add_node(
            makeNode("secure", NodeKind::Sampler,
                     {{"bind", kAnyTcp},
                      {"credentials",
                       {{"curve", {{"secret_key", {{"file", "absent"}}}, {"clients", "any"}}}}}}));
        RuntimeOptions options = quickOptions();
        options.secrets.keys_dir = keys.path().toStdString();
        Runtime runtime(t, options);
        runtime.start_all();
        auto secure = runtime.status("secure");
        QCOMPARE(secure.state, NodeState::Failed);
        QVERIFY2(secure.reason.find("absent.key_secret") != std::string::npos &&
                     secure.reason.find("zmqrpc keygen absent") != std::string::npos,
                 secure.reason.c_str());
        QCOMPARE(stateOf(runtime, "tap"), NodeState::Running);
    }

    // Binders start before their connectors whatever the document order; a connector whose
    // binder (with a port chosen at bind time) is not running waits for it, says so, and starts
    // when it does, down a chain; stopping cancels the wait.
    void startOrderAndUnresolvedUpstream() {
        Topology t;
        t.add_node(makeNode("tap", NodeKind::Tap, json::object()));
        t.add_node(makeNode("proxy", NodeKind::Sub2Pub, {{"pub_bind", kAnyTcp}}));
        t.add_node(makeNode("sampler", NodeKind::Sampler, sampler(50, 0.1)));
        t.add_link(makeLink("proxy.pub", "tap.sub"));
        t.add_link(makeLink("sampler.pub", "proxy.sub"));
        {
            Runtime runtime(t, quickOptions());
            runtime.start_all();
            QVERIFY2(allRunning(runtime), qPrintable(statesText(runtime)));
            QVERIFY(
                waitUntil([&] { return runtime.status("tap").metrics.messages_in > 0; }, 3000ms));
        }
        Runtime runtime(t, quickOptions());
        auto events = runtime.subscribe();
        runtime.start({"tap"});
        auto tap = runtime.status("tap");
        QCOMPARE(tap.state, NodeState::Waiting);
        QVERIFY2(tap.reason ==
                     "until 'proxy' binds (link 'link-1'): it chooses its port when it "
                     "binds",
                 tap.reason.c_str());
        QCOMPARE(stateOf(runtime, "proxy"), NodeState::Stopped);
        runtime.start({"proxy"});  // which waits in turn for the sampler
        QCOMPARE(stateOf(runtime, "proxy"), NodeState::Waiting);
        QCOMPARE(stateOf(runtime, "tap"), NodeState::Waiting);
        runtime.start({"sampler"});
        QVERIFY2(allRunning(runtime), qPrintable(statesText(runtime)));
        QVERIFY(waitUntil([&] { return runtime.status("tap").metrics.messages_in > 0; }, 3000ms));
        bool said = false;
        for (const auto& e : events->drain())
            said = said || (e.source == "tap" && e.kind == EventKind::StateChanged &&
                            e.text.rfind("waiting: until 'proxy' binds", 0) == 0);
        QVERIFY(said);

        // stop_all() stops what runs and cancels what waits; stop() cancels one wait.
        runtime.stop_all();
        Runtime fresh(t, quickOptions());
        fresh.start({"tap", "proxy"});
        QCOMPARE(stateOf(fresh, "tap"), NodeState::Waiting);
        fresh.stop_all();
        QCOMPARE(stateOf(fresh, "tap"), NodeState::Stopped);
        QCOMPARE(stateOf(fresh, "proxy"), NodeState::Stopped);
        fresh.start({"tap"});
        fresh.stop({"tap"});
        QCOMPARE(stateOf(fresh, "tap"), NodeState::Stopped);
        fresh.start({"sampler", "proxy"});
        QCOMPARE(stateOf(fresh, "proxy"), NodeState::Running);
        QCOMPARE(stateOf(fresh, "tap"), NodeState::Stopped);  // no longer asked for
        fresh.stop_all();

        // Once the proxy has bound, its port is kept: the tap need not wait any more.
        fresh.start({"tap"});
        QCOMPARE(stateOf(fresh, "tap"), NodeState::Running);

        // An edit that takes away what a node waits for ends the wait (it is not started behind
        // the user's back).
        Runtime third(t, quickOptions());
        third.start({"tap"});
        QCOMPARE(stateOf(third, "tap"), NodeState::Waiting);
        Topology edited = t;
        edited.remove_link("link-1");
        third.update_topology(edited);
        auto stopped = third.status("tap");
        QCOMPARE(stopped.state, NodeState::Stopped);
        QVERIFY2(stopped.reason.find("the topology changed") != std::string::npos,
                 stopped.reason.c_str());
    }

    // A host's runtime runs its nodes only; the others are "remote" and cannot be started here.
    void hostsSplit() {
        Topology t;
        t.set_hosts({{"a", "127.0.0.1"}, {"b", "127.0.0.1"}});
        const std::string fixed = freeTcpEndpoint();
        t.add_node(makeNode("sampler", NodeKind::Sampler, sampler(50, 0.1, fixed), "a"));
        t.add_node(makeNode("tap", NodeKind::Tap, json::object(), "b"));
        t.add_link(makeLink("sampler.pub", "tap.sub", 2));
        RuntimeOptions ao = quickOptions();
        ao.host = "a";
        RuntimeOptions bo = quickOptions();
        bo.host = "b";
        Runtime a(t, ao);
        Runtime b(t, bo);
        QCOMPARE(a.local_nodes(), std::vector<std::string>{"sampler"});
        QCOMPARE(b.local_nodes(), std::vector<std::string>{"tap"});
        QCOMPARE(stateOf(a, "tap"), NodeState::Remote);
        QVERIFY_THROWS_EXCEPTION(ConfigError, a.start({"tap"}));
        b.start_all();
        a.start_all();
        QVERIFY(waitUntil([&] { return b.status("tap").metrics.messages_in > 0; }, 3000ms));
        auto link = *b.snapshot().link("link-1");
        QVERIFY(link.active);
        QCOMPARE(link.endpoint, fixed);
        QVERIFY(!a.snapshot().link("link-1")->active);
    }

    // An external publisher (here a Sender of the test) is linked and monitored, never launched.
    void externalPublisher() {
        SenderOptions so = pubSenderOptions(kAnyTcp, "outside");
        Sender outside(so);
        Topology t;
        t.add_node(makeNode("ext", NodeKind::External,
                            {{"socket", "pub"}, {"endpoint", outside.pub_endpoint()}}));
        t.add_node(makeNode("tap", NodeKind::Tap, json::object()));
        t.add_link(makeLink("ext.pub", "tap.sub"));
        Runtime runtime(t, quickOptions());
        QCOMPARE(runtime.local_nodes(), std::vector<std::string>{"tap"});
        QCOMPARE(stateOf(runtime, "ext"), NodeState::External);
        QVERIFY_THROWS_EXCEPTION(ConfigError, runtime.start({"ext"}));
        QVERIFY(runtime.status("ext").reason.find("no running node") != std::string::npos);
        runtime.start_all();
        QVERIFY(waitForSubscribers(outside));
        QVERIFY(waitUntil(
            [&] {
                outside.publish(encode_request("f", {{"x", 1}}));
                return runtime.status("tap").metrics.messages_in > 0;
            },
            3000ms, 20ms));
        QVERIFY(waitUntil(
            [&] { return runtime.status("ext").reason.find("reached by 1") != std::string::npos; },
            2000ms));
    }

    // RPC server nodes serve the diagnostic functions; a Rep2Req front spreads calls over three.
    void rpcFanOut() {
        Topology t;
        t.add_node(makeNode("front", NodeKind::Rep2Req, {{"rep_bind", kAnyTcp}}));
        for (int i = 1; i <= 3; ++i) {
            std::string id = "server-" + std::to_string(i);
            t.add_node(makeNode(id, NodeKind::RpcServer, {{"rep_bind", kAnyTcp}}));
            t.add_link(makeLink("front.req", id + ".rep"));
        }
        Runtime runtime(t, quickOptions());
        runtime.start_all();
        QVERIFY2(allRunning(runtime), qPrintable(statesText(runtime)));
        RpcClient client(
            reqClientOptions({connect_address(runtime.bound_endpoint({"front", "rep"}))}, 2000ms));
        for (int i = 0; i < 9; ++i)
            QCOMPARE(client.invoke("add", {{"a", i}, {"b", 1}}), json(i + 1));
        for (int i = 1; i <= 3; ++i) {
            auto m = runtime.status("server-" + std::to_string(i)).metrics;
            QVERIFY2(m.messages_in >= 1, m.name.c_str());
        }
        QVERIFY(runtime.snapshot().link("link-1")->messages >= 1);
    }

    // A buffered proxy answers 200 once it holds a message; stopping it with messages queued
    // says how many were not delivered, and with its downstream up nothing is lost.
    void bufferedProxyLosesNothingSilently() {
        const std::string storeEp = freeTcpEndpoint();
        Topology t;
        t.add_node(
            makeNode("bridge", NodeKind::BufferedRep2Req,
                     {{"rep_bind", kAnyTcp}, {"req_timeout", 0.2}, {"retry_interval", 0.05}}));
        t.add_node(makeNode("store", NodeKind::RpcServer, {{"rep_bind", storeEp}}));
        t.add_link(makeLink("bridge.req", "store.rep"));
        Runtime runtime(t, quickOptions());
        auto sub = runtime.subscribe();
        std::vector<Event> seen;
        runtime.start({"bridge"});
        {
            RpcClient client(reqClientOptions(
                {connect_address(runtime.bound_endpoint({"bridge", "rep"}))}, 2000ms));
            for (int i = 0; i < 5; ++i)
                client.invoke("echo", {{"i", i}});
        }
        QVERIFY(waitUntil([&] { return runtime.status("bridge").metrics.queue.fill == 5; }));
        runtime.stop_all();
        auto lost = waitForEvent(
            *sub, seen,
            [](const Event& e) { return e.source == "bridge" && e.kind == EventKind::Stopped; },
            1000ms);
        QVERIFY(lost);
        QVERIFY2(lost->text.find("5 queued message(s) not delivered") != std::string::npos,
                 lost->text.c_str());

        runtime.start_all();
        QVERIFY(allRunning(runtime));
        {
            RpcClient client(reqClientOptions(
                {connect_address(runtime.bound_endpoint({"bridge", "rep"}))}, 2000ms));
            for (int i = 0; i < 20; ++i)
                client.invoke("echo", {{"i", i}});
        }
        QVERIFY(
            waitUntil([&] { return runtime.status("store").metrics.messages_in == 20; }, 3000ms));
        // Delivered is counted when the store's reply is back at the bridge, just after the
        // store counted the request.
        QVERIFY(waitUntil([&] { return runtime.status("bridge").metrics.queue.delivered == 20; },
                          3000ms));
        auto q = runtime.status("bridge").metrics.queue;
        QCOMPARE(q.dropped, std::uint64_t(0));
    }

    // Several readers on other threads each get the whole stream.
    void eventsToSeveralSubscribers() {
        Runtime runtime(samplerToTap(0, 0.1), quickOptions());
        auto first = runtime.subscribe();
        auto second = runtime.subscribe();
        std::set<std::string> seenFirst, seenSecond;
        auto reader = [](std::shared_ptr<EventSubscription> sub, std::set<std::string>* out) {
            auto deadline = Clock::now() + 3s;
            while (out->size() < 2 && Clock::now() < deadline) {
                auto e = sub->pop(50ms);
                if (e && e->kind == EventKind::StateChanged && e->text == "running")
                    out->insert(e->source);
            }
        };
        std::thread a(reader, first, &seenFirst);
        std::thread b(reader, second, &seenSecond);
        runtime.start_all();
        a.join();
        b.join();
        std::set<std::string> expected{"sampler", "tap"};
        QCOMPARE(seenFirst, expected);
        QCOMPARE(seenSecond, expected);
    }

    // Snapshots survive their JSON form (what a remote Studio reads).
    void snapshotJson() {
        Runtime runtime(samplerToTap(1, 0.1), quickOptions());
        runtime.start_all();
        QVERIFY(waitUntil([&] { return runtime.status("tap").rate_in > 0; }, 3000ms));
        auto snap = runtime.snapshot();
        auto back = RuntimeSnapshot::from_json(json::parse(snap.to_json().dump()));
        QCOMPARE(back.to_json(), snap.to_json());
        QCOMPARE(back.nodes.size(), std::size_t(2));
        QCOMPARE(back.node("tap")->state, NodeState::Running);
        QCOMPARE(back.node("tap")->metrics.messages_in, snap.node("tap")->metrics.messages_in);
        QCOMPARE(back.link("link-1")->heartbeat, snap.link("link-1")->heartbeat);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 RuntimeSnapshot::from_json(json{{"nodes", 1}}));
        Event e{std::chrono::system_clock::now(), "tap", EventKind::HeartbeatLost, "tcp://x:1",
                "gone"};
        auto e2 = event_from_json(event_to_json(e));
        QCOMPARE(e2.kind, e.kind);
        QCOMPARE(e2.text, e.text);
        QCOMPARE(e2.source, e.source);
    }

    // --metrics: snapshots about once a second and every event, as JSON on a PUB.
    void metricsPublished() {
        RuntimeOptions options = quickOptions();
        options.metrics_bind = kAnyTcp;
        Runtime runtime(samplerToTap(0, 0.1), options);
        QVERIFY(!runtime.metrics_endpoint().empty());
        std::mutex m;
        std::vector<json> got;
        ReceiverOptions ro;
        ro.name = "watcher";
        ro.sub_connect = {connect_address(runtime.metrics_endpoint())};
        ro.default_heartbeat_timeout = 0ms;
        Receiver watcher(ro, [&](std::string_view message, Origin) {
            std::lock_guard lock(m);
            got.push_back(json::parse(message));
            return std::string();
        });
        watcher.start();
        QVERIFY(waitUntil(
            [&] {
                return socketOf(watcher.metrics(), "sub")->connection == ConnectionState::Connected;
            },
            2000ms));
        runtime.start_all();
        auto has = [&](const std::string& type) {
            std::lock_guard lock(m);
            return std::any_of(got.begin(), got.end(),
                               [&](const json& j) { return j.value("type", "") == type; });
        };
        QVERIFY(waitUntil([&] { return has("snapshot") && has("event"); }, 3000ms));
        std::lock_guard lock(m);
        for (const auto& j : got) {
            if (j["type"] == "snapshot") {
                auto snap = RuntimeSnapshot::from_json(j["snapshot"]);
                QCOMPARE(snap.nodes.size(), std::size_t(2));
            } else {
                auto e = event_from_json(j["event"]);
                QVERIFY(!e.source.empty());
            }
        }
    }

    // Editing the document while nodes run: running ones keep their configuration, removed
    // ones stop, new ones can start.
    void updateTopologyWhileRunning() {
        Topology t = samplerToTap(0, 0.1);
        Runtime runtime(t, quickOptions());
        runtime.start_all();
        const std::string endpoint = runtime.bound_endpoint({"sampler", "pub"});
        Topology edited = runtime.topology();
        edited.set_property("sampler", "rate", 5);
        edited.remove_node("tap");
        edited.add_node(makeNode("tap-2", NodeKind::Tap, json::object()));
        edited.add_link(makeLink("sampler.pub", "tap-2.sub"));
        runtime.update_topology(edited);
        QCOMPARE(stateOf(runtime, "sampler"), NodeState::Running);
        QCOMPARE(runtime.bound_endpoint({"sampler", "pub"}), endpoint);
        QVERIFY_THROWS_EXCEPTION(ConfigError, runtime.status("tap"));
        QCOMPARE(stateOf(runtime, "tap-2"), NodeState::Stopped);
        runtime.start({"tap-2"});
        QVERIFY(waitUntil([&] { return runtime.status("tap-2").metrics.messages_in > 0; }, 3000ms));
        Topology broken = runtime.topology();
        broken.set_property("tap-2", "keep", 0);
        QVERIFY_THROWS_EXCEPTION(ConfigError, runtime.update_topology(broken));
    }

    // Deploys, starts and stops arriving at once (as a runner's control calls will): a node
    // that a deploy removes is either stopped with its Stopped event before its slot goes, or
    // never started; none is left running outside the document, and none is torn down under
    // the snapshot lock. Every "running" of a removed node is matched by a "stopped".
    void concurrentUpdateStartStop() {
        Topology base = samplerToTap(0, 0.1);
        Topology full = base;
        full.add_node(makeNode("s2", NodeKind::Sampler, sampler(50, 0.1)));
        full.add_node(makeNode("t2", NodeKind::Tap, json::object()));
        full.add_link(makeLink("s2.pub", "t2.sub"));
        Runtime runtime(full, quickOptions());
        auto events = runtime.subscribe(100000);
        runtime.start_all();
        constexpr int kRounds = 100;
        std::atomic<bool> done{false};
        std::atomic<int> started_calls{0};
        std::thread deployer([&] {
            for (int i = 0; i < kRounds; ++i) {
                runtime.update_topology(i % 2 == 0 ? base : full);
                std::this_thread::sleep_for(2ms);
            }
            runtime.update_topology(base);
            done = true;
        });
        auto control = [&](bool start) {
            for (int i = 0; i < 20 * kRounds && !done; ++i) {
                try {
                    if (start) {
                        runtime.start({"s2", "t2"});
                        ++started_calls;
                    } else {
                        runtime.stop({"s2"});
                    }
                } catch (const ConfigError&) {
                    // not in the document at this moment
                }
                std::this_thread::sleep_for(1ms);
            }
        };
        std::thread starter(control, true);
        std::thread stopper(control, false);
        std::thread reader([&] {
            for (int i = 0; i < 100000 && !done; ++i) {
                (void)runtime.snapshot();
                std::this_thread::sleep_for(1ms);
            }
        });
        deployer.join();
        starter.join();
        stopper.join();
        reader.join();
        QVERIFY(started_calls > 0);
        QVERIFY_THROWS_EXCEPTION(ConfigError, runtime.status("s2"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, runtime.status("t2"));
        for (const auto& node : runtime.snapshot().nodes)
            QVERIFY2(node.id != "s2" && node.id != "t2", node.id.c_str());
        QCOMPARE(stateOf(runtime, "sampler"), NodeState::Running);
        QCOMPARE(stateOf(runtime, "tap"), NodeState::Running);
        std::map<std::string, int> running;
        std::map<std::string, int> stopped;
        while (auto e = events->try_pop()) {
            if (e->kind != EventKind::StateChanged) continue;
            if (e->text == "running") ++running[e->source];
            if (e->text == "stopped") ++stopped[e->source];
        }
        QVERIFY(running["s2"] > 1);  // it did start again between deploys
        for (const char* id : {"s2", "t2"}) {
            QVERIFY2(running[id] == stopped[id],
                     (std::string(id) + ": running " + std::to_string(running[id]) +
                      " times, stopped " + std::to_string(stopped[id]) + " times")
                         .c_str());
        }
    }

    // A document with errors is refused with every error listed.
    void refusesInvalidTopology() {
        Topology t;
        t.add_node(makeNode("s", NodeKind::Sampler, json::object()));
        try {
            Runtime runtime(t, quickOptions());
            QFAIL("expected ConfigError");
        } catch (const ConfigError& e) {
            QVERIFY2(std::string(e.what()).find("node 's' (bind)") != std::string::npos, e.what());
        }
    }

    // Stopping everything is quick even with many nodes running.
    void stopAllIsQuick() {
        Topology t;
        for (int i = 1; i <= 6; ++i) {
            std::string s = "s" + std::to_string(i);
            t.add_node(makeNode(s, NodeKind::Sampler, sampler(100, 0.1)));
            t.add_node(
                makeNode("p" + std::to_string(i), NodeKind::Sub2Pub, {{"pub_bind", kAnyTcp}}));
            t.add_node(makeNode("t" + std::to_string(i), NodeKind::Tap, json::object()));
            t.add_link(makeLink(s + ".pub", "p" + std::to_string(i) + ".sub", 1));
            t.add_link(
                makeLink("p" + std::to_string(i) + ".pub", "t" + std::to_string(i) + ".sub"));
        }
        Runtime runtime(t, quickOptions());
        runtime.start_all();
        QVERIFY2(allRunning(runtime), qPrintable(statesText(runtime)));
        QVERIFY(waitUntil([&] { return runtime.status("t6").metrics.messages_in > 0; }, 3000ms));
        double ms = timeMs([&] { runtime.stop_all(); });
        QVERIFY2(ms < 1000.0 * kTimingFactor, qPrintable(QString::number(ms)));
    }

    // deploy(): new nodes start, removed ones stop, a changed running one restarts with its new
    // configuration, and the unchanged ones keep running untouched (same instance: same bound
    // endpoint, same counters, same state-since time). A document with errors changes nothing.
    void deployAppliesDifference() {
        Topology t;
        for (const char* id : {"a", "b", "c"}) {
            const std::string s = id;
            t.add_node(makeNode(s, NodeKind::Sampler, sampler(100, 0.1)));
            t.add_node(makeNode("t" + s, NodeKind::Tap, {{"keep", 1000}}));
            t.add_link(makeLink(s + ".pub", "t" + s + ".sub"));
        }
        Runtime runtime(t, quickOptions());
        runtime.start_all();
        QVERIFY2(allRunning(runtime), qPrintable(statesText(runtime)));
        QVERIFY(waitUntil(
            [&] {
                return !runtime.tap_messages("ta").empty() && !runtime.tap_messages("tb").empty();
            },
            3000ms));
        const std::string endpointA = runtime.bound_endpoint({"a", "pub"});
        const std::string endpointB = runtime.bound_endpoint({"b", "pub"});
        const auto sinceA = runtime.status("a").since;
        const auto sinceB = runtime.status("b").since;
        const auto sentA = runtime.status("a").metrics.messages_out;
        const auto lastSeqA = runtime.tap_messages("ta").back().seq;

        Topology next = runtime.topology();
        next.set_property("b", "rate", 20);
        next.remove_node("c");
        next.remove_node("tc");
        next.add_node(makeNode("d", NodeKind::Sampler, sampler(100, 0.1)));
        next.add_node(makeNode("td", NodeKind::Tap, json::object()));
        next.add_link(makeLink("d.pub", "td.sub"));
        next.set_node_position("a", {10, 20});  // the editor's position is no change

        Topology broken = next;
        broken.set_property("td", "keep", 0);
        QVERIFY_THROWS_EXCEPTION(ConfigError, runtime.deploy(broken));
        QVERIFY(runtime.status("c").state == NodeState::Running);
        QVERIFY_THROWS_EXCEPTION(ConfigError, runtime.status("d"));

        const auto results = runtime.deploy(next);
        std::map<std::string, DeployResult> byNode;
        for (const auto& r : results)
            byNode[r.node] = r;
        QCOMPARE(byNode.size(), std::size_t(8));
        using Outcome = DeployResult::Outcome;
        QCOMPARE(byNode["a"].outcome, Outcome::Unchanged);
        QCOMPARE(byNode["ta"].outcome, Outcome::Unchanged);
        QCOMPARE(byNode["tb"].outcome, Outcome::Unchanged);
        QCOMPARE(byNode["b"].outcome, Outcome::Applied);
        QCOMPARE(byNode["b"].reason, std::string("restarted: changed"));
        QCOMPARE(byNode["c"].outcome, Outcome::Applied);
        QCOMPARE(byNode["c"].reason, std::string("stopped: removed"));
        QCOMPARE(byNode["d"].outcome, Outcome::Applied);
        QCOMPARE(byNode["td"].outcome, Outcome::Applied);
        QCOMPARE(std::string(to_string(Outcome::Unchanged)), std::string("unchanged"));

        QVERIFY2(allRunning(runtime), qPrintable(statesText(runtime)));
        QVERIFY_THROWS_EXCEPTION(ConfigError, runtime.status("c"));
        QCOMPARE(runtime.topology(), next);
        // Untouched: the same instance.
        QCOMPARE(runtime.bound_endpoint({"a", "pub"}), endpointA);
        QVERIFY(runtime.status("a").since == sinceA);
        QVERIFY(runtime.status("a").metrics.messages_out >= sentA);
        QVERIFY(waitUntil([&] { return !runtime.tap_messages("ta", lastSeqA).empty(); }, 3000ms));
        // Restarted, on the port it had (chosen at bind time, kept): its tap hears it again.
        QVERIFY(runtime.status("b").since != sinceB);
        QCOMPARE(runtime.bound_endpoint({"b", "pub"}), endpointB);
        // tb ran on (unchanged) and kept what it had: it hears b again after the restart.
        const auto seqB = runtime.tap_messages("tb").back().seq;
        const auto restartedAt = runtime.status("b").since;
        QVERIFY(waitUntil(
            [&] {
                for (const auto& m : runtime.tap_messages("tb", seqB)) {
                    if (m.time >= restartedAt) return true;
                }
                return false;
            },
            3000ms));
        QVERIFY(waitUntil([&] { return !runtime.tap_messages("td").empty(); }, 3000ms));

        // Deploying the same document again changes nothing.
        for (const auto& r : runtime.deploy(next))
            QVERIFY2(r.outcome == Outcome::Unchanged, r.node.c_str());
    }

    // deploy() on a runtime of one host: only that host's nodes are reported and touched; a
    // node moved to another host is stopped here, a changed node that does not run only takes
    // its new configuration, and a node whose start fails is reported failed with the reason.
    void deployPerHost() {
        Topology t;
        t.add_node(makeNode("s", NodeKind::Sampler, sampler(50, 0.1), "h1"));
        t.add_node(makeNode("tap", NodeKind::Tap, json::object(), "h1"));
        t.add_node(makeNode("idle", NodeKind::Tap, json::object(), "h1"));
        t.add_node(makeNode("lone", NodeKind::Sampler, sampler(10, 0.1), "h1"));
        t.add_node(makeNode("far", NodeKind::Tap, json::object(), "h2"));
        t.add_link(makeLink("s.pub", "tap.sub"));
        auto options = quickOptions();
        options.host = "h1";
        Runtime runtime(t, options);
        runtime.start({"s", "tap", "lone"});
        QVERIFY2(stateOf(runtime, "lone") == NodeState::Running, qPrintable(statesText(runtime)));

        // Something holds a port for the new node, so it fails to bind.
        Topology blocker;
        blocker.add_node(makeNode("hold", NodeKind::Sampler, sampler(1, 0.1)));
        Runtime holder(blocker, quickOptions());
        holder.start_all();
        const std::string taken = holder.bound_endpoint({"hold", "pub"});
        QVERIFY(!taken.empty());

        Topology next = runtime.topology();
        next.set_node_host("lone", "h2");
        next.set_property("idle", "keep", 7);
        next.set_property("far", "keep", 9);
        next.add_node(makeNode("busy", NodeKind::Sampler, sampler(50, 0.1, taken), "h1"));
        const auto results = runtime.deploy(next);
        std::map<std::string, DeployResult> byNode;
        for (const auto& r : results)
            byNode[r.node] = r;
        QVERIFY(!byNode.count("far"));
        QCOMPARE(byNode.size(), std::size_t(5));
        QCOMPARE(byNode["s"].outcome, DeployResult::Outcome::Unchanged);
        QCOMPARE(byNode["tap"].outcome, DeployResult::Outcome::Unchanged);
        QCOMPARE(byNode["lone"].outcome, DeployResult::Outcome::Applied);
        QCOMPARE(byNode["lone"].reason, std::string("stopped: moved to host 'h2'"));
        QCOMPARE(stateOf(runtime, "lone"), NodeState::Remote);
        QCOMPARE(stateOf(runtime, "tap"), NodeState::Running);
        QCOMPARE(byNode["idle"].outcome, DeployResult::Outcome::Applied);
        QCOMPARE(stateOf(runtime, "idle"), NodeState::Stopped);
        QCOMPARE(byNode["busy"].outcome, DeployResult::Outcome::Failed);
        QVERIFY(!byNode["busy"].reason.empty());
        QCOMPARE(stateOf(runtime, "busy"), NodeState::Failed);
        QCOMPARE(stateOf(runtime, "s"), NodeState::Running);
    }

    // Hosts a runner runs: the Studio's own Runtime leaves their nodes alone (Remote). Excluding
    // a host stops its active nodes (Stopped events, then Remote) and refuses to start them;
    // the nodes of the other hosts run on, the same instances; un-excluding makes them
    // startable again.
    void excludedHosts() {
        Topology t;
        Host b{"b", "127.0.0.1"};
        b.runner.control = "tcp://127.0.0.1:7100";
        t.set_hosts({{"a", "127.0.0.1"}, b});
        t.add_node(makeNode("sa", NodeKind::Sampler, sampler(100, 0.1), "a"));
        t.add_node(makeNode("ta", NodeKind::Tap, {{"keep", 1000}}, "a"));
        t.add_node(makeNode("sb", NodeKind::Sampler, sampler(100, 0.1), "b"));
        t.add_node(makeNode("tb", NodeKind::Tap, {{"keep", 1000}}, "b"));
        // fb fails to start: something holds its port.
        Topology blocker;
        blocker.add_node(makeNode("hold", NodeKind::Sampler, sampler(1, 0.1)));
        Runtime holder(blocker, quickOptions());
        holder.start_all();
        const std::string taken = holder.bound_endpoint({"hold", "pub"});
        QVERIFY(!taken.empty());
        t.add_node(makeNode("fb", NodeKind::Sampler, sampler(1, 0.1, taken), "b"));
        t.add_link(makeLink("sa.pub", "ta.sub"));
        t.add_link(makeLink("sb.pub", "tb.sub"));
        Runtime runtime(t, quickOptions());
        QVERIFY(runtime.excluded_hosts().empty());
        runtime.start({"sa", "ta", "sb", "tb"});
        QVERIFY2(stateOf(runtime, "tb") == NodeState::Running, qPrintable(statesText(runtime)));
        QVERIFY(waitUntil(
            [&] {
                return !runtime.tap_messages("ta").empty() && !runtime.tap_messages("tb").empty();
            },
            3000ms));
        const auto sinceSa = runtime.status("sa").since;
        const auto sinceTa = runtime.status("ta").since;
        const auto sentSa = runtime.status("sa").metrics.messages_out;
        const auto seqTa = runtime.tap_messages("ta").back().seq;
        auto sub = runtime.subscribe();

        runtime.set_excluded_hosts({"b"});
        const auto events = sub->drain();
        QCOMPARE(runtime.excluded_hosts(), std::set<std::string>{"b"});
        for (const char* id : {"sb", "tb"}) {
            const NodeStatus s = runtime.status(id);
            QCOMPARE(s.state, NodeState::Remote);
            QVERIFY2(s.reason.find("host 'b'") != std::string::npos &&
                         s.reason.find("tcp://127.0.0.1:7100") != std::string::npos,
                     s.reason.c_str());
            QCOMPARE(s.metrics.messages_out + s.metrics.messages_in, std::uint64_t(0));
            // Stopping, Stopped, then Remote, in that order (published before it returned).
            std::vector<std::string> states;
            for (const Event& event : events) {
                if (event.source == id && event.kind == EventKind::StateChanged)
                    states.push_back(event.text.substr(0, event.text.find(':')));
            }
            QCOMPARE(states, (std::vector<std::string>{"stopping", "stopped", "remote"}));
        }
        QCOMPARE(stateOf(runtime, "fb"), NodeState::Remote);
        QCOMPARE(runtime.snapshot().node("tb")->state, NodeState::Remote);
        QCOMPARE(runtime.local_nodes(), (std::vector<std::string>{"sa", "ta"}));
        QVERIFY(!runtime.snapshot().link("link-2")->active);
        // A start of them is refused, naming the host and its runner; nothing starts.
        try {
            runtime.start({"sa", "tb"});
            QFAIL("started a node of an excluded host");
        } catch (const ConfigError& e) {
            const std::string text = e.what();
            QVERIFY2(text.find("'tb'") != std::string::npos &&
                         text.find("host 'b'") != std::string::npos &&
                         text.find("tcp://127.0.0.1:7100") != std::string::npos,
                     e.what());
        }
        runtime.start_all();  // only what is local
        QCOMPARE(stateOf(runtime, "tb"), NodeState::Remote);
        // The other host's nodes ran on: the same instances, counters rising.
        QVERIFY(runtime.status("sa").since == sinceSa);
        QVERIFY(runtime.status("ta").since == sinceTa);
        QCOMPARE(stateOf(runtime, "ta"), NodeState::Running);
        QVERIFY(
            waitUntil([&] { return runtime.status("sa").metrics.messages_out > sentSa; }, 3000ms));
        QVERIFY(waitUntil([&] { return !runtime.tap_messages("ta", seqTa).empty(); }, 3000ms));
        // deploy() leaves them alone too.
        Topology next = runtime.topology();
        next.set_property("sb", "rate", 20);
        for (const auto& r : runtime.deploy(next))
            QVERIFY2(r.node == "sa" || r.node == "ta", r.node.c_str());
        QCOMPARE(stateOf(runtime, "sb"), NodeState::Remote);

        // No longer excluded: Stopped, and they start again.
        runtime.set_excluded_hosts({});
        QCOMPARE(stateOf(runtime, "sb"), NodeState::Stopped);
        QCOMPARE(stateOf(runtime, "tb"), NodeState::Stopped);
        QCOMPARE(runtime.local_nodes().size(), std::size_t(5));
        runtime.start({"sb", "tb"});
        QVERIFY2(stateOf(runtime, "tb") == NodeState::Running, qPrintable(statesText(runtime)));
        QVERIFY(waitUntil([&] { return !runtime.tap_messages("tb").empty(); }, 3000ms));
        QVERIFY(runtime.status("sa").since == sinceSa);
        // A failed node of a host excluded again is Remote, not Failed.
        runtime.start({"fb"});
        QCOMPARE(stateOf(runtime, "fb"), NodeState::Failed);
        runtime.set_excluded_hosts({"b"});
        QCOMPARE(stateOf(runtime, "fb"), NodeState::Remote);
        QCOMPARE(stateOf(runtime, "tb"), NodeState::Remote);
        QCOMPARE(stateOf(runtime, "ta"), NodeState::Running);

        // Excluded from the start: never run, and said so without a runner in the host list.
        auto options = quickOptions();
        options.exclude_hosts = {"a"};
        Topology plain = t;
        plain.set_hosts({});
        Runtime other(plain, options);
        QCOMPARE(other.local_nodes(), (std::vector<std::string>{"sb", "tb", "fb"}));
        QCOMPARE(stateOf(other, "sa"), NodeState::Remote);
        QVERIFY_THROWS_EXCEPTION(ConfigError, other.start({"sa"}));
    }

    // A tap message's wire form: text previews as they are, a cut mid-character or binary as
    // base64; either reads back to the same bytes.
    void tapMessageJson() {
        TapMessage m;
        m.seq = 42;
        m.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1733360000123));
        m.endpoint = "tcp://127.0.0.1:5601";
        m.size = 300;
        m.heartbeat = false;
        m.preview = "{\"function\": \"store\", \"parameters\": {\"t\": \"\xc3\xa9t\xc3\xa9\"}}";
        json j = m.to_json();
        QCOMPARE(j["preview"].get<std::string>(), m.preview);
        QVERIFY(!j.contains("preview_base64"));
        QCOMPARE(j["time_ms"].get<std::int64_t>(), std::int64_t(1733360000123));
        auto back = TapMessage::from_json(json::parse(j.dump()));
        QCOMPARE(back.seq, m.seq);
        QVERIFY(back.time == m.time);
        QCOMPARE(back.endpoint, m.endpoint);
        QCOMPARE(back.size, m.size);
        QCOMPARE(back.heartbeat, m.heartbeat);
        QCOMPARE(back.preview, m.preview);
        // Cut in the middle of "é" (0xc3 0xa9), and every length mod 3 of binary.
        for (const std::string& preview :
             {std::string("{\"t\": \"\xc3"), std::string("\x00\xff", 2), std::string("\xfe"),
              std::string("\x80\x81\x82"), std::string("ab\xc3")}) {
            m.preview = preview;
            m.heartbeat = true;
            j = m.to_json();
            QVERIFY(!j.contains("preview"));
            QVERIFY(j.contains("preview_base64"));
            const std::string text = j.dump();  // valid JSON text: nlohmann does not throw
            back = TapMessage::from_json(json::parse(text));
            QCOMPARE(back.preview, preview);
            QVERIFY(back.heartbeat);
        }
        m.preview = std::string("\x00\xff", 2);
        QCOMPARE(m.to_json()["preview_base64"].get<std::string>(), std::string("AP8="));
        m.preview = "\x80\x81\x82";
        QCOMPARE(m.to_json()["preview_base64"].get<std::string>(), std::string("gIGC"));
        // Bad input: named.
        json bad = m.to_json();
        bad["preview_base64"] = "A*==";
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, TapMessage::from_json(bad));
        bad["preview_base64"] = "AP8";
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, TapMessage::from_json(bad));
        bad["preview"] = "both";
        bad["preview_base64"] = "AP8=";
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, TapMessage::from_json(bad));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, TapMessage::from_json(json{{"seq", "1"}}));
    }

    // Unknown is the Studio's ("its runner is silent"): a snapshot carries it through JSON.
    void unknownStateJson() {
        QCOMPARE(std::string(to_string(NodeState::Unknown)), std::string("unknown"));
        RuntimeSnapshot snap;
        NodeStatus n;
        n.id = "far";
        n.name = "far";
        n.kind = NodeKind::Tap;
        n.host = "b";
        n.state = NodeState::Unknown;
        n.reason = "runner silent for 5 s";
        snap.nodes.push_back(n);
        const json j = snap.to_json();
        QCOMPARE(j["nodes"][0]["state"], json("unknown"));
        const auto back = RuntimeSnapshot::from_json(json::parse(j.dump()));
        QCOMPARE(back.node("far")->state, NodeState::Unknown);
        QCOMPARE(back.node("far")->reason, n.reason);
        json bad = j;
        bad["nodes"][0]["state"] = "unknwn";
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, RuntimeSnapshot::from_json(bad));
    }
};

QTEST_GUILESS_MAIN(TestRuntime)
#include "tst_runtime.moc"
