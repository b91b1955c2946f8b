// tst_multihost: the bundled example sampler-to-cloud.json on three hosts, one `zmqrpc run` per
// host started as the systemd unit starts it (packaging/zmqrpc-runner@.service's ExecStart, read
// from the unit itself), each with a CURVE control endpoint, a metrics endpoint and Prometheus:
//   pi     the three samplers (the example has them on "site": the test moves them)
//   site   site-proxy (sub2req), which forwards over the CURVE uplink to
//   cloud  cloud-bridge (rep2pub) and cloud-tap.
// The hosts come from testutil::HostNetwork (tests/support/multihost.hpp):
//   - network namespaces with a veth pair each on a bridge, when the test runs as root and `ip
//     netns` works (the CI does): each runner in its own namespace with its own 10.77.k.x
//     address; losing the pi host is its veth taken down (no RST, no FIN: as a pulled cable);
//   - otherwise, or with ZMQRPC_TEST_NO_NETNS=1 in the environment, loopback addresses
//     127.a.b.2..4; the example's binds (tcp://*:port) are then moved onto each host's own
//     address, and losing the pi host is its runner frozen with SIGSTOP.
// The first line of the log (qInfo) says which mode ran; both must pass.
// Every control call is `zmqrpc call` with the client's CURVE key pair, as an operator would.
#include "child_process.hpp"
#include "multihost.hpp"
#include "testutil.hpp"

#include <httplib.h>

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <array>
#include <csignal>
#include <map>
#include <memory>
#include <optional>

#ifndef ZMQRPC_CLI
#error "ZMQRPC_CLI (path of the zmqrpc executable) must be defined"
#endif
#ifndef ZMQRPC_RUNNER_UNIT
#error "ZMQRPC_RUNNER_UNIT (path of packaging/zmqrpc-runner@.service) must be defined"
#endif

using namespace testutil;

namespace {

constexpr int kPi = 0, kSite = 1, kCloud = 2;
const std::array<QString, 3> kHostNames{QStringLiteral("pi"), QStringLiteral("site"),
                                        QStringLiteral("cloud")};
constexpr int kControlPort = 7100, kMetricsPort = 7101, kPrometheusPort = 9464;
// The example's heartbeat timeout on the SUB links (5 s): a lost host shows within it, plus margin.
constexpr auto kLostWithin = 12000ms;

struct Run {
    bool finished = false;
    int code = -1;
    QString out, err, text;
};

const json* findBy(const json& list, const std::string& value, const char* key = "id") {
    if (!list.is_array()) return nullptr;
    for (const auto& n : list) {
        if (n.is_object() && n.value(key, std::string()) == value) return &n;
    }
    return nullptr;
}

// A node's counter in a snapshot (metrics.messages_in / messages_out), 0 if absent.
std::uint64_t counter(const json& snapshot, const std::string& node, const char* which) {
    const json* n = snapshot.is_object() ? findBy(snapshot["nodes"], node) : nullptr;
    if (!n || !(*n).contains("metrics")) return 0;
    return (*n)["metrics"].value(which, std::uint64_t(0));
}
std::int64_t since(const json& snapshot, const std::string& node) {
    const json* n = snapshot.is_object() ? findBy(snapshot["nodes"], node) : nullptr;
    return n ? (*n).value("since_ms", std::int64_t(-1)) : -1;
}
std::string state(const json& snapshot, const std::string& node) {
    const json* n = snapshot.is_object() ? findBy(snapshot["nodes"], node) : nullptr;
    return n ? (*n).value("state", std::string()) : std::string();
}
const json* linkOf(const json& snapshot, const std::string& link) {
    return snapshot.is_object() ? findBy(snapshot["links"], link) : nullptr;
}

// One Prometheus sample: name, labels, value.
struct Sample {
    std::map<QString, QString> labels;
    double value = 0;
};
// name -> samples, from the text exposition format.
std::multimap<QString, Sample> parsePrometheus(const QString& text, QString* error) {
    static const QRegularExpression line(
        QStringLiteral(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? ([^ ]+)$)"));
    static const QRegularExpression label(
        QStringLiteral(R"(([a-zA-Z_][a-zA-Z0-9_]*)=\"([^\"]*)\")"));
    std::multimap<QString, Sample> samples;
    for (const QString& l : nonEmptyLines(text)) {
        if (l.startsWith(QLatin1Char('#'))) continue;
        const auto m = line.match(l);
        bool number = false;
        Sample s;
        if (m.hasMatch()) s.value = m.captured(4).toDouble(&number);
        if (!m.hasMatch() || !number) {
            if (error) *error = QStringLiteral("not a sample line: ") + l;
            return {};
        }
        for (auto it = label.globalMatch(m.captured(3)); it.hasNext();) {
            const auto lm = it.next();
            s.labels[lm.captured(1)] = lm.captured(2);
        }
        samples.emplace(m.captured(1), std::move(s));
    }
    return samples;
}
// The value of `name` with these labels (a subset), or nullopt.
std::optional<double> sampleValue(const std::multimap<QString, Sample>& samples,
                                  const QString& name, const std::map<QString, QString>& labels) {
    auto [first, last] = samples.equal_range(name);
    for (auto it = first; it != last; ++it) {
        bool all = true;
        for (const auto& [k, v] : labels) {
            auto found = it->second.labels.find(k);
            if (found == it->second.labels.end() || found->second != v) all = false;
        }
        if (all) return it->second.value;
    }
    return std::nullopt;
}

}  // namespace

class TestMultiHost : public QObject {
    Q_OBJECT

