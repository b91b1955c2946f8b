// Endpoint parsing (good and bad, bind and connect), Endpoint::str(), connect_address(), and
// Credentials::describe().
#include <QtTest>

#include "zmqrpc/credentials.hpp"
#include "zmqrpc/endpoint.hpp"
#include "zmqrpc/errors.hpp"

using zmqrpc::Endpoint;

Q_DECLARE_METATYPE(zmqrpc::Endpoint::Transport)

namespace {

QByteArray bytes(const std::string& s) {
    return QByteArray(s.data(), static_cast<qsizetype>(s.size()));
}
std::string str(const QByteArray& b) {
    return std::string(b.constData(), static_cast<std::size_t>(b.size()));
}

}  // namespace

class TestEndpoint : public QObject {
    Q_OBJECT

  private slots:
    void parseGood_data();
    void parseGood();
    void parseBad_data();
    void parseBad();
    void strOfDefault();
    void connectAddress_data();
    void connectAddress();
    void connectAddressErrors();
    void credentialsDescribe();
};

void TestEndpoint::parseGood_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<bool>("forBind");
    QTest::addColumn<Endpoint::Transport>("transport");
    QTest::addColumn<QByteArray>("host");
    QTest::addColumn<int>("port");
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<QByteArray>("canonical");  // str()

    const auto tcp = Endpoint::Transport::Tcp;
    const auto ipc = Endpoint::Transport::Ipc;
    const auto inproc = Endpoint::Transport::Inproc;

    for (bool bind : {false, true}) {
        const char* suffix = bind ? " (bind)" : " (connect)";
        auto row = [&](const char* name) -> QTestData& {
            return QTest::newRow(qPrintable(QString::fromLatin1(name) + QLatin1String(suffix)));
        };
        row("ipv4") << QByteArray("tcp://127.0.0.1:5555") << bind << tcp << QByteArray("127.0.0.1")
                    << 5555 << QByteArray() << QByteArray("tcp://127.0.0.1:5555");
        row("host name") << QByteArray("tcp://localhost:1") << bind << tcp
                         << QByteArray("localhost") << 1 << QByteArray()
                         << QByteArray("tcp://localhost:1");
        row("dotted name") << QByteArray("tcp://my-host_1.example.com:65535") << bind << tcp
                           << QByteArray("my-host_1.example.com") << 65535 << QByteArray()
                           << QByteArray("tcp://my-host_1.example.com:65535");
        row("interface") << QByteArray("tcp://eth0:5555") << bind << tcp << QByteArray("eth0")
                         << 5555 << QByteArray() << QByteArray("tcp://eth0:5555");
        row("ipv6") << QByteArray("tcp://[::1]:5555") << bind << tcp << QByteArray("::1") << 5555
                    << QByteArray() << QByteArray("tcp://[::1]:5555");
        row("ipv6 zone") << QByteArray("tcp://[fe80::1%eth0]:6000") << bind << tcp
                         << QByteArray("fe80::1%eth0") << 6000 << QByteArray()
                         << QByteArray("tcp://[fe80::1%eth0]:6000");
        row("ipv4-mapped") << QByteArray("tcp://[::ffff:10.0.0.1]:80") << bind << tcp
                           << QByteArray("::ffff:10.0.0.1") << 80 << QByteArray()
                           << QByteArray("tcp://[::ffff:10.0.0.1]:80");
        row("ipc absolute") << QByteArray("ipc:///tmp/zmqrpc.sock") << bind << ipc << QByteArray()
                            << 0 << QByteArray("/tmp/zmqrpc.sock")
                            << QByteArray("ipc:///tmp/zmqrpc.sock");
        row("ipc relative") << QByteArray("ipc://rel/sock") << bind << ipc << QByteArray() << 0
                            << QByteArray("rel/sock") << QByteArray("ipc://rel/sock");
        row("inproc") << QByteArray("inproc://workers") << bind << inproc << QByteArray() << 0
                      << QByteArray("workers") << QByteArray("inproc://workers");
    }
    QTest::newRow("wildcard host (bind)")
        << QByteArray("tcp://*:5555") << true << tcp << QByteArray("*") << 5555 << QByteArray()
        << QByteArray("tcp://*:5555");
    QTest::newRow("wildcard host and port (bind)")
        << QByteArray("tcp://*:*") << true << tcp << QByteArray("*") << 0 << QByteArray()
        << QByteArray("tcp://*:*");
    QTest::newRow("port 0 (bind)")
        << QByteArray("tcp://127.0.0.1:0") << true << tcp << QByteArray("127.0.0.1") << 0
        << QByteArray() << QByteArray("tcp://127.0.0.1:*");
    QTest::newRow("any ipv4 (bind)")
        << QByteArray("tcp://0.0.0.0:5555") << true << tcp << QByteArray("0.0.0.0") << 5555
        << QByteArray() << QByteArray("tcp://0.0.0.0:5555");
    QTest::newRow("any ipv6 (bind)")
        << QByteArray("tcp://[::]:5555") << true << tcp << QByteArray("::") << 5555 << QByteArray()
        << QByteArray("tcp://[::]:5555");
    QTest::newRow("ipc wildcard (bind)") << QByteArray("ipc://*") << true << ipc << QByteArray()
                                         << 0 << QByteArray("*") << QByteArray("ipc://*");
}

