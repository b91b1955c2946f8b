// `zmqrpc run --control`: a runner's control server, driven with `zmqrpc call` (and once with
// pyzmqrpc's own ZmqRpcClient) through the real executables, on loopback only.
#include "child_process.hpp"
#include "testutil.hpp"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <map>
#include <optional>

#ifndef ZMQRPC_CLI
#error "ZMQRPC_CLI (path of the zmqrpc executable) must be defined"
#endif

using namespace testutil;

namespace {

const QString kPasswordVariable = QStringLiteral("ZMQRPC_TST_CONTROL_PASSWORD");
const QString kPassword = QStringLiteral("control-test-password");

struct Run {
    bool finished = false;
    int code = -1;
    QString out, err, text;
};

Run run(const QStringList& args, const QProcessEnvironment& env, int timeoutMs = 8000) {
    Child child;
    child.start(args, env);
    Run r;
    r.finished = child.waitFinished(timeoutMs);
    child.kill();
    r.code = child.exitCode();
    r.out = child.out();
    r.err = child.err();
    r.text = child.describe();
    return r;
}

zmqrpc::Node makeNode(std::string id, zmqrpc::NodeKind kind, json properties) {
    zmqrpc::Node n;
    n.id = std::move(id);
    n.kind = kind;
    n.properties = std::move(properties);
    return n;
}

zmqrpc::Link makeLink(const std::string& from, const std::string& to) {
    zmqrpc::Link l;
    l.from = {from.substr(0, from.find('.')), from.substr(from.find('.') + 1)};
    l.to = {to.substr(0, to.find('.')), to.substr(to.find('.') + 1)};
    return l;
}

json sampler(double rate) {
    return {{"bind", kAnyTcp}, {"rate", rate}, {"heartbeat_interval", 0.2}};
}

// Samplers a, b, c, each linked to its tap ta, tb, tc.
zmqrpc::Topology threePairs() {
    zmqrpc::Topology t;
    for (const std::string s : {"a", "b", "c"}) {
        t.add_node(makeNode(s, zmqrpc::NodeKind::Sampler, sampler(50)));
        t.add_node(makeNode("t" + s, zmqrpc::NodeKind::Tap, {{"keep", 100}}));
        zmqrpc::Link link = makeLink(s + ".pub", "t" + s + ".sub");
        link.id = "l-" + s;
        t.add_link(link);
    }
    return t;
}

const json* findNode(const json& list, const std::string& id, const char* key = "node") {
    for (const auto& n : list) {
        if (n.value(key, std::string()) == id) return &n;
    }
    return nullptr;
}

}  // namespace

class TestControl : public QObject {
    Q_OBJECT

    QTemporaryDir m_tmp;

    QProcessEnvironment env(const QString& keys = {}) const {
        auto e = QProcessEnvironment::systemEnvironment();
        e.insert(QStringLiteral("ZMQRPC_CREDENTIALS"), m_tmp.path() + "/no-credentials.json");
        e.insert(QStringLiteral("ZMQRPC_KEYS"), keys.isEmpty() ? m_tmp.path() + "/no-keys" : keys);
        e.insert(kPasswordVariable, kPassword);
        return e;
    }