    QTemporaryDir m_tmp;
    QString m_keys;
    std::unique_ptr<HostNetwork> m_net;
    json m_document;  // what every runner runs now
    // After m_net: destroyed (SIGKILL) before the network goes.
    mutable std::array<Child, 3> m_runners;
    std::array<QString, 3> m_files;

    QProcessEnvironment env() const {
        auto e = QProcessEnvironment::systemEnvironment();
        e.insert(QStringLiteral("ZMQRPC_CREDENTIALS"), m_tmp.filePath("no-credentials.json"));
        e.insert(QStringLiteral("ZMQRPC_KEYS"), m_keys);
        return e;
    }

    Run run(const QStringList& args, int timeoutMs = 10000) const {
        Child child;
        child.start(args, env());
        Run r;
        r.finished = child.waitFinished(timeoutMs);
        child.kill();
        r.code = child.exitCode();
        r.out = child.out();
        r.err = child.err();
        r.text = child.describe();
        return r;
    }

    QString addr(int host) const { return m_net->address(host); }
    QString controlEndpoint(int host) const {
        return QStringLiteral("tcp://%1:%2").arg(addr(host)).arg(kControlPort);
    }

    // `zmqrpc call FUNCTION PARAMS` on a host's control endpoint with the key pair `secret`; the
    // parsed answer, or null (then `out` says why).
    json call(int host, const QString& function, const json& params = json::object(),
              Run* out = nullptr, const QString& secret = QStringLiteral("operator"),
              int timeoutSeconds = 5) const {
        const Run r = run(
            {"call", function, QString::fromStdString(params.dump()), "--req",
             controlEndpoint(host), "--timeout", QString::number(timeoutSeconds),
             "--curve-server-key", kHostNames[host] + "-control", "--curve-secret-file", secret},
            timeoutSeconds * 1000 + 5000);
        if (out) *out = r;
        drainRunners();
        if (!r.finished || r.code != 0) return nullptr;
        return json::parse(r.out.toStdString(), nullptr, false);
    }
    json snapshot(int host) const { return call(host, QStringLiteral("snapshot")); }

    // Keeps the runners' pipes from filling up.
    void drainRunners() const {
        for (auto& r : m_runners)
            r.drain();
    }

    // The ids of the nodes on `host` in `document`.
    static std::vector<std::string> nodesOn(const json& document, int host) {
        std::vector<std::string> ids;
        for (const auto& n : document["nodes"]) {
            if (n.value("host", std::string()) == kHostNames[host].toStdString())
                ids.push_back(n["id"].get<std::string>());
        }
        return ids;
    }

    // The example, rewritten: pi, site and cloud at their HostNetwork addresses, the samplers on
    // pi; in Loopback mode every tcp://*: bind on its host's own address.
    json exampleOnThreeHosts() const {
        QFile f(QStringLiteral(ZMQRPC_EXAMPLES_DIR "/sampler-to-cloud.json"));
        if (!f.open(QIODevice::ReadOnly)) return nullptr;
        json doc = json::parse(f.readAll().toStdString(), nullptr, false);
        if (!doc.is_object()) return nullptr;
        doc["hosts"] = json::array();
        for (int i = 0; i < 3; ++i)
            doc["hosts"].push_back(
                {{"name", kHostNames[i].toStdString()}, {"address", addr(i).toStdString()}});
        for (auto& n : doc["nodes"]) {
            if (n["kind"] == "sampler") n["host"] = "pi";
            bindOnHost(n);
        }
        return doc;
    }
    // Loopback mode: a node's tcp://*:PORT binds on its host's address instead.
    void bindOnHost(json& node) const {
        if (m_net->mode() != HostNetwork::Mode::Loopback || !node.contains("properties")) return;
        int host = -1;
        for (int i = 0; i < 3; ++i) {
            if (node.value("host", std::string()) == kHostNames[i].toStdString()) host = i;
        }
        if (host < 0) return;
        for (auto it = node["properties"].begin(); it != node["properties"].end(); ++it) {
            if (!it.value().is_string()) continue;
            const std::string text = it.value().get<std::string>();
            if (it.key().find("bind") != std::string::npos && text.rfind("tcp://*:", 0) == 0)
                it.value() = "tcp://" + addr(host).toStdString() + ":" + text.substr(8);
        }
    }

