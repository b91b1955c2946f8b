// The `zmqrpc` command line, driven through its real executable with QProcess: serve and call
// (values, status errors, timeouts, credentials, latency summary), publish/snoop/heartbeat, each
// proxy kind end to end, signals (SIGINT/SIGTERM stop, SIGUSR1 counters), --version/--help,
// topology files (validate: the examples, located errors, load errors; run: a whole topology in
// one runner, a missing password, two runners split by --host, --metrics read by snoop, the status
// table), and misuse (one clear line on stderr, a non-zero exit, never a crash or a hang).
//
// Loopback only. The CLI binds what it is told: serve and proxy inputs bind tcp://127.0.0.1:*
// and print the resolved endpoint on their ready line; PUB endpoints use a free port from below
// the ephemeral range (testutil's freeTcpEndpoint). Every wait is bounded and
// every child is killed by its RAII wrapper when a test fails.
#include "child_process.hpp"
#include "status_table.hpp"
#include "testutil.hpp"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QTemporaryDir>

#include <sys/prctl.h>
#include <sys/stat.h>

#include <csignal>
#include <memory>
#include <optional>

#ifndef ZMQRPC_CLI
#error "ZMQRPC_CLI (path of the zmqrpc executable) must be defined"
#endif
#ifndef ZMQRPC_EXAMPLES_DIR
#error "ZMQRPC_EXAMPLES_DIR (resources/examples) must be defined"
#endif

using namespace testutil;

namespace {

constexpr const char* kAnyLoopback = "tcp://127.0.0.1:*";
const char* const kUnknownFunctionText =
    "Function 'nope' is not implemented on server. Check rpc_functions on server if it contains "
    "the function name";

QString cliPath() {
    return QStringLiteral(ZMQRPC_CLI);
}

// A finished run of the CLI.
struct Run {
    bool finished = false;  // false: killed after the timeout
    bool normal = false;    // false: crashed (or killed)
    int code = -1;
    QString out, err;
    qint64 ms = 0;
    QString text;  // Child::describe(), for failure messages
};

Run run(const QStringList& args, int timeoutMs = 5000,
        const std::optional<QProcessEnvironment>& env = std::nullopt) {
    Child child;
    QElapsedTimer timer;
    timer.start();
    child.start(args, env);
    Run r;
    r.finished = child.waitFinished(timeoutMs);
    r.ms = timer.elapsed();
    child.kill();
    r.normal = child.normalExit();
    r.code = child.exitCode();
    r.out = child.out();
    r.err = child.err();
    r.text = child.describe();
    return r;
}

// Starts `zmqrpc serve --rep tcp://127.0.0.1:* EXTRA...` and returns the endpoint from its ready
// line, or an empty string (the child's output tells why).
QString startServe(Child& serve, const QStringList& extra = {},
                   const std::optional<QProcessEnvironment>& env = std::nullopt) {
    serve.start(QStringList{"serve", "--rep", kAnyLoopback} + extra, env);
    auto line = serve.nextLine(3000);
    if (!line) return {};
    static const QRegularExpression ready(
        QStringLiteral(R"(^zmqrpc serve: ready on rep (tcp://127\.0\.0\.1:[1-9][0-9]*) )"
                       R"(\(functions: (.*)\)$)"));
    auto match = ready.match(*line);
    return match.hasMatch() ? match.captured(1) : QString();
}

// Starts `zmqrpc proxy KIND ARGS...` and returns its ready line's "in" part ("rep EP" or
// "sub EP") or an empty string.
QString startProxy(Child& proxy, const QString& kind, const QStringList& args) {
    proxy.start(QStringList{"proxy", kind} + args);
    auto line = proxy.nextLine(3000);
    if (!line) return {};
    const QString prefix = QStringLiteral("zmqrpc proxy %1: ready; in ").arg(kind);
    if (!line->startsWith(prefix)) return {};
    return line->mid(prefix.size()).section(QStringLiteral("; out "), 0, 0);
}

// Snoop prints "TIMESTAMP ENDPOINT MESSAGE".
QString snoopEndpoint(const QString& line) {
    return line.section(QLatin1Char(' '), 1, 1);
}
QString snoopMessage(const QString& line) {
    return line.section(QLatin1Char(' '), 2);
}
bool isHeartbeatLine(const QString& line) {
    return snoopMessage(line) == QLatin1String("HEARTBEAT");
}

zmqrpc::json parseJson(const QString& text) {
    return zmqrpc::json::parse(text.toStdString(), nullptr, false);
}

QProcessEnvironment envWith(const QString& name, const QString& value) {
    auto env = QProcessEnvironment::systemEnvironment();
    env.insert(name, value);
    return env;
}

// How many messages `zmqrpc serve` received, from the counters line it prints on SIGUSR1
// ("serve: in N msgs/..."): asks until that is at least `n` (then true) or `ms` passed. The count
// is taken when a request arrives, before its function runs: a call is "out" once counted.
bool waitServed(Child& serve, int n, int ms = 5000) {
    static const QRegularExpression counted(QStringLiteral(R"(serve: in ([0-9]+) msgs)"));
    return serve.waitFor(
        [&] {
            int last = -1;
            for (auto it = counted.globalMatch(serve.err()); it.hasNext();)
                last = it.next().captured(1).toInt();
            if (last >= n) return true;
            serve.signal(SIGUSR1);
            return false;
        },
        ms);
}

// The counters line a component prints on SIGUSR1 and at exit starts with its name.
int countersLines(const QString& err, const QString& name) {
    int n = 0;
    for (const auto& line : nonEmptyLines(err)) {
        if (line.startsWith(name + QStringLiteral(": in "))) ++n;
    }
    return n;
}

// ---- Topologies for validate/run

QString examplePath(const QString& name) {
    return QStringLiteral(ZMQRPC_EXAMPLES_DIR "/") + name;
}

zmqrpc::Topology loadExample(const QString& name) {
    return zmqrpc::load_topology_file(examplePath(name).toStdString());
}

// A TCP port on loopback that is free now. Runners of one topology on different hosts (here: two
// processes) cannot use ports chosen at bind time ("tcp://127.0.0.1:*"): the connecting runner
// only knows what the file says, so the file must name a fixed port: testutil's freeTcpEndpoint,
// a port checked free below the ephemeral range, where no outgoing connection takes it.
int reserveTcpPort() {
    const std::string endpoint = freeTcpEndpoint();
    return std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
}

// Sets every bind endpoint (bind, rep_bind, pub_bind) of `topology` from `endpoint_for`.
template <class F>
void rewriteBinds(zmqrpc::Topology& topology, F&& endpoint_for) {
    for (const auto& node : std::vector<zmqrpc::Node>(topology.nodes())) {
        for (const auto& spec : zmqrpc::property_specs(node.kind)) {
            if (spec.type != zmqrpc::PropertyType::Endpoint) continue;
            if (node.property(spec.key).is_null()) continue;
            topology.set_property(node.id, spec.key, endpoint_for());
        }
    }
}

// Every node on host "site" and every bind on an ephemeral loopback port: one runner runs it
// all (validation rightly refuses a port chosen at bind time that another host would need).
void oneHostEphemeral(zmqrpc::Topology& topology) {
    rewriteBinds(topology, [] { return std::string(kAnyLoopback); });
    for (const auto& node : std::vector<zmqrpc::Node>(topology.nodes()))
        topology.set_node_host(node.id, "site");
}

// The environment variable of the PLAIN password that plainSamplerToCloud() names.
const QString kBridgePasswordVariable = QStringLiteral("ZMQRPC_TST_BRIDGE_PASSWORD");

// The environment of a runner: no credentials file of the user's, key files in `keys` (by
// default a directory that does not exist: the example's CURVE key pair is missing), `password`
// (when given) in kBridgePasswordVariable.
QProcessEnvironment runEnv(const QString& tmp, const std::optional<QString>& password,
                           const QString& keys = {}) {
    auto env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("ZMQRPC_CREDENTIALS"), tmp + QStringLiteral("/no-credentials.json"));
    env.insert(QStringLiteral("ZMQRPC_KEYS"),
               keys.isEmpty() ? tmp + QStringLiteral("/no-keys") : keys);
    env.remove(kBridgePasswordVariable);
    if (password) env.insert(kBridgePasswordVariable, *password);
    return env;
}

// The sampler-to-cloud example with a PLAIN uplink instead of its CURVE one: user 'bridge',
// password from kBridgePasswordVariable.
zmqrpc::Topology plainSamplerToCloud() {
    auto topology = loadExample(QStringLiteral("sampler-to-cloud.json"));
    const auto ref = zmqrpc::json{{"username", "bridge"},
                                  {"password", {{"env", kBridgePasswordVariable.toStdString()}}}};
    topology.set_property("site-proxy", "output_credentials", ref);
    topology.set_property("cloud-bridge", "input_credentials", ref);
    return topology;
}

// Mode bits of a file (0644...), or -1.
int fileMode(const QString& path) {
    struct stat st {};
    if (::stat(path.toLocal8Bit().constData(), &st) != 0) return -1;
    return static_cast<int>(st.st_mode & 07777);
}

// One row of `zmqrpc run`'s status table: NODE KIND HOST STATE IN/s OUT/s QUEUE LINKS.
struct TableRow {
    QString state;
    double in = -1, out = -1;  // -1: "-"
    QString queue, links;
};

double parseRate(QString cell) {
    if (cell == QLatin1String("-")) return -1;
    double factor = 1;
    if (cell.endsWith(QLatin1Char('k'))) factor = 1e3;
    if (cell.endsWith(QLatin1Char('M'))) factor = 1e6;
    if (factor != 1) cell.chop(1);
    return cell.toDouble() * factor;
}

// The row of `node` in a table line, or nullopt. Only rows whose STATE is one word (every state
// but "failed: ...") are parsed completely; a failed row has state "failed".
std::optional<TableRow> parseRow(const QString& line, const QString& node) {
    if (!line.startsWith(node + QLatin1Char(' '))) return std::nullopt;
    const auto cells = line.split(QLatin1Char(' '), Qt::SkipEmptyParts);
    if (cells.size() < 4) return std::nullopt;
    TableRow row;
    row.state = cells[3];
    if (row.state.startsWith(QLatin1String("failed"))) {
        row.state = QStringLiteral("failed");
        return row;
    }
    if (cells.size() < 8) return std::nullopt;
    row.in = parseRate(cells[4]);
    row.out = parseRate(cells[5]);
    row.queue = cells[6];
    row.links = cells.mid(7).join(QLatin1Char(' '));
    return row;
}

// Every row of `node` in `out`, oldest first.
std::vector<TableRow> rowsOf(const QString& out, const QString& node) {
    std::vector<TableRow> rows;
    for (const auto& line : out.split(QLatin1Char('\n'))) {
        if (auto row = parseRow(line, node)) rows.push_back(*row);
    }
    return rows;
}

// The first complete table of `out` (tables end with an empty line), or empty.
QString firstTable(const QString& out) {
    const auto end = out.indexOf(QStringLiteral("\n\n"));
    return end < 0 ? QString() : out.left(end + 1);
}

int tableCount(const QString& out) {
    return static_cast<int>(out.count(QRegularExpression(QStringLiteral("(^|\n)NODE +KIND"))));
}

}  // namespace

#define VERIFY_RUN(r, cond) QVERIFY2((cond), qPrintable((r).text))

class TestCli : public QObject {
    Q_OBJECT

  private:
    Child m_serve;  // shared by the quick call tests
    QString m_ep;
    QTemporaryDir m_tmp;  // topologies written by the validate/run tests
    // ZMQRPC_KEYS of every child: key pairs "server", "client" and "other", made by
    // initTestCase (never the user's ~/.config/zmqrpc/keys).
    QTemporaryDir m_keys;
    QString keyFile(const QString& name) const { return m_keys.filePath(name); }
    std::string publicKey(const QString& name) const {
        return zmqrpc::load_curve_public_file(keyFile(name + QStringLiteral(".key")).toStdString());
    }