    QString writeTopology(const QString& name, const zmqrpc::Topology& topology) {
        const QString path = m_tmp.filePath(name);
        QFile::remove(path + ".deployed");
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly)) return {};
        f.write(QByteArray::fromStdString(zmqrpc::save_topology(topology)));
        return path;
    }

    static QStringList plainClient() {
        return {"--user", "operator", "--password-env", kPasswordVariable};
    }
    static QStringList plainServer() {
        return {"--control-user", "operator", "--control-password-env", kPasswordVariable};
    }

    // Starts `zmqrpc run FILE --quiet --control tcp://127.0.0.1:* EXTRA`; returns the control
    // endpoint from its stderr line, or empty.
    QString startRunner(Child& runner, const QString& file, const QStringList& extra,
                        const QProcessEnvironment& e) {
        runner.start(QStringList{"run", file, "--quiet", "--control", kAnyTcp} + extra, e);
        static const QRegularExpression line(
            QStringLiteral(R"(control on (tcp://127\.0\.0\.1:[1-9][0-9]*))"));
        runner.waitFor([&] { return line.match(runner.err()).hasMatch(); }, 5000);
        return line.match(runner.err()).captured(1);
    }

    // `zmqrpc call FUNCTION PARAMS --req EP` with PLAIN; the parsed answer, or null.
    json call(const QString& endpoint, const QString& function, const json& params = nullptr,
              const QStringList& credentials = plainClient(), Run* out = nullptr) {
        QStringList args{"call", function};
        if (!params.is_null()) args << QString::fromStdString(params.dump());
        args << "--req" << endpoint << "--timeout"
             << "5" << credentials;
        Run r = run(args, env());
        if (out) *out = r;
        if (r.code != 0) return nullptr;
        return json::parse(r.out.toStdString(), nullptr, false);
    }

  private slots:
    void initTestCase() { QVERIFY(m_tmp.isValid()); }

    void refusedWithoutAuthentication() {
        const QString file = writeTopology("noauth.json", threePairs());
        Run r = run({"run", file, "--control", kAnyTcp}, env());
        QVERIFY2(r.finished && r.code == 64, qPrintable(r.text));
        QVERIFY2(r.err.contains("--control needs authentication"), qPrintable(r.err));
        r = run({"run", file, "--control-user", "x", "--control-password", "y"}, env());
        QVERIFY2(r.code == 64 && r.err.contains("needs --control"), qPrintable(r.text));
        r = run({"run", file, "--control", kAnyTcp, "--control-insecure-no-auth", "--control-user",
                 "x", "--control-password", "y"},
                env());
        QVERIFY2(r.code == 64 && r.err.contains("contradict"), qPrintable(r.text));
    }

    void insecureWarns() {
        const QString file = writeTopology("insecure.json", threePairs());
        Child runner;
        const QString ep = startRunner(runner, file, {"--control-insecure-no-auth"}, env());
        QVERIFY2(!ep.isEmpty(), qPrintable(runner.describe()));
        QVERIFY2(runner.err().contains("WARNING: control on " + ep + " has no authentication"),
                 qPrintable(runner.err()));
        const json status = call(ep, "status", nullptr, {});
        QVERIFY2(status.is_object(), qPrintable(runner.describe()));
        QCOMPARE(status["nodes"].size(), std::size_t(6));
        runner.signal(SIGTERM);
        QVERIFY(runner.waitFinished(5000));
        QCOMPARE(runner.exitCode(), 0);
    }

    void plainStatusStartStop() {
        const zmqrpc::Topology topology = threePairs();
        const QString file = writeTopology("plain.json", topology);
        Child runner;
        const QString ep = startRunner(runner, file, plainServer(), env());
        QVERIFY2(!ep.isEmpty(), qPrintable(runner.describe()));
        QVERIFY2(runner.err().contains("(PLAIN)"), qPrintable(runner.err()));

        Run r;
        json status = call(ep, "status", nullptr, plainClient(), &r);
        QVERIFY2(status.is_object(), qPrintable(r.text));
        QCOMPARE(status["version"].get<std::string>(), std::string(zmqrpc::version()));
        const std::string revision = status["revision"].get<std::string>();
        QVERIFY(QRegularExpression(QStringLiteral("^[0-9a-f]{16}$"))
                    .match(QString::fromStdString(revision))
                    .hasMatch());
        QCOMPARE(status["host"].get<std::string>(), std::string());
        QVERIFY(status["uptime_seconds"].get<double>() >= 0);
        QVERIFY(waitUntil(
            [&] {
                status = call(ep, "status");
                const json* a = findNode(status["nodes"], "a");
                return a && (*a)["state"] == "running";
            },
            5000ms, 100ms));

        // A wrong password is refused by the handshake: no answer.
        call(ep, "status", nullptr, {"--user", "operator", "--password", "wrong"}, &r);
        QVERIFY2(r.code == 2, qPrintable(r.text));

        json stopped = call(ep, "stop", {{"nodes", {"tb", "b"}}}, plainClient(), &r);
        QVERIFY2(stopped.is_object(), qPrintable(r.text));
        QCOMPARE((*findNode(stopped["nodes"], "b"))["state"].get<std::string>(),
                 std::string("stopped"));
        QCOMPARE((*findNode(stopped["nodes"], "tb"))["state"].get<std::string>(),
                 std::string("stopped"));
        status = call(ep, "status");
        QCOMPARE((*findNode(status["nodes"], "a"))["state"].get<std::string>(),
                 std::string("running"));
        json started = call(ep, "start", {{"nodes", {"b"}}});
        QCOMPARE((*findNode(started["nodes"], "b"))["state"].get<std::string>(),
                 std::string("running"));
        // Unknown ids are refused by name, nothing started.
        call(ep, "start", {{"nodes", {"tb", "nosuch"}}}, plainClient(), &r);
        QVERIFY2(r.code == 1 && r.err.contains("no node 'nosuch'"), qPrintable(r.text));
        status = call(ep, "status");
        QCOMPARE((*findNode(status["nodes"], "tb"))["state"].get<std::string>(),
                 std::string("stopped"));
        // No ids: every node of the host.
        call(ep, "stop", json::object());
        status = call(ep, "status");
        for (const auto& n : status["nodes"])
            QCOMPARE(n["state"].get<std::string>(), std::string("stopped"));
        call(ep, "start");
        status = call(ep, "status");
        for (const auto& n : status["nodes"])
            QCOMPARE(n["state"].get<std::string>(), std::string("running"));
        // snapshot: as --metrics publishes it.
        const json snapshot = call(ep, "snapshot");
        QVERIFY(snapshot.is_object());
        QCOMPARE(zmqrpc::RuntimeSnapshot::from_json(snapshot).nodes.size(), std::size_t(6));
        // The functions are listed.
        const json functions = call(ep, "_describe");
        for (const char* name : {"status", "snapshot", "start", "stop", "deploy", "describe"}) {
            QVERIFY2(findNode(functions, name, "name"), name);
        }
        runner.waitFor([&] { return runner.err().contains("control control: stop 2"); }, 3000);
        QVERIFY2(runner.err().contains("control control: stop 2 node(s): tb, b"),
                 qPrintable(runner.err()));
        runner.signal(SIGTERM);
        QVERIFY(runner.waitFinished(5000));
        QCOMPARE(runner.exitCode(), 0);
    }

    // deploy: one node added, one removed, one changed (restarted) and the rest unchanged
    // (running on: same link endpoint, state since unchanged, messages continue); a stale
    // revision and an invalid document are refused with nothing changed; the document is kept
    // in FILE.deployed and a restarted runner runs it (unless --ignore-deployed).
    void deployApplies() {
        const zmqrpc::Topology topology = threePairs();
        const QString file = writeTopology("deploy.json", topology);
        Child runner;
        const QString ep = startRunner(runner, file, plainServer(), env());
        QVERIFY2(!ep.isEmpty(), qPrintable(runner.describe()));
        json before;
        auto tapIn = [&](const json& snapshot, const std::string& id) {
            const json* n = findNode(snapshot["nodes"], id, "id");
            return n ? (*n)["metrics"].value("messages_in", std::uint64_t(0)) : 0;
        };
        QVERIFY(waitUntil(
            [&] {
                before = call(ep, "snapshot");
                return before.is_object() && tapIn(before, "ta") > 0 && tapIn(before, "tb") > 0;
            },
            5000ms, 100ms));
        const json described = call(ep, "describe");
        const std::string revision = described["revision"].get<std::string>();
        QCOMPARE(zmqrpc::load_topology(described["topology"].dump()), topology);

        zmqrpc::Topology next = topology;
        next.set_property("b", "rate", 20);
        next.remove_node("c");
        next.remove_node("tc");
        next.add_node(makeNode("d", zmqrpc::NodeKind::Sampler, sampler(50)));
        next.add_node(makeNode("td", zmqrpc::NodeKind::Tap, json::object()));
        next.add_link(makeLink("d.pub", "td.sub"));
        const json document = json::parse(zmqrpc::save_topology(next));

        // Invalid: refused, located, nothing changed.
        Run r;
        json broken = document;
        broken["links"].push_back({{"id", "bad"}, {"from", "nosuch.pub"}, {"to", "ta.sub"}});
        call(ep, "deploy", {{"topology", broken}, {"revision", revision}}, plainClient(), &r);
        QVERIFY2(r.code == 1 && r.err.contains("status 463") &&
                     r.err.contains("invalid topology, nothing changed") &&
                     r.err.contains("links[3]"),
                 qPrintable(r.text));
        json invalid = document;
        invalid["nodes"][0]["properties"]["rate"] = -5;
        call(ep, "deploy", {{"topology", invalid}, {"revision", revision}}, plainClient(), &r);
        QVERIFY2(r.code == 1, qPrintable(r.text));
        // A stale revision: refused, naming the current one.
        call(ep, "deploy", {{"topology", document}, {"revision", "0123456789abcdef"}},
             plainClient(), &r);
        QVERIFY2(r.code == 1 && r.err.contains("revision conflict") &&
                     r.err.contains(QString::fromStdString(revision)),
                 qPrintable(r.text));
        QCOMPARE(call(ep, "describe")["revision"].get<std::string>(), revision);
        QVERIFY(!QFileInfo::exists(file + ".deployed"));

        QElapsedTimer timer;
        timer.start();
        const json answer =
            call(ep, "deploy", {{"topology", document}, {"revision", revision}}, plainClient(), &r);
        const auto deployMs = timer.elapsed();
        QVERIFY2(answer.is_object(), qPrintable(r.text));
        qInfo("deploy call (5 applied, 3 unchanged) answered in %lld ms",
              static_cast<long long>(deployMs));
        std::map<std::string, std::string> results;
        for (const auto& n : answer["nodes"])
            results[n["node"].get<std::string>()] = n["result"].get<std::string>();
        const std::map<std::string, std::string> expected{
            {"a", "unchanged"}, {"ta", "unchanged"}, {"b", "applied"}, {"tb", "unchanged"},
            {"c", "applied"},   {"tc", "applied"},   {"d", "applied"}, {"td", "applied"}};
        QCOMPARE(results, expected);
        const std::string newRevision = answer["revision"].get<std::string>();
        QVERIFY(newRevision != revision);
        QCOMPARE(answer["previous_revision"].get<std::string>(), revision);
        QCOMPARE((*findNode(answer["nodes"], "b"))["reason"].get<std::string>(),
                 std::string("restarted: changed"));

        // The unchanged pair runs on; b restarted; c is gone; d runs.
        json after;
        QVERIFY(waitUntil(
            [&] {
                after = call(ep, "snapshot");
                return after.is_object() && tapIn(after, "ta") > tapIn(before, "ta") &&
                       tapIn(after, "td") > 0 && tapIn(after, "tb") > tapIn(before, "tb");
            },
            5000ms, 100ms));
        const json* aBefore = findNode(before["nodes"], "a", "id");
        const json* aAfter = findNode(after["nodes"], "a", "id");
        QCOMPARE((*aAfter)["since_ms"], (*aBefore)["since_ms"]);
        QVERIFY((*aAfter)["metrics"]["messages_out"].get<std::uint64_t>() >=
                (*aBefore)["metrics"]["messages_out"].get<std::uint64_t>());
        QCOMPARE((*findNode(after["links"], "l-a", "id"))["endpoint"],
                 (*findNode(before["links"], "l-a", "id"))["endpoint"]);
        QVERIFY((*findNode(after["nodes"], "b", "id"))["since_ms"] !=
                (*findNode(before["nodes"], "b", "id"))["since_ms"]);
        QVERIFY(!findNode(after["nodes"], "c", "id"));
        QCOMPARE(call(ep, "status")["revision"].get<std::string>(), newRevision);
        runner.waitFor([&] { return runner.err().contains("control control: deploy"); }, 3000);
        QVERIFY2(runner.err().contains("control control: deploy revision " +
                                       QString::fromStdString(newRevision) + " (was " +
                                       QString::fromStdString(revision) +
                                       "): 5 applied, 0 failed, 3 unchanged"),
                 qPrintable(runner.err()));

        // Kept next to the file; the revision is of that canonical text.
        QCOMPARE(QString::fromStdString(answer["deployed_file"].get<std::string>()),
                 file + ".deployed");
        QCOMPARE(zmqrpc::load_topology_file((file + ".deployed").toStdString()), next);
        runner.signal(SIGTERM);
        QVERIFY(runner.waitFinished(5000));
        QCOMPARE(runner.exitCode(), 0);

        Child again;
        const QString ep2 = startRunner(again, file, plainServer(), env());
        QVERIFY2(!ep2.isEmpty(), qPrintable(again.describe()));
        QVERIFY2(again.err().contains("running " + file + ".deployed"), qPrintable(again.err()));
        QCOMPARE(call(ep2, "status")["revision"].get<std::string>(), newRevision);
        again.signal(SIGTERM);
        QVERIFY(again.waitFinished(5000));

        Child original;
        const QString ep3 =
            startRunner(original, file, plainServer() << "--ignore-deployed", env());
        QVERIFY2(!ep3.isEmpty(), qPrintable(original.describe()));
        QCOMPARE(call(ep3, "status")["revision"].get<std::string>(), revision);
        original.signal(SIGTERM);
        QVERIFY(original.waitFinished(5000));
    }

    // tap: the messages a tap of this host kept, with rising sequence numbers, as
    // TapMessage::to_json() writes them; after=N gives only newer ones; a node that is not a
    // tap here is refused by name.
    void tapVerb() {
        const QString file = writeTopology("tap.json", threePairs());
        Child runner;
        const QString ep = startRunner(runner, file, plainServer(), env());
        QVERIFY2(!ep.isEmpty(), qPrintable(runner.describe()));
        json answer;
        QVERIFY(waitUntil(
            [&] {
                answer = call(ep, "tap", {{"tap", "ta"}});
                return answer.is_object() && answer["messages"].size() >= 4;
            },
            5000ms, 100ms));
        QCOMPARE(answer["tap"].get<std::string>(), std::string("ta"));
        std::vector<zmqrpc::TapMessage> messages;
        for (const auto& m : answer["messages"])
            messages.push_back(zmqrpc::TapMessage::from_json(nlohmann::json::parse(m.dump())));
        for (std::size_t i = 1; i < messages.size(); ++i)
            QVERIFY(messages[i].seq > messages[i - 1].seq);
        QVERIFY(messages.front().seq >= 1);
        QVERIFY(!messages.back().endpoint.empty());
        QVERIFY(messages.back().size > 0);
        // Only what came after N.
        const std::uint64_t n = messages[messages.size() / 2].seq;
        const json newer = call(ep, "tap", {{"tap", "ta"}, {"after", n}});
        QVERIFY(newer.is_object());
        QVERIFY(!newer["messages"].empty());
        for (const auto& m : newer["messages"])
            QVERIFY(m["seq"].get<std::uint64_t>() > n);
        // Refusals: 463, naming what is wrong.
        Run r;
        call(ep, "tap", {{"tap", "nosuch"}}, plainClient(), &r);
        QVERIFY2(r.code == 1 && r.err.contains("status 463") && r.err.contains("no node 'nosuch'"),
                 qPrintable(r.text));
        call(ep, "tap", {{"tap", "a"}}, plainClient(), &r);
        QVERIFY2(r.code == 1 && r.err.contains("node 'a' is not a tap of this host"),
                 qPrintable(r.text));
        call(ep, "tap", {{"tap", "ta"}, {"after", -1}}, plainClient(), &r);
        QVERIFY2(r.code == 1 && r.err.contains("'after' must be a sequence number"),
                 qPrintable(r.text));
        const json functions = call(ep, "_describe");
        QVERIFY(findNode(functions, "tap", "name"));
        runner.signal(SIGTERM);
        QVERIFY(runner.waitFinished(5000));
        QCOMPARE(runner.exitCode(), 0);
    }

    // Where a deploy is kept: the first directory of $STATE_DIRECTORY (systemd's colon list),
    // or --state-dir, even when the topology's directory is read-only (/etc/zmqrpc under the
    // unit); a restart runs it from there.
    void stateDirectory() {
        const QString configDir = m_tmp.filePath("etc-zmqrpc");
        QVERIFY(QDir().mkpath(configDir));
        const QString file = configDir + "/site.json";
        {
            QFile f(file);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray::fromStdString(zmqrpc::save_topology(threePairs())));
        }
        QVERIFY(QFile::setPermissions(configDir, QFileDevice::ReadOwner | QFileDevice::ExeOwner |
                                                     QFileDevice::ReadGroup |
                                                     QFileDevice::ExeGroup));
        // As root the mode does not stop a write: then what is proven is where the file goes.
        const bool readOnly = !QFile(configDir + "/probe").open(QIODevice::WriteOnly);
        QFile::remove(configDir + "/probe");
        if (!readOnly) qInfo("running as root: the read-only directory is writable here");

        auto deployOnce = [&](const QString& ep) {
            const std::string revision = call(ep, "describe")["revision"].get<std::string>();
            zmqrpc::Topology next = threePairs();
            next.set_property("b", "rate", 20);
            return call(
                ep, "deploy",
                {{"topology", json::parse(zmqrpc::save_topology(next))}, {"revision", revision}});
        };
        const std::string deployedRevision = [] {
            zmqrpc::Topology next = threePairs();
            next.set_property("b", "rate", 20);
            return zmqrpc::topology_revision(next);
        }();

        // 1. $STATE_DIRECTORY, a colon list: the first entry.
        const QString state = m_tmp.filePath("var-lib-zmqrpc");
        auto e = env();
        e.insert(QStringLiteral("STATE_DIRECTORY"), state + ":" + state + "/keys");
        {
            Child runner;
            const QString ep = startRunner(runner, file, plainServer(), e);
            QVERIFY2(!ep.isEmpty(), qPrintable(runner.describe()));
            const json answer = deployOnce(ep);
            QVERIFY2(answer.is_object(), qPrintable(runner.describe()));
            QVERIFY2(!answer.contains("warning"), answer.dump().c_str());
            QCOMPARE(QString::fromStdString(answer["deployed_file"].get<std::string>()),
                     state + "/site.json.deployed");
            QVERIFY(QFileInfo::exists(state + "/site.json.deployed"));
            QVERIFY(!QFileInfo::exists(file + ".deployed"));
            QVERIFY(!QFileInfo::exists(state + "/keys"));
            runner.signal(SIGTERM);
            QVERIFY(runner.waitFinished(5000));
        }
        {
            Child again;
            const QString ep = startRunner(again, file, plainServer(), e);
            QVERIFY2(!ep.isEmpty(), qPrintable(again.describe()));
            QVERIFY2(again.err().contains("running " + state + "/site.json.deployed"),
                     qPrintable(again.err()));
            QCOMPARE(call(ep, "status")["revision"].get<std::string>(), deployedRevision);
            again.signal(SIGTERM);
            QVERIFY(again.waitFinished(5000));
        }
        // Without STATE_DIRECTORY the file itself runs (nothing was kept next to it).
        {
            Child plain;
            const QString ep = startRunner(plain, file, plainServer(), env());
            QVERIFY2(!ep.isEmpty(), qPrintable(plain.describe()));
            QCOMPARE(call(ep, "status")["revision"].get<std::string>(),
                     zmqrpc::topology_revision(threePairs()));
            plain.signal(SIGTERM);
            QVERIFY(plain.waitFinished(5000));
        }

        // 2. --state-dir wins over $STATE_DIRECTORY, and is made when missing.
        const QString other = m_tmp.filePath("other-state/deep");
        {
            Child runner;
            const QString ep =
                startRunner(runner, file, plainServer() << "--state-dir" << other, e);
            QVERIFY2(!ep.isEmpty(), qPrintable(runner.describe()));
            QCOMPARE(call(ep, "status")["revision"].get<std::string>(),
                     zmqrpc::topology_revision(threePairs()));
            const json answer = deployOnce(ep);
            QVERIFY2(answer.is_object(), qPrintable(runner.describe()));
            QCOMPARE(QString::fromStdString(answer["deployed_file"].get<std::string>()),
                     other + "/site.json.deployed");
            QVERIFY(!answer.contains("warning"));
            runner.signal(SIGTERM);
            QVERIFY(runner.waitFinished(5000));
        }
        {
            Child again;
            const QString ep =
                startRunner(again, file, plainServer() << "--state-dir" << other, env());
            QVERIFY2(again.err().contains("running " + other + "/site.json.deployed"),
                     qPrintable(again.err()));
            QCOMPARE(call(ep, "status")["revision"].get<std::string>(), deployedRevision);
            again.signal(SIGTERM);
            QVERIFY(again.waitFinished(5000));
        }
        // A state directory that cannot be one: refused at start.
        Run r = run({"run", file, "--quiet", "--state-dir", file}, env());
        QVERIFY2(r.finished && r.code == 3 && r.err.contains("state directory"),
                 qPrintable(r.text));
        QFile::setPermissions(
            configDir, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    }

    // CURVE control: the runner's key pair and the clients it lets in; another key is refused.
    void curveControl() {
        QTemporaryDir keys;
        QVERIFY(keys.isValid());
        const auto e = env(keys.path());
        for (const char* name : {"runner", "operator", "stranger"}) {
            Run r = run({"keygen", name}, e);
            QVERIFY2(r.code == 0, qPrintable(r.text));
        }
        // The authorized keys: the operator's public key.
        QFile pub(keys.filePath("operator.key"));
        QVERIFY(pub.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(pub.readAll());
        const auto m = QRegularExpression(QStringLiteral("public-key = \"([^\"]+)\"")).match(text);
        QVERIFY(m.hasMatch());
        QFile authorized(keys.filePath("control-clients"));
        QVERIFY(authorized.open(QIODevice::WriteOnly));
        authorized.write((m.captured(1) + "\n").toUtf8());
        authorized.close();

        const QString file = writeTopology("curve.json", threePairs());
        Child runner;
        const QString ep = startRunner(runner, file,
                                       {"--control-curve-secret-file", "runner",
                                        "--control-curve-authorized-keys", "control-clients"},
                                       e);
        QVERIFY2(!ep.isEmpty(), qPrintable(runner.describe()));
        QVERIFY2(runner.err().contains("(CURVE)"), qPrintable(runner.err()));
        auto curveCall = [&](const char* secret) {
            return run({"call", "status", "--req", ep, "--timeout", "2", "--curve-server-key",
                        "runner", "--curve-secret-file", secret},
                       e);
        };
        Run ok = curveCall("operator");
        QVERIFY2(ok.code == 0 && ok.out.contains("\"revision\""), qPrintable(ok.text));
        Run refused = curveCall("stranger");
        QVERIFY2(refused.code == 2, qPrintable(refused.text));
        QVERIFY2(refused.err.contains("refused"), qPrintable(refused.text));
        runner.signal(SIGTERM);
        QVERIFY(runner.waitFinished(5000));
    }

    // pyzmqrpc's own ZmqRpcClient (PLAIN) asks for the status.
    void statusFromPyzmqrpc() {
        const QString python = QStringLiteral(ZMQRPC_PYTHON3);
        const QString package = QStringLiteral(ZMQRPC_PYZMQRPC_DIR);
        if (python.isEmpty() || !QFileInfo::exists(package + "/zmqrpc/client/ZmqRpcClient.py"))
            QSKIP("python3 or the pyzmqrpc package is missing");
        const QString script = m_tmp.filePath("status.py");
        QFile f(script);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(
            "import json, os, sys\n"
            "sys.path.insert(0, sys.argv[1])\n"
            "from zmqrpc.client import ZmqRpcClient\n"
            "client = ZmqRpcClient([sys.argv[2]], username='operator',\n"
            "                      password=os.environ['ZMQRPC_TST_CONTROL_PASSWORD'])\n"
            "print('STATUS ' + json.dumps(client.invoke('status', None, 5)), flush=True)\n"
            "os._exit(0)\n");
        f.close();
        const QString file = writeTopology("python.json", threePairs());
        Child runner;
        const QString ep = startRunner(runner, file, plainServer(), env());
        QVERIFY2(!ep.isEmpty(), qPrintable(runner.describe()));
        QProcess py;
        py.setProcessEnvironment(env());
        py.start(python, {script, package, ep});
        QVERIFY(py.waitForFinished(20000));
        const QString out = QString::fromUtf8(py.readAllStandardOutput());
        QVERIFY2(py.exitCode() == 0 && out.startsWith("STATUS "),
                 qPrintable(out + QString::fromUtf8(py.readAllStandardError())));
        const json status = json::parse(out.mid(7).toStdString());
        QCOMPARE(status["version"].get<std::string>(), std::string(zmqrpc::version()));
        QCOMPARE(status["nodes"].size(), std::size_t(6));
        runner.signal(SIGTERM);
        QVERIFY(runner.waitFinished(5000));
    }
};

QTEST_GUILESS_MAIN(TestControl)
#include "tst_control.moc"