    // The unit's ExecStart, for `file` and `host`, with ZMQRPC_ARGS = `zmqrpcArgs` (systemd
    // splits an unbraced $VAR on whitespace); the arguments after the program, or empty with
    // `error` set.
    static QStringList unitCommand(const QString& file, const QString& host,
                                   const QStringList& zmqrpcArgs, QString* error) {
        QFile unit(QStringLiteral(ZMQRPC_RUNNER_UNIT));
        if (!unit.open(QIODevice::ReadOnly)) {
            *error = QStringLiteral("cannot read ") + unit.fileName();
            return {};
        }
        QString exec;
        for (const QString& line : nonEmptyLines(QString::fromUtf8(unit.readAll()))) {
            if (line.startsWith(QLatin1String("ExecStart="))) exec = line.mid(10);
        }
        const QStringList words = exec.split(QLatin1Char(' '), Qt::SkipEmptyParts);
        if (words.size() < 2 || words.front() != QLatin1String("/usr/bin/zmqrpc")) {
            *error = QStringLiteral("unexpected ExecStart: ") + exec;
            return {};
        }
        QStringList args;
        for (const QString& w : words.mid(1)) {
            if (w == QLatin1String("/etc/zmqrpc/%i.json")) {
                args << file;
            } else if (w == QLatin1String("${ZMQRPC_HOST}")) {
                args << host;
            } else if (w == QLatin1String("$ZMQRPC_ARGS")) {
                args << zmqrpcArgs;
            } else if (w.contains(QLatin1Char('$')) || w.contains(QLatin1Char('%'))) {
                *error =
                    QStringLiteral("ExecStart has a substitution the test does not know: ") + w;
                return {};
            } else {
                args << w;
            }
        }
        return args;
    }

    bool writeJson(const QString& path, const json& document) const {
        QFile f(path);
        return f.open(QIODevice::WriteOnly) &&
               f.write(QByteArray::fromStdString(document.dump(2))) > 0;
    }

    // Waits until every node of every host runs and `ready` holds for each host's snapshot.
    template <class Ready>
    bool waitSnapshots(std::array<json, 3>& snapshots, Ready&& ready,
                       std::chrono::milliseconds timeout = 10000ms) const {
        return waitUntil(
            [&] {
                for (int i = 0; i < 3; ++i) {
                    snapshots[i] = snapshot(i);
                    if (!snapshots[i].is_object()) return false;
                    for (const auto& id : nodesOn(m_document, i)) {
                        if (state(snapshots[i], id) != "running") return false;
                    }
                }
                return ready(snapshots);
            },
            timeout, 200ms);
    }

    // Every host's revision (from describe), the same on all three.
    std::string revision() const {
        std::string revision;
        for (int i = 0; i < 3; ++i) {
            const json d = call(i, QStringLiteral("describe"));
            if (!d.is_object()) return {};
            const std::string r = d["revision"].get<std::string>();
            if (!revision.empty() && r != revision) return {};
            revision = r;
        }
        return revision;
    }

    // Scrapes http://ADDR:9464/metrics of a host; empty on failure (`error` says why).
    std::multimap<QString, Sample> scrape(int host, QString* error) const {
        httplib::Client client(addr(host).toStdString(), kPrometheusPort);
        client.set_connection_timeout(3, 0);
        client.set_read_timeout(5, 0);
        auto result = client.Get("/metrics");
        if (!result) {
            *error = QStringLiteral("GET http://%1:%2/metrics: %3")
                         .arg(addr(host))
                         .arg(kPrometheusPort)
                         .arg(QString::fromStdString(httplib::to_string(result.error())));
            return {};
        }
        if (result->status != 200) {
            *error = QStringLiteral("GET /metrics: status %1").arg(result->status);
            return {};
        }
        return parsePrometheus(QString::fromStdString(result->body), error);
    }

    // Freezes (or cuts) the pi host and undoes it on every way out of a test function.
    struct LostHost {
        TestMultiHost& test;
        int host;
        bool cut = false, stopped = false;
        QString how;
        bool lose() {
            QString why;
            if (test.m_net->cut(host, &why)) {
                cut = true;
                how = QStringLiteral("network cut: ") + why;
                return true;
            }
            stopped = test.m_runners[host].signal(SIGSTOP);
            how = QStringLiteral("runner frozen with SIGSTOP (%1)").arg(why);
            return stopped;
        }
        bool bringBack() {
            bool ok = true;
            if (cut) ok = test.m_net->restore(host);
            if (stopped) ok = test.m_runners[host].signal(SIGCONT) && ok;
            cut = stopped = false;
            return ok;
        }
        ~LostHost() { bringBack(); }
    };

