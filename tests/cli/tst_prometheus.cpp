// `zmqrpc run --prometheus`: a runner of the rpc-fanout example on loopback, scraped over a plain
// TCP socket. Every line of the exposition is parsed (HELP, TYPE, samples, labels), a few values
// are checked, other paths answer 404, promtool (when installed) accepts the scrape, and the
// exporter's text and escaping are checked directly on a made-up snapshot.
#include "child_process.hpp"
#include "prometheus.hpp"
#include "testutil.hpp"

#include <QElapsedTimer>
#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <map>
#include <optional>

using testutil::Child;

namespace {

struct HttpReply {
    int status = 0;
    QByteArray contentType;
    QByteArray body;
    QString error;  // why there is no reply
};

// One GET over a fresh connection, every wait bounded (2 s in all).
HttpReply httpGet(quint16 port, const QByteArray& path) {
    HttpReply reply;
    QTcpSocket socket;
    socket.connectToHost(QStringLiteral("127.0.0.1"), port);
    if (!socket.waitForConnected(2000)) {
        reply.error = QStringLiteral("connect: ") + socket.errorString();
        return reply;
    }
    socket.write("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    QByteArray data;
    QElapsedTimer timer;
    timer.start();
    while (socket.state() == QAbstractSocket::ConnectedState && timer.elapsed() < 2000) {
        socket.waitForReadyRead(100);
        data += socket.readAll();
    }
    data += socket.readAll();
    const auto end = data.indexOf("\r\n\r\n");
    if (end < 0) {
        reply.error = QStringLiteral("no complete reply: ") + QString::fromUtf8(data);
        return reply;
    }
    const auto head = data.left(end).split('\n');
    const auto status = head.value(0).split(' ');
    reply.status = status.value(1).toInt();
    for (const auto& line : head) {
        if (line.toLower().startsWith("content-type:")) reply.contentType = line.mid(13).trimmed();
    }
    reply.body = data.mid(end + 4);
    return reply;
}

// Checks every line of an exposition; returns the problems (empty: valid) and fills `samples`
// with "name{labels}" -> value, `types` with family -> type.
QStringList parseExposition(const QString& text, std::map<QString, double>* samples,
                            std::map<QString, QString>* types) {
    static const QRegularExpression help(
        QStringLiteral(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (?:[^\\]|\\[\\n])*$)"));
    static const QRegularExpression type(QStringLiteral(
        R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)"));
    static const QRegularExpression sample(QStringLiteral(
        R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")"
        R"((?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? )"
        R"(([-+]?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|NaN|[-+]Inf)(?: -?[0-9]+)?$)"));
    QStringList problems;
    if (!text.endsWith(QLatin1Char('\n'))) problems << QStringLiteral("no final newline");
    QString family;        // of the last TYPE line
    QSet<QString> done;    // families whose samples ended
    QSet<QString> helped;  // families with a HELP line
    for (const auto& line : text.split(QLatin1Char('\n'), Qt::SkipEmptyParts)) {
        if (auto m = help.match(line); m.hasMatch()) {
            helped.insert(m.captured(1));
            continue;
        }
        if (auto m = type.match(line); m.hasMatch()) {
            if (types->count(m.captured(1)))
                problems << QStringLiteral("second TYPE line: ") + line;
            if (!family.isEmpty()) done.insert(family);
            family = m.captured(1);
            (*types)[family] = m.captured(2);
            if (!helped.contains(family)) problems << QStringLiteral("TYPE before HELP: ") + line;
            if (m.captured(2) == QLatin1String("counter") &&
                !family.endsWith(QLatin1String("_total")))
                problems << QStringLiteral("counter without _total: ") + line;
            continue;
        }
        auto m = sample.match(line);
        if (!m.hasMatch()) {
            problems << QStringLiteral("not a valid line: ") + line;
            continue;
        }
        if (m.captured(1) != family || done.contains(m.captured(1)))
            problems << QStringLiteral("sample outside its family's block: ") + line;
        const QString key = m.captured(1) + m.captured(2);
        if (samples->count(key)) problems << QStringLiteral("duplicate series: ") + line;
        (*samples)[key] = m.captured(3).toDouble();
    }
    return problems;
}

// The value of the one series of `name` whose labels contain `labels` (a "a=\"x\"" fragment).
std::optional<double> valueOf(const std::map<QString, double>& samples, const QString& name,
                              const QString& labels) {
    std::optional<double> found;
    for (const auto& [key, value] : samples) {
        if (!key.startsWith(name + QLatin1Char('{')) || !key.contains(labels)) continue;
        if (found) return std::nullopt;  // ambiguous
        found = value;
    }
    return found;
}

}  // namespace

class TestPrometheus : public QObject {
    Q_OBJECT

  private:
    QTemporaryDir m_tmp;

    QProcessEnvironment runEnv() const {
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("ZMQRPC_CREDENTIALS"),
                   m_tmp.filePath(QStringLiteral("no-credentials.json")));
        env.insert(QStringLiteral("ZMQRPC_KEYS"), m_tmp.filePath(QStringLiteral("no-keys")));
        return env;
    }
    // rpc-fanout (every node on host "local") with every bind on an ephemeral loopback port.
    QString fanoutTopology() {
        auto t = zmqrpc::load_topology_file(ZMQRPC_EXAMPLES_DIR "/rpc-fanout.json");
        for (const auto& node : std::vector<zmqrpc::Node>(t.nodes())) {
            for (const auto& port : zmqrpc::port_specs(node.kind, node.properties)) {
                if (port.binds) t.set_property(node.id, port.endpoint_property, testutil::kAnyTcp);
            }
        }
        const QString path = m_tmp.filePath(QStringLiteral("fanout.json"));
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) return {};
        file.write(QByteArray::fromStdString(zmqrpc::save_topology(t)));
        return path;
    }
    // Starts a runner with --prometheus 127.0.0.1:0; returns the port it printed (0: none).
    quint16 startRunner(Child& runner) {
        runner.start({"run", fanoutTopology(), "--quiet", "--prometheus", "127.0.0.1:0"}, runEnv());
        static const QRegularExpression url(
            QStringLiteral("(^|\\n)zmqrpc run: prometheus metrics on "
                           "http://127\\.0\\.0\\.1:([1-9][0-9]*)/metrics\\n"));
        if (!runner.waitFor([&] { return url.match(runner.err()).hasMatch(); }, 5000)) return 0;
        // The first table: every node has started.
        runner.waitFor([&] { return runner.out().contains(QLatin1Char('\n')); }, 5000);
        return static_cast<quint16>(url.match(runner.err()).captured(2).toUInt());
    }
    static void stopRunner(Child& runner) {
        QVERIFY(runner.signal(SIGTERM));
        QVERIFY2(runner.waitFinished(3000), qPrintable(runner.describe()));
        QVERIFY2(runner.cleanExit(), qPrintable(runner.describe()));
    }

  private slots:
    void initTestCase() { QVERIFY(m_tmp.isValid()); }

    void scrapeParsesAndGrows() {
        Child runner;
        const quint16 port = startRunner(runner);
        QVERIFY2(port != 0, qPrintable(runner.describe()));

        std::map<QString, double> first;
        std::map<QString, QString> types;
        const auto reply = httpGet(port, "/metrics");
        QVERIFY2(reply.error.isEmpty(), qPrintable(reply.error));
        QCOMPARE(reply.status, 200);
        QVERIFY2(reply.contentType.startsWith("text/plain; version=0.0.4"), reply.contentType);
        const auto problems = parseExposition(QString::fromUtf8(reply.body), &first, &types);
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));