void TestEndpoint::parseGood() {
    QFETCH(QByteArray, text);
    QFETCH(bool, forBind);
    QFETCH(Endpoint::Transport, transport);
    QFETCH(QByteArray, host);
    QFETCH(int, port);
    QFETCH(QByteArray, path);
    QFETCH(QByteArray, canonical);

    Endpoint endpoint;
    try {
        endpoint = zmqrpc::parse_endpoint(str(text), forBind);
    } catch (const zmqrpc::ConfigError& e) {
        QFAIL(e.what());
    }
    QCOMPARE(endpoint.transport, transport);
    QCOMPARE(bytes(endpoint.host), host);
    QCOMPARE(endpoint.port, port);
    QCOMPARE(bytes(endpoint.path), path);
    QCOMPARE(bytes(endpoint.str()), canonical);
    // str() parses back to the same endpoint.
    const Endpoint again = zmqrpc::parse_endpoint(endpoint.str(), forBind);
    QCOMPARE(again.transport, endpoint.transport);
    QCOMPARE(again.host, endpoint.host);
    QCOMPARE(again.port, endpoint.port);
    QCOMPARE(again.path, endpoint.path);
}

void TestEndpoint::parseBad_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<bool>("forBind");
    QTest::addColumn<QByteArray>("reason");  // a part of what()

    const QByteArray expected("expected tcp://host:port, ipc://path or inproc://name");
    for (bool bind : {false, true}) {
        const char* suffix = bind ? " (bind)" : " (connect)";
        auto row = [&](const char* name) -> QTestData& {
            return QTest::newRow(qPrintable(QString::fromLatin1(name) + QLatin1String(suffix)));
        };
        row("no scheme") << QByteArray("foo") << bind << expected;
        row("empty") << QByteArray() << bind << expected;
        row("host:port only") << QByteArray("127.0.0.1:5555") << bind << expected;
        row("udp") << QByteArray("udp://127.0.0.1:5555") << bind << expected;
        row("upper case scheme") << QByteArray("TCP://127.0.0.1:5555") << bind << expected;
        row("one slash") << QByteArray("tcp:/127.0.0.1:5555") << bind << expected;
        row("no port") << QByteArray("tcp://127.0.0.1") << bind << QByteArray("missing port");
        row("empty port") << QByteArray("tcp://127.0.0.1:") << bind << QByteArray("missing port");
        row("no host") << QByteArray("tcp://:5555") << bind << QByteArray("missing host");
        row("nothing") << QByteArray("tcp://") << bind << QByteArray("missing port");
        row("port too big") << QByteArray("tcp://127.0.0.1:70000") << bind
                            << QByteArray("port 70000 out of range");
        row("port 65536") << QByteArray("tcp://127.0.0.1:65536") << bind
                          << QByteArray("port 65536 out of range");
        row("huge port") << QByteArray("tcp://h:99999999999999999999999") << bind
                         << QByteArray("out of range");
        row("port not a number") << QByteArray("tcp://h:http") << bind
                                 << QByteArray("port 'http' is not a number");
        row("negative port") << QByteArray("tcp://h:-1") << bind
                             << QByteArray("port '-1' is not a number");
        row("port with space") << QByteArray("tcp://h:55 ") << bind
                               << QByteArray("is not a number");
        row("bare ipv6") << QByteArray("tcp://::1:5555") << bind << QByteArray("in brackets");
        row("unclosed bracket") << QByteArray("tcp://[::1:5555") << bind
                                << QByteArray("missing ']'");
        row("bracket without port")
            << QByteArray("tcp://[::1]5555") << bind << QByteArray("missing port");
        row("bracket no colon port")
            << QByteArray("tcp://[::1]") << bind << QByteArray("missing port");
        row("empty brackets") << QByteArray("tcp://[]:5555") << bind
                              << QByteArray("empty IPv6 address");
        row("not ipv6 in brackets")
            << QByteArray("tcp://[host]:5555") << bind << QByteArray("invalid IPv6 address 'host'");
        row("space in host") << QByteArray("tcp://my host:5555") << bind
                             << QByteArray("invalid host 'my host'");
        row("slash in host") << QByteArray("tcp://a/b:5555") << bind
                             << QByteArray("invalid host 'a/b'");
        row("empty ipc") << QByteArray("ipc://") << bind << QByteArray("empty ipc path");
        row("empty inproc") << QByteArray("inproc://") << bind << QByteArray("empty inproc name");
    }
    QTest::newRow("wildcard host (connect)")
        << QByteArray("tcp://*:5555") << false << QByteArray("'*' host is only valid for bind");
    QTest::newRow("wildcard port (connect)")
        << QByteArray("tcp://127.0.0.1:*") << false << QByteArray("only valid for bind");
    QTest::newRow("port 0 (connect)")
        << QByteArray("tcp://127.0.0.1:0") << false
        << QByteArray("port 0 (any free port) is only valid for bind");
    QTest::newRow("ipc wildcard (connect)")
        << QByteArray("ipc://*") << false << QByteArray("only valid for bind");
}