  private slots:
    void initTestCase() {
        QVERIFY(m_tmp.isValid());
        m_net = std::make_unique<HostNetwork>(3);
        QVERIFY2(m_net->ok(), qPrintable(m_net->error()));
        qInfo("tst_multihost runs on %s", qPrintable(m_net->modeText()));

        m_keys = m_tmp.filePath("keys");
        QVERIFY(QDir().mkpath(m_keys));
        for (const QString& name :
             {QStringLiteral("sampler-to-cloud-bridge"), QStringLiteral("pi-control"),
              QStringLiteral("site-control"), QStringLiteral("cloud-control"),
              QStringLiteral("operator"), QStringLiteral("stranger")}) {
            const Run r = run({"keygen", name});
            QVERIFY2(r.code == 0, qPrintable(r.text));
        }
        // The runners let in the operator's public key only.
        QFile pub(QDir(m_keys).filePath("operator.key"));
        QVERIFY(pub.open(QIODevice::ReadOnly));
        const auto key = QRegularExpression(QStringLiteral("public-key = \"([^\"]+)\""))
                             .match(QString::fromUtf8(pub.readAll()));
        QVERIFY(key.hasMatch());
        QFile authorized(QDir(m_keys).filePath("operators"));
        QVERIFY(authorized.open(QIODevice::WriteOnly));
        authorized.write(("# the operators' public keys\n" + key.captured(1) + "\n").toUtf8());
        authorized.close();

        m_document = exampleOnThreeHosts();
        QVERIFY(m_document.is_object());
        const auto problems = zmqrpc::validate(zmqrpc::load_topology(m_document.dump()));
        for (const auto& p : problems)
            QVERIFY2(p.severity != zmqrpc::Severity::Error, p.str().c_str());

        // Each host has its own directory, as /etc/zmqrpc on its own machine: FILE.deployed of
        // one runner is not another's.
        for (int i = 0; i < 3; ++i) {
            const QString dir = m_tmp.filePath("host-" + kHostNames[i]);
            QVERIFY(QDir().mkpath(dir));
            m_files[i] = dir + "/sampler-to-cloud.json";
            QVERIFY(writeJson(m_files[i], m_document));
            const QString a = addr(i);
            QString error;
            const QStringList args =
                unitCommand(m_files[i], kHostNames[i],
                            {"--control", QStringLiteral("tcp://%1:%2").arg(a).arg(kControlPort),
                             "--control-curve-secret-file", kHostNames[i] + "-control",
                             "--control-curve-authorized-keys", "operators", "--metrics",
                             QStringLiteral("tcp://%1:%2").arg(a).arg(kMetricsPort), "--prometheus",
                             QStringLiteral("%1:%2").arg(a).arg(kPrometheusPort)},
                            &error);
            QVERIFY2(!args.isEmpty(), qPrintable(error));
            m_runners[i].startWith(m_net->execPrefix(i), args, env());
        }
        for (int i = 0; i < 3; ++i) {
            const QString ready = QStringLiteral("control on %1 (CURVE)").arg(controlEndpoint(i));
            m_runners[i].waitFor([&] { return m_runners[i].err().contains(ready); }, 10000);
            QVERIFY2(m_runners[i].err().contains(ready), qPrintable(m_runners[i].describe()));
        }
    }

    void cleanupTestCase() {
        for (auto& r : m_runners)
            r.signal(SIGCONT);
        if (!m_net) return;
        for (int i = 0; i < 3; ++i) {
            if (m_net->isCut(i)) m_net->restore(i);
        }
        for (auto& r : m_runners)
            r.signal(SIGTERM);
        for (int i = 0; i < 3; ++i) {
            QVERIFY2(m_runners[i].waitFinished(10000), qPrintable(m_runners[i].describe()));
            QVERIFY2(m_runners[i].cleanExit(), qPrintable(m_runners[i].describe()));
            QVERIFY2(m_runners[i].out().contains("stopped "), qPrintable(m_runners[i].describe()));
        }
        const bool namespaces = m_net->mode() == HostNetwork::Mode::Namespaces;
        const QString ns = m_net->namespaceName(0);
        m_net.reset();
        if (namespaces) {
            // Everything it made is gone.
            QProcess p;
            p.start(QStringLiteral("ip"), {"netns", "list"});
            QVERIFY(p.waitForFinished(5000));
            QVERIFY2(!QString::fromUtf8(p.readAllStandardOutput()).contains(ns),
                     qPrintable(ns + " left behind"));
        }
    }