        // Every node of the document, with its host and kind; every one running.
        for (const auto& [node, kind] :
             std::vector<std::pair<QString, QString>>{{"sampler", "sampler"},
                                                      {"front", "rep2req"},
                                                      {"server-1", "rpc-server"},
                                                      {"server-4", "rpc-server"},
                                                      {"sampler-tap", "tap"}}) {
            const QString labels =
                QStringLiteral("host=\"local\",node=\"%1\",kind=\"%2\",state=\"running\"")
                    .arg(node, kind);
            QCOMPARE(valueOf(first, QStringLiteral("zmqrpc_node_state"), labels),
                     std::optional<double>(1));
        }
        QCOMPARE(types[QStringLiteral("zmqrpc_node_messages_out_total")],
                 QStringLiteral("counter"));
        QCOMPARE(types[QStringLiteral("zmqrpc_socket_peers")], QStringLiteral("gauge"));
        QCOMPARE(types[QStringLiteral("zmqrpc_link_active")], QStringLiteral("gauge"));
        QVERIFY(types.count(QStringLiteral("zmqrpc_socket_connection_state")));
        QVERIFY(types.count(QStringLiteral("zmqrpc_socket_recreations_total")));

        // The sampler sends: its messages_out grows between two scrapes (within 5 s).
        const QString sampler = QStringLiteral("node=\"sampler\"");
        const auto before =
            valueOf(first, QStringLiteral("zmqrpc_node_messages_out_total"), sampler);
        QVERIFY(before);
        std::optional<double> after;
        QElapsedTimer timer;
        timer.start();
        while (timer.elapsed() < 5000) {
            QTest::qWait(200);
            std::map<QString, double> again;
            std::map<QString, QString> againTypes;
            const auto next = httpGet(port, "/metrics");
            QVERIFY2(next.error.isEmpty(), qPrintable(next.error));
            QVERIFY(parseExposition(QString::fromUtf8(next.body), &again, &againTypes).isEmpty());
            after = valueOf(again, QStringLiteral("zmqrpc_node_messages_out_total"), sampler);
            if (after && *after > *before) break;
        }
        QVERIFY2(after && *after > *before,
                 qPrintable(QStringLiteral("%1 -> %2").arg(*before).arg(after.value_or(-1))));