    QString writeFile(const QString& name, const QByteArray& text) {
        const QString path = m_tmp.filePath(name);
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) return {};
        file.write(text);
        return path;
    }
    QString writeTopology(const QString& name, const zmqrpc::Topology& topology) {
        return writeFile(name, QByteArray::fromStdString(zmqrpc::save_topology(topology)));
    }
    // Waits until `child` printed its first table; returns it (empty on timeout).
    static QString waitFirstTable(Child& child, int ms = 5000) {
        child.waitFor([&] { return !firstTable(child.out()).isEmpty(); }, ms);
        return firstTable(child.out());
    }
    // SIGTERM, then: exit 0 within 2 s and the "stopped" line.
    static void stopRunner(Child& child, int expectedStopped) {
        QVERIFY2(child.signal(SIGTERM), qPrintable(child.describe()));
        QElapsedTimer timer;
        timer.start();
        QVERIFY2(child.waitFinished(2000), qPrintable(child.describe()));
        QVERIFY2(timer.elapsed() < 2000, qPrintable(QString::number(timer.elapsed())));
        QVERIFY2(child.normalExit() && child.exitCode() == 0, qPrintable(child.describe()));
        QVERIFY2(child.out().endsWith(QStringLiteral("stopped %1 node(s)\n").arg(expectedStopped)),
                 qPrintable(child.describe()));
    }

  private slots:
    void initTestCase() {
        QVERIFY2(QFileInfo(cliPath()).isExecutable(), qPrintable(cliPath()));
        QVERIFY(m_tmp.isValid());
        QVERIFY(m_keys.isValid());
        // Inherited by every child that is given no environment of its own.
        qputenv("ZMQRPC_KEYS", m_keys.path().toLocal8Bit());
        for (const char* name : {"server", "client", "other"}) {
            zmqrpc::write_curve_key_pair(m_keys.path().toStdString(), name,
                                         zmqrpc::generate_curve_key_pair(), false);
        }
        // A secret key file that others can read: refused.
        zmqrpc::write_curve_key_pair(m_keys.path().toStdString(), "open",
                                     zmqrpc::generate_curve_key_pair(), false);
        QVERIFY(::chmod(keyFile(QStringLiteral("open.key_secret")).toLocal8Bit().constData(),
                        0644) == 0);
        m_ep = startServe(m_serve);
        QVERIFY2(!m_ep.isEmpty(), qPrintable(m_serve.describe()));
    }
    void cleanupTestCase() {
        if (m_serve.running()) m_serve.signal(SIGTERM);
        m_serve.waitFinished(2000);
    }

    // ---- --version, --help

    void version() {
        auto r = run({"--version"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 0);
        QCOMPARE(r.out, QStringLiteral("zmqrpc %1 (libzmq %2)\n")
                            .arg(QLatin1String(zmqrpc::version()),
                                 QLatin1String(zmqrpc::libzmq_version())));
        QVERIFY(r.out.contains(QStringLiteral("0.1.0")));
    }

    void help_data() {
        QTest::addColumn<QString>("subcommand");
        QTest::addColumn<QStringList>("mentions");
        QTest::newRow("top") << QString()
                             << QStringList{"serve",  "call",      "publish",   "heartbeat",
                                            "snoop",  "proxy",     "validate",  "run",
                                            "keygen", "--version", "Exit codes"};
        QTest::newRow("serve") << "serve"
                               << QStringList{"--rep",
                                              "--sub",
                                              "--heartbeat-timeout",
                                              "--max-message-size",
                                              "--events",
                                              "--user",
                                              "--password",
                                              "--password-env",
                                              "--password-file",
                                              "--curve-secret-file",
                                              "--curve-secret-env",
                                              "--curve-server-key",
                                              "--curve-authorized-keys",
                                              "--curve-any-client",
                                              "--keys"};
        QTest::newRow("call") << "call" << QStringList{"FUNCTION",       "PARAMS",
                                                       "--req",          "--timeout",
                                                       "--repeat",       "--user",
                                                       "--password-env", "--curve-server-key",
                                                       "fresh key pair", "--curve-secret-file",
                                                       "--keys"};
        QTest::newRow("publish") << "publish"
                                 << QStringList{"FUNCTION",
                                                "PARAMS",
                                                "--pub",
                                                "--raw",
                                                "--count",
                                                "--rate",
                                                "--heartbeat-interval",
                                                "--subscribers",
                                                "--wait",
                                                "--password-env",
                                                "--curve-secret-file",
                                                "--curve-any-client"};
        QTest::newRow("heartbeat")
            << "heartbeat" << QStringList{"--pub", "--interval", "--count", "--password-env"};
        QTest::newRow("snoop")
            << "snoop"
            << QStringList{"--sub",    "--count",        "--heartbeat-timeout",   "--no-heartbeats",
                           "--events", "--password-env", "heartbeats not counted"};
        QTest::newRow("proxy") << "proxy"
                               << QStringList{"KIND",
                                              "sub2req",
                                              "sub2pub",
                                              "rep2pub",
                                              "rep2req",
                                              "buffered-rep2req",
                                              "--in-rep",
                                              "--in-sub",
                                              "--out-pub",
                                              "--out-req",
                                              "--req-timeout",
                                              "--retry-interval",
                                              "--queue",
                                              "--heartbeat-interval",
                                              "--in-user",
                                              "--out-password-env",
                                              "--in-curve-secret-file",
                                              "--in-curve-authorized-keys",
                                              "--out-curve-server-key",
                                              "SIGUSR1"};
        QTest::newRow("validate") << "validate" << QStringList{"FILE", "--json"};
        QTest::newRow("run") << "run"
                             << QStringList{"FILE",
                                            "--host",
                                            "--credentials",
                                            "--metrics",
                                            "--metrics-user",
                                            "--metrics-password-env",
                                            "--metrics-password-file",
                                            "--nodes",
                                            "--status-interval",
                                            "--quiet",
                                            "--keys",
                                            "--metrics-curve-secret-file",
                                            "--metrics-curve-any-client",
                                            "SIGUSR1"};
        QTest::newRow("keygen") << "keygen" << QStringList{"NAME",     "--keys",          "--force",
                                                           "--public", "NAME.key_secret", "0600",
                                                           "exit 3"};
    }
    void helpHidesOptionsOfTheOtherWay() {
        // call only connects, publish only binds: --help shows only the CURVE options that fit.
        auto call = run({"call", "--help"});
        VERIFY_RUN(call, call.code == 0 &&
                             !call.out.contains(QStringLiteral("--curve-any-client")) &&
                             !call.out.contains(QStringLiteral("--curve-authorized-keys")));
        auto publish = run({"publish", "--help"});
        VERIFY_RUN(publish, publish.code == 0 &&
                                !publish.out.contains(QStringLiteral("--curve-server-key")));
    }
    void help() {
        QFETCH(QString, subcommand);
        QFETCH(QStringList, mentions);
        QStringList args;
        if (!subcommand.isEmpty()) args << subcommand;
        args << "--help";
        auto r = run(args);
        VERIFY_RUN(r, r.finished && r.normal && r.code == 0);
        QVERIFY2(r.err.isEmpty(), qPrintable(r.err));
        for (const auto& word : mentions) {
            QVERIFY2(r.out.contains(word),
                     qPrintable(word + QStringLiteral(" missing in:\n") + r.out));
        }
    }

    // ---- serve + call

    void serveReadyLine() {
        Child serve;
        serve.start({"serve", "--rep", kAnyLoopback});
        auto line = serve.nextLine(3000);
        QVERIFY2(line, qPrintable(serve.describe()));
        static const QRegularExpression ready(QStringLiteral(
            R"(^zmqrpc serve: ready on rep tcp://127\.0\.0\.1:([0-9]+) \(functions: (.*)\)$)"));
        auto match = ready.match(*line);
        QVERIFY2(match.hasMatch(), qPrintable(*line));
        QVERIFY(match.captured(1).toInt() > 0);
        const auto functions = match.captured(2).split(QStringLiteral(", "));
        for (const char* f : {"ping", "echo", "add", "sleep", "fail", "_describe"}) {
            QVERIFY2(functions.contains(QLatin1String(f)), qPrintable(match.captured(2)));
        }
        // Nothing more on stdout while it serves, nor when it stops.
        QVERIFY(!serve.waitFor([&] { return serve.outLines().size() > 1; }, 300));
        QVERIFY(serve.signal(SIGTERM));
        QVERIFY2(serve.waitFinished(2000), qPrintable(serve.describe()));
        QCOMPARE(serve.out(), *line + QLatin1Char('\n'));
    }

    void callPing() {
        auto r = run({"call", "ping", "--req", m_ep, "--timeout", "3"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 0);
        QCOMPARE(r.out, QStringLiteral("\"pong\"\n"));
        QVERIFY2(r.err.isEmpty(), qPrintable(r.err));
    }

    void callAdd_data() {
        QTest::addColumn<QString>("params");
        QTest::addColumn<QString>("expected");
        QTest::newRow("integers") << R"({"a": 2, "b": 40})"
                                  << "42";
        QTest::newRow("floats") << R"({"a": 1.5, "b": 2.25})"
                                << "3.75";
        QTest::newRow("negative") << R"({"a": -7, "b": 3})"
                                  << "-4";
        QTest::newRow("strings") << R"({"a": "foo", "b": "bar"})"
                                 << R"("foobar")";
        QTest::newRow("lists") << R"({"a": [1], "b": [2, 3]})"
                               << "[1, 2, 3]";
    }
    void callAdd() {
        QFETCH(QString, params);
        QFETCH(QString, expected);
        auto r = run({"call", "add", params, "--req", m_ep, "--timeout", "3"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 0);
        QCOMPARE(parseJson(r.out), parseJson(expected));
        QVERIFY(r.out.endsWith(QLatin1Char('\n')));
        QCOMPARE(nonEmptyLines(r.out).size(), 1);
    }

    void callAddMissingArgument() {
        // Python's TypeError text, as a pyzmqrpc server would give it (463).
        auto r = run({"call", "add", R"({"a": 1})", "--req", m_ep, "--timeout", "3"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 1);
        VERIFY_RUN(r, r.err.contains(QStringLiteral("463")));
        VERIFY_RUN(r,
                   r.err.contains(QStringLiteral("missing 1 required positional argument: 'b'")));
        QVERIFY(r.out.isEmpty());
    }

    void callEchoUnicode() {
        // (Not a raw string: moc mis-reads \" inside a raw string literal and skips the class.)
        const QString params = QStringLiteral(
            "{\"text\": \"héllo wörld ☃ 😀 日本語\", \"quote\": \"\\\"x\\\"\\n\", "
            "\"n\": [1, null, true]}");
        auto r = run({"call", "echo", params, "--req", m_ep, "--timeout", "3"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 0);
        auto value = parseJson(r.out);
        VERIFY_RUN(r, !value.is_discarded());
        QCOMPARE(value, parseJson(params));
        QCOMPARE(value["text"].get<std::string>(), std::string("héllo wörld ☃ 😀 日本語"));
        QCOMPARE(nonEmptyLines(r.out).size(), 1);  // one line, even with "\n" in a value
    }

    // PARAMS is read as Python reads it: an integer beyond 64 bits stays exact, 1e400 is
    // Infinity, and the reply (echo) is written back the same way, as pyzmqrpc's client would.
    void callBigIntegersAndInfinity() {
        const QString params = QStringLiteral(
            R"({"n": 123456789012345678901234567890, "m": -18446744073709551616, "x": 1e400, )"
            R"("y": -1e400, "z": 1.5})");
        auto r = run({"call", "echo", params, "--req", m_ep, "--timeout", "3"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 0);
        QCOMPARE(r.out, QStringLiteral("{\"n\": 123456789012345678901234567890, \"m\": "
                                       "-18446744073709551616, \"x\": Infinity, \"y\": "
                                       "-Infinity, \"z\": 1.5}\n"));
    }

    void publishBigIntegerExact() {
        const QString ep = QString::fromStdString(freeTcpEndpoint());
        Child snoop;
        snoop.start({"snoop", "--sub", ep, "--count", "1"});
        QVERIFY(snoop.waitStarted());
        Child publish;
        publish.start({"publish", "echo", R"({"n": 123456789012345678901234567890, "x": 1e400})",
                       "--pub", ep, "--subscribers", "1", "--wait", "3"});
        QVERIFY2(publish.waitFinished(4000), qPrintable(publish.describe()));
        QVERIFY2(publish.normalExit() && publish.exitCode() == 0, qPrintable(publish.describe()));
        QVERIFY2(snoop.waitFinished(3000), qPrintable(snoop.describe()));
        const auto lines = snoop.outLines();
        QVERIFY2(lines.size() == 1, qPrintable(snoop.out()));
        QCOMPARE(snoopMessage(lines[0]),
                 QStringLiteral("{\"function\": \"echo\", \"parameters\": {\"n\": "
                                "123456789012345678901234567890, \"x\": Infinity}}"));
    }

    void callUnknownFunction() {
        auto r = run({"call", "nope", "--req", m_ep, "--timeout", "3"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 1);
        QVERIFY2(r.out.isEmpty(), qPrintable(r.out));
        QCOMPARE(nonEmptyLines(r.err).size(), 1);
        VERIFY_RUN(r, r.err.contains(QStringLiteral("451")));
        VERIFY_RUN(r, r.err.contains(QLatin1String(kUnknownFunctionText)));
    }

    void callFail() {
        auto r = run({"call", "fail", R"({"message": "boom ☃"})", "--req", m_ep, "--timeout", "3"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 1);
        QVERIFY2(r.out.isEmpty(), qPrintable(r.out));
        QCOMPARE(nonEmptyLines(r.err).size(), 1);
        VERIFY_RUN(r, r.err.contains(QStringLiteral("463")));
        VERIFY_RUN(r, r.err.contains(QStringLiteral(
                          "Exception raised when calling function fail. Exception: boom ☃")));
    }

    void callDescribe() {
        auto r = run({"call", "_describe", "--req", m_ep, "--timeout", "3"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 0);
        auto value = parseJson(r.out);
        VERIFY_RUN(r, value.is_array());
        QStringList names;
        for (const auto& f : value) {
            QVERIFY(f.contains("name") && f.contains("parameters") && f.contains("help"));
            names << QString::fromStdString(f["name"].get<std::string>());
        }
        for (const char* f : {"ping", "echo", "add", "sleep", "fail", "_describe"}) {
            QVERIFY2(names.contains(QLatin1String(f)), qPrintable(r.out));
        }
    }

    void callRepeat() {
        auto r = run({"call", "ping", "--repeat", "50", "--req", m_ep, "--timeout", "3"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 0);
        static const QRegularExpression summary(QStringLiteral(
            R"(^50 calls ok, 0 failed; latency ms: min ([0-9.]+), median ([0-9.]+), )"
            R"(p99 ([0-9.]+), max ([0-9.]+)\n$)"));
        auto match = summary.match(r.out);
        QVERIFY2(match.hasMatch(), qPrintable(r.out));
        const double min = match.captured(1).toDouble(), median = match.captured(2).toDouble(),
                     p99 = match.captured(3).toDouble(), max = match.captured(4).toDouble();
        QVERIFY(min > 0);
        QVERIFY(min <= median && median <= p99 && p99 <= max);
        QVERIFY(max < 3000);
    }

    void callTimeout() {
        Child serve;  // its own: the sleeping function keeps a server busy
        const QString ep = startServe(serve);
        QVERIFY2(!ep.isEmpty(), qPrintable(serve.describe()));
        auto r = run({"call", "sleep", R"({"seconds": 1.5})", "--timeout", "0.2", "--req", ep});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 2);
        VERIFY_RUN(r, r.err.contains(QStringLiteral("timed out")));
        QCOMPARE(nonEmptyLines(r.err).size(), 1);
        QVERIFY(r.out.isEmpty());
        QVERIFY2(r.ms >= 180 && r.ms < 1200, qPrintable(QString::number(r.ms)));
        // A stopping server cuts the sleep short.
        QElapsedTimer timer;
        timer.start();
        QVERIFY(serve.signal(SIGTERM));
        QVERIFY2(serve.waitFinished(2000), qPrintable(serve.describe()));
        QVERIFY2(serve.normalExit() && serve.exitCode() == 0, qPrintable(serve.describe()));
        QVERIFY2(timer.elapsed() < 1000, qPrintable(QString::number(timer.elapsed())));
    }

    void callUnreachable() {
        const QString dead = QString::fromStdString(deadTcpEndpoint());
        auto r = run({"call", "ping", "--timeout", "0.5", "--req", dead});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 2);
        VERIFY_RUN(r, r.err.contains(QStringLiteral("unreachable")));
        QCOMPARE(nonEmptyLines(r.err).size(), 1);
        QVERIFY(r.out.isEmpty());
        QVERIFY2(r.ms >= 400 && r.ms < 1500, qPrintable(QString::number(r.ms)));
    }

    // SIGINT/SIGTERM end a call in flight at once (the signals are blocked for sigwait-style
    // handling, and RpcClient::invoke does not look at them): one line, exit 128 + the signal.
    void callInterrupted_data() {
        QTest::addColumn<int>("sig");
        QTest::addColumn<int>("code");
        QTest::newRow("SIGINT") << int(SIGINT) << 130;
        QTest::newRow("SIGTERM") << int(SIGTERM) << 143;
    }
    void callInterrupted() {
        QFETCH(int, sig);
        QFETCH(int, code);
        Child serve;  // its own: the sleeping function keeps a server busy
        const QString ep = startServe(serve);
        QVERIFY2(!ep.isEmpty(), qPrintable(serve.describe()));
        Child call;
        call.start({"call", "sleep", R"({"seconds": 5})", "--req", ep, "--timeout", "10"});
        QVERIFY(call.waitStarted());
        // The request is out (the server counted it); the reply is 5 s away.
        QVERIFY2(waitServed(serve, 1), qPrintable(serve.describe() + '\n' + call.describe()));
        QVERIFY2(call.running(), qPrintable(call.describe()));
        QElapsedTimer timer;
        timer.start();
        QVERIFY(call.signal(sig));
        QVERIFY2(call.waitFinished(1000), qPrintable(call.describe()));
        QVERIFY2(timer.elapsed() < 1000, qPrintable(QString::number(timer.elapsed())));
        QVERIFY2(call.normalExit() && call.exitCode() == code, qPrintable(call.describe()));
        QCOMPARE(call.err(), QStringLiteral("zmqrpc call: interrupted\n"));
        QVERIFY2(call.out().isEmpty(), qPrintable(call.describe()));
    }

    void callRepeatInterrupted() {
        Child serve;
        const QString ep = startServe(serve);
        QVERIFY2(!ep.isEmpty(), qPrintable(serve.describe()));
        Child call;
        call.start({"call", "sleep", R"({"seconds": 0.05})", "--repeat", "1000", "--req", ep,
                    "--timeout", "10"});
        QVERIFY(call.waitStarted());
        // A call is sent only once the one before was answered: two counted, one done.
        QVERIFY2(waitServed(serve, 2), qPrintable(serve.describe() + '\n' + call.describe()));
        QElapsedTimer timer;
        timer.start();
        QVERIFY(call.signal(SIGINT));
        QVERIFY2(call.waitFinished(1000), qPrintable(call.describe()));
        QVERIFY2(timer.elapsed() < 1000, qPrintable(QString::number(timer.elapsed())));
        QVERIFY2(call.normalExit() && call.exitCode() == 130, qPrintable(call.describe()));
        // The summary of the calls completed so far, then the line.
        static const QRegularExpression summary(QStringLiteral(
            R"(^([0-9]+) calls ok, 0 failed; latency ms: min [0-9.]+, median [0-9.]+, )"
            R"(p99 [0-9.]+, max [0-9.]+\n$)"));
        const auto match = summary.match(call.out());
        QVERIFY2(match.hasMatch(), qPrintable(call.describe()));
        const int done = match.captured(1).toInt();
        QVERIFY2(done >= 1 && done < 1000, qPrintable(call.describe()));
        QCOMPARE(call.err(), QStringLiteral("zmqrpc call: interrupted\n"));
    }

    void callRepeatableReq() {
        // Each --req takes one value: PARAMS after it stays PARAMS.
        auto r = run({"call", "add", "--req", m_ep, R"({"a": 1, "b": 2})", "--timeout", "3"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 0);
        QCOMPARE(r.out, QStringLiteral("3\n"));
        // Repeated, it still gives several endpoints (round-robin over those that are up).
        const QString dead = QString::fromStdString(deadTcpEndpoint());
        r = run(
            {"call", "add", "--req", dead, "--req", m_ep, R"({"a": 2, "b": 3})", "--timeout", "3"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 0);
        QCOMPARE(r.out, QStringLiteral("5\n"));
        r = run({"call", "--req", dead, "--req=" + m_ep, "ping", "--timeout", "3"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 0);
        QCOMPARE(r.out, QStringLiteral("\"pong\"\n"));
    }

    void callStatusTextOneLine() {
        // A server's status text with a newline, a terminal escape and a bell: escaped as snoop
        // does, so the error stays one line and the terminal untouched.
        auto r = run({"call", "fail", "{\"message\": \"two\\nlines \\u001b[31mred\\u0007 ☃\"}",
                      "--req", m_ep, "--timeout", "3"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 1);
        QCOMPARE(nonEmptyLines(r.err).size(), 1);
        VERIFY_RUN(r,
                   r.err.contains(QStringLiteral("Exception: two\\x0alines \\x1b[31mred\\x07 ☃")));
        VERIFY_RUN(r, !r.err.contains(QChar(0x1b)) && !r.err.contains(QChar(0x07)));
        QVERIFY(r.out.isEmpty());
    }

    void serveStopsOnSignal_data() {
        QTest::addColumn<int>("sig");
        QTest::newRow("SIGTERM") << int(SIGTERM);
        QTest::newRow("SIGINT") << int(SIGINT);
    }
    void serveStopsOnSignal() {
        QFETCH(int, sig);
        Child serve;
        const QString ep = startServe(serve);
        QVERIFY2(!ep.isEmpty(), qPrintable(serve.describe()));
        auto r = run({"call", "ping", "--req", ep, "--timeout", "3"});
        VERIFY_RUN(r, r.code == 0);
        QElapsedTimer timer;
        timer.start();
        QVERIFY(serve.signal(sig));
        QVERIFY2(serve.waitFinished(2000), qPrintable(serve.describe()));
        const auto ms = timer.elapsed();
        QVERIFY2(serve.normalExit() && serve.exitCode() == 0, qPrintable(serve.describe()));
        QVERIFY2(ms < 1000, qPrintable(QString::number(ms)));
        QCOMPARE(countersLines(serve.err(), QStringLiteral("serve")), 1);
        QVERIFY2(serve.err().contains(QStringLiteral("serve: in 1 msgs")), qPrintable(serve.err()));
        // The final line names the endpoint as bound (port resolved), not "tcp://127.0.0.1:*".
        QVERIFY2(serve.err().contains(QStringLiteral("; rep %1 ").arg(ep)),
                 qPrintable(serve.err()));
    }

    void serveUsr1PrintsCounters() {
        Child serve;
        const QString ep = startServe(serve);
        QVERIFY2(!ep.isEmpty(), qPrintable(serve.describe()));
        QVERIFY(serve.signal(SIGUSR1));
        QVERIFY2(serve.waitFor([&] { return countersLines(serve.err(), "serve") == 1; }, 2000),
                 qPrintable(serve.describe()));
        QVERIFY(serve.running());
        auto r = run({"call", "ping", "--req", ep, "--timeout", "3"});
        VERIFY_RUN(r, r.code == 0);
    }

    void credentials() {
        const QString secret = QStringLiteral("correct-horse-42");
        const QString wrong = QStringLiteral("wrong-pw-1234");
        const auto env = envWith(QStringLiteral("ZMQRPC_TST_PASSWORD"), secret);
        Child serve;
        const QString ep =
            startServe(serve, {"--user", "alice", "--password-env", "ZMQRPC_TST_PASSWORD"}, env);
        QVERIFY2(!ep.isEmpty(), qPrintable(serve.describe()));

        // The right password, from the environment and from the command line.
        auto ok = run({"call", "ping", "--req", ep, "--timeout", "3", "--user", "alice",
                       "--password-env", "ZMQRPC_TST_PASSWORD"},
                      5000, env);
        VERIFY_RUN(ok, ok.code == 0 && ok.out == QStringLiteral("\"pong\"\n"));
        ok = run({"call", "ping", "--req", ep, "--timeout", "3", "--user", "alice", "--password",
                  secret});
        VERIFY_RUN(ok, ok.code == 0 && ok.out == QStringLiteral("\"pong\"\n"));

        // A wrong password: exit 2, says so, and never echoes a password.
        auto bad = run({"call", "ping", "--req", ep, "--timeout", "2", "--user", "alice",
                        "--password", wrong});
        VERIFY_RUN(bad, bad.finished && bad.normal && bad.code == 2);
        VERIFY_RUN(bad, bad.err.contains(QStringLiteral("credentials refused")));
        QVERIFY2(!bad.err.contains(wrong), qPrintable(bad.err));
        QVERIFY2(!bad.err.contains(secret), qPrintable(bad.err));
        QCOMPARE(nonEmptyLines(bad.err).size(), 1);
        QVERIFY(bad.out.isEmpty());
        QVERIFY2(bad.ms < 2500, qPrintable(QString::number(bad.ms)));

        // A wrong user name with the right password is refused as well.
        bad = run({"call", "ping", "--req", ep, "--timeout", "2", "--user", "mallory", "--password",
                   secret});
        VERIFY_RUN(bad, bad.code == 2 && bad.err.contains(QStringLiteral("credentials refused")));
        QVERIFY2(!bad.err.contains(secret), qPrintable(bad.err));

        // No credentials at all: exit 2, credentials refused. Which of the two texts depends on
        // a race in the NULL-vs-PLAIN handshake: the client sees the mechanism mismatch itself
        // ("... (no credentials)", at once), or the server hangs up first ("... it closed every
        // handshake ...", at the deadline). Either way it is the refusal, never "unreachable"
        // (300 of 300 runs beside a CPU hog).
        bad = run({"call", "ping", "--req", ep, "--timeout", "2"});
        VERIFY_RUN(bad, bad.finished && bad.normal && bad.code == 2);
        VERIFY_RUN(bad,
                   bad.err.startsWith(QStringLiteral("zmqrpc call: credentials refused by ") + ep +
                                      QLatin1Char(' ')) ||
                       bad.err.startsWith(QStringLiteral("zmqrpc call: credentials refused by ") +
                                          ep + QLatin1Char(':')));
        QCOMPARE(nonEmptyLines(bad.err).size(), 1);

        // The server still serves the right client, and prints no password either.
        ok = run({"call", "ping", "--req", ep, "--timeout", "3", "--user", "alice", "--password",
                  secret});
        VERIFY_RUN(ok, ok.code == 0);
        QVERIFY(serve.signal(SIGTERM));
        QVERIFY2(serve.waitFinished(2000), qPrintable(serve.describe()));
        QVERIFY(!serve.err().contains(secret) && !serve.err().contains(wrong));
        QVERIFY(!serve.out().contains(secret));
    }

    // ---- CURVE

    void keygen() {
        QTemporaryDir home;
        QVERIFY(home.isValid());
        const QString dir = home.filePath(QStringLiteral("keys"));  // made by keygen
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("ZMQRPC_KEYS"), dir);
        const QString publicFile = dir + QStringLiteral("/site.key");
        const QString secretFile = dir + QStringLiteral("/site.key_secret");

        auto r = run({"keygen", "site"}, 5000, env);
        VERIFY_RUN(r, r.finished && r.normal && r.code == 0);
        // One line of Z85 on stdout, as KEY=$(zmqrpc keygen site) takes it.
        VERIFY_RUN(r, r.out.size() == 41 && r.out.endsWith(QLatin1Char('\n')));
        const std::string key = r.out.trimmed().toStdString();
        QVERIFY2(!zmqrpc::check_curve_key(key), key.c_str());
        VERIFY_RUN(r, nonEmptyLines(r.err).size() == 1 && r.err.contains(publicFile) &&
                          r.err.contains(secretFile));
        QCOMPARE(fileMode(publicFile), 0644);
        QCOMPARE(fileMode(secretFile), 0600);
        QCOMPARE(fileMode(dir), 0700);
        QCOMPARE(zmqrpc::load_curve_public_file(publicFile.toStdString()), key);
        QCOMPARE(zmqrpc::load_curve_secret_file(secretFile.toStdString()).public_key, key);
        QVERIFY2(!r.err.contains(QString::fromStdString(
                     zmqrpc::load_curve_secret_file(secretFile.toStdString()).secret_key)),
                 qPrintable(r.err));

        // --public prints the existing pair's public key and makes nothing.
        auto shown = run({"keygen", "--public", "site"}, 5000, env);
        VERIFY_RUN(shown, shown.code == 0 && shown.out == r.out && shown.err.isEmpty());

        // An existing pair is not replaced without --force.
        auto again = run({"keygen", "site"}, 5000, env);
        VERIFY_RUN(again, again.finished && again.normal && again.code == 3 && again.out.isEmpty());
        VERIFY_RUN(again, nonEmptyLines(again.err).size() == 1 &&
                              again.err.startsWith(QStringLiteral("zmqrpc keygen: ")) &&
                              again.err.contains(QStringLiteral("exists already")) &&
                              again.err.contains(QStringLiteral("--force")));
        QCOMPARE(zmqrpc::load_curve_public_file(publicFile.toStdString()), key);

        auto forced = run({"keygen", "site", "--force"}, 5000, env);
        VERIFY_RUN(forced, forced.code == 0 && forced.out.size() == 41 && forced.out != r.out);
        const std::string replaced = forced.out.trimmed().toStdString();
        QCOMPARE(zmqrpc::load_curve_public_file(publicFile.toStdString()), replaced);
        QCOMPARE(zmqrpc::load_curve_secret_file(secretFile.toStdString()).public_key, replaced);
        QCOMPARE(fileMode(secretFile), 0600);

        // --keys (alias --dir) names another directory; without NAME, the host name.
        const QString other = home.filePath(QStringLiteral("other"));
        auto named = run({"keygen", "--dir", other}, 5000, env);
        VERIFY_RUN(named, named.code == 0);
        char host[256] = {};
        QCOMPARE(::gethostname(host, sizeof host - 1), 0);
        const QString hostFile = other + QLatin1Char('/') + QString::fromLocal8Bit(host);
        QCOMPARE(zmqrpc::load_curve_public_file((hostFile + QStringLiteral(".key")).toStdString()),
                 named.out.trimmed().toStdString());
        QCOMPARE(fileMode(hostFile + QStringLiteral(".key_secret")), 0600);

        auto missing = run({"keygen", "--public", "nosuch"}, 5000, env);
        VERIFY_RUN(missing, missing.code == 3 && missing.out.isEmpty() &&
                                missing.err.contains(QStringLiteral("zmqrpc keygen nosuch")));
        auto badName = run({"keygen", "../escape"}, 5000, env);
        VERIFY_RUN(badName,
                   badName.code == 3 && badName.err.contains(QStringLiteral("plain file")));
    }

    void curveAnyClient() {
        Child serve;
        const QString ep =
            startServe(serve, {"--curve-secret-file", "server", "--curve-any-client"});
        QVERIFY2(!ep.isEmpty(), qPrintable(serve.describe()));

        // The server key by name (server.key in ZMQRPC_KEYS) with a fresh client key pair, and
        // as Z85 text with the client's own key pair from a file path.
        auto ok =
            run({"call", "ping", "--req", ep, "--timeout", "3", "--curve-server-key", "server"});
        VERIFY_RUN(ok, ok.code == 0 && ok.out == QStringLiteral("\"pong\"\n") && ok.err.isEmpty());
        ok = run({"call", "add", R"({"a": 2, "b": 3})", "--req", ep, "--timeout", "3",
                  "--curve-server-key", QString::fromStdString(publicKey("server")),
                  "--curve-secret-file", keyFile(QStringLiteral("client.key_secret"))});
        VERIFY_RUN(ok, ok.code == 0 && ok.out == QStringLiteral("5\n"));
        // The secret key from the environment.
        const auto client = zmqrpc::load_curve_secret_file(
            keyFile(QStringLiteral("client.key_secret")).toStdString());
        ok = run({"call", "ping", "--req", ep, "--timeout", "3", "--curve-server-key", "server",
                  "--curve-secret-env", "ZMQRPC_TST_CURVE_SECRET"},
                 5000,
                 envWith(QStringLiteral("ZMQRPC_TST_CURVE_SECRET"),
                         QString::fromStdString(client.secret_key)));
        VERIFY_RUN(ok, ok.code == 0);
        QVERIFY2(!ok.err.contains(QString::fromStdString(client.secret_key)), qPrintable(ok.err));

        // Refused, said as such, never a timeout: a wrong server key, and no CURVE at all.
        for (const QStringList& security :
             {QStringList{"--curve-server-key", "other"}, QStringList{}}) {
            auto bad = run(QStringList{"call", "ping", "--req", ep, "--timeout", "2"} + security);
            VERIFY_RUN(bad, bad.finished && bad.normal && bad.code == 2 && bad.out.isEmpty());
            VERIFY_RUN(bad, nonEmptyLines(bad.err).size() == 1 &&
                                bad.err.startsWith(QStringLiteral("zmqrpc call: ")) &&
                                bad.err.contains(QStringLiteral("refused")) &&
                                !bad.err.contains(QStringLiteral("timeout")) &&
                                !bad.err.contains(QStringLiteral("timed out")));
        }
        // Still serving.
        ok = run({"call", "ping", "--req", ep, "--timeout", "3", "--curve-server-key", "server"});
        VERIFY_RUN(ok, ok.code == 0);
        QVERIFY(serve.signal(SIGTERM));
        QVERIFY2(serve.waitFinished(2000), qPrintable(serve.describe()));
        QVERIFY2(serve.normalExit() && serve.exitCode() == 0, qPrintable(serve.describe()));
        QVERIFY2(serve.err().contains(QStringLiteral("credentials refused")),
                 qPrintable(serve.describe()));
    }

    void curveAuthorizedKeys() {
        // Only the client key listed; the list is re-read at each connection.
        const QString list = keyFile(QStringLiteral("serve.authorized_keys"));
        {
            QFile file(list);
            QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
            file.write("# who may call\n" + QByteArray::fromStdString(publicKey("client")) +
                       " the client\n");
        }
        QCOMPARE(fileMode(list) & 022, 0);
        Child serve;
        const QString ep = startServe(serve, {"--curve-secret-file", "server",
                                              "--curve-authorized-keys", "serve.authorized_keys"});
        QVERIFY2(!ep.isEmpty(), qPrintable(serve.describe()));

        auto ok = run({"call", "ping", "--req", ep, "--timeout", "3", "--curve-server-key",
                       "server", "--curve-secret-file", "client"});
        VERIFY_RUN(ok, ok.code == 0 && ok.out == QStringLiteral("\"pong\"\n"));
        // Not listed: another key pair, a fresh one, none at all.
        for (const QStringList& security :
             {QStringList{"--curve-server-key", "server", "--curve-secret-file", "other"},
              QStringList{"--curve-server-key", "server"}, QStringList{}}) {
            auto bad = run(QStringList{"call", "ping", "--req", ep, "--timeout", "2"} + security);
            VERIFY_RUN(bad, bad.finished && bad.normal && bad.code == 2 && bad.out.isEmpty());
            VERIFY_RUN(bad, nonEmptyLines(bad.err).size() == 1 &&
                                bad.err.contains(QStringLiteral("refused")) &&
                                !bad.err.contains(QStringLiteral("timeout")));
        }
        // Listed now, without restarting the server.
        {
            QFile file(list);
            QVERIFY(file.open(QIODevice::Append));
            file.write(QByteArray::fromStdString(publicKey("other")) + "\n");
        }
        ok = run({"call", "ping", "--req", ep, "--timeout", "3", "--curve-server-key", "server",
                  "--curve-secret-file", "other"});
        VERIFY_RUN(ok, ok.code == 0);
        QVERIFY(serve.signal(SIGTERM));
        QVERIFY2(serve.waitFinished(2000), qPrintable(serve.describe()));
    }

    void curvePublishSnoop() {
        // A binding PUB with CURVE; snoop connects with the server's key.
        const QString ep = QString::fromStdString(freeTcpEndpoint());
        Child snoop;
        snoop.start({"snoop", "--sub", ep, "--count", "1", "--no-heartbeats", "--curve-server-key",
                     "server"});
        QVERIFY(snoop.waitStarted());
        auto r = run({"publish", "--raw", "sealed", "--pub", ep, "--wait", "3",
                      "--curve-secret-file", "server", "--curve-any-client"});
        VERIFY_RUN(r, r.code == 0);
        QVERIFY2(snoop.waitFinished(3000), qPrintable(snoop.describe()));
        QCOMPARE(snoopMessage(snoop.outLines().value(0)), QStringLiteral("sealed"));

        // A subscriber with the wrong server key never counts as one.
        Child wrong;
        wrong.start({"snoop", "--sub", ep, "--curve-server-key", "other"});
        QVERIFY(wrong.waitStarted());
        r = run({"publish", "--raw", "sealed", "--pub", ep, "--wait", "0.5", "--curve-secret-file",
                 "server", "--curve-any-client"});
        VERIFY_RUN(r, r.code == 2 && r.err.contains(QStringLiteral("no subscriber")));
        QVERIFY(wrong.signal(SIGTERM));
        QVERIFY2(wrong.waitFinished(2000), qPrintable(wrong.describe()));
        QVERIFY2(wrong.out().isEmpty(), qPrintable(wrong.describe()));
    }

    void curveProxy() {
        // rep2req: the input binds with CURVE (in-), the output connects to a CURVE server (out-).
        Child serve;
        const QString server =
            startServe(serve, {"--curve-secret-file", "server", "--curve-any-client"});
        QVERIFY2(!server.isEmpty(), qPrintable(serve.describe()));
        Child proxy;
        const QString in =
            startProxy(proxy, QStringLiteral("rep2req"),
                       {"--in-rep", kAnyLoopback, "--out-req", server, "--in-curve-secret-file",
                        "other", "--in-curve-any-client", "--out-curve-server-key", "server",
                        "--out-curve-secret-file", "client"});
        QVERIFY2(in.startsWith(QStringLiteral("rep ")), qPrintable(proxy.describe()));
        auto ok = run(
            {"call", "ping", "--req", in.mid(4), "--timeout", "3", "--curve-server-key", "other"});
        VERIFY_RUN(ok, ok.code == 0 && ok.out == QStringLiteral("\"pong\"\n"));
    }

    void addressInUse() {
        auto r = run({"serve", "--rep", m_ep});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 3);
        QCOMPARE(nonEmptyLines(r.err).size(), 1);
        VERIFY_RUN(r, r.err.contains(QStringLiteral("Address already in use")));
        QVERIFY(r.out.isEmpty());
        // The first one is unharmed.
        auto ok = run({"call", "ping", "--req", m_ep, "--timeout", "3"});
        VERIFY_RUN(ok, ok.code == 0);
        // A PUB bind on a taken port says the same.
        r = run({"publish", "ping", "--pub", m_ep, "--wait", "0.1"});
        VERIFY_RUN(r, r.code == 3 && r.err.contains(QStringLiteral("Address already in use")));
        // An address this host does not have is told apart from a busy one (binding it sends
        // nothing anywhere).
        r = run({"serve", "--rep", "tcp://300.0.0.1:5555"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 3);
        QCOMPARE(nonEmptyLines(r.err).size(), 1);
        VERIFY_RUN(r, r.err.contains(QStringLiteral("not an address or interface of this host")) &&
                          !r.err.contains(QStringLiteral("already in use")));
    }

    void serveMaxMessageSize() {
        // -1 (no limit) and a positive size start; a message over the size gets no answer.
        Child unlimited;
        QVERIFY2(!startServe(unlimited, {"--max-message-size", "-1"}).isEmpty(),
                 qPrintable(unlimited.describe()));
        Child small;
        const QString ep = startServe(small, {"--max-message-size", "200"});
        QVERIFY2(!ep.isEmpty(), qPrintable(small.describe()));
        auto r = run({"call", "ping", "--req", ep, "--timeout", "3"});
        VERIFY_RUN(r, r.code == 0);
        r = run({"call", "echo",
                 QStringLiteral(R"({"x": "%1"})").arg(QString(300, QLatin1Char('x'))), "--req", ep,
                 "--timeout", "0.5"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 2);
    }

    // ---- publish, snoop, heartbeat

    void publishSnoop() {
        const QString ep = QString::fromStdString(freeTcpEndpoint());
        Child snoop;
        snoop.start({"snoop", "--sub", ep, "--count", "3"});
        QVERIFY(snoop.waitStarted());
        // Waits for the snoop, so that not even the first message is lost.
        Child publish;
        publish.start({"publish", "add", R"({"a": 1, "b": 2})", "--pub", ep, "--count", "3",
                       "--subscribers", "1", "--wait", "3", "--rate", "50", "--heartbeat-interval",
                       "0.01"});
        QVERIFY2(publish.waitFinished(4000), qPrintable(publish.describe()));
        QVERIFY2(publish.normalExit() && publish.exitCode() == 0, qPrintable(publish.describe()));
        QCOMPARE(publish.out(), QStringLiteral("published 3 message(s) on %1\n").arg(ep));

        QVERIFY2(snoop.waitFinished(3000), qPrintable(snoop.describe()));
        QVERIFY2(snoop.normalExit() && snoop.exitCode() == 0, qPrintable(snoop.describe()));
        static const QRegularExpression stamp(
            QStringLiteral(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} )"));
        const auto expected = parseJson(R"({"function": "add", "parameters": {"a": 1, "b": 2}})");
        QString sequence;  // M: message, H: heartbeat, in the order heard
        for (const auto& line : snoop.outLines()) {
            QVERIFY2(stamp.match(line).hasMatch(), qPrintable(line));
            QCOMPARE(snoopEndpoint(line), ep);
            if (isHeartbeatLine(line)) {
                sequence += QLatin1Char('H');
            } else {
                QCOMPARE(parseJson(snoopMessage(line)), expected);
                sequence += QLatin1Char('M');
            }
        }
        // `publish` looks at its heartbeat interval (10 ms) only before each message, and sends
        // one heartbeat at most then; messages are 20 ms apart (--rate 50). So one heartbeat
        // always precedes the second message (20 ms > 10 ms). Before the first (due at once) and
        // the third (due 20 ms after the second), one is sent only if this process was held up
        // long enough: zero or one each. The snoop stops at the third message.
        static const QRegularExpression pattern(QStringLiteral("^H?MHMH?M$"));
        QVERIFY2(pattern.match(sequence).hasMatch(), qPrintable(sequence + '\n' + snoop.out()));
    }

    void publishRaw() {
        const QString ep = QString::fromStdString(freeTcpEndpoint());
        const QString raw = QStringLiteral("not json at all ☃ {");
        Child snoop;
        snoop.start({"snoop", "--sub", ep, "--count", "2"});
        QVERIFY(snoop.waitStarted());
        auto r = run({"publish", "--raw", raw, "--count", "2", "--pub", ep, "--wait", "3"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 0);
        QVERIFY2(snoop.waitFinished(3000), qPrintable(snoop.describe()));
        QVERIFY2(snoop.normalExit() && snoop.exitCode() == 0, qPrintable(snoop.describe()));
        const auto lines = snoop.outLines();
        QCOMPARE(lines.size(), 2);
        for (const auto& line : lines)
            QCOMPARE(snoopMessage(line), raw);
    }

    void publishNoSubscriber() {
        const QString ep = QString::fromStdString(freeTcpEndpoint());
        auto r = run({"publish", "ping", "--pub", ep, "--wait", "0.3"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 2);
        VERIFY_RUN(r, r.err.contains(QStringLiteral("no subscriber")));
        QVERIFY2(r.ms >= 250 && r.ms < 1300, qPrintable(QString::number(r.ms)));
        QVERIFY(!r.out.contains(QStringLiteral("published")));
    }

    void heartbeatSnoop() {
        const QString ep = QString::fromStdString(freeTcpEndpoint());
        Child snoop;
        snoop.start({"snoop", "--sub", ep});
        QVERIFY(snoop.waitStarted());
        Child beat;
        beat.start({"heartbeat", "--pub", ep, "--interval", "0.05"});
        auto ready = beat.nextLine(3000);
        QVERIFY2(ready, qPrintable(beat.describe()));
        QCOMPARE(*ready, QStringLiteral("zmqrpc heartbeat: ready on %1, every 0.05 s").arg(ep));
        auto heartbeats = [&] {
            int n = 0;
            for (const auto& line : snoop.outLines())
                n += isHeartbeatLine(line) ? 1 : 0;
            return n;
        };
        QVERIFY2(snoop.waitFor([&] { return heartbeats() >= 3; }, 3000),
                 qPrintable(snoop.describe()));
        for (const auto& line : snoop.outLines()) {
            QVERIFY2(isHeartbeatLine(line) && snoopEndpoint(line) == ep, qPrintable(line));
        }
        QElapsedTimer timer;
        timer.start();
        QVERIFY(beat.signal(SIGTERM));
        QVERIFY2(beat.waitFinished(2000), qPrintable(beat.describe()));
        QVERIFY2(beat.normalExit() && beat.exitCode() == 0, qPrintable(beat.describe()));
        QVERIFY(timer.elapsed() < 1000);
        QVERIFY2(QRegularExpression(QStringLiteral(R"(sent [0-9]+ heartbeat\(s\))"))
                     .match(beat.err())
                     .hasMatch(),
                 qPrintable(beat.err()));
        timer.restart();
        QVERIFY(snoop.signal(SIGINT));
        QVERIFY2(snoop.waitFinished(2000), qPrintable(snoop.describe()));
        QVERIFY2(snoop.normalExit() && snoop.exitCode() == 0, qPrintable(snoop.describe()));
        QVERIFY(timer.elapsed() < 1000);
    }

    void publishSnoopCredentials() {
        // This project makes PLAIN work on PUB/SUB: the binding PUB checks what SUBs present.
        const QString ep = QString::fromStdString(freeTcpEndpoint());
        const QString secret = QStringLiteral("pub-secret-77");
        const auto env = envWith(QStringLiteral("ZMQRPC_TST_PUB_PASSWORD"), secret);
        const QStringList publishArgs{"publish",
                                      "--raw",
                                      "hello",
                                      "--pub",
                                      ep,
                                      "--user",
                                      "bob",
                                      "--password-env",
                                      "ZMQRPC_TST_PUB_PASSWORD"};
        {
            Child snoop;
            snoop.start({"snoop", "--sub", ep, "--count", "1", "--user", "bob", "--password-env",
                         "ZMQRPC_TST_PUB_PASSWORD"},
                        env);
            QVERIFY(snoop.waitStarted());
            auto r = run(publishArgs + QStringList{"--wait", "3"}, 5000, env);
            VERIFY_RUN(r, r.code == 0);
            QVERIFY2(snoop.waitFinished(3000), qPrintable(snoop.describe()));
            QCOMPARE(snoopMessage(snoop.outLines().value(0)), QStringLiteral("hello"));
        }
        // A wrong password: the publisher never gets its subscriber, the snoop hears nothing and
        // its events say why, without the password.
        Child snoop;
        snoop.start({"snoop", "--sub", ep, "--events", "--user", "bob", "--password", "bad-pw-55"});
        QVERIFY(snoop.waitStarted());
        auto r = run(publishArgs + QStringList{"--wait", "0.5"}, 5000, env);
        VERIFY_RUN(r, r.code == 2 && r.err.contains(QStringLiteral("no subscriber")));
        QVERIFY2(snoop.waitFor([&] { return snoop.err().contains("credentials-refused"); }, 2000),
                 qPrintable(snoop.describe()));
        QVERIFY(snoop.signal(SIGTERM));
        QVERIFY2(snoop.waitFinished(2000), qPrintable(snoop.describe()));
        QVERIFY2(snoop.normalExit() && snoop.exitCode() == 0, qPrintable(snoop.describe()));
        QVERIFY2(snoop.out().isEmpty(), qPrintable(snoop.out()));
        QVERIFY(!snoop.err().contains(QStringLiteral("bad-pw-55")));
        QVERIFY(!r.err.contains(secret));
    }

    void serveSub() {
        // publish -> serve --sub: the functions run (counted), nothing is answered.
        const QString ep = QString::fromStdString(freeTcpEndpoint());
        Child serve;
        serve.start({"serve", "--sub", ep + "@5"});
        auto ready = serve.nextLine(3000);
        QVERIFY2(ready, qPrintable(serve.describe()));
        QVERIFY2(ready->startsWith(QStringLiteral("zmqrpc serve: ready on sub %1 ").arg(ep)),
                 qPrintable(*ready));
        auto r =
            run({"publish", "echo", R"({"x": 1})", "--pub", ep, "--count", "2", "--wait", "3"});
        VERIFY_RUN(r, r.code == 0);
        QVERIFY2(serve.waitFor(
                     [&] {
                         if (serve.err().contains(QStringLiteral("serve: in 2 msgs"))) return true;
                         serve.signal(SIGUSR1);
                         return false;
                     },
                     3000),
                 qPrintable(serve.describe()));
    }

    void snoopNoHeartbeats() {
        const QString ep = QString::fromStdString(freeTcpEndpoint());
        Child snoop;
        snoop.start({"snoop", "--sub", ep, "--count", "2", "--no-heartbeats"});
        QVERIFY(snoop.waitStarted());
        auto r = run({"publish", "ping", "--pub", ep, "--count", "2", "--rate", "20",
                      "--heartbeat-interval", "0.01", "--wait", "3"});
        VERIFY_RUN(r, r.code == 0);
        QVERIFY2(snoop.waitFinished(3000), qPrintable(snoop.describe()));
        const auto lines = snoop.outLines();
        QCOMPARE(lines.size(), 2);
        for (const auto& line : lines)
            QVERIFY2(!isHeartbeatLine(line), qPrintable(line));
    }

    // ---- proxies

    void snoopSaysCredentialsRefused() {
        // Without --events too: refused credentials mean nothing will ever arrive. Said once
        // per kind, however often libzmq retries.
        const QString ep = QString::fromStdString(freeTcpEndpoint());
        const auto env = envWith(QStringLiteral("ZMQRPC_TST_BEAT_PASSWORD"), "beat-secret-31");
        Child beat;
        beat.start({"heartbeat", "--pub", ep, "--interval", "0.1", "--user", "bob",
                    "--password-env", "ZMQRPC_TST_BEAT_PASSWORD"},
                   env);
        QVERIFY2(beat.nextLine(3000), qPrintable(beat.describe()));
        const QString prefix = QStringLiteral("zmqrpc snoop: %1: ").arg(ep);
        for (const QStringList& credentials :
             {QStringList{}, QStringList{"--user", "bob", "--password", "bad-pw-55"}}) {
            Child snoop;
            snoop.start(QStringList{"snoop", "--sub", ep} + credentials);
            QVERIFY2(snoop.waitFor([&] { return snoop.err().contains("credentials"); }, 3000),
                     qPrintable(snoop.describe()));
            QTest::qWait(700);  // libzmq retries meanwhile
            QVERIFY(snoop.signal(SIGTERM));
            QVERIFY2(snoop.waitFinished(2000), qPrintable(snoop.describe()));
            QVERIFY2(snoop.normalExit() && snoop.exitCode() == 0, qPrintable(snoop.describe()));
            QVERIFY2(snoop.out().isEmpty(), qPrintable(snoop.describe()));
            const auto lines = nonEmptyLines(snoop.err());
            QVERIFY2(!lines.isEmpty() && lines.size() <= 2, qPrintable(snoop.describe()));
            QCOMPARE(QSet<QString>(lines.begin(), lines.end()).size(), lines.size());
            for (const auto& line : lines)
                QVERIFY2(line.startsWith(prefix), qPrintable(snoop.describe()));
            if (!credentials.isEmpty()) {
                QCOMPARE(lines.size(), 1);
                QVERIFY2(lines[0].contains(QStringLiteral("credentials refused")),
                         qPrintable(snoop.describe()));
            }
            QVERIFY(!snoop.err().contains(QStringLiteral("bad-pw-55")));
        }
    }

    void snoopTinyHeartbeatTimeout() {
        // ENDPOINT@SECONDS below a millisecond rounds up to 1 ms, as the seconds options do,
        // rather than down to 0 ("not monitored").
        const QString dead = QString::fromStdString(deadTcpEndpoint());
        Child snoop;
        snoop.start({"snoop", "--sub", dead + "@0.0004", "--events"});
        QVERIFY2(snoop.waitFor(
                     [&] {
                         return snoop.err().contains(
                             QStringLiteral("heartbeat-late %1: nothing heard for half the "
                                            "heartbeat timeout of 1 ms")
                                 .arg(dead));
                     },
                     2000),
                 qPrintable(snoop.describe()));
        QVERIFY(snoop.signal(SIGTERM));
        QVERIFY2(snoop.waitFinished(2000), qPrintable(snoop.describe()));
        QVERIFY2(snoop.normalExit() && snoop.exitCode() == 0, qPrintable(snoop.describe()));
    }

    void proxyRep2Req() {
        Child serve;
        const QString ep = startServe(serve);
        QVERIFY2(!ep.isEmpty(), qPrintable(serve.describe()));
        Child proxy;
        const QString in = startProxy(
            proxy, "rep2req", {"--in-rep", kAnyLoopback, "--out-req", ep, "--req-timeout", "2"});
        QVERIFY2(in.startsWith(QStringLiteral("rep tcp://127.0.0.1:")),
                 qPrintable(proxy.describe()));
        const QString pep = in.mid(4);
        QVERIFY(pep != QStringLiteral("tcp://127.0.0.1:*"));

        auto r = run({"call", "add", R"({"a": 2, "b": 3})", "--req", pep, "--timeout", "3"});
        VERIFY_RUN(r, r.code == 0 && r.out == QStringLiteral("5\n"));
        // The downstream reply comes back unchanged, errors included.
        r = run({"call", "nope", "--req", pep, "--timeout", "3"});
        VERIFY_RUN(r, r.code == 1 && r.err.contains(QLatin1String(kUnknownFunctionText)));

        // SIGUSR1: counters on stderr, and it keeps running.
        QVERIFY(proxy.signal(SIGUSR1));
        QVERIFY2(proxy.waitFor([&] { return countersLines(proxy.err(), "proxy") == 1; }, 2000),
                 qPrintable(proxy.describe()));
        QVERIFY2(proxy.err().contains(QStringLiteral("proxy: in 2 msgs")), qPrintable(proxy.err()));
        QVERIFY(proxy.running());
        r = run({"call", "ping", "--req", pep, "--timeout", "3"});
        VERIFY_RUN(r, r.code == 0 && r.out == QStringLiteral("\"pong\"\n"));

        // SIGTERM: a final counters line, exit 0.
        QElapsedTimer timer;
        timer.start();
        QVERIFY(proxy.signal(SIGTERM));
        QVERIFY2(proxy.waitFinished(2000), qPrintable(proxy.describe()));
        QVERIFY2(proxy.normalExit() && proxy.exitCode() == 0, qPrintable(proxy.describe()));
        QVERIFY(timer.elapsed() < 1000);
        QCOMPARE(countersLines(proxy.err(), "proxy"), 2);
        const auto last = nonEmptyLines(proxy.err()).last();
        QVERIFY2(last.startsWith(QStringLiteral("proxy: in 3 msgs")) &&
                     last.contains(QStringLiteral("delivered 3")),
                 qPrintable(last));
        QCOMPARE(proxy.outLines().size(), 1);  // only the ready line
    }

    void proxyRep2ReqUndeliverable() {
        const QString dead = QString::fromStdString(deadTcpEndpoint());
        Child proxy;
        const QString in =
            startProxy(proxy, "rep2req",
                       {"--in-rep", kAnyLoopback, "--out-req", dead, "--req-timeout", "0.3"});
        QVERIFY2(in.startsWith(QStringLiteral("rep ")), qPrintable(proxy.describe()));
        auto r = run({"call", "ping", "--req", in.mid(4), "--timeout", "3"});
        VERIFY_RUN(r, r.finished && r.code == 1 && r.err.contains(QStringLiteral("482")));
        QCOMPARE(nonEmptyLines(r.err).size(), 1);
    }

    void proxyCredentials() {
        // Separate credentials on each side: clients present "up" to the proxy, the proxy
        // presents "down" to the server.
        auto env = envWith(QStringLiteral("ZMQRPC_TST_UP"), QStringLiteral("up-pw-1"));
        env.insert(QStringLiteral("ZMQRPC_TST_DOWN"), QStringLiteral("down-pw-2"));
        Child serve;
        const QString ep =
            startServe(serve, {"--user", "down", "--password-env", "ZMQRPC_TST_DOWN"}, env);
        QVERIFY2(!ep.isEmpty(), qPrintable(serve.describe()));
        Child proxy;
        proxy.start({"proxy", "rep2req", "--in-rep", kAnyLoopback, "--out-req", ep, "--req-timeout",
                     "2", "--in-user", "up", "--in-password-env", "ZMQRPC_TST_UP", "--out-user",
                     "down", "--out-password-env", "ZMQRPC_TST_DOWN"},
                    env);
        auto ready = proxy.nextLine(3000);
        QVERIFY2(ready, qPrintable(proxy.describe()));
        static const QRegularExpression in(
            QStringLiteral(R"(in rep (tcp://127\.0\.0\.1:[0-9]+);)"));
        const QString pep = in.match(*ready).captured(1);
        QVERIFY2(!pep.isEmpty(), qPrintable(*ready));

        auto r = run({"call", "ping", "--req", pep, "--timeout", "3", "--user", "up",
                      "--password-env", "ZMQRPC_TST_UP"},
                     5000, env);
        VERIFY_RUN(r, r.code == 0 && r.out == QStringLiteral("\"pong\"\n"));
        // The downstream's credentials do not open the proxy's input.
        r = run({"call", "ping", "--req", pep, "--timeout", "2", "--user", "down", "--password",
                 "down-pw-2"});
        VERIFY_RUN(r, r.code == 2 && r.err.contains(QStringLiteral("credentials refused")));
        QVERIFY(!r.err.contains(QStringLiteral("down-pw-2")));
        QVERIFY(proxy.signal(SIGTERM));
        QVERIFY2(proxy.waitFinished(2000), qPrintable(proxy.describe()));
        QVERIFY(!proxy.err().contains(QStringLiteral("up-pw-1")) &&
                !proxy.err().contains(QStringLiteral("down-pw-2")));
    }

    void proxyBufferedRep2Req() {
        // The downstream is an in-process server that starts only after the proxy accepted.
        const std::string downstream = freeTcpEndpoint();
        Child proxy;
        const QString in =
            startProxy(proxy, "buffered-rep2req",
                       {"--in-rep", kAnyLoopback, "--out-req", QString::fromStdString(downstream),
                        "--req-timeout", "2", "--retry-interval", "0.05"});
        QVERIFY2(in.startsWith(QStringLiteral("rep tcp://127.0.0.1:")),
                 qPrintable(proxy.describe()));
        const QString pep = in.mid(4);

        auto r = run({"call", "record", R"({"n": 1})", "--req", pep, "--timeout", "2"});
        VERIFY_RUN(r, r.finished && r.code == 0 && r.out == QStringLiteral("null\n"));
        QVERIFY2(r.ms < 1500, qPrintable(QString::number(r.ms)));

        auto log = std::make_shared<CallLog>();
        zmqrpc::FunctionRegistry functions;
        functions.add("record", [log](const json& p) -> json {
            log->add(p);
            return "recorded";
        });
        zmqrpc::RpcServer server(repServerOptions(downstream, "downstream"), std::move(functions));
        server.start();
        QVERIFY2(waitUntil([&] { return log->size() >= 1; }, 5000ms), qPrintable(proxy.describe()));

        // Now that the downstream is up: still 200 on acceptance (no value), delivered in order.
        r = run({"call", "record", R"({"n": 2})", "--req", pep, "--timeout", "2"});
        VERIFY_RUN(r, r.code == 0 && r.out == QStringLiteral("null\n"));
        QVERIFY(waitUntil([&] { return log->size() >= 2; }, 5000ms));
        // Delivered counts when the downstream's reply is back at the proxy, a moment after the
        // server logged the call: ask the proxy (SIGUSR1) until it counted both.
        QVERIFY2(proxy.waitFor(
                     [&] {
                         if (proxy.err().contains(QStringLiteral("delivered 2"))) return true;
                         proxy.signal(SIGUSR1);
                         return false;
                     },
                     5000),
                 qPrintable(proxy.describe()));

        QVERIFY(proxy.signal(SIGTERM));
        QVERIFY2(proxy.waitFinished(2000), qPrintable(proxy.describe()));
        QVERIFY2(proxy.normalExit() && proxy.exitCode() == 0, qPrintable(proxy.describe()));
        // Its counters at exit: both delivered, and sent downstream exactly twice ("out" counts
        // what the REQ sent; an attempt while the downstream was away is never sent). So no copy
        // can still arrive, and the log is final. (The 2 s delivery timeout keeps a slow reply
        // from being taken for a lost one, and the message sent again, on a loaded machine.)
        const QStringList proxyLines = nonEmptyLines(proxy.err());
        const QString atExit = proxyLines.isEmpty() ? QString() : proxyLines.last();
        QVERIFY2(atExit.startsWith(QStringLiteral("proxy: in 2 msgs/")) &&
                     atExit.contains(QStringLiteral(", out 2 msgs/")) &&
                     atExit.contains(QStringLiteral("delivered 2, dropped 0")),
                 qPrintable(proxy.err()));
        const auto calls = log->snapshot();
        QCOMPARE(calls.size(), std::size_t(2));
        QCOMPARE(calls[0], json({{"n", 1}}));
        QCOMPARE(calls[1], json({{"n", 2}}));
    }

    void proxySub2Req() {
        // publish -> proxy sub2req -> serve
        Child serve;
        const QString sep = startServe(serve);
        QVERIFY2(!sep.isEmpty(), qPrintable(serve.describe()));
        const QString pubEp = QString::fromStdString(freeTcpEndpoint());
        Child proxy;
        const QString in = startProxy(proxy, "sub2req",
                                      {"--in-sub", pubEp, "--out-req", sep, "--req-timeout", "2"});
        QCOMPARE(in, QStringLiteral("sub ") + pubEp);

        auto r = run({"publish", "echo", R"({"via": "sub2req"})", "--pub", pubEp, "--count", "1",
                      "--subscribers", "1", "--wait", "3"});
        VERIFY_RUN(r, r.finished && r.code == 0);
        // The server counts what it received: ask it (SIGUSR1) until the message arrived.
        QVERIFY2(serve.waitFor(
                     [&] {
                         if (serve.err().contains(QStringLiteral("serve: in 1 msgs"))) return true;
                         serve.signal(SIGUSR1);
                         return false;
                     },
                     3000),
                 qPrintable(serve.describe() + QLatin1Char('\n') + proxy.describe()));

        QVERIFY(proxy.signal(SIGTERM));
        QVERIFY2(proxy.waitFinished(2000), qPrintable(proxy.describe()));
        QVERIFY2(proxy.normalExit() && proxy.exitCode() == 0, qPrintable(proxy.describe()));
        QVERIFY2(proxy.err().contains(QStringLiteral("delivered 1")), qPrintable(proxy.err()));
    }

    void proxySub2Pub() {
        // publish -> proxy sub2pub -> snoop
        const QString inEp = QString::fromStdString(freeTcpEndpoint());
        QString outEp;
        do {
            outEp = QString::fromStdString(freeTcpEndpoint());
        } while (outEp == inEp);
        const QString raw = QStringLiteral("through sub2pub ☃");
        Child snoop;
        snoop.start({"snoop", "--sub", outEp, "--count", "1", "--no-heartbeats"});
        QVERIFY(snoop.waitStarted());
        Child proxy;
        const QString in = startProxy(proxy, "sub2pub", {"--in-sub", inEp, "--out-pub", outEp});
        QCOMPARE(in, QStringLiteral("sub ") + inEp);
        // The proxy's own subscribers cannot be observed: publish until the snoop saw one.
        Child publish;
        publish.start({"publish", "--raw", raw, "--pub", inEp, "--count", "0", "--rate", "20",
                       "--subscribers", "1", "--wait", "3"});
        QVERIFY2(snoop.waitFinished(4000),
                 qPrintable(snoop.describe() + QLatin1Char('\n') + publish.describe()));
        QVERIFY2(snoop.normalExit() && snoop.exitCode() == 0, qPrintable(snoop.describe()));
        QCOMPARE(snoopMessage(snoop.outLines().value(0)), raw);

        QVERIFY(publish.signal(SIGTERM));
        QVERIFY2(publish.waitFinished(2000), qPrintable(publish.describe()));
        QVERIFY2(publish.normalExit() && publish.exitCode() == 0, qPrintable(publish.describe()));
        QVERIFY2(publish.out().startsWith(QStringLiteral("published ")), qPrintable(publish.out()));

        QVERIFY(proxy.signal(SIGINT));
        QVERIFY2(proxy.waitFinished(2000), qPrintable(proxy.describe()));
        QVERIFY2(proxy.normalExit() && proxy.exitCode() == 0, qPrintable(proxy.describe()));
        QCOMPARE(countersLines(proxy.err(), "proxy"), 1);
    }

    void proxyRep2Pub() {
        // call -> proxy rep2pub -> snoop
        const QString outEp = QString::fromStdString(freeTcpEndpoint());
        Child snoop;
        snoop.start({"snoop", "--sub", outEp, "--count", "1"});
        QVERIFY(snoop.waitStarted());
        Child proxy;
        const QString in =
            startProxy(proxy, "rep2pub", {"--in-rep", kAnyLoopback, "--out-pub", outEp});
        QVERIFY2(in.startsWith(QStringLiteral("rep tcp://127.0.0.1:")),
                 qPrintable(proxy.describe()));
        const QString pep = in.mid(4);
        // Calls are answered 200 once published; repeat until the snoop has subscribed.
        int calls = 0;
        while (snoop.running() && calls < 30) {
            auto r = run({"call", "echo", R"({"via": "rep2pub"})", "--req", pep, "--timeout", "2"});
            VERIFY_RUN(r, r.code == 0 && r.out == QStringLiteral("null\n"));
            ++calls;
            snoop.waitFinished(100);
        }
        QVERIFY2(snoop.waitFinished(1000), qPrintable(snoop.describe()));
        QVERIFY2(snoop.normalExit() && snoop.exitCode() == 0, qPrintable(snoop.describe()));
        QCOMPARE(parseJson(snoopMessage(snoop.outLines().value(0))),
                 parseJson(R"({"function": "echo", "parameters": {"via": "rep2pub"}})"));

        QVERIFY(proxy.signal(SIGTERM));
        QVERIFY2(proxy.waitFinished(2000), qPrintable(proxy.describe()));
        QVERIFY2(proxy.normalExit() && proxy.exitCode() == 0, qPrintable(proxy.describe()));
        QVERIFY2(proxy.err().contains(QStringLiteral("proxy: in %1 msgs").arg(calls)),
                 qPrintable(proxy.err()));
    }

    // ---- validate

    void validateExamples_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("nodes");
        QTest::addColumn<int>("links");
        QTest::newRow("sampler-to-cloud") << "sampler-to-cloud.json" << 6 << 5;
        QTest::newRow("buffered-bridge") << "buffered-bridge.json" << 5 << 4;
        QTest::newRow("rpc-fanout") << "rpc-fanout.json" << 7 << 5;
    }
    void validateExamples() {
        QFETCH(QString, name);
        QFETCH(int, nodes);
        QFETCH(int, links);
        const QString path = examplePath(name);
        auto r = run({"validate", path});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 0);
        // Valid, and not even a warning.
        QCOMPARE(
            r.out,
            QStringLiteral("%1: valid (%2 nodes, %3 links)\n").arg(path).arg(nodes).arg(links));
        QVERIFY2(r.err.isEmpty(), qPrintable(r.err));
        // Canonical: saving what was loaded gives the same bytes.
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const std::string text = file.readAll().toStdString();
        QCOMPARE(zmqrpc::save_topology(zmqrpc::load_topology(text)), text);
        // Ports of the examples stay within 5600-5699.
        const auto topology = zmqrpc::load_topology(text);
        for (const auto& node : topology.nodes()) {
            for (const auto& spec : zmqrpc::property_specs(node.kind)) {
                if (spec.type != zmqrpc::PropertyType::Endpoint) continue;
                const auto value = node.property(spec.key);
                if (!value.is_string()) continue;
                const int port = std::stoi(
                    value.get<std::string>().substr(value.get<std::string>().rfind(':') + 1));
                QVERIFY2(port >= 5600 && port <= 5699, qPrintable(QString::fromStdString(node.id)));
            }
        }
        auto json = run({"validate", "--json", path});
        VERIFY_RUN(json, json.finished && json.normal && json.code == 0);
        QCOMPARE(parseJson(json.out), zmqrpc::json::array());
    }

    void validateCurve() {
        // validate() says what a CURVE side lacks, by link.
        auto topology = loadExample(QStringLiteral("sampler-to-cloud.json"));
        topology.set_property("cloud-bridge", "input_credentials",
                              zmqrpc::json{{"curve", {{"secret_key", {{"file", "bridge"}}}}}});
        const QString noClients = writeTopology(QStringLiteral("s2c-no-clients.json"), topology);
        auto r = run({"validate", noClients});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 1);
        VERIFY_RUN(r, r.out.contains(noClients + QStringLiteral(": error: link 'uplink'")) &&
                          r.out.contains(QStringLiteral("must say who may connect")));

        // A fresh client key pair cannot be listed in authorized_keys.
        topology.set_property(
            "cloud-bridge", "input_credentials",
            zmqrpc::json{{"curve",
                          {{"secret_key", {{"file", "bridge"}}},
                           {"clients", {{"authorized_keys", "bridge.authorized_keys"}}}}}});
        const QString listed = writeTopology(QStringLiteral("s2c-listed.json"), topology);
        r = run({"validate", listed, "--json"});
        VERIFY_RUN(r, r.code == 1);
        const auto problems = parseJson(r.out);
        VERIFY_RUN(r, problems.is_array() && problems.size() == 1 &&
                          problems[0].value("link", "") == "uplink" &&
                          problems[0].value("text", "").find("authorized_keys cannot list it") !=
                              std::string::npos);
    }

    void validateErrors() {
        const QString path =
            writeFile(QStringLiteral("errors.json"),
                      "{\n"
                      "  \"format\": \"zmqrpc-topology\",\n"
                      "  \"version\": 1,\n"
                      "  \"nodes\": [\n"
                      "    {\"id\": \"s1\", \"kind\": \"sampler\", \"position\": [0, 0], "
                      "\"properties\": {\"bind\": \"tcp://127.0.0.1:5650\"}},\n"
                      "    {\"id\": \"s2\", \"kind\": \"sampler\", \"position\": [0, 100], "
                      "\"properties\": {\"bind\": \"tcp://127.0.0.1:5650\"}},\n"
                      "    {\"id\": \"proxy\", \"kind\": \"sub2req\", \"position\": [300, 0], "
                      "\"properties\": {\"queue_capacity\": 0}}\n"
                      "  ],\n"
                      "  \"links\": [\n"
                      "    {\"id\": \"l1\", \"from\": \"s1.pub\", \"to\": \"proxy.sub\"}\n"
                      "  ]\n"
                      "}\n");
        auto r = run({"validate", path});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 1);
        const auto lines = nonEmptyLines(r.out);
        VERIFY_RUN(r, lines.size() >= 3);
        VERIFY_RUN(r, r.out.contains(path + QStringLiteral(": error: node 's2' (bind): ")));
        VERIFY_RUN(
            r, r.out.contains(path + QStringLiteral(": error: node 'proxy' (queue_capacity): ")));
        VERIFY_RUN(r, lines.last().startsWith(path + QStringLiteral(": ")) &&
                          lines.last().contains(QStringLiteral(" errors")));
        for (const auto& line : lines.mid(0, lines.size() - 1))
            VERIFY_RUN(r, line.startsWith(path + QStringLiteral(": error: ")) ||
                              line.startsWith(path + QStringLiteral(": warning: ")));

        auto json = run({"validate", "--json", path});
        VERIFY_RUN(json, json.finished && json.normal && json.code == 1);
        const auto problems = parseJson(json.out);
        VERIFY_RUN(json, problems.is_array() &&
                             static_cast<qsizetype>(problems.size()) == lines.size() - 1);
        bool capacity = false;
        for (const auto& p : problems) {
            VERIFY_RUN(json, p.contains("severity") && p.contains("node") && p.contains("link") &&
                                 p.contains("property") && p.contains("text"));
            capacity = capacity || (p["node"] == "proxy" && p["property"] == "queue_capacity" &&
                                    p["severity"] == "error");
        }
        VERIFY_RUN(json, capacity);

        // run refuses it, listing the errors.
        auto ran = run({"run", path}, 3000, runEnv(m_tmp.path(), std::nullopt));
        VERIFY_RUN(ran, ran.finished && ran.normal && ran.code == 3);
        VERIFY_RUN(ran, ran.out.isEmpty());
        VERIFY_RUN(ran, ran.err.contains(path + QStringLiteral(": error: node 'proxy'")));
    }

    void validateLoadErrors_data() {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("broken JSON")
            << QByteArray(
                   "{\"format\": \"zmqrpc-topology\",\n  \"version\": 1,\n  \"nodes\": [,]\n}\n")
            << "line 3, column 13";
        QTest::newRow("newer version")
            << QByteArray(
                   R"({"format": "zmqrpc-topology", "version": 2, "nodes": [], "links": []})")
            << "this file is version 2, this zmqrpc reads version 1 or older";
        QTest::newRow("not a topology") << QByteArray(R"({"nodes": []})") << "format";
        QTest::newRow("unknown kind")
            << QByteArray(R"({"format": "zmqrpc-topology", "version": 1, "nodes": [
  {"id": "x", "kind": "gizmo", "position": [0, 0]}], "links": []})")
            << "nodes[0].kind";
    }
    void validateLoadErrors() {
        QFETCH(QByteArray, text);
        QFETCH(QString, mentions);
        const QString path = writeFile(QStringLiteral("load-error.json"), text);
        for (const QString& command : {QStringLiteral("validate"), QStringLiteral("run")}) {
            auto r = run({command, path}, 3000, runEnv(m_tmp.path(), std::nullopt));
            VERIFY_RUN(r, r.finished && r.normal && r.code == 3);
            VERIFY_RUN(r, r.out.isEmpty());
            const auto lines = nonEmptyLines(r.err);
            VERIFY_RUN(r, !lines.isEmpty());
            for (const auto& line : lines)
                VERIFY_RUN(r, line.startsWith(path + QStringLiteral(": ")));
            VERIFY_RUN(r, r.err.contains(mentions));
        }
    }

    void validateMissingFile() {
        auto r = run({"validate", "/nonexistent/zmqrpc-topology.json"});
        VERIFY_RUN(r, r.finished && r.normal && r.code == 3);
        QCOMPARE(nonEmptyLines(r.err),
                 QStringList{"/nonexistent/zmqrpc-topology.json: No such file or directory"});
    }

    void validateEscapesFileText() {
        // Ids and keys quoted from the file: one line each, control characters escaped.
        const QString path =
            writeFile(QStringLiteral("control-characters.json"),
                      "{\"format\": \"zmqrpc-topology\", \"version\": 1, \"nodes\": [{\"id\": "
                      "\"a\\nb\\u001b[2J\", \"kind\": \"sampler\", \"position\": [0, 0], "
                      "\"properties\": {\"bogus\\u0007\": 1}}], \"links\": []}");
        for (const QString& command : {QStringLiteral("validate"), QStringLiteral("run")}) {
            auto r = run({command, path}, 3000, runEnv(m_tmp.path(), std::nullopt));
            VERIFY_RUN(r, r.finished && r.normal && r.code == 3);
            const auto lines = nonEmptyLines(r.err);
            VERIFY_RUN(r, lines.size() == 2);
            for (const auto& line : lines)
                VERIFY_RUN(r, line.startsWith(path + QStringLiteral(": nodes[0].")));
            VERIFY_RUN(r, r.err.contains(QStringLiteral("node id 'a\\x0ab\\x1b[2J'")));
            VERIFY_RUN(r, r.err.contains(QStringLiteral("unknown property 'bogus\\x07'")));
            VERIFY_RUN(r, !r.err.contains(QChar(0x1b)) && !r.err.contains(QChar(0x07)));
        }
    }

    // ---- run

    void runNothingToRun() {
        auto noNodes = writeFile(QStringLiteral("no-nodes.json"),
                                 "{\"format\": \"zmqrpc-topology\", \"version\": 1, "
                                 "\"nodes\": [], \"links\": []}");
        auto r = run({"run", noNodes}, 3000, runEnv(m_tmp.path(), std::nullopt));
        VERIFY_RUN(r, r.finished && r.normal && r.code == 3 && r.out.isEmpty());
        QCOMPARE(r.err,
                 QStringLiteral("zmqrpc run: nothing to run: %1 has no nodes\n").arg(noNodes));
        auto externalOnly =
            writeFile(QStringLiteral("external-only.json"),
                      "{\"format\": \"zmqrpc-topology\", \"version\": 1, \"nodes\": [{\"id\": "
                      "\"ext\", \"kind\": \"external\", \"position\": [0, 0], \"properties\": "
                      "{\"socket\": \"pub\", \"endpoint\": \"tcp://127.0.0.1:5999\"}}], "
                      "\"links\": []}");
        r = run({"run", externalOnly}, 3000, runEnv(m_tmp.path(), std::nullopt));
        VERIFY_RUN(r, r.finished && r.normal && r.code == 3 && r.out.isEmpty());
        QCOMPARE(r.err,
                 QStringLiteral("zmqrpc run: nothing to run: %1 has only external nodes there\n")
                     .arg(externalOnly));
    }

    void statusTable() {
        // The pure formatter, on a hand-made snapshot.
        auto topology = loadExample(QStringLiteral("sampler-to-cloud.json"));
        zmqrpc::RuntimeSnapshot snapshot;
        snapshot.host = "site";
        snapshot.time = std::chrono::system_clock::now();
        for (const auto& node : topology.nodes()) {
            zmqrpc::NodeStatus status;
            status.id = node.id;
            status.kind = node.kind;
            status.host = topology.node_host(node);
            status.state =
                status.host == "site" ? zmqrpc::NodeState::Running : zmqrpc::NodeState::Remote;
            status.rate_in = 1234.5;
            status.rate_out = 12.25;
            snapshot.nodes.push_back(status);
        }
        auto& proxy = snapshot.nodes[3];
        QCOMPARE(proxy.id, std::string("site-proxy"));
        proxy.metrics.has_queue = true;
        proxy.metrics.queue.capacity = 100000;
        proxy.metrics.queue.fill = 42;
        auto& failed = snapshot.nodes[0];
        failed.state = zmqrpc::NodeState::Failed;
        failed.reason = "address already in use: tcp://*:5601 is bound by another process";
        for (const auto& link : topology.links()) {
            zmqrpc::LinkStatus status;
            status.id = link.id;
            status.endpoint = topology.connect_address(link);
            status.active = link.to.node == "site-proxy";
            status.connection = zmqrpc::ConnectionState::Connected;
            status.heartbeat = zmqrpc::HeartbeatState::Alive;
            status.ever_heard = true;
            status.heartbeat_timeout = std::chrono::seconds(5);
            snapshot.links.push_back(status);
        }
        snapshot.links[1].heartbeat = zmqrpc::HeartbeatState::Dead;
        snapshot.links[1].last_message_age = std::chrono::milliseconds(7500);
        snapshot.links[1].recreates = 2;
        snapshot.links[3].active = true;  // uplink, REQ
        snapshot.links[3].heartbeat = zmqrpc::HeartbeatState::Unmonitored;
        snapshot.links[3].connection = zmqrpc::ConnectionState::CredentialsRefused;

        const QString table = QString::fromStdString(cli::format_status_table(snapshot, topology));
        const auto lines = table.split(QLatin1Char('\n'));
        QVERIFY2(lines[0].startsWith(QStringLiteral("host site, ")) &&
                     lines[0].endsWith(QStringLiteral(": 3 running, 1 failed, 2 remote")),
                 qPrintable(table));
        QVERIFY2(lines[1].startsWith(QStringLiteral("NODE ")), qPrintable(table));
        // Aligned: every row starts its KIND column where the header does.
        const auto kindColumn = lines[1].indexOf(QStringLiteral("KIND"));
        for (int i = 2; i < 8; ++i)
            QVERIFY2(lines[i].at(kindColumn - 1) == QLatin1Char(' ') &&
                         lines[i].at(kindColumn) != QLatin1Char(' '),
                     qPrintable(table));
        auto row = parseRow(lines[5], QStringLiteral("site-proxy"));
        QVERIFY2(row && row->state == QLatin1String("running"), qPrintable(table));
        QCOMPARE(row->in, 1200.0);  // "1.2k"
        QVERIFY2(lines[5].contains(QStringLiteral(" 1.2k ")) &&
                     lines[5].contains(QStringLiteral(" 12.2 ")),
                 qPrintable(lines[5]));
        QCOMPARE(row->queue, QStringLiteral("42/100000"));
        QCOMPARE(row->links, QStringLiteral("2 alive, 1 DEAD"));
        QVERIFY2(lines[2].contains(QStringLiteral("failed: address already in use")) &&
                     lines[2].contains(QStringLiteral("...")),
                 qPrintable(table));
        QVERIFY2(lines[6].contains(QStringLiteral("remote(cloud)")), qPrintable(table));
        QVERIFY2(table.contains(QStringLiteral("\nfailed:\n  sampler-1: address already in use: "
                                               "tcp://*:5601 is bound by another process\n")),
                 qPrintable(table));
        QVERIFY2(table.contains(QStringLiteral(
                     "\nlinks:\n  sampler-2-to-proxy  sampler-2.pub -> site-proxy.sub  ")),
                 qPrintable(table));
        QVERIFY2(
            table.contains(QStringLiteral("heartbeat DEAD (silent 7.5 s, socket recreated 2x)")),
            qPrintable(table));
        QVERIFY2(table.contains(QStringLiteral("uplink  site-proxy.req -> cloud-bridge.rep  "
                                               "tcp://127.0.0.1:5610: credentials refused")),
                 qPrintable(table));

        QCOMPARE(cli::format_rate(0), std::string("0.0"));
        QCOMPARE(cli::format_rate(999.9), std::string("999.9"));
        QCOMPARE(cli::format_rate(1000), std::string("1.0k"));
        QCOMPARE(cli::format_rate(2500000), std::string("2.5M"));
    }

    void runSamplerToCloud() {
        // Every node in one runner, every bind on an ephemeral loopback port: the runtime starts
        // binders first and hands their resolved endpoints to the connectors.
        // Its CURVE uplink needs the bridge's key pair, made as the README says.
        auto topology = loadExample(QStringLiteral("sampler-to-cloud.json"));
        oneHostEphemeral(topology);
        const QString path = writeTopology(QStringLiteral("s2c-local.json"), topology);
        const QString keys = m_tmp.filePath(QStringLiteral("s2c-keys"));
        const auto env = runEnv(m_tmp.path(), std::nullopt, keys);
        auto keygen = run({"keygen", "sampler-to-cloud-bridge", "--force"}, 5000, env);
        VERIFY_RUN(keygen, keygen.code == 0 &&
                               QFileInfo::exists(keys + "/sampler-to-cloud-bridge.key_secret"));
        const QString secret =
            QString::fromStdString(zmqrpc::load_curve_secret_file(
                                       (keys + "/sampler-to-cloud-bridge.key_secret").toStdString())
                                       .secret_key);

        Child runner;
        runner.start({"run", path, "--status-interval", "0.5"}, env);
        const QString first = waitFirstTable(runner);
        QVERIFY2(!first.isEmpty(), qPrintable(runner.describe()));
        for (const auto& node : topology.nodes()) {
            const auto rows = rowsOf(first, QString::fromStdString(node.id));
            QVERIFY2(rows.size() == 1 && rows[0].state == QLatin1String("running"),
                     qPrintable(runner.describe()));
        }
        QVERIFY2(first.startsWith(QStringLiteral("all hosts, ")) &&
                     first.contains(QStringLiteral(": 6 running\n")),
                 qPrintable(first));
        // Within a bounded wait, the tap at the end of the chain hears the samplers.
        const bool flowing = runner.waitFor(
            [&] {
                const auto rows = rowsOf(runner.out(), QStringLiteral("cloud-tap"));
                return !rows.empty() && rows.back().in > 0;
            },
            5000);
        QVERIFY2(flowing, qPrintable(runner.describe()));
        const auto proxy = rowsOf(runner.out(), QStringLiteral("site-proxy")).back();
        QVERIFY2(proxy.links == QLatin1String("3 alive"), qPrintable(runner.describe()));
        QVERIFY2(proxy.queue.endsWith(QStringLiteral("/100000")), qPrintable(runner.describe()));
        QVERIFY2(!runner.err().contains(QStringLiteral("failed")), qPrintable(runner.describe()));
        QVERIFY2(!runner.err().contains(secret) && !runner.out().contains(secret),
                 qPrintable(runner.err()));
        stopRunner(runner, 6);
    }

    void runSamplerToCloudKeysOption() {
        // --keys names the directory instead of ZMQRPC_KEYS (which points elsewhere here).
        auto topology = loadExample(QStringLiteral("sampler-to-cloud.json"));
        oneHostEphemeral(topology);
        const QString path = writeTopology(QStringLiteral("s2c-keys-option.json"), topology);
        const QString keys = m_tmp.filePath(QStringLiteral("s2c-keys-option"));
        auto keygen = run({"keygen", "sampler-to-cloud-bridge", "--keys", keys, "--force"});
        VERIFY_RUN(keygen, keygen.code == 0);
        Child runner;
        runner.start({"run", path, "--quiet", "--keys", keys}, runEnv(m_tmp.path(), std::nullopt));
        const QString first = waitFirstTable(runner);
        QVERIFY2(first.contains(QStringLiteral(": 6 running\n")), qPrintable(runner.describe()));
        stopRunner(runner, 6);
    }

    void runWithoutCurveKey() {
        // The example's bridge key pair is not in the keys directory: never prompted for, the
        // two nodes of the uplink fail and say how to make it; the rest runs.
        auto topology = loadExample(QStringLiteral("sampler-to-cloud.json"));
        rewriteBinds(topology, [] { return freeTcpEndpoint(); });
        for (const auto& node : std::vector<zmqrpc::Node>(topology.nodes()))
            topology.set_node_host(node.id, "site");
        const QString path = writeTopology(QStringLiteral("s2c-nokey.json"), topology);
        const QString keys = m_tmp.filePath(QStringLiteral("s2c-empty-keys"));

        Child runner;
        runner.start({"run", path, "--host", "site"}, runEnv(m_tmp.path(), std::nullopt, keys));
        const QString first = waitFirstTable(runner);
        QVERIFY2(!first.isEmpty(), qPrintable(runner.describe()));
        for (const char* id : {"sampler-1", "sampler-2", "sampler-3", "cloud-tap"}) {
            const auto rows = rowsOf(first, QString::fromLatin1(id));
            QVERIFY2(rows.size() == 1 && rows[0].state == QLatin1String("running"),
                     qPrintable(runner.describe()));
        }
        for (const char* id : {"site-proxy", "cloud-bridge"}) {
            const auto rows = rowsOf(first, QString::fromLatin1(id));
            QVERIFY2(rows.size() == 1 && rows[0].state == QLatin1String("failed"),
                     qPrintable(runner.describe()));
        }
        const QString secretFile = keys + QStringLiteral("/sampler-to-cloud-bridge.key_secret");
        QVERIFY2(first.contains(QStringLiteral("\n  cloud-bridge: ")) &&
                     first.contains(secretFile) &&
                     first.contains(QStringLiteral("zmqrpc keygen sampler-to-cloud-bridge")),
                 qPrintable(first));
        QVERIFY2(first.contains(QStringLiteral("\n  site-proxy: ")) &&
                     first.contains(QStringLiteral("sampler-to-cloud-bridge.key")),
                 qPrintable(first));
        QVERIFY2(runner.err().contains(QStringLiteral("zmqrpc keygen sampler-to-cloud-bridge")),
                 qPrintable(runner.describe()));
        QVERIFY2(!runner.err().contains(QStringLiteral("password")),
                 qPrintable(runner.describe()));  // no prompt
        QVERIFY2(runner.running(), qPrintable(runner.describe()));
        stopRunner(runner, 4);
    }

    void runWithoutPassword() {
        // Fixed (reserved) ports, so that the tap can connect to the bridge's PUB endpoint even
        // though the bridge cannot start; stdin is not a terminal, so nothing is prompted.
        auto topology = plainSamplerToCloud();
        rewriteBinds(topology, [] { return freeTcpEndpoint(); });
        for (const auto& node : std::vector<zmqrpc::Node>(topology.nodes()))
            topology.set_node_host(node.id, "site");
        const QString path = writeTopology(QStringLiteral("s2c-nopassword.json"), topology);

        Child runner;
        runner.start({"run", path, "--host", "site"}, runEnv(m_tmp.path(), std::nullopt));
        const QString first = waitFirstTable(runner);
        QVERIFY2(!first.isEmpty(), qPrintable(runner.describe()));
        for (const char* id : {"sampler-1", "sampler-2", "sampler-3", "cloud-tap"}) {
            const auto rows = rowsOf(first, QString::fromLatin1(id));
            QVERIFY2(rows.size() == 1 && rows[0].state == QLatin1String("running"),
                     qPrintable(runner.describe()));
        }
        for (const char* id : {"site-proxy", "cloud-bridge"}) {
            const auto rows = rowsOf(first, QString::fromLatin1(id));
            QVERIFY2(rows.size() == 1 && rows[0].state == QLatin1String("failed"),
                     qPrintable(runner.describe()));
            // The whole reason is below the table, and on stderr.
            QVERIFY2(first.contains(QStringLiteral("\n  %1: ").arg(QLatin1String(id)) +
                                    QStringLiteral("password for user 'bridge'")),
                     qPrintable(first));
        }
        QVERIFY2(first.contains(kBridgePasswordVariable), qPrintable(first));
        QVERIFY2(runner.err().contains(kBridgePasswordVariable), qPrintable(runner.describe()));
        QVERIFY2(!runner.err().contains(QStringLiteral("password for user 'bridge' (")),
                 qPrintable(runner.describe()));  // no prompt
        QVERIFY2(runner.running(), qPrintable(runner.describe()));
        stopRunner(runner, 4);
    }

    void runEveryNodeFailed() {
        auto topology = loadExample(QStringLiteral("sampler-to-cloud.json"));
        const QString path = writeTopology(QStringLiteral("s2c-proxy-only.json"), topology);
        auto r = run({"run", path, "--host", "site", "--nodes", "site-proxy"}, 5000,
                     runEnv(m_tmp.path(), std::nullopt));
        VERIFY_RUN(r, r.finished && r.normal && r.code == 3);
        // The table first, then why it gives up.
        const auto rows = rowsOf(r.out, QStringLiteral("site-proxy"));
        VERIFY_RUN(r, rows.size() == 1 && rows[0].state == QLatin1String("failed"));
        VERIFY_RUN(
            r, rowsOf(r.out, QStringLiteral("sampler-1")).at(0).state == QLatin1String("stopped"));
        VERIFY_RUN(r, r.err.contains(QStringLiteral("zmqrpc run: the node failed to start")));
    }

    void runNodeWaitingForABinderThatDoesNotRun() {
        // cloud-tap subscribes to cloud-bridge, which chooses its port when it binds and is not
        // part of this run: the table says what it waits for, and the run gives up.
        auto topology = loadExample(QStringLiteral("sampler-to-cloud.json"));
        oneHostEphemeral(topology);
        const QString path = writeTopology(QStringLiteral("s2c-tap-only.json"), topology);
        auto r =
            run({"run", path, "--nodes", "cloud-tap"}, 5000, runEnv(m_tmp.path(), std::nullopt));
        VERIFY_RUN(r, r.finished && r.normal && r.code == 3);
        const auto rows = rowsOf(r.out, QStringLiteral("cloud-tap"));
        VERIFY_RUN(r, rows.size() == 1 && rows[0].state.startsWith(QLatin1String("waiting")));
        VERIFY_RUN(r,
                   r.out.contains(QStringLiteral(" waiting: until 'cloud-bridge' binds (link ")));
        VERIFY_RUN(r, r.out.contains(QStringLiteral("\nwaiting:\n  cloud-tap: until 'cloud-bridge' "
                                                    "binds (link ")));
        VERIFY_RUN(r, r.err.contains(QStringLiteral(
                          "zmqrpc run: the node waits for a node that does not run")));
    }

    void runCredentialsFile() {
        // The password from a credentials file entry; a file others can read is refused.
        auto topology = loadExample(QStringLiteral("sampler-to-cloud.json"));
        const auto ref = zmqrpc::json{{"username", "bridge"}, {"password", {{"file", "bridge"}}}};
        topology.set_property("site-proxy", "output_credentials", ref);
        topology.set_property("cloud-bridge", "input_credentials", ref);
        oneHostEphemeral(topology);
        const QString path = writeTopology(QStringLiteral("s2c-file.json"), topology);
        const QString credentials = writeFile(
            QStringLiteral("credentials.json"),
            R"({"format": "zmqrpc-credentials", "version": 1, "passwords": {"bridge": "s3cret"}})");
        QVERIFY(QFile::setPermissions(credentials, QFileDevice::ReadOwner |
                                                       QFileDevice::WriteOwner |
                                                       QFileDevice::ReadOther));
        auto refused = run({"run", path, "--credentials", credentials}, 3000,
                           runEnv(m_tmp.path(), std::nullopt));
        VERIFY_RUN(refused, refused.finished && refused.normal && refused.code == 3);
        VERIFY_RUN(refused, nonEmptyLines(refused.err).size() == 1 &&
                                refused.err.startsWith(QStringLiteral("zmqrpc run: ")) &&
                                refused.err.contains(credentials));
        VERIFY_RUN(refused, !refused.err.contains(QStringLiteral("s3cret")));

        QVERIFY(
            QFile::setPermissions(credentials, QFileDevice::ReadOwner | QFileDevice::WriteOwner));
        // Named by ZMQRPC_CREDENTIALS (the default when --credentials is not given).
        auto env = runEnv(m_tmp.path(), std::nullopt);
        env.insert(QStringLiteral("ZMQRPC_CREDENTIALS"), credentials);
        Child runner;
        runner.start({"run", path, "--quiet"}, env);
        const QString first = waitFirstTable(runner);
        QVERIFY2(first.contains(QStringLiteral(": 6 running\n")), qPrintable(runner.describe()));
        stopRunner(runner, 6);
    }

    void runTwoHosts() {
        // Two runners of one file, one per host, as on two machines. The sampler binds a fixed
        // port on loopback (the other runner only knows what the file says); both hosts are
        // reached at 127.0.0.1, so validation counts them as one machine.
        const int port = reserveTcpPort();
        zmqrpc::Topology topology;
        topology.set_hosts({{"a", "127.0.0.1"}, {"b", "127.0.0.1"}});
        zmqrpc::Node sampler;
        sampler.id = "sampler";
        sampler.kind = zmqrpc::NodeKind::Sampler;
        sampler.host = "a";
        sampler.properties = {{"bind", "tcp://127.0.0.1:" + std::to_string(port)}, {"rate", 20}};
        topology.add_node(sampler);
        zmqrpc::Node tap;
        tap.id = "tap";
        tap.kind = zmqrpc::NodeKind::Tap;
        tap.host = "b";
        tap.position = {300, 0};
        topology.add_node(tap);
        zmqrpc::Link link;
        link.id = "feed";
        link.from = {"sampler", "pub"};
        link.to = {"tap", "sub"};
        link.heartbeat_timeout = 2;
        topology.add_link(link);
        QVERIFY(zmqrpc::validate(topology).empty());
        const QString path = writeTopology(QStringLiteral("two-hosts.json"), topology);

        Child b, a;
        b.start({"run", path, "--host", "b", "--status-interval", "0.5"},
                runEnv(m_tmp.path(), std::nullopt));
        const QString firstB = waitFirstTable(b);
        QVERIFY2(firstB.startsWith(QStringLiteral("host b, ")), qPrintable(b.describe()));
        QVERIFY2(
            rowsOf(firstB, QStringLiteral("sampler")).at(0).state == QLatin1String("remote(a)"),
            qPrintable(firstB));
        QVERIFY2(rowsOf(firstB, QStringLiteral("tap")).at(0).state == QLatin1String("running"),
                 qPrintable(firstB));
        a.start({"run", path, "--host", "a", "--quiet"}, runEnv(m_tmp.path(), std::nullopt));
        const QString firstA = waitFirstTable(a);
        QVERIFY2(rowsOf(firstA, QStringLiteral("sampler")).at(0).state == QLatin1String("running"),
                 qPrintable(a.describe()));
        QVERIFY2(rowsOf(firstA, QStringLiteral("tap")).at(0).state == QLatin1String("remote(b)"),
                 qPrintable(a.describe()));
        const bool heard = b.waitFor(
            [&] {
                const auto rows = rowsOf(b.out(), QStringLiteral("tap"));
                return !rows.empty() && rows.back().in > 0 &&
                       rows.back().links == QLatin1String("1 alive");
            },
            6000);
        QVERIFY2(heard, qPrintable(b.describe() + QStringLiteral("\n") + a.describe()));
        stopRunner(a, 1);
        stopRunner(b, 1);
    }

    void runMetricsAndUsr1() {
        auto topology = loadExample(QStringLiteral("rpc-fanout.json"));
        rewriteBinds(topology, [] { return std::string(kAnyLoopback); });
        const QString path = writeTopology(QStringLiteral("fanout-local.json"), topology);
        Child runner;
        runner.start({"run", path, "--quiet", "--metrics", kAnyLoopback},
                     runEnv(m_tmp.path(), std::nullopt));
        static const QRegularExpression metricsLine(
            QStringLiteral(R"((^|\n)zmqrpc run: metrics on (tcp://127\.0\.0\.1:[1-9][0-9]*)\n)"));
        QVERIFY2(runner.waitFor([&] { return metricsLine.match(runner.err()).hasMatch(); }, 3000),
                 qPrintable(runner.describe()));
        const QString endpoint = metricsLine.match(runner.err()).captured(2);
        QVERIFY2(!waitFirstTable(runner).isEmpty(), qPrintable(runner.describe()));

        // zmqrpc snoop sees a snapshot message within 3 s.
        Child snoop;
        snoop.start({"snoop", "--sub", endpoint, "--no-heartbeats"});
        bool snapshot = snoop.waitFor(
            [&] {
                for (const auto& line : nonEmptyLines(snoop.out())) {
                    const auto message = parseJson(snoopMessage(line));
                    if (message.is_object() && message.value("type", "") == "snapshot" &&
                        message.contains("snapshot"))
                        return true;
                }
                return false;
            },
            3000);
        QVERIFY2(snapshot, qPrintable(snoop.describe()));
        snoop.signal(SIGTERM);
        QVERIFY2(snoop.waitFinished(2000), qPrintable(snoop.describe()));

        // --quiet: no table until SIGUSR1 asks for one.
        QCOMPARE(tableCount(runner.out()), 1);
        QVERIFY(runner.signal(SIGUSR1));
        QVERIFY2(runner.waitFor([&] { return tableCount(runner.out()) == 2; }, 2000),
                 qPrintable(runner.describe()));
        stopRunner(runner, 7);
        QCOMPARE(tableCount(runner.out()), 3);  // and the last one
    }

    // ---- misuse: one clear line on stderr, a non-zero exit, no crash, no hang

    void misuse_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("code");
        QTest::addColumn<QString>("mentions");
        const QString dead = QString::fromStdString(deadTcpEndpoint());
        const QString any = QString::fromLatin1(kAnyLoopback);
        QTest::newRow("no subcommand") << QStringList{} << 64 << "subcommand";
        QTest::newRow("unknown subcommand") << QStringList{"bogus"} << 64 << "bogus";
        QTest::newRow("unknown top-level option")
            << QStringList{"--bogus-flag", "serve"} << 64 << "--bogus-flag";
        QTest::newRow("unknown option")
            << QStringList{"call", "ping", "--req", dead, "--bogus"} << 64 << "--bogus";
        QTest::newRow("extra argument")
            << QStringList{"call", "ping", "{}", "extra", "--req", dead} << 64 << "extra";
        QTest::newRow("call without --req") << QStringList{"call", "ping"} << 64 << "--req";
        QTest::newRow("call without FUNCTION")
            << QStringList{"call", "--req", dead} << 64 << "FUNCTION";
        QTest::newRow("serve without endpoint") << QStringList{"serve"} << 64 << "--rep";
        QTest::newRow("snoop without --sub") << QStringList{"snoop"} << 64 << "--sub";
        QTest::newRow("publish without --pub") << QStringList{"publish", "ping"} << 64 << "--pub";
        QTest::newRow("publish without message")
            << QStringList{"publish", "--pub", any} << 64 << "--raw";
        QTest::newRow("heartbeat without --pub") << QStringList{"heartbeat"} << 64 << "--pub";
        QTest::newRow("proxy without KIND") << QStringList{"proxy"} << 64 << "KIND";
        QTest::newRow("bad endpoint serve")
            << QStringList{"serve", "--rep", "tcp://nope"} << 3 << "tcp://nope";
        QTest::newRow("bad endpoint call")
            << QStringList{"call", "ping", "--req", "tcp://nope"} << 3 << "tcp://nope";
        QTest::newRow("bad endpoint snoop")
            << QStringList{"snoop", "--sub", "tcp://nope"} << 3 << "tcp://nope";
        QTest::newRow("bad endpoint publish")
            << QStringList{"publish", "ping", "--pub", "tcp://nope"} << 3 << "tcp://nope";
        QTest::newRow("bad endpoint heartbeat")
            << QStringList{"heartbeat", "--pub", "tcp://nope"} << 3 << "tcp://nope";
        QTest::newRow("bad endpoint proxy")
            << QStringList{"proxy", "rep2req", "--in-rep", "tcp://nope", "--out-req", dead} << 3
            << "tcp://nope";
        QTest::newRow("bad scheme")
            << QStringList{"call", "ping", "--req", "ftp://x:1"} << 3 << "ftp://x:1";
        QTest::newRow("wildcard port on connect")
            << QStringList{"call", "ping", "--req", any} << 3 << "bind";
        QTest::newRow("invalid JSON params")
            << QStringList{"call", "add", R"({"a": 1,)", "--req", dead} << 3 << "not valid JSON";
        QTest::newRow("params not an object (array)")
            << QStringList{"call", "add", "[1, 2]", "--req", dead} << 3 << "JSON object";
        QTest::newRow("params not an object (number)")
            << QStringList{"call", "add", "3", "--req", dead} << 3 << "JSON object";
        QTest::newRow("publish invalid JSON")
            << QStringList{"publish", "add", "{oops", "--pub", any} << 3 << "not valid JSON";
        QTest::newRow("publish FUNCTION and --raw")
            << QStringList{"publish", "ping", "--raw", "x", "--pub", any} << 64 << "--raw";
        QTest::newRow("unknown proxy kind")
            << QStringList{"proxy", "nope", "--in-rep", any, "--out-req", dead} << 64 << "nope";
        QTest::newRow("sub2req with --in-rep")
            << QStringList{"proxy", "sub2req", "--in-rep", any, "--out-req", dead} << 64
            << "--in-rep";
        QTest::newRow("rep2req with --in-sub")
            << QStringList{"proxy", "rep2req", "--in-sub", dead, "--out-req", dead} << 64
            << "--in-sub";
        QTest::newRow("rep2pub with --out-req")
            << QStringList{"proxy", "rep2pub", "--in-rep", any, "--out-req", dead} << 64
            << "--out-req";
        QTest::newRow("sub2pub without output")
            << QStringList{"proxy", "sub2pub", "--in-sub", dead} << 64 << "--out-pub";
        QTest::newRow("rep2req without output")
            << QStringList{"proxy", "rep2req", "--in-rep", any} << 64 << "--out-req";
        QTest::newRow("negative --timeout")
            << QStringList{"call", "ping", "--req", dead, "--timeout", "-1"} << 64 << "--timeout";
        QTest::newRow("zero --timeout")
            << QStringList{"call", "ping", "--req", dead, "--timeout", "0"} << 64 << "--timeout";
        QTest::newRow("non-number --timeout")
            << QStringList{"call", "ping", "--req", dead, "--timeout", "soon"} << 64 << "--timeout";
        QTest::newRow("too large --timeout")
            << QStringList{"call", "ping", "--req", dead, "--timeout", "1e8"} << 64 << "--timeout";
        QTest::newRow("NaN --timeout")
            << QStringList{"call", "ping", "--req", dead, "--timeout", "nan"} << 64 << "--timeout";
        QTest::newRow("tiny --timeout is not zero")
            << QStringList{"call", "ping", "--req", dead, "--timeout", "0.0004"} << 2
            << "unreachable";
        QTest::newRow("--queue 0")
            << QStringList{"proxy", "rep2req", "--in-rep", any, "--out-req", dead, "--queue", "0"}
            << 64 << "--queue";
        QTest::newRow("--repeat 0")
            << QStringList{"call", "ping", "--req", dead, "--repeat", "0"} << 64 << "--repeat";
        QTest::newRow("negative --rate")
            << QStringList{"publish", "--raw", "x", "--pub", any, "--rate", "-1"} << 64 << "--rate";
        QTest::newRow("negative --wait")
            << QStringList{"publish", "--raw", "x", "--pub", any, "--wait", "-1"} << 64 << "--wait";
        QTest::newRow("zero heartbeat --interval")
            << QStringList{"heartbeat", "--pub", any, "--interval", "0"} << 64 << "--interval";
        QTest::newRow("negative --heartbeat-timeout")
            << QStringList{"snoop", "--sub", dead, "--heartbeat-timeout", "-1"} << 64
            << "--heartbeat-timeout";
        QTest::newRow("bad ENDPOINT@SECONDS")
            << QStringList{"snoop", "--sub", dead + "@0"} << 64 << "@0";
        QTest::newRow("--password without --user (call)")
            << QStringList{"call", "ping", "--req", dead, "--password", "pw-xyz"} << 64 << "--user";
        QTest::newRow("--password without --user (serve)")
            << QStringList{"serve", "--rep", any, "--password", "pw-xyz"} << 64 << "--user";
        QTest::newRow("--out-password without --out-user")
            << QStringList{"proxy",     "rep2req", "--in-rep",       any,
                           "--out-req", dead,      "--out-password", "pw-xyz"}
            << 64 << "--out-user";
        QTest::newRow("--user without password")
            << QStringList{"call", "ping", "--req", dead, "--user", "alice"} << 64 << "password";
        QTest::newRow("two password sources")
            << QStringList{"call",       "ping",   "--req",          dead,  "--user", "alice",
                           "--password", "pw-xyz", "--password-env", "HOME"}
            << 64 << "only one";
        QTest::newRow("--password-env unset (serve)") << QStringList{"serve",
                                                                     "--rep",
                                                                     any,
                                                                     "--user",
                                                                     "alice",
                                                                     "--password-env",
                                                                     "ZMQRPC_TST_UNSET_VARIABLE"}
                                                      << 3 << "ZMQRPC_TST_UNSET_VARIABLE";
        QTest::newRow("--password-env unset (call)")
            << QStringList{"call",   "ping",  "--req",          dead,
                           "--user", "alice", "--password-env", "ZMQRPC_TST_UNSET_VARIABLE"}
            << 3 << "ZMQRPC_TST_UNSET_VARIABLE";
        QTest::newRow("--password-file missing")
            << QStringList{"call",   "ping",  "--req",           dead,
                           "--user", "alice", "--password-file", "/nonexistent/zmqrpc-tst-password"}
            << 3 << "/nonexistent/zmqrpc-tst-password";
        const QString example = examplePath(QStringLiteral("sampler-to-cloud.json"));
        QTest::newRow("validate without FILE") << QStringList{"validate"} << 64 << "FILE";
        QTest::newRow("run without FILE") << QStringList{"run"} << 64 << "FILE";
        QTest::newRow("run negative --status-interval")
            << QStringList{"run", example, "--status-interval", "-1"} << 64 << "--status-interval";
        QTest::newRow("run --metrics-user without --metrics")
            << QStringList{"run", example, "--metrics-user", "m", "--metrics-password", "pw-xyz"}
            << 64 << "--metrics";
        QTest::newRow("run unknown --host")
            << QStringList{"run", example, "--host", "nowhere"} << 3 << "hosts: site, cloud";
        QTest::newRow("run unknown --nodes")
            << QStringList{"run", example, "--nodes", "sampler-1,bogus"} << 3 << "'bogus'";
        QTest::newRow("run --nodes of another host")
            << QStringList{"run", example, "--host", "site", "--nodes", "cloud-tap"} << 3
            << "cloud";
        QTest::newRow("run --credentials missing")
            << QStringList{"run", example, "--credentials", "/nonexistent/zmqrpc-credentials.json"}
            << 3 << "/nonexistent/zmqrpc-credentials.json";
        QTest::newRow("run bad --metrics endpoint")
            << QStringList{"run", example, "--metrics", "tcp://bogus"} << 3 << "tcp://bogus";

        // CURVE options (key pairs "server", "client", "open" in ZMQRPC_KEYS; see initTestCase).
        QTest::newRow("PLAIN and CURVE mixed")
            << QStringList{"call",       "ping",   "--req",
                           dead,         "--user", "alice",
                           "--password", "pw-xyz", "--curve-server-key",
                           "server"}
            << 64 << "not both";
        QTest::newRow("CURVE server without who may connect")
            << QStringList{"serve", "--rep", any, "--curve-secret-file", "server"} << 64
            << "say who may connect: --curve-authorized-keys";
        QTest::newRow("CURVE server without its key pair")
            << QStringList{"serve", "--rep", any, "--curve-any-client"} << 64
            << "--curve-secret-file";
        QTest::newRow("--curve-server-key on a binding side") << QStringList{"publish",
                                                                             "--raw",
                                                                             "x",
                                                                             "--pub",
                                                                             any,
                                                                             "--curve-secret-file",
                                                                             "server",
                                                                             "--curve-any-client",
                                                                             "--curve-server-key",
                                                                             "server"}
                                                              << 64 << "only binds";
        QTest::newRow("--curve-server-key on serve --rep") << QStringList{"serve",
                                                                          "--rep",
                                                                          any,
                                                                          "--curve-secret-file",
                                                                          "server",
                                                                          "--curve-any-client",
                                                                          "--curve-server-key",
                                                                          "server"}
                                                           << 64 << "only binds";
        QTest::newRow("--curve-any-client on a connecting side")
            << QStringList{"snoop",  "--sub",
                           dead,     "--curve-server-key",
                           "server", "--curve-any-client"}
            << 64 << "only connects";
        QTest::newRow("CURVE client without the server key")
            << QStringList{"call", "ping", "--req", dead, "--curve-secret-file", "client"} << 64
            << "--curve-server-key";
        QTest::newRow("two CURVE secret sources") << QStringList{"call",
                                                                 "ping",
                                                                 "--req",
                                                                 dead,
                                                                 "--curve-server-key",
                                                                 "server",
                                                                 "--curve-secret-file",
                                                                 "client",
                                                                 "--curve-secret-env",
                                                                 "HOME"}
                                                  << 64 << "only one";
        QTest::newRow("authorized keys and any client") << QStringList{"serve",
                                                                       "--rep",
                                                                       any,
                                                                       "--curve-secret-file",
                                                                       "server",
                                                                       "--curve-any-client",
                                                                       "--curve-authorized-keys",
                                                                       "x"}
                                                        << 64 << "only one";
        QTest::newRow("bad server key text")
            << QStringList{"call",
                           "ping",
                           "--req",
                           dead,
                           "--curve-server-key",
                           QString(39, QLatin1Char('a')) + QLatin1Char('~')}
            << 64 << "character 40 is not Z85 text";
        QTest::newRow("proxy input without who may connect")
            << QStringList{"proxy",
                           "rep2req",
                           "--in-rep",
                           any,
                           "--out-req",
                           dead,
                           "--in-curve-secret-file",
                           "server"}
            << 64 << "--in-curve-authorized-keys";
        QTest::newRow("proxy output that binds with a server key")
            << QStringList{"proxy",
                           "sub2pub",
                           "--in-sub",
                           dead,
                           "--out-pub",
                           any,
                           "--out-curve-server-key",
                           "server"}
            << 64 << "--out-curve-server-key";
        QTest::newRow("run --metrics-curve without --metrics")
            << QStringList{"run", example, "--metrics-curve-secret-file", "server",
                           "--metrics-curve-any-client"}
            << 64 << "--metrics";
        QTest::newRow("keygen --public --force")
            << QStringList{"keygen", "--public", "server", "--force"} << 64 << "--force";
        QTest::newRow("missing secret key file")
            << QStringList{"call",
                           "ping",
                           "--req",
                           dead,
                           "--curve-server-key",
                           "server",
                           "--curve-secret-file",
                           "nosuch"}
            << 3 << "nosuch.key_secret does not exist (make one with: zmqrpc keygen nosuch)";
        QTest::newRow("missing server key file") << QStringList{"call",
                                                                "ping",
                                                                "--req",
                                                                dead,
                                                                "--curve-server-key",
                                                                "/nonexistent/zmqrpc-tst.key"}
                                                 << 3 << "/nonexistent/zmqrpc-tst.key";
        QTest::newRow("missing server key name")
            << QStringList{"call", "ping", "--req", dead, "--curve-server-key", "nosuch"} << 3
            << "nosuch.key";
        QTest::newRow("secret key file others can read")
            << QStringList{"serve", "--rep",
                           any,     "--curve-secret-file",
                           "open",  "--curve-any-client"}
            << 3 << "chmod 600";
        QTest::newRow("missing authorized keys file")
            << QStringList{"serve",
                           "--rep",
                           any,
                           "--curve-secret-file",
                           "server",
                           "--curve-authorized-keys",
                           "/nonexistent/zmqrpc-tst-authorized"}
            << 3 << "/nonexistent/zmqrpc-tst-authorized";
        QTest::newRow("--curve-secret-env unset") << QStringList{"call",
                                                                 "ping",
                                                                 "--req",
                                                                 dead,
                                                                 "--curve-server-key",
                                                                 "server",
                                                                 "--curve-secret-env",
                                                                 "ZMQRPC_TST_UNSET_VARIABLE"}
                                                  << 3 << "ZMQRPC_TST_UNSET_VARIABLE";
        QTest::newRow("--curve-secret-env not a key") << QStringList{"call",
                                                                     "ping",
                                                                     "--req",
                                                                     dead,
                                                                     "--curve-server-key",
                                                                     "server",
                                                                     "--curve-secret-env",
                                                                     "HOME"}
                                                      << 3 << "a CURVE key is 40 characters";
        QTest::newRow("keygen over an existing pair")
            << QStringList{"keygen", "server"} << 3 << "--force";

        // Numbers: no wrapping around into unsigned types, no NaN, nothing absurd; the message
        // names the option and its range.
        QTest::newRow("publish --count -1")
            << QStringList{"publish", "--raw", "x", "--pub", any, "--count", "-1"} << 64
            << "--count must be a whole number from 0 to";
        QTest::newRow("heartbeat --count -2")
            << QStringList{"heartbeat", "--pub", any, "--count", "-2"} << 64
            << "--count must be a whole number from 0 to";
        QTest::newRow("snoop --count -1")
            << QStringList{"snoop", "--sub", dead, "--count", "-1"} << 64 << "--count";
        QTest::newRow("snoop --count 2^64")
            << QStringList{"snoop", "--sub", dead, "--count", "18446744073709551616"} << 64
            << "--count";
        QTest::newRow("publish --count 1.5")
            << QStringList{"publish", "--raw", "x", "--pub", any, "--count", "1.5"} << 64
            << "--count";
        QTest::newRow("--queue -1")
            << QStringList{"proxy", "rep2req", "--in-rep", any, "--out-req", dead, "--queue", "-1"}
            << 64 << "--queue must be a whole number from 1 to 100000000";
        QTest::newRow("--queue too large")
            << QStringList{"proxy",     "rep2req", "--in-rep", any,
                           "--out-req", dead,      "--queue",  "100000001"}
            << 64 << "--queue";
        QTest::newRow("--subscribers -1")
            << QStringList{"publish", "--raw", "x", "--pub", any, "--subscribers", "-1"} << 64
            << "--subscribers must be a whole number from 0 to";
        QTest::newRow("--rate nan")
            << QStringList{"publish", "--raw", "x", "--pub", any, "--rate", "nan"} << 64
            << "--rate must be";
        QTest::newRow("--rate inf")
            << QStringList{"publish", "--raw", "x", "--pub", any, "--rate", "inf"} << 64
            << "--rate";
        QTest::newRow("--repeat -1")
            << QStringList{"call", "ping", "--req", dead, "--repeat", "-1"} << 64 << "--repeat";
        QTest::newRow("--repeat 2^64+1")
            << QStringList{"call", "ping", "--req", dead, "--repeat", "18446744073709551617"} << 64
            << "--repeat";
        QTest::newRow("NaN --retry-interval")
            << QStringList{"proxy",     "sub2req", "--in-sub",         dead,
                           "--out-req", dead,      "--retry-interval", "nan"}
            << 64 << "--retry-interval";
        QTest::newRow("NaN run --status-interval")
            << QStringList{"run", example, "--status-interval", "nan"} << 64 << "--status-interval";
        QTest::newRow("empty --timeout")
            << QStringList{"call", "ping", "--req", dead, "--timeout", ""} << 64
            << "--timeout: empty";
        QTest::newRow("--max-message-size 0")
            << QStringList{"serve", "--rep", any, "--max-message-size", "0"} << 64
            << "--max-message-size must be -1 (no limit) or";
        QTest::newRow("--max-message-size -2")
            << QStringList{"serve", "--rep", any, "--max-message-size", "-2"} << 64
            << "--max-message-size";
        QTest::newRow("--max-message-size too large")
            << QStringList{"serve", "--rep", any, "--max-message-size", "99999999999999999999"}
            << 64 << "--max-message-size";
        QTest::newRow("tiny ENDPOINT@SECONDS is not negative")
            << QStringList{"snoop", "--sub", dead + "@-0.0001"} << 64 << "@-0.0001";

        // Each occurrence of a repeatable option takes one value.
        QTest::newRow("--sub takes one value")
            << QStringList{"snoop", "--sub", dead, "extra-word"} << 64 << "extra-word";
        QTest::newRow("--out-req takes one value")
            << QStringList{"proxy", "rep2req", "--out-req", dead, "extra-word", "--in-rep", any}
            << 64 << "extra-word";
        QTest::newRow("--nodes takes one value")
            << QStringList{"run", example, "--nodes", "sampler-1", "extra-word"} << 64
            << "extra-word";

        // inproc:// cannot reach another process.
        const QString inproc = QStringLiteral(
            "inproc:// endpoints work only inside one process; use ipc:// or tcp://");
        QTest::newRow("inproc call")
            << QStringList{"call", "ping", "--req", "inproc://x"} << 3 << inproc;
        QTest::newRow("inproc serve --rep")
            << QStringList{"serve", "--rep", "inproc://x"} << 3 << inproc;
        QTest::newRow("inproc serve --sub")
            << QStringList{"serve", "--sub", "inproc://x@5"} << 3 << inproc;
        QTest::newRow("inproc publish")
            << QStringList{"publish", "ping", "--pub", "inproc://x"} << 3 << inproc;
        QTest::newRow("inproc heartbeat")
            << QStringList{"heartbeat", "--pub", "inproc://x"} << 3 << inproc;
        QTest::newRow("inproc snoop") << QStringList{"snoop", "--sub", "inproc://x"} << 3 << inproc;
        QTest::newRow("inproc proxy --in-rep")
            << QStringList{"proxy", "rep2req", "--in-rep", "inproc://x", "--out-req", dead} << 3
            << inproc;
        QTest::newRow("inproc proxy --in-sub")
            << QStringList{"proxy", "sub2pub", "--in-sub", "inproc://x", "--out-pub", any} << 3
            << inproc;
        QTest::newRow("inproc proxy --out-pub")
            << QStringList{"proxy", "rep2pub", "--in-rep", any, "--out-pub", "inproc://x"} << 3
            << inproc;
        QTest::newRow("inproc proxy --out-req")
            << QStringList{"proxy", "rep2req", "--in-rep", any, "--out-req", "inproc://x"} << 3
            << inproc;
        QTest::newRow("inproc run --metrics")
            << QStringList{"run", example, "--metrics", "inproc://x"} << 3 << inproc;
        // Python's words and position (json.loads), as pyzmqrpc's client would have them.
        QTest::newRow("call PARAMS truncated")
            << QStringList{"call", "add", R"({"a": 1, "b")", "--req", dead} << 3
            << "Expecting ':' delimiter: line 1 column 13 (char 12)";
    }
    void misuse() {
        QFETCH(QStringList, args);
        QFETCH(int, code);
        QFETCH(QString, mentions);
        auto env = QProcessEnvironment::systemEnvironment();
        env.remove(QStringLiteral("ZMQRPC_TST_UNSET_VARIABLE"));
        auto r = run(args, 3000, env);
        VERIFY_RUN(r, r.finished && r.normal);
        VERIFY_RUN(r, r.code == code);
        QVERIFY2(r.out.isEmpty(), qPrintable(r.text));
        const auto lines = nonEmptyLines(r.err);
        QVERIFY2(lines.size() == 1, qPrintable(r.text));
        QVERIFY2(lines[0].startsWith(QStringLiteral("zmqrpc")), qPrintable(r.err));
        // Every error, CLI11's included, names the subcommand, and only once.
        static const QStringList subcommands{"serve", "call",     "publish", "heartbeat", "snoop",
                                             "proxy", "validate", "run",     "keygen"};
        if (!args.isEmpty() && subcommands.contains(args[0])) {
            const QString prefix = QStringLiteral("zmqrpc %1: ").arg(args[0]);
            QVERIFY2(lines[0].startsWith(prefix), qPrintable(r.err));
            QVERIFY2(!lines[0].startsWith(prefix + args[0] + QLatin1Char(' ')), qPrintable(r.err));
        }
        QVERIFY2(!r.err.contains(QStringLiteral("json.exception")), qPrintable(r.err));
        QVERIFY2(r.err.endsWith(QLatin1Char('\n')), qPrintable(r.err));
        QVERIFY2(mentions.isEmpty() || r.err.contains(mentions), qPrintable(r.text));
        QVERIFY2(!r.err.contains(QStringLiteral("pw-xyz")), qPrintable(r.err));
        QVERIFY2(r.ms < 2000, qPrintable(QString::number(r.ms)));
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