    // status on each host: its nodes running; counters rising between two snapshots on every
    // host, so samples go from pi through site to the tap in the cloud.
    void everyRunnerRunsItsPart() {
        std::string revision;
        for (int i = 0; i < 3; ++i) {
            Run r;
            json status;
            QVERIFY2(waitUntil(
                         [&] {
                             status = call(i, QStringLiteral("status"), json::object(), &r);
                             if (!status.is_object()) return false;
                             for (const auto& id : nodesOn(m_document, i)) {
                                 const json* n = findBy(status["nodes"], id, "node");
                                 if (!n || (*n)["state"] != "running") return false;
                             }
                             return true;
                         },
                         10000ms, 200ms),
                     qPrintable(r.text + "\nstatus: " + QString::fromStdString(status.dump()) +
                                "\n" + m_runners[i].describe()));
            QCOMPARE(status["host"].get<std::string>(), kHostNames[i].toStdString());
            QCOMPARE(status["version"].get<std::string>(), std::string(zmqrpc::version()));
            if (i > 0) QCOMPARE(status["revision"].get<std::string>(), revision);
            revision = status["revision"].get<std::string>();
            // The nodes of the other hosts are not run here.
            for (const auto& n : m_document["nodes"]) {
                if (n["host"] == kHostNames[i].toStdString()) continue;
                const json* other = findBy(status["nodes"], n["id"].get<std::string>(), "node");
                QVERIFY(other);
                QVERIFY2((*other)["state"] != "running", n["id"].get<std::string>().c_str());
            }
        }

        std::array<json, 3> first, second;
        QVERIFY(waitSnapshots(first, [](const std::array<json, 3>& s) {
            return counter(s[kCloud], "cloud-tap", "messages_in") > 0;
        }));
        QVERIFY2(waitSnapshots(second,
                               [&](const std::array<json, 3>& s) {
                                   for (const char* id : {"sampler-1", "sampler-2", "sampler-3"}) {
                                       if (counter(s[kPi], id, "messages_out") <=
                                           counter(first[kPi], id, "messages_out"))
                                           return false;
                                   }
                                   for (const char* l : {"sampler-1-to-proxy", "sampler-2-to-proxy",
                                                         "sampler-3-to-proxy"}) {
                                       const json* link = linkOf(s[kSite], l);
                                       const json* before = linkOf(first[kSite], l);
                                       if (!link || !before || (*link)["heartbeat"] != "alive" ||
                                           (*link)["messages"] <= (*before)["messages"])
                                           return false;
                                   }
                                   const json* uplink = linkOf(s[kSite], "uplink");
                                   const json* tap = linkOf(s[kCloud], "bridge-to-tap");
                                   return uplink && (*uplink)["connection"] == "connected" && tap &&
                                          (*tap)["heartbeat"] == "alive" &&
                                          counter(s[kSite], "site-proxy", "messages_out") >
                                              counter(first[kSite], "site-proxy", "messages_out") &&
                                          counter(s[kCloud], "cloud-bridge", "messages_in") >
                                              counter(first[kCloud], "cloud-bridge",
                                                      "messages_in") &&
                                          counter(s[kCloud], "cloud-tap", "messages_in") >
                                              counter(first[kCloud], "cloud-tap", "messages_in");
                               }),
                 qPrintable(QString::fromStdString(second[kSite].dump())));
        // The site connects to pi's address, the cloud bridge is reached at the cloud's.
        QCOMPARE((*linkOf(second[kSite], "sampler-1-to-proxy"))["endpoint"].get<std::string>(),
                 QStringLiteral("tcp://%1:5601").arg(addr(kPi)).toStdString());
        QCOMPARE((*linkOf(second[kSite], "uplink"))["endpoint"].get<std::string>(),
                 QStringLiteral("tcp://%1:5610").arg(addr(kCloud)).toStdString());

        // --metrics publishes snapshots too, as the unit's ZMQRPC_ARGS ask (events as well: read
        // until a snapshot of the site has come).
        Child snoop;
        snoop.start(
            {"snoop", "--sub", QStringLiteral("tcp://%1:%2").arg(addr(kSite)).arg(kMetricsPort),
             "--no-heartbeats"},
            env());
        snoop.waitFor(
            [&] {
                return snoop.out().contains(R"("type": "snapshot")") &&
                       snoop.out().contains(R"("id": "site-proxy")");
            },
            8000);
        QVERIFY2(snoop.out().contains(R"("type": "snapshot")") &&
                     snoop.out().contains(R"("id": "site-proxy")"),
                 qPrintable(snoop.describe()));
    }

    // Every runner's /metrics, scraped over HTTP: samples with host and node labels, rising.
    void prometheusOnEveryRunner() {
        std::array<std::multimap<QString, Sample>, 3> first;
        for (int i = 0; i < 3; ++i) {
            QString error;
            first[i] = scrape(i, &error);
            QVERIFY2(!first[i].empty(), qPrintable(error));
        }
        auto key = [](int host, const std::string& node) {
            return std::map<QString, QString>{{"host", kHostNames[host]},
                                              {"node", QString::fromStdString(node)}};
        };
        // What each node of a host counts: samplers and proxies send, the tap receives.
        auto family = [](const std::string& node) {
            return QString::fromLatin1(node == "cloud-tap" ? "zmqrpc_node_messages_in_total"
                                                           : "zmqrpc_node_messages_out_total");
        };
        for (int i = 0; i < 3; ++i) {
            for (const auto& id : nodesOn(m_document, i)) {
                QVERIFY2(sampleValue(first[i], family(id), key(i, id)), id.c_str());
                const auto running = sampleValue(first[i], QStringLiteral("zmqrpc_node_state"),
                                                 {{"host", kHostNames[i]},
                                                  {"node", QString::fromStdString(id)},
                                                  {"state", "running"}});
                QVERIFY2(running && *running == 1, id.c_str());
            }
        }
        QVERIFY(sampleValue(first[kSite], QStringLiteral("zmqrpc_link_messages_total"),
                            {{"link", "sampler-2-to-proxy"}}));
        std::array<std::multimap<QString, Sample>, 3> later;
        QString error;
        QVERIFY2(waitUntil(
                     [&] {
                         for (int i = 0; i < 3; ++i) {
                             later[i] = scrape(i, &error);
                             for (const auto& id : nodesOn(m_document, i)) {
                                 const auto now = sampleValue(later[i], family(id), key(i, id));
                                 const auto before = sampleValue(first[i], family(id), key(i, id));
                                 if (!now || !before || *now <= *before) return false;
                             }
                         }
                         const std::map<QString, QString> link{{"link", "sampler-2-to-proxy"}};
                         const auto now = sampleValue(
                             later[kSite], QStringLiteral("zmqrpc_link_messages_total"), link);
                         const auto then = sampleValue(
                             first[kSite], QStringLiteral("zmqrpc_link_messages_total"), link);
                         return now && then && *now > *then;
                     },
                     10000ms, 300ms),
                 qPrintable(error));
    }