        // Other paths: 404.
        const auto other = httpGet(port, "/other");
        QVERIFY2(other.error.isEmpty(), qPrintable(other.error));
        QCOMPARE(other.status, 404);
        QCOMPARE(httpGet(port, "/").status, 404);

        stopRunner(runner);
    }

    void promtoolAcceptsTheScrape() {
        const QString promtool = QStandardPaths::findExecutable(QStringLiteral("promtool"));
        if (promtool.isEmpty()) {
            QSKIP(
                "promtool not installed (Debian's prometheus package, scripts/deps-test.txt: "
                "scripts/install-deps.sh --tests installs it)");
        }
        Child runner;
        const quint16 port = startRunner(runner);
        QVERIFY2(port != 0, qPrintable(runner.describe()));
        const auto reply = httpGet(port, "/metrics");
        QCOMPARE(reply.status, 200);
        stopRunner(runner);

        QProcess check;
        check.start(promtool, {QStringLiteral("check"), QStringLiteral("metrics")});
        QVERIFY(check.waitForStarted(3000));
        check.write(reply.body);
        check.closeWriteChannel();
        QVERIFY(check.waitForFinished(10000));
        QVERIFY2(check.exitStatus() == QProcess::NormalExit && check.exitCode() == 0,
                 qPrintable(QString::fromUtf8(check.readAllStandardOutput() +
                                              check.readAllStandardError())));
    }

    void bindFailureExits3() {
        QTcpServer taken;
        QVERIFY(taken.listen(QHostAddress::LocalHost, 0));
        Child runner;
        runner.start({"run", fanoutTopology(), "--quiet", "--prometheus",
                      QStringLiteral("127.0.0.1:%1").arg(taken.serverPort())},
                     runEnv());
        QVERIFY2(runner.waitFinished(5000), qPrintable(runner.describe()));
        QVERIFY2(runner.normalExit() && runner.exitCode() == 3, qPrintable(runner.describe()));
        QVERIFY2(runner.err().contains(QStringLiteral("--prometheus: cannot listen on 127.0.0.1:")),
                 qPrintable(runner.describe()));
    }

    void malformedAddress_data() {
        QTest::addColumn<QString>("address");
        QTest::newRow("no port") << "127.0.0.1";
        QTest::newRow("port too large") << "127.0.0.1:70000";
        QTest::newRow("port not a number") << "127.0.0.1:http";
        QTest::newRow("no host") << ":9464";
        QTest::newRow("IPv6 without brackets") << "::1:9464";
    }
    void malformedAddress() {
        QFETCH(QString, address);
        Child runner;
        runner.start({"run", fanoutTopology(), "--quiet", "--prometheus", address}, runEnv());
        QVERIFY2(runner.waitFinished(5000), qPrintable(runner.describe()));
        QVERIFY2(runner.normalExit() && runner.exitCode() == 64, qPrintable(runner.describe()));
        QVERIFY2(runner.err().contains(QStringLiteral("--prometheus: '")),
                 qPrintable(runner.describe()));
    }

    // The text itself, on a made-up snapshot: escaping, a queue, a remote node, an inactive link.
    void textOfASnapshot() {
        QCOMPARE(cli::prometheus_label_value("a\\b\"c\nd"), std::string("a\\\\b\\\"c\\nd"));

        zmqrpc::RuntimeSnapshot snapshot;
        snapshot.host = "pi \"one\"\\";
        zmqrpc::NodeStatus proxy;
        proxy.id = "bridge";
        proxy.kind = zmqrpc::NodeKind::BufferedRep2Req;
        proxy.host = snapshot.host;
        proxy.state = zmqrpc::NodeState::Running;
        proxy.metrics.messages_in = 12;
        proxy.metrics.has_queue = true;
        proxy.metrics.queue.capacity = 100;
        proxy.metrics.queue.fill = 3;
        proxy.metrics.queue.dropped = 2;
        zmqrpc::SocketSnapshot sub;
        sub.role = "rep";
        sub.endpoint = "tcp://0.0.0.0:5620";
        sub.connection = zmqrpc::ConnectionState::CredentialsRefused;
        sub.credentials_refused = 4;
        sub.last_message_age = std::chrono::milliseconds(1500);
        proxy.metrics.sockets.push_back(sub);
        snapshot.nodes.push_back(proxy);
        zmqrpc::NodeStatus remote;
        remote.id = "cloud";
        remote.kind = zmqrpc::NodeKind::RpcServer;
        remote.host = "cloud";
        remote.state = zmqrpc::NodeState::Remote;
        snapshot.nodes.push_back(remote);
        zmqrpc::LinkStatus link;
        link.id = "uplink";
        link.endpoint = "tcp://cloud:5621";
        snapshot.links.push_back(link);

        const QString text = QString::fromStdString(cli::prometheus_text(snapshot));
        std::map<QString, double> samples;
        std::map<QString, QString> types;
        const auto problems = parseExposition(text, &samples, &types);
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n')) + "\n" + text));

        const QString bridge = QStringLiteral(
            "{host=\"pi \\\"one\\\"\\\\\",node=\"bridge\",kind=\"buffered-rep2req\"");
        QCOMPARE(samples[QStringLiteral("zmqrpc_node_messages_in_total") + bridge + "}"], 12.0);
        QCOMPARE(samples[QStringLiteral("zmqrpc_queue_fill") + bridge + "}"], 3.0);
        QCOMPARE(samples[QStringLiteral("zmqrpc_queue_capacity") + bridge + "}"], 100.0);
        QCOMPARE(samples[QStringLiteral("zmqrpc_queue_dropped_total") + bridge + "}"], 2.0);
        const QString socket = bridge + ",role=\"rep\",endpoint=\"tcp://0.0.0.0:5620\"";
        QCOMPARE(samples[QStringLiteral("zmqrpc_socket_credentials_refused_total") + socket + "}"],
                 4.0);
        QCOMPARE(samples[QStringLiteral("zmqrpc_socket_last_message_age_seconds") + socket + "}"],
                 1.5);
        QCOMPARE(samples[QStringLiteral("zmqrpc_socket_connection_state") + socket +
                         ",state=\"credentials-refused\"}"],
                 1.0);
        QCOMPARE(samples[QStringLiteral("zmqrpc_socket_connection_state") + socket +
                         ",state=\"connected\"}"],
                 0.0);
        // A remote node: its state only, no counters of ours.
        QCOMPARE(valueOf(samples, QStringLiteral("zmqrpc_node_state"),
                         QStringLiteral("node=\"cloud\",kind=\"rpc-server\",state=\"remote\"")),
                 std::optional<double>(1));
        QVERIFY(!valueOf(samples, QStringLiteral("zmqrpc_node_messages_in_total"),
                         QStringLiteral("node=\"cloud\"")));
        // An inactive link: only zmqrpc_link_active 0.
        QCOMPARE(valueOf(samples, QStringLiteral("zmqrpc_link_active"),
                         QStringLiteral("link=\"uplink\"")),
                 std::optional<double>(0));
        QVERIFY(!types.count(QStringLiteral("zmqrpc_link_messages_total")));
    }
};

QTEST_GUILESS_MAIN(TestPrometheus)
#include "tst_prometheus.moc"