void TestEndpoint::parseBad() {
    QFETCH(QByteArray, text);
    QFETCH(bool, forBind);
    QFETCH(QByteArray, reason);
    try {
        const Endpoint endpoint = zmqrpc::parse_endpoint(str(text), forBind);
        QFAIL(
            qPrintable(QStringLiteral("parsed as %1").arg(QString::fromStdString(endpoint.str()))));
    } catch (const zmqrpc::ConfigError& e) {
        const QByteArray what(e.what());
        // Names the endpoint, then says what is wrong with it.
        QVERIFY2(what.startsWith("invalid endpoint '" + text + "': "), what.constData());
        QVERIFY2(what.contains(reason), what.constData());
    }
    // ConfigError is a zmqrpc::Error.
    QVERIFY_THROWS_EXCEPTION(zmqrpc::Error, zmqrpc::parse_endpoint(str(text), forBind));
}

void TestEndpoint::strOfDefault() {
    Endpoint endpoint;
    QCOMPARE(endpoint.transport, Endpoint::Transport::Tcp);
    QCOMPARE(endpoint.port, 0);
    endpoint.host = "10.1.2.3";
    endpoint.port = 42;
    QCOMPARE(bytes(endpoint.str()), QByteArray("tcp://10.1.2.3:42"));
    endpoint.transport = Endpoint::Transport::Inproc;
    endpoint.path = "x";
    QCOMPARE(bytes(endpoint.str()), QByteArray("inproc://x"));
}