    // A deploy with sampler-2 edited (rate) and a tap added on pi, fed by sampler-2: on pi
    // exactly those two restart, on site and cloud nothing does. Then sampler-4 added on pi with
    // a link to the proxy: the proxy's links change, so on site it restarts too, and only it.
    // The untouched nodes keep their `since` and their counters run on.
    void deployRestartsOnlyChanged() {
        std::array<json, 3> before;
        QVERIFY(waitSnapshots(before, [](const std::array<json, 3>& s) {
            return counter(s[kCloud], "cloud-tap", "messages_in") > 0;
        }));
        const std::string revision0 = revision();
        QVERIFY(!revision0.empty());

        json next = m_document;
        for (auto& n : next["nodes"]) {
            if (n["id"] == "sampler-2") n["properties"]["rate"] = 10;
        }
        next["nodes"].push_back({{"id", "pi-tap"},
                                 {"kind", "tap"},
                                 {"name", "Pi tap"},
                                 {"host", "pi"},
                                 {"position", {0, 300}}});
        next["links"].push_back({{"id", "sampler-2-to-pi-tap"},
                                 {"from", "sampler-2.pub"},
                                 {"to", "pi-tap.sub"},
                                 {"heartbeat_timeout", 5}});
        using Results = std::map<std::string, std::string>;
        const std::array<Results, 3> expected{
            Results{{"sampler-1", "unchanged"},
                    {"sampler-2", "applied"},
                    {"sampler-3", "unchanged"},
                    {"pi-tap", "applied"}},
            Results{{"site-proxy", "unchanged"}},
            Results{{"cloud-bridge", "unchanged"}, {"cloud-tap", "unchanged"}}};
        std::string revision1;
        for (int i = 0; i < 3; ++i) {
            Run r;
            const json answer = call(i, QStringLiteral("deploy"),
                                     {{"topology", next}, {"revision", revision0}}, &r);
            QVERIFY2(answer.is_object(), qPrintable(r.text));
            Results results;
            for (const auto& n : answer["nodes"])
                results[n["node"].get<std::string>()] = n["result"].get<std::string>();
            QVERIFY2(results == expected[i], answer.dump().c_str());
            QCOMPARE(answer["previous_revision"].get<std::string>(), revision0);
            if (i > 0) QCOMPARE(answer["revision"].get<std::string>(), revision1);
            revision1 = answer["revision"].get<std::string>();
            QCOMPARE(QString::fromStdString(answer["deployed_file"].get<std::string>()),
                     m_files[i] + ".deployed");
            QVERIFY(QFileInfo::exists(m_files[i] + ".deployed"));
        }
        QVERIFY(revision1 != revision0);
        m_document = next;

        std::array<json, 3> after;
        const std::array<std::vector<std::string>, 3> untouched{
            std::vector<std::string>{"sampler-1", "sampler-3"},
            std::vector<std::string>{"site-proxy"},
            std::vector<std::string>{"cloud-bridge", "cloud-tap"}};
        auto runsOn = [&](const std::array<json, 3>& s, const std::array<json, 3>& then) {
            for (int i = 0; i < 3; ++i) {
                for (const auto& id : untouched[i]) {
                    const char* c = id == "cloud-tap" ? "messages_in" : "messages_out";
                    if (counter(s[i], id, c) <= counter(then[i], id, c)) return false;
                }
            }
            return true;
        };
        QVERIFY2(waitSnapshots(
                     after,
                     [&](const std::array<json, 3>& s) {
                         const json* l = linkOf(s[kSite], "sampler-2-to-proxy");
                         return runsOn(s, before) && counter(s[kPi], "pi-tap", "messages_in") > 0 &&
                                l && (*l)["heartbeat"] == "alive" &&
                                (*l)["messages"] >
                                    (*linkOf(before[kSite], "sampler-2-to-proxy"))["messages"];
                     }),
                 qPrintable(QString::fromStdString(after[kPi].dump())));
        for (int i = 0; i < 3; ++i) {
            for (const auto& id : untouched[i])
                QVERIFY2(since(after[i], id) == since(before[i], id), id.c_str());
        }
        QVERIFY(since(after[kPi], "sampler-2") > since(before[kPi], "sampler-2"));
        const json described = call(kPi, QStringLiteral("describe"));
        QCOMPARE(described["revision"].get<std::string>(), revision1);
        QCOMPARE((*findBy(described["topology"]["nodes"], "sampler-2"))["properties"]["rate"],
                 json(10));

        // sampler-4 on pi, linked to the proxy on site.
        json more = m_document;
        json sampler4 = *findBy(more["nodes"], "sampler-1");
        sampler4["id"] = "sampler-4";
        sampler4["name"] = "Sampler 4";
        sampler4["position"] = {0, 450};
        sampler4["properties"]["bind"] = "tcp://*:5604";
        bindOnHost(sampler4);
        more["nodes"].push_back(sampler4);
        more["links"].push_back({{"id", "sampler-4-to-proxy"},
                                 {"from", "sampler-4.pub"},
                                 {"to", "site-proxy.sub"},
                                 {"heartbeat_timeout", 5}});
        const std::array<Results, 3> expected2{
            Results{{"sampler-1", "unchanged"},
                    {"sampler-2", "unchanged"},
                    {"sampler-3", "unchanged"},
                    {"pi-tap", "unchanged"},
                    {"sampler-4", "applied"}},
            Results{{"site-proxy", "applied"}},
            Results{{"cloud-bridge", "unchanged"}, {"cloud-tap", "unchanged"}}};
        std::array<json, 3> before2 = after;
        for (int i = 0; i < 3; ++i) {
            Run r;
            const json answer = call(i, QStringLiteral("deploy"),
                                     {{"topology", more}, {"revision", revision1}}, &r);
            QVERIFY2(answer.is_object(), qPrintable(r.text));
            Results results;
            for (const auto& n : answer["nodes"])
                results[n["node"].get<std::string>()] = n["result"].get<std::string>();
            QVERIFY2(results == expected2[i], answer.dump().c_str());
            if (i == kSite) {
                QCOMPARE((*findBy(answer["nodes"], "site-proxy", "node"))["reason"],
                         json("restarted: changed"));
            }
        }
        m_document = more;
        const std::array<std::vector<std::string>, 3> untouched2{
            std::vector<std::string>{"sampler-1", "sampler-2", "sampler-3"},
            std::vector<std::string>{}, std::vector<std::string>{"cloud-bridge", "cloud-tap"}};
        QVERIFY2(waitSnapshots(after,
                               [&](const std::array<json, 3>& s) {
                                   const json* l = linkOf(s[kSite], "sampler-4-to-proxy");
                                   return l && (*l)["heartbeat"] == "alive" &&
                                          (*l)["messages"] > 0 &&
                                          counter(s[kCloud], "cloud-tap", "messages_in") >
                                              counter(before2[kCloud], "cloud-tap", "messages_in");
                               }),
                 qPrintable(QString::fromStdString(after[kSite].dump())));
        for (int i = 0; i < 3; ++i) {
            for (const auto& id : untouched2[i]) {
                QVERIFY2(since(after[i], id) == since(before2[i], id), id.c_str());
                QVERIFY2(counter(after[i], id, "messages_out") >=
                             counter(before2[i], id, "messages_out"),
                         id.c_str());
            }
        }
        QVERIFY(since(after[kSite], "site-proxy") > since(before2[kSite], "site-proxy"));
    }

    // The pi host lost (its network cut, or in Loopback mode its runner frozen): within the
    // heartbeat timeout and a margin, the site runner shows every SUB link from pi dead, and
    // pi's control does not answer; brought back, the links are alive again and counting.
    void cutHostIsSeen() {
        std::array<json, 3> before;
        QVERIFY(waitSnapshots(before, [](const std::array<json, 3>&) { return true; }));
        std::vector<std::string> fromPi;
        for (const auto& l : m_document["links"]) {
            const std::string from = l["from"].get<std::string>();
            const std::string node = from.substr(0, from.find('.'));
            if (findBy(m_document["nodes"], node) &&
                (*findBy(m_document["nodes"], node))["host"] == "pi" &&
                l["to"].get<std::string>().rfind("site-proxy.", 0) == 0)
                fromPi.push_back(l["id"].get<std::string>());
        }
        QVERIFY(fromPi.size() >= 3);

        LostHost lost{*this, kPi, false, false, {}};
        QElapsedTimer timer;
        timer.start();
        QVERIFY2(lost.lose(), qPrintable(lost.how));
        qInfo("pi lost: %s", qPrintable(lost.how));
        json site;
        QVERIFY2(waitUntil(
                     [&] {
                         site = snapshot(kSite);
                         for (const auto& id : fromPi) {
                             const json* l = linkOf(site, id);
                             if (!l || (*l)["heartbeat"] != "dead") return false;
                         }
                         return true;
                     },
                     kLostWithin, 250ms),
                 qPrintable(QString::fromStdString(site.dump())));
        qInfo("site shows the %d links from pi dead after %lld ms", int(fromPi.size()),
              static_cast<long long>(timer.elapsed()));
        // The site's proxy itself runs on; only its links from pi are dead.
        QCOMPARE(state(site, "site-proxy"), std::string("running"));
        const json cloud = snapshot(kCloud);
        QVERIFY(cloud.is_object());
        Run r;
        const json unanswered =
            call(kPi, QStringLiteral("status"), json::object(), &r, QStringLiteral("operator"), 2);
        QVERIFY2(unanswered.is_null() && r.finished && r.code == 2, qPrintable(r.text));

        QVERIFY(lost.bringBack());
        timer.restart();
        std::array<json, 3> back;
        QVERIFY2(waitSnapshots(
                     back,
                     [&](const std::array<json, 3>& s) {
                         for (const auto& id : fromPi) {
                             const json* l = linkOf(s[kSite], id);
                             const json* then = linkOf(site, id);
                             if (!l || !then || (*l)["heartbeat"] != "alive" ||
                                 (*l)["messages"] <= (*then)["messages"])
                                 return false;
                         }
                         return counter(s[kCloud], "cloud-tap", "messages_in") >
                                counter(cloud, "cloud-tap", "messages_in");
                     },
                     30000ms),
                 qPrintable(QString::fromStdString(back[kSite].dump())));
        qInfo("links alive and counting again %lld ms after pi came back",
              static_cast<long long>(timer.elapsed()));
        // pi's nodes ran on through it all.
        for (const auto& id : nodesOn(m_document, kPi))
            QVERIFY2(since(back[kPi], id) == since(before[kPi], id), id.c_str());
    }