void TestEndpoint::connectAddress_data() {
    QTest::addColumn<QByteArray>("bound");
    QTest::addColumn<QByteArray>("peerHost");  // empty: the default
    QTest::addColumn<QByteArray>("expected");

    QTest::newRow("any ipv4") << QByteArray("tcp://0.0.0.0:5555") << QByteArray()
                              << QByteArray("tcp://127.0.0.1:5555");
    QTest::newRow("star") << QByteArray("tcp://*:6000") << QByteArray()
                          << QByteArray("tcp://127.0.0.1:6000");
    QTest::newRow("any ipv6") << QByteArray("tcp://[::]:5555") << QByteArray()
                              << QByteArray("tcp://127.0.0.1:5555");
    QTest::newRow("any ipv6 to ipv6 peer")
        << QByteArray("tcp://[::]:5555") << QByteArray("::1") << QByteArray("tcp://[::1]:5555");
    QTest::newRow("bracketed peer") << QByteArray("tcp://0.0.0.0:5555") << QByteArray("[::1]")
                                    << QByteArray("tcp://[::1]:5555");
    QTest::newRow("named peer") << QByteArray("tcp://0.0.0.0:5555") << QByteArray("server.lan")
                                << QByteArray("tcp://server.lan:5555");
    QTest::newRow("specific ipv4 kept")
        << QByteArray("tcp://192.168.1.5:5555") << QByteArray("10.0.0.1")
        << QByteArray("tcp://192.168.1.5:5555");
    QTest::newRow("loopback kept") << QByteArray("tcp://127.0.0.1:41234") << QByteArray()
                                   << QByteArray("tcp://127.0.0.1:41234");
    QTest::newRow("host name kept")
        << QByteArray("tcp://localhost:5555") << QByteArray() << QByteArray("tcp://localhost:5555");
    QTest::newRow("ipv6 loopback kept")
        << QByteArray("tcp://[::1]:5555") << QByteArray() << QByteArray("tcp://[::1]:5555");
    QTest::newRow("ipc kept") << QByteArray("ipc:///tmp/x.sock") << QByteArray()
                              << QByteArray("ipc:///tmp/x.sock");
    QTest::newRow("inproc kept") << QByteArray("inproc://a") << QByteArray()
                                 << QByteArray("inproc://a");
}

void TestEndpoint::connectAddress() {
    QFETCH(QByteArray, bound);
    QFETCH(QByteArray, peerHost);
    QFETCH(QByteArray, expected);
    const std::string address = peerHost.isEmpty()
                                    ? zmqrpc::connect_address(str(bound))
                                    : zmqrpc::connect_address(str(bound), str(peerHost));
    QCOMPARE(bytes(address), expected);
    // The result is a valid connect endpoint.
    QCOMPARE(zmqrpc::parse_endpoint(address, false).str(), address);
}

void TestEndpoint::connectAddressErrors() {
    // Not an endpoint, or a port not resolved yet: nothing to connect to.
    QVERIFY_THROWS_EXCEPTION(zmqrpc::ConfigError, zmqrpc::connect_address("garbage"));
    QVERIFY_THROWS_EXCEPTION(zmqrpc::ConfigError, zmqrpc::connect_address("tcp://*:*"));
    QVERIFY_THROWS_EXCEPTION(zmqrpc::ConfigError, zmqrpc::connect_address("tcp://0.0.0.0:0"));
    try {
        (void)zmqrpc::connect_address("tcp://*:*");
    } catch (const zmqrpc::ConfigError& e) {
        QVERIFY2(QByteArray(e.what()).contains("'tcp://*:*'"), e.what());
    }
}

void TestEndpoint::credentialsDescribe() {
    const zmqrpc::Credentials none;
    QVERIFY(none.empty());
    QCOMPARE(bytes(none.describe()), QByteArray("no credentials"));

    const zmqrpc::Credentials alice{"alice", "s3cret-pw"};
    QVERIFY(!alice.empty());
    QCOMPARE(bytes(alice.describe()), QByteArray("user 'alice'"));
    QVERIFY(!bytes(alice.describe()).contains("s3cret"));

    // A password without a user name is still credentials, and still not shown.
    const zmqrpc::Credentials password_only{"", "hunter2"};
    QVERIFY(!password_only.empty());
    QCOMPARE(bytes(password_only.describe()), QByteArray("user ''"));
}

QTEST_GUILESS_MAIN(TestEndpoint)
#include "tst_endpoint.moc"