    // A client with another key pair is refused, says so, and changes nothing.
    void wrongControlCredentialRefused() {
        std::array<json, 3> before;
        QVERIFY(waitSnapshots(before, [](const std::array<json, 3>&) { return true; }));
        for (int i = 0; i < 3; ++i) {
            Run r;
            const json answer =
                call(i, QStringLiteral("stop"), json::object(), &r, QStringLiteral("stranger"), 3);
            QVERIFY2(answer.is_null() && r.code == 2, qPrintable(r.text));
            QVERIFY2(r.err.contains("credentials refused"), qPrintable(r.text));
        }
        std::array<json, 3> after;
        QVERIFY(waitSnapshots(after, [](const std::array<json, 3>&) { return true; }));
        for (int i = 0; i < 3; ++i) {
            for (const auto& id : nodesOn(m_document, i))
                QVERIFY2(since(after[i], id) == since(before[i], id), id.c_str());
        }
    }

    // A document with errors is refused by every runner with its problems; nothing changes.
    void invalidDeployRefused() {
        std::array<json, 3> before;
        QVERIFY(waitSnapshots(before, [](const std::array<json, 3>&) { return true; }));
        const std::string current = revision();
        QVERIFY(!current.empty());
        json missingPort = m_document;
        missingPort["links"].push_back(
            {{"id", "bad-link"}, {"from", "sampler-1.nosuch"}, {"to", "site-proxy.sub"}});
        json twoOnOnePort = m_document;
        for (auto& n : twoOnOnePort["nodes"]) {
            if (n["id"] == "sampler-3")
                n["properties"]["bind"] =
                    (*findBy(m_document["nodes"], "sampler-1"))["properties"]["bind"];
        }
        for (int i = 0; i < 3; ++i) {
            Run r;
            QVERIFY(call(i, QStringLiteral("deploy"),
                         {{"topology", missingPort}, {"revision", current}}, &r)
                        .is_null());
            QVERIFY2(r.code == 1 && r.err.contains("nothing changed") && r.err.contains("nosuch"),
                     qPrintable(r.text));
            QVERIFY(call(i, QStringLiteral("deploy"),
                         {{"topology", twoOnOnePort}, {"revision", current}}, &r)
                        .is_null());
            QVERIFY2(r.code == 1 && r.err.contains("the topology has errors, nothing changed") &&
                         r.err.contains("sampler-3") && r.err.contains("as does node 'sampler-1'"),
                     qPrintable(r.text));
        }
        QCOMPARE(revision(), current);
        std::array<json, 3> after;
        QVERIFY(waitSnapshots(after, [&](const std::array<json, 3>& s) {
            return counter(s[kCloud], "cloud-tap", "messages_in") >
                   counter(before[kCloud], "cloud-tap", "messages_in");
        }));
        for (int i = 0; i < 3; ++i) {
            for (const auto& id : nodesOn(m_document, i))
                QVERIFY2(since(after[i], id) == since(before[i], id), id.c_str());
            // What a restart runs is still the last good deploy.
            QCOMPARE(zmqrpc::load_topology_file((m_files[i] + ".deployed").toStdString()),
                     zmqrpc::load_topology(m_document.dump()));
        }
    }
};

QTEST_GUILESS_MAIN(TestMultiHost)
#include "tst_multihost.moc"
