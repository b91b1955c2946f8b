// CURVE (issue 14) over real sockets on 127.0.0.1: round trips REQ/REP and PUB/SUB with any client
// that holds the server's key and with an authorized_keys file, a Sub2Req proxy whose pipelined
// output reaches two CURVE servers with a server key each; every refusal (a wrong server key, a
// client key the server does not list, a client without security) shown as a refusal on both
// sides (socket state, counter, event, RpcError kind) and never as a timeout; key rotation by
// rewriting authorized_keys while the server runs; the key files (modes, refusals, pyzmq reading
// them), authorized_keys errors, key references and their JSON; and the proof of encryption: the
// bytes on the wire, captured by the test relay, hold a marker and the password with PLAIN and
// neither with CURVE.
#include "tcp_relay.hpp"
#include "testutil.hpp"

#include <QProcess>
#include <QTemporaryDir>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace testutil;
using namespace zmqrpc;
namespace fs = std::filesystem;

namespace {

constexpr const char* kMarker = "MARKER-7f3a9c";

struct ServerFixture {
    std::shared_ptr<CallLog> log = std::make_shared<CallLog>();
    std::unique_ptr<RpcServer> server;
    explicit ServerFixture(RpcServerOptions options) {
        server = std::make_unique<RpcServer>(std::move(options), standardFunctions(log));
        server->start();
    }
    std::string endpoint() const { return server->rep_endpoint(); }
};

// A CURVE server side: key pair `keys`, any client with the key, or the clients `authorized`.
Security curveServer(const CurveKeyPair& keys, const fs::path& authorized = {}) {
    CurveSecurity curve;
    curve.keys = keys;
    if (authorized.empty()) {
        curve.clients = CurveClients::AnyWithServerKey;
    } else {
        curve.clients = CurveClients::AuthorizedKeys;
        curve.authorized_keys = authorized;
    }
    return curve;
}

// A CURVE client side: the server's public key; our key pair (a fresh one per socket if empty).
Security curveClient(const std::string& serverKey, const CurveKeyPair& keys = {}) {
    CurveSecurity curve;
    curve.server_key = serverKey;
    curve.keys = keys;
    return curve;
}

void writeText(const fs::path& path, const std::string& text, mode_t mode = 0644) {
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << text;
    }
    ::chmod(path.c_str(), mode);
}

std::string readText(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// An authorized_keys text listing `keys`, with a comment line and a comment per key.
std::string authorizedText(const std::vector<std::string>& keys) {
    std::string text = "# clients allowed in\n";
    for (std::size_t i = 0; i < keys.size(); ++i)
        text += keys[i] + "  client " + std::to_string(i) + "\n";
    return text;
}

// The message of the ConfigError that `f` throws; empty when it throws none.
template <class F>
std::string configErrorOf(F&& f) {
    try {
        f();
    } catch (const ConfigError& e) {
        return e.what();
    }
    return {};
}

template <class F>
std::string invalidArgumentOf(F&& f) {
    try {
        f();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return {};
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// The socket of `role` is in state `state` (the sender's monitor events read first).
bool clientSocketIs(RpcClient& client, const std::string& role, ConnectionState state) {
    client.sender().poll_events();
    auto s = socketOf(client.metrics(), role);
    return s && s->connection == state;
}

QString socketText(const std::optional<SocketSnapshot>& s) {
    if (!s) return QStringLiteral("no such socket");
    return QStringLiteral("%1 %2: %3, peers %4, refused %5, handshake failures %6")
        .arg(qs(s->role), qs(s->endpoint), QString::fromLatin1(to_string(s->connection)))
        .arg(s->peers)
        .arg(s->credentials_refused)
        .arg(s->handshake_failures);
}

// What a refused REQ client must show: RpcError kind CredentialsRefused (not a timeout, and
// before the timeout), its REQ socket in state CredentialsRefused with the counter up, and a
// CredentialsRefused event whose text holds `clientText`.
void expectClientRefused(RpcClient& client, EventRecorder& events, const std::string& clientText,
                         std::chrono::milliseconds timeout) {
    const auto started = Clock::now();
    auto error = rpcErrorOf([&] { client.invoke("add", {{"a", 1}, {"b", 2}}, timeout); });
    const auto took = msSince(started);
    QVERIFY2(error && error->kind() == RpcError::Kind::CredentialsRefused,
             qPrintable(describe(error)));
    QVERIFY2(took < timeout.count(),
             qPrintable(QStringLiteral("the refusal took %1 ms, the whole timeout").arg(took)));
    QVERIFY2(waitUntil([&] {
                 return clientSocketIs(client, "req", ConnectionState::CredentialsRefused);
             }),
             qPrintable(socketText(socketOf(client.metrics(), "req"))));
    auto req = socketOf(client.metrics(), "req");
    QVERIFY2(req->credentials_refused > 0, qPrintable(socketText(req)));
    auto event = events.waitFor(EventKind::CredentialsRefused, 2000ms);
    QVERIFY2(event, qPrintable(events.dump()));
    QVERIFY2(
        contains(event->text, clientText),
        qPrintable(
            QStringLiteral("event text '%1' lacks '%2'").arg(qs(event->text), qs(clientText))));
}

// What the refusing server must show: its REP counted the refusal and said why.
void expectServerRefused(ServerFixture& fx, EventRecorder& events, const std::string& text) {
    QVERIFY2(waitUntil([&] {
                 auto rep = socketOf(fx.server->metrics(), "rep");
                 return rep && rep->credentials_refused > 0;
             }),
             qPrintable(socketText(socketOf(fx.server->metrics(), "rep"))));
    auto event = events.waitFor(EventKind::CredentialsRefused, 2000ms);
    QVERIFY2(event, qPrintable(events.dump()));
    QVERIFY2(
        contains(event->text, text),
        qPrintable(
            QStringLiteral("server event text '%1' lacks '%2'").arg(qs(event->text), qs(text))));
    QCOMPARE(fx.log->size(), std::size_t{0});
}

}  // namespace

class TestCurve : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase();

    // Round trips
    void reqRepAnyClientWithServerKey();
    void reqRepAuthorizedKeys();
    void pubSubRpcClientToServer();
    void pubSubSenderToReceiverAuthorized();
    void proxyOutputWithServerKeyPerEndpoint();

    // Refusals
    void wrongServerKeyIsRefused();
    void unauthorisedClientKeyIsRefused();
    void clientWithoutSecurityIsRefused();
    void subWithWrongServerKeyIsRefused();
    void proxyEndpointWithWrongKeyIsRefusedOthersDeliver();
    void proxyRefusedPausesBetweenTries();

    // Rotation
    void rotationLetsClientInWithoutRestart_data();
    void rotationLetsClientInWithoutRestart();

    // Keys and references
    void keyFilesRoundTrip();
    void secretKeyFileRefusals();
    void authorizedKeysFile();
    void checkCurveKeyAndHelpers();
    void secretsResolveKey();
    void securityRefJson();
    void pyzmqReadsOurKeyFiles();

    // Encryption on the wire
    void plainShowsMarkerAndPasswordCurveShowsNeither();
    void pubSubThroughRelayWithCurveHidesMarker();

  private:
    QTemporaryDir dir_;
    fs::path path(const std::string& name) const {
        return fs::path(dir_.path().toStdString()) / name;
    }
};

void TestCurve::initTestCase() {
    if (!curve_available()) QSKIP("this libzmq has no CURVE (built without libsodium)");
    QVERIFY(dir_.isValid());
    // Nothing in this process may look for keys in the real ~/.config.
    qputenv("ZMQRPC_KEYS", QByteArray::fromStdString(path("keys").string()));
}

// ---- Round trips

void TestCurve::reqRepAnyClientWithServerKey() {
    const auto serverKeys = generate_curve_key_pair();
    auto options = repServerOptions();
    options.security = curveServer(serverKeys);
    ServerFixture fx(std::move(options));

    // No key pair of its own: a fresh one for its socket.
    auto clientOptions = reqClientOptions({fx.endpoint()}, 3000ms);
    clientOptions.security = curveClient(serverKeys.public_key);
    RpcClient client(clientOptions);
    QCOMPARE(client.invoke("test_method", {{"param1", "Hello"}, {"param2", " CURVE"}}),
             json("Hello CURVE"));
    QCOMPARE(client.invoke("add", {{"a", 40}, {"b", 2}}), json(42));
    QCOMPARE(fx.log->size(), std::size_t{2});
    QVERIFY2(waitUntil([&] { return clientSocketIs(client, "req", ConnectionState::Connected); }),
             qPrintable(socketText(socketOf(client.metrics(), "req"))));
    auto req = socketOf(client.metrics(), "req");
    QVERIFY2(req->peers == 1 && req->credentials_refused == 0, qPrintable(socketText(req)));
    auto rep = socketOf(fx.server->metrics(), "rep");
    QVERIFY2(rep && rep->credentials_refused == 0, qPrintable(socketText(rep)));
}

void TestCurve::reqRepAuthorizedKeys() {
    const auto serverKeys = generate_curve_key_pair();
    const auto clientKeys = generate_curve_key_pair();
    const auto authorized = path("req-rep.authorized_keys");
    writeText(authorized, authorizedText({clientKeys.public_key}));
    auto options = repServerOptions();
    options.security = curveServer(serverKeys, authorized);
    ServerFixture fx(std::move(options));

    auto clientOptions = reqClientOptions({fx.endpoint()}, 3000ms);
    clientOptions.security = curveClient(serverKeys.public_key, clientKeys);
    RpcClient client(clientOptions);
    QCOMPARE(client.invoke("test_method", {{"param1", "a"}, {"param2", "b"}}), json("ab"));
    QCOMPARE(fx.log->size(), std::size_t{1});
    auto rep = socketOf(fx.server->metrics(), "rep");
    QVERIFY2(rep && rep->credentials_refused == 0, qPrintable(socketText(rep)));
}

void TestCurve::pubSubRpcClientToServer() {
    const auto pubKeys = generate_curve_key_pair();
    auto clientOptions = pubClientOptions();
    clientOptions.security = curveServer(pubKeys);
    RpcClient client(clientOptions);

    auto options = subServerOptions({client.sender().pub_endpoint()});
    options.security = curveClient(pubKeys.public_key);
    ServerFixture fx(std::move(options));

    QVERIFY(waitForSubscribers(client.sender(), 1));
    for (int i = 0; i < 3; ++i)
        client.invoke("add", {{"a", i}, {"b", 10}});
    QVERIFY2(waitUntil([&] { return fx.log->size() == 3; }),
             qPrintable(QString::number(fx.log->size())));
    QCOMPARE(fx.log->snapshot()[2].at("a"), json(2));
    auto sub = socketOf(fx.server->metrics(), "sub");
    QVERIFY2(sub && sub->connection == ConnectionState::Connected && sub->credentials_refused == 0,
             qPrintable(socketText(sub)));
}

void TestCurve::pubSubSenderToReceiverAuthorized() {
    const auto pubKeys = generate_curve_key_pair();
    const auto subKeys = generate_curve_key_pair();
    const auto authorized = path("pub-sub.authorized_keys");
    writeText(authorized, authorizedText({subKeys.public_key}));
    auto senderOptions = pubSenderOptions();
    senderOptions.security = curveServer(pubKeys, authorized);
    Sender sender(senderOptions);

    CallLog received;
    ReceiverOptions options;
    options.name = "curve-receiver";
    options.sub_connect = {sender.pub_endpoint()};
    options.security = curveClient(pubKeys.public_key, subKeys);
    Receiver receiver(options, [&](std::string_view message, Origin) {
        received.add(json(std::string(message)));
        return std::string();
    });
    receiver.start();

    QVERIFY(waitForSubscribers(sender, 1));
    const std::string message = encode_request("record", {{"text", kMarker}});
    sender.publish(message);
    QVERIFY(waitUntil([&] { return received.size() == 1; }));
    QCOMPARE(received.snapshot().front(), json(message));
}

void TestCurve::proxyOutputWithServerKeyPerEndpoint() {
    // Two CURVE servers, each with a key pair of its own; the proxy's output knows each key.
    const auto keysA = generate_curve_key_pair();
    const auto keysB = generate_curve_key_pair();
    auto optionsA = repServerOptions(kAnyTcp, "server-a");
    optionsA.security = curveServer(keysA);
    ServerFixture a(std::move(optionsA));
    auto optionsB = repServerOptions(kAnyTcp, "server-b");
    optionsB.security = curveServer(keysB);
    ServerFixture b(std::move(optionsB));

    Sender source(pubSenderOptions());
    ProxyOptions options;
    options.name = "curve-sub2req";
    options.input.sub_connect = {source.pub_endpoint()};
    options.output.req_connect = {a.endpoint(), b.endpoint()};
    options.output.req_timeout = 2000ms;
    CurveSecurity output;
    output.server_keys = {{a.endpoint(), keysA.public_key}, {b.endpoint(), keysB.public_key}};
    options.output.security = output;
    options.retry_interval = 20ms;
    options.window = 4;
    Proxy proxy(ProxyKind::Sub2Req, options);
    proxy.start();
    QVERIFY(waitForSubscribers(source));
    // Both servers handshook with the proxy before anything is sent: round robin uses both.
    QVERIFY2(waitUntil(
                 [&] {
                     auto ra = socketOf(a.server->metrics(), "rep");
                     auto rb = socketOf(b.server->metrics(), "rep");
                     return ra && rb && ra->peers > 0 && rb->peers > 0;
                 },
                 3000ms),
             qPrintable(socketText(socketOf(a.server->metrics(), "rep")) + " / " +
                        socketText(socketOf(b.server->metrics(), "rep"))));

    constexpr int kCount = 40;
    for (int i = 0; i < kCount; ++i)
        source.publish(encode_request("record", {{"n", i}}));
    QVERIFY2(waitUntil([&] { return proxy.metrics().queue.delivered == kCount; }, 5000ms),
             qPrintable(QString::number(proxy.metrics().queue.delivered)));
    QCOMPARE(a.log->size() + b.log->size(), std::size_t{kCount});
    QVERIFY2(a.log->size() > 0 && b.log->size() > 0,
             qPrintable(QStringLiteral("a %1, b %2").arg(a.log->size()).arg(b.log->size())));
    const auto m = proxy.metrics();
    QCOMPARE(m.queue.window, std::uint64_t{4});
    for (const auto& s : m.sockets)
        QVERIFY2(s.credentials_refused == 0, qPrintable(socketText(s)));
    for (auto* fx : {&a, &b}) {
        auto rep = socketOf(fx->server->metrics(), "rep");
        QVERIFY2(rep->credentials_refused == 0, qPrintable(socketText(rep)));
    }
}

// ---- Refusals

void TestCurve::wrongServerKeyIsRefused() {
    EventRecorder serverEvents;
    const auto serverKeys = generate_curve_key_pair();
    auto options = repServerOptions();
    options.security = curveServer(serverKeys);
    options.events = serverEvents.bus();
    ServerFixture fx(std::move(options));

    EventRecorder clientEvents;
    const auto otherKey = generate_curve_key_pair().public_key;
    auto clientOptions = reqClientOptions({fx.endpoint()});
    clientOptions.security = curveClient(otherKey);
    clientOptions.events = clientEvents.bus();
    RpcClient client(clientOptions);
    expectClientRefused(
        client, clientEvents,
        "the server closed the CURVE handshake: is the server key " + key_fingerprint(otherKey),
        3000ms);
    // The server cannot know which key the client holds, only that its HELLO does not open.
    expectServerRefused(fx, serverEvents, "does not hold this server's public key");
}

void TestCurve::unauthorisedClientKeyIsRefused() {
    EventRecorder serverEvents;
    const auto serverKeys = generate_curve_key_pair();
    const auto allowed = generate_curve_key_pair();
    const auto intruder = generate_curve_key_pair();
    const auto authorized = path("unauthorised.authorized_keys");
    writeText(authorized, authorizedText({allowed.public_key}));
    auto options = repServerOptions();
    options.security = curveServer(serverKeys, authorized);
    options.events = serverEvents.bus();
    ServerFixture fx(std::move(options));

    EventRecorder clientEvents;
    auto clientOptions = reqClientOptions({fx.endpoint()});
    clientOptions.security = curveClient(serverKeys.public_key, intruder);
    clientOptions.events = clientEvents.bus();
    RpcClient client(clientOptions);
    expectClientRefused(client, clientEvents,
                        "our CURVE key " + key_fingerprint(intruder.public_key) + " was refused",
                        3000ms);
    expectServerRefused(
        fx, serverEvents,
        "client key " + key_fingerprint(intruder.public_key) + " is not in " + authorized.string());

    // The listed client still gets in beside it.
    auto goodOptions = reqClientOptions({fx.endpoint()}, 3000ms);
    goodOptions.security = curveClient(serverKeys.public_key, allowed);
    RpcClient good(goodOptions);
    QCOMPARE(good.invoke("add", {{"a", 1}, {"b", 2}}), json(3));
}

void TestCurve::clientWithoutSecurityIsRefused() {
    EventRecorder serverEvents;
    const auto serverKeys = generate_curve_key_pair();
    auto options = repServerOptions();
    options.security = curveServer(serverKeys);
    options.events = serverEvents.bus();
    ServerFixture fx(std::move(options));

    EventRecorder clientEvents;
    auto clientOptions = reqClientOptions({fx.endpoint()});
    clientOptions.events = clientEvents.bus();
    RpcClient client(clientOptions);  // no security at all
    expectClientRefused(client, clientEvents, "security mismatch", 3000ms);
    expectServerRefused(fx, serverEvents, "security mismatch: this side uses CURVE");
}

void TestCurve::subWithWrongServerKeyIsRefused() {
    const auto pubKeys = generate_curve_key_pair();
    auto clientOptions = pubClientOptions();
    clientOptions.security = curveServer(pubKeys);
    RpcClient publisher(clientOptions);

    EventRecorder events;
    const auto otherKey = generate_curve_key_pair().public_key;
    auto options = subServerOptions({publisher.sender().pub_endpoint()});
    options.security = curveClient(otherKey);
    options.events = events.bus();
    ServerFixture fx(std::move(options));

    QVERIFY2(waitUntil([&] {
                 auto sub = socketOf(fx.server->metrics(), "sub");
                 return sub && sub->connection == ConnectionState::CredentialsRefused &&
                        sub->credentials_refused > 0;
             }),
             qPrintable(socketText(socketOf(fx.server->metrics(), "sub"))));
    auto event = events.waitFor(EventKind::CredentialsRefused, 2000ms);
    QVERIFY2(event && contains(event->text, key_fingerprint(otherKey)), qPrintable(events.dump()));
    QVERIFY(!publisher.sender().wait_for_subscribers(1, 200ms));
    publisher.publish("add", {{"a", 1}, {"b", 1}});
    QVERIFY(!waitUntil([&] { return fx.log->size() > 0; }, 200ms));
}

void TestCurve::proxyEndpointWithWrongKeyIsRefusedOthersDeliver() {
    // The proxy's output holds the right key for server A and a wrong one for server B: B's
    // socket is refused (and says so), everything is delivered to A, nothing is lost.
    const auto keysA = generate_curve_key_pair();
    const auto keysB = generate_curve_key_pair();
    auto optionsA = repServerOptions(kAnyTcp, "server-a");
    optionsA.security = curveServer(keysA);
    ServerFixture a(std::move(optionsA));
    auto optionsB = repServerOptions(kAnyTcp, "server-b");
    optionsB.security = curveServer(keysB);
    ServerFixture b(std::move(optionsB));

    EventRecorder events;
    Sender source(pubSenderOptions());
    ProxyOptions options;
    options.name = "curve-sub2req-wrong-key";
    options.events = events.bus();
    options.input.sub_connect = {source.pub_endpoint()};
    options.output.req_connect = {a.endpoint(), b.endpoint()};
    options.output.req_timeout = 1000ms;
    const auto wrongKey = generate_curve_key_pair().public_key;
    CurveSecurity output;
    output.server_keys = {{a.endpoint(), keysA.public_key}, {b.endpoint(), wrongKey}};
    options.output.security = output;
    options.retry_interval = 20ms;
    options.window = 4;
    Proxy proxy(ProxyKind::Sub2Req, options);
    proxy.start();
    QVERIFY(waitForSubscribers(source));

    constexpr int kCount = 20;
    for (int i = 0; i < kCount; ++i)
        source.publish(encode_request("record", {{"n", i}}));
    QVERIFY2(waitUntil([&] { return a.log->size() >= kCount; }, 10000ms),
             qPrintable(QString::number(a.log->size())));
    QVERIFY2(waitUntil([&] { return proxy.metrics().queue.delivered == kCount; }, 5000ms),
             qPrintable(QString::number(proxy.metrics().queue.delivered)));
    QCOMPARE(b.log->size(), std::size_t{0});
    std::set<int> numbers;
    for (const auto& call : a.log->snapshot())
        numbers.insert(call.at("n").get<int>());
    QCOMPARE(numbers.size(), std::size_t{kCount});

    bool sawB = false;
    for (const auto& s : proxy.metrics().sockets) {
        if (s.endpoint != b.endpoint()) continue;
        sawB = true;
        QVERIFY2(s.credentials_refused > 0, qPrintable(socketText(s)));
    }
    QVERIFY2(sawB, "no socket of the proxy's metrics names server B's endpoint");
    auto event = events.waitFor(EventKind::CredentialsRefused, 2000ms, b.endpoint());
    QVERIFY2(event && contains(event->text, key_fingerprint(wrongKey)), qPrintable(events.dump()));
    QCOMPARE(events.count(EventKind::CredentialsRefused, a.endpoint()), std::size_t{0});
}

void TestCurve::proxyRefusedPausesBetweenTries() {
    // A refused uplink (a wrong server key: the server hangs up at once) is tried again after a
    // pause, not in a loop as fast as handshakes go, and stays shown as refused meanwhile.
    const auto keys = generate_curve_key_pair();
    auto serverOptions = repServerOptions(kAnyTcp, "server");
    serverOptions.security = curveServer(keys);
    ServerFixture server(std::move(serverOptions));
    EventRecorder events;
    Sender source(pubSenderOptions());
    ProxyOptions options;
    options.name = "curve-refused-pause";
    options.events = events.bus();
    options.input.sub_connect = {source.pub_endpoint()};
    options.output.req_connect = {server.endpoint()};
    options.output.req_timeout = 500ms;
    CurveSecurity output;
    output.server_key = generate_curve_key_pair().public_key;  // not the server's
    options.output.security = output;
    Proxy proxy(ProxyKind::Sub2Req, options);
    proxy.start();
    QVERIFY(waitForSubscribers(source));
    for (int i = 0; i < 5; ++i)
        source.publish(encode_request("record", {{"n", i}}));
    QVERIFY(events.waitFor(EventKind::RequestFailed, 3000ms, server.endpoint()).has_value());
    QTest::qWait(2500);  // a little more than one pause
    const auto failed = events.count(EventKind::RequestFailed, server.endpoint());
    QVERIFY2(failed >= 1 && failed <= 3, qPrintable(events.dump()));
    bool refused = false;
    for (const auto& s : proxy.metrics().sockets) {
        if (s.endpoint == server.endpoint())
            refused = s.connection == ConnectionState::CredentialsRefused;
    }
    QVERIFY2(refused, qPrintable(events.dump()));
    QCOMPARE(server.log->size(), std::size_t{0});
    QCOMPARE(proxy.metrics().queue.delivered, std::uint64_t{0});
}

// ---- Rotation

void TestCurve::rotationLetsClientInWithoutRestart_data() {
    QTest::addColumn<bool>("pubSub");
    QTest::addColumn<bool>("inPlace");
    QTest::newRow("req-rep, atomic rename") << false << false;
    QTest::newRow("req-rep, edited in place") << false << true;
    QTest::newRow("pub-sub, atomic rename") << true << false;
    QTest::newRow("pub-sub, edited in place") << true << true;
}

void TestCurve::rotationLetsClientInWithoutRestart() {
    QFETCH(bool, pubSub);
    QFETCH(bool, inPlace);
    const auto serverKeys = generate_curve_key_pair();
    const auto keyA = generate_curve_key_pair();
    const auto keyB = generate_curve_key_pair();
    const auto authorized =
        path(std::string("rotation-") + (pubSub ? "pub" : "rep") + (inPlace ? "-edit" : "-mv"));
    writeText(authorized, authorizedText({keyA.public_key}));
    auto rotate = [&] {
        const std::string text = authorizedText({keyA.public_key, keyB.public_key});
        if (inPlace) {
            std::ofstream out(authorized, std::ios::binary | std::ios::trunc);  // same inode
            out << text;
        } else {
            const fs::path temporary = authorized.string() + ".new";
            writeText(temporary, text);
            fs::rename(temporary, authorized);
        }
        QCOMPARE(readText(authorized), text);
    };

    if (!pubSub) {
        auto options = repServerOptions();
        options.security = curveServer(serverKeys, authorized);
        ServerFixture fx(std::move(options));
        auto clientOptions = reqClientOptions({fx.endpoint()}, 3000ms);
        clientOptions.security = curveClient(serverKeys.public_key, keyB);
        RpcClient client(clientOptions);
        auto error = rpcErrorOf([&] { client.invoke("add", {{"a", 1}, {"b", 1}}); });
        QVERIFY2(error && error->kind() == RpcError::Kind::CredentialsRefused,
                 qPrintable(describe(error)));
        // The REQ socket the failure recreated is refused too (the file has not changed yet):
        // the next invoke finds it refused and starts on a fresh one.
        QVERIFY2(waitUntil([&] {
                     return clientSocketIs(client, "req", ConnectionState::CredentialsRefused);
                 }),
                 qPrintable(socketText(socketOf(client.metrics(), "req"))));
        rotate();
        // The next invoke retries on a fresh socket; the server reads the file at each
        // connection.
        QCOMPARE(client.invoke("add", {{"a", 2}, {"b", 3}}), json(5));
        QCOMPARE(fx.log->size(), std::size_t{1});
        return;
    }

    auto publisherOptions = pubClientOptions();
    publisherOptions.security = curveServer(serverKeys, authorized);
    RpcClient publisher(publisherOptions);
    auto options = subServerOptions({publisher.sender().pub_endpoint()});
    options.security = curveClient(serverKeys.public_key, keyB);
    ServerFixture fx(std::move(options));
    QVERIFY2(waitUntil([&] {
                 auto sub = socketOf(fx.server->metrics(), "sub");
                 return sub && sub->connection == ConnectionState::CredentialsRefused;
             }),
             qPrintable(socketText(socketOf(fx.server->metrics(), "sub"))));
    QVERIFY(!publisher.sender().wait_for_subscribers(1, 0ms));
    rotate();
    // A refused SUB is recreated every 2 s: it is in within one or two of those.
    const auto rotated = Clock::now();
    QVERIFY2(publisher.sender().wait_for_subscribers(1, 6000ms),
             qPrintable(socketText(socketOf(fx.server->metrics(), "sub"))));
    qInfo("the SUB got in %lld ms after the rotation", static_cast<long long>(msSince(rotated)));
    publisher.invoke("add", {{"a", 2}, {"b", 3}});
    QVERIFY(waitUntil([&] { return fx.log->size() == 1; }));
    auto sub = socketOf(fx.server->metrics(), "sub");
    QVERIFY2(sub->connection == ConnectionState::Connected && sub->recreates >= 1,
             qPrintable(socketText(sub)));
}

// ---- Keys and references

void TestCurve::keyFilesRoundTrip() {
    const fs::path keys = path("keys-round-trip");  // does not exist yet: created 0700
    const auto pair = generate_curve_key_pair();
    write_curve_key_pair(keys, "alice", pair, false);
    const auto [publicFile, secretFile] = curve_key_files(keys, "alice");
    QCOMPARE(publicFile, keys / "alice.key");
    QCOMPARE(secretFile, keys / "alice.key_secret");

    struct stat st {};
    QCOMPARE(::stat(keys.c_str(), &st), 0);
    QCOMPARE(st.st_mode & 0777, mode_t{0700});
    QCOMPARE(::stat(secretFile.c_str(), &st), 0);
    QCOMPARE(st.st_mode & 0777, mode_t{0600});
    QCOMPARE(::stat(publicFile.c_str(), &st), 0);
    QCOMPARE(st.st_mode & 0777, mode_t{0644});

    QCOMPARE(load_curve_secret_file(secretFile), pair);
    QCOMPARE(load_curve_public_file(publicFile), pair.public_key);
    QCOMPARE(load_curve_public_file(secretFile), pair.public_key);
    // The secret is in the secret file only.
    QVERIFY(contains(readText(secretFile), pair.secret_key));
    QVERIFY(!contains(readText(publicFile), pair.secret_key));

    // No silent replacement; with overwrite, the new pair.
    const auto other = generate_curve_key_pair();
    const auto refused = configErrorOf([&] { write_curve_key_pair(keys, "alice", other, false); });
    QVERIFY2(contains(refused, "exists already"), refused.c_str());
    QCOMPARE(load_curve_secret_file(secretFile), pair);
    write_curve_key_pair(keys, "alice", other, true);
    QCOMPARE(load_curve_secret_file(secretFile), other);
    QCOMPARE(::stat(secretFile.c_str(), &st), 0);
    QCOMPARE(st.st_mode & 0777, mode_t{0600});

    const auto badName = configErrorOf([&] { write_curve_key_pair(keys, "../x", pair, false); });
    QVERIFY2(contains(badName, "plain file name"), badName.c_str());
}

void TestCurve::secretKeyFileRefusals() {
    const fs::path keys = path("keys-refusals");
    const auto pair = generate_curve_key_pair();
    write_curve_key_pair(keys, "bob", pair, false);
    const auto [publicFile, secretFile] = curve_key_files(keys, "bob");

    // Readable by others.
    QCOMPARE(::chmod(secretFile.c_str(), 0644), 0);
    auto error = configErrorOf([&] { load_curve_secret_file(secretFile); });
    QVERIFY2(contains(error, "can be read or written by others") && contains(error, "chmod 600"),
             error.c_str());
    QCOMPARE(::chmod(secretFile.c_str(), 0600), 0);
    QCOMPARE(load_curve_secret_file(secretFile), pair);

    // The public half given as the secret one (made owner-only, so that the content is judged).
    const fs::path publicCopy = keys / "bob-public-as-secret";
    writeText(publicCopy, readText(publicFile), 0600);
    error = configErrorOf([&] { load_curve_secret_file(publicCopy); });
    QVERIFY2(contains(error, "has no secret-key") && contains(error, "NAME.key_secret"),
             error.c_str());

    // A public key that is not the secret key's.
    const auto stranger = generate_curve_key_pair();
    std::string text = readText(secretFile);
    const auto at = text.find(pair.public_key);
    QVERIFY(at != std::string::npos);
    text.replace(at, pair.public_key.size(), stranger.public_key);
    const fs::path mismatched = keys / "mismatched.key_secret";
    writeText(mismatched, text, 0600);
    error = configErrorOf([&] { load_curve_secret_file(mismatched); });
    QVERIFY2(contains(error, "does not belong to its secret-key"), error.c_str());

    // A malformed key, with its line.
    const fs::path malformed = keys / "malformed.key_secret";
    writeText(malformed, "metadata\ncurve\n    public-key = \"short\"\n", 0600);
    error = configErrorOf([&] { load_curve_secret_file(malformed); });
    QVERIFY2(contains(error, malformed.string() + ":3:"), error.c_str());

    // Missing.
    error = configErrorOf([&] { load_curve_secret_file(keys / "nobody.key_secret"); });
    QVERIFY2(contains(error, "nobody.key_secret"), error.c_str());
    // The error never shows the secret.
    QVERIFY(!contains(error, pair.secret_key));
}

void TestCurve::authorizedKeysFile() {
    const auto k1 = generate_curve_key_pair().public_key;
    const auto k2 = generate_curve_key_pair().public_key;
    const fs::path good = path("good.authorized_keys");
    writeText(good, "# site proxies\n\n" + k1 + "\n  " + k2 + "\tsite 2, rack 4\r\n# end\n");
    const auto keys = load_authorized_keys(good);
    QCOMPARE(keys.size(), std::size_t{2});
    QCOMPARE(keys[0].key, k1);
    QCOMPARE(keys[0].comment, std::string());
    QCOMPARE(keys[1].key, k2);
    QCOMPARE(keys[1].comment, std::string("site 2, rack 4"));

    const fs::path bad = path("bad.authorized_keys");
    writeText(bad, "# comment\n" + k1 + "\n\nnot-a-key here\n" + k2 + "\n");
    auto error = configErrorOf([&] { load_authorized_keys(bad); });
    QVERIFY2(contains(error, bad.string() + ":4:"), error.c_str());

    writeText(bad, k1 + "x\n");  // 41 characters
    error = configErrorOf([&] { load_authorized_keys(bad); });
    QVERIFY2(contains(error, bad.string() + ":1:"), error.c_str());

    // Writable by others: anyone could add a key.
    writeText(bad, k1 + "\n", 0666);
    error = configErrorOf([&] { load_authorized_keys(bad); });
    QVERIFY2(contains(error, "can be written by others"), error.c_str());

    error = configErrorOf([&] { load_authorized_keys(path("missing.authorized_keys")); });
    QVERIFY2(contains(error, "missing.authorized_keys"), error.c_str());

    // A server given a bad file says so when it starts, not at the first client.
    auto options = repServerOptions();
    options.security = curveServer(generate_curve_key_pair(), path("missing.authorized_keys"));
    RpcServer server(options, standardFunctions());
    error = configErrorOf([&] { server.start(); });
    QVERIFY2(contains(error, "missing.authorized_keys"), error.c_str());
}

void TestCurve::checkCurveKeyAndHelpers() {
    const auto pair = generate_curve_key_pair();
    QVERIFY(!check_curve_key(pair.public_key));
    QVERIFY(!check_curve_key(pair.secret_key));
    QCOMPARE(pair.public_key.size(), std::size_t{40});
    QCOMPARE(curve_public_key(pair.secret_key), pair.public_key);
    QVERIFY(generate_curve_key_pair() != pair);

    QVERIFY(check_curve_key(""));
    QVERIFY(check_curve_key(pair.public_key.substr(0, 39)));
    QVERIFY(check_curve_key(pair.public_key + "a"));
    std::string badChar = pair.public_key;
    badChar[7] = '~';  // not in the Z85 alphabet
    QVERIFY(check_curve_key(badChar));
    badChar[7] = ' ';
    QVERIFY(check_curve_key(badChar));

    QCOMPARE(key_fingerprint(pair.public_key), pair.public_key.substr(0, 10) + "...");
    const auto error = configErrorOf([&] { curve_public_key("not a key"); });
    QVERIFY2(!error.empty(), "curve_public_key accepted a malformed key");

    // describe() names the key by fingerprint and never shows a secret.
    const Security server = curveServer(pair);
    QCOMPARE(server.mechanism(), Security::Mechanism::Curve);
    QVERIFY(!contains(server.describe(), pair.secret_key));
    QVERIFY2(contains(server.describe(), "CURVE"), server.describe().c_str());

    // server_key_for: the endpoint's own key, else the default.
    CurveSecurity client;
    client.server_key = "default-key";
    client.server_keys = {{"tcp://127.0.0.1:1", "key-one"}};
    QCOMPARE(client.server_key_for("tcp://127.0.0.1:1"), std::string("key-one"));
    QCOMPARE(client.server_key_for("tcp://127.0.0.1:2"), std::string("default-key"));
}

void TestCurve::secretsResolveKey() {
    const auto pair = generate_curve_key_pair();
    Secrets secrets;
    secrets.keys_dir = path("keys-resolve");
    write_curve_key_pair(secrets.keys_dir, "server", pair, false);

    // A name in keys_dir, and a path.
    const KeyRef byName{CredentialRef::Source::File, "server"};
    QCOMPARE(secrets.key_file(byName), secrets.keys_dir / "server.key_secret");
    QCOMPARE(secrets.resolve_key(byName), pair);
    QVERIFY(secrets.has(byName));
    const KeyRef byPath{CredentialRef::Source::File,
                        (secrets.keys_dir / "server.key_secret").string()};
    QCOMPARE(secrets.resolve_key(byPath), pair);
    const KeyRef missing{CredentialRef::Source::File, "nobody"};
    QVERIFY(!secrets.has(missing));
    auto error = configErrorOf([&] { secrets.resolve_key(missing); });
    QVERIFY2(contains(error, "zmqrpc keygen nobody"), error.c_str());

    // The environment.
    const std::string variable = "ZMQRPC_TST_CURVE_SECRET_" + std::to_string(::getpid());
    const KeyRef fromEnv{CredentialRef::Source::Env, variable};
    error = configErrorOf([&] { secrets.resolve_key(fromEnv); });
    QVERIFY2(contains(error, "not set"), error.c_str());
    ::setenv(variable.c_str(), pair.secret_key.c_str(), 1);
    QCOMPARE(secrets.resolve_key(fromEnv), pair);
    secrets.use_environment = false;
    QVERIFY(!secrets.has(fromEnv));
    secrets.use_environment = true;
    ::setenv(variable.c_str(), "not-a-key", 1);
    error = configErrorOf([&] { secrets.resolve_key(fromEnv); });
    QVERIFY2(contains(error, variable) && !contains(error, "not-a-key"), error.c_str());
    ::unsetenv(variable.c_str());

    // Known keys win over every other source (the Studio's keychain, the tests' keys).
    const auto other = generate_curve_key_pair();
    secrets.known["file:server"] = other.secret_key;
    QCOMPARE(secrets.resolve_key(byName), other);
    secrets.known.erase("file:server");
    const KeyRef keychain{CredentialRef::Source::Keychain, "vault"};
    error = configErrorOf([&] { secrets.resolve_key(keychain); });
    QVERIFY2(contains(error, "keychain entry 'vault'"), error.c_str());
    secrets.known["keychain:vault"] = other.secret_key;
    QCOMPARE(secrets.resolve_key(keychain), other);

    // The server's public key: given, else NAME.key beside the file reference.
    CurveRef server;
    server.secret_key = byName;
    QCOMPARE(secrets.server_public_key(server, "a node"), pair.public_key);
    server.public_key = other.public_key;
    QCOMPARE(secrets.server_public_key(server, "a node"), other.public_key);

    // resolve(): the binding side's key pair and client policy; a relative authorized_keys is
    // a file in keys_dir.
    CurveRef bound;
    bound.secret_key = byName;
    bound.clients = CurveClients::AuthorizedKeys;
    bound.authorized_keys = "site.authorized_keys";
    bound.clients_given = true;
    const Security resolved = secrets.resolve(SecurityRef(bound));
    QVERIFY(resolved.curve());
    QCOMPARE(resolved.curve()->keys, pair);
    QCOMPARE(resolved.curve()->clients, CurveClients::AuthorizedKeys);
    QCOMPARE(resolved.curve()->authorized_keys, secrets.keys_dir / "site.authorized_keys");
    // A connecting side without a secret key: no keys (a fresh pair per socket).
    const Security fresh = secrets.resolve(SecurityRef(CurveRef{}));
    QVERIFY(fresh.curve());
    QVERIFY(fresh.curve()->keys.empty());
}

void TestCurve::securityRefJson() {
    const auto pk = generate_curve_key_pair().public_key;
    const std::vector<json> documents = {
        nullptr,
        json{{"username", "site"}, {"password", {{"env", "SITE_PASSWORD"}}}},
        json{{"curve", json::object()}},
        json{{"curve",
              {{"secret_key", {{"file", "cloud"}}}, {"public_key", pk}, {"clients", "any"}}}},
        json{{"curve",
              {{"secret_key", {{"env", "CLOUD_KEY"}}},
               {"clients", {{"authorized_keys", "/etc/zmqrpc/cloud.authorized_keys"}}}}}},
        json{{"curve", {{"secret_key", {{"keychain", "cloud"}}}}}},
    };
    for (const auto& document : documents) {
        const auto ref = SecurityRef::from_json(document);
        QCOMPARE(ref.to_json(), document);
        QVERIFY(SecurityRef::from_json(ref.to_json()) == ref);
    }
    QCOMPARE(SecurityRef::from_json(nullptr).mechanism(), Security::Mechanism::None);
    const auto curve = SecurityRef::from_json(documents[3]);
    QCOMPARE(curve.mechanism(), Security::Mechanism::Curve);
    QCOMPARE(curve.curve()->secret_key.source_text(), std::string("file:cloud"));
    QCOMPARE(curve.curve()->public_key, pk);
    QCOMPARE(curve.curve()->clients, CurveClients::AnyWithServerKey);
    const auto authorized = SecurityRef::from_json(documents[4]);
    QCOMPARE(authorized.curve()->clients, CurveClients::AuthorizedKeys);
    QCOMPARE(authorized.curve()->authorized_keys, std::string("/etc/zmqrpc/cloud.authorized_keys"));

    struct Bad {
        json document;
        std::string says;
    };
    const auto secret = generate_curve_key_pair().secret_key;
    const std::vector<Bad> bad = {
        {json{{"curve", {{"secret_key", secret}}}}, "never written into a topology"},
        {json{{"curve", {{"secret_key", {{"disk", "x"}}}}}}, "unknown source 'disk'"},
        {json{{"curve", {{"secret_key", {{"file", ""}}}}}}, "expected a non-empty name"},
        {json{{"curve", {{"secret_key", {{"file", "a"}, {"env", "B"}}}}}}, "exactly one"},
        {json{{"curve", {{"public_key", "short"}}}}, "curve.public_key"},
        {json{{"curve", {{"public_key", 7}}}}, "curve.public_key: expected a string"},
        {json{{"curve", {{"clients", "everyone"}}}}, "curve.clients"},
        {json{{"curve", {{"clients", {{"authorized_keys", ""}}}}}}, "curve.clients"},
        {json{{"curve", {{"server_key", pk}}}}, "unknown key 'server_key'"},
        {json{{"curve", "yes"}}, "curve: expected an object"},
        {json{{"curve", json::object()}, {"username", "x"}}, "not both"},
    };
    for (const auto& b : bad) {
        const auto error = invalidArgumentOf([&] { SecurityRef::from_json(b.document); });
        QVERIFY2(contains(error, b.says),
                 qPrintable(QStringLiteral("%1: got '%2', expected '%3'")
                                .arg(qs(b.document.dump()), qs(error), qs(b.says))));
        QVERIFY2(!contains(error, secret), "an error message shows the secret key");
    }
}

void TestCurve::pyzmqReadsOurKeyFiles() {
    const QString python = QStringLiteral(ZMQRPC_PYTHON3);
    if (python.isEmpty() || !QFileInfo::exists(python)) QSKIP("no python3 found at configure time");
    QProcess probe;
    probe.start(python, {QStringLiteral("-c"), QStringLiteral("import zmq.auth")});
    QVERIFY(probe.waitForFinished(20000));
    if (probe.exitStatus() != QProcess::NormalExit || probe.exitCode() != 0)
        QSKIP("python3 has no pyzmq (import zmq.auth failed)");

    const fs::path keys = path("keys-pyzmq");
    const auto pair = generate_curve_key_pair();
    write_curve_key_pair(keys, "ours", pair, false);
    const auto [publicFile, secretFile] = curve_key_files(keys, "ours");
    // Reads both of our files, then writes a pair of its own for us to read.
    const QString script = QStringLiteral(
        "import sys, os, zmq.auth\n"
        "p, s = zmq.auth.load_certificate(sys.argv[1])\n"
        "print(p.decode()); print(s.decode())\n"
        "p2, s2 = zmq.auth.load_certificate(sys.argv[2])\n"
        "print(p2.decode()); print(s2)\n"
        "pub, sec = zmq.auth.create_certificates(sys.argv[3], 'theirs')\n"
        "p3, s3 = zmq.auth.load_certificate(sec)\n"
        "print(p3.decode()); print(s3.decode())\n");
    QProcess py;
    py.start(python, {QStringLiteral("-c"), script, qs(secretFile.string()),
                      qs(publicFile.string()), qs(keys.string())});
    QVERIFY(py.waitForFinished(20000));
    const QString err = QString::fromUtf8(py.readAllStandardError());
    QVERIFY2(py.exitStatus() == QProcess::NormalExit && py.exitCode() == 0, qPrintable(err));
    const QStringList lines =
        QString::fromUtf8(py.readAllStandardOutput()).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 6);
    QCOMPARE(lines[0].toStdString(), pair.public_key);
    QCOMPARE(lines[1].toStdString(), pair.secret_key);
    QCOMPARE(lines[2].toStdString(), pair.public_key);
    QCOMPARE(lines[3], QStringLiteral("None"));  // a public file has no secret

    // pyzmq's own certificate: our loaders read it (its secret file made owner-only first:
    // pyzmq leaves it to the umask).
    const auto [theirPublic, theirSecret] = curve_key_files(keys, "theirs");
    ::chmod(theirSecret.c_str(), 0600);
    const CurveKeyPair theirs = load_curve_secret_file(theirSecret);
    QCOMPARE(theirs.public_key, lines[4].toStdString());
    QCOMPARE(theirs.secret_key, lines[5].toStdString());
    QCOMPARE(load_curve_public_file(theirPublic), theirs.public_key);
}

// ---- Encryption on the wire

void TestCurve::plainShowsMarkerAndPasswordCurveShowsNeither() {
    const std::string password = "pw-6d1e0b-secret";
    const json parameters = {{"param1", kMarker}, {"param2", "-tail"}};
    const json expected = std::string(kMarker) + "-tail";
    TcpRelayOptions capture;
    capture.capture_bytes = 1 << 20;

    // PLAIN: the marker (both ways) and the password are there in clear text.
    {
        auto options = repServerOptions();
        options.security = Credentials{"site", password};
        ServerFixture fx(std::move(options));
        TcpRelay relay(fx.endpoint(), capture);
        auto clientOptions = reqClientOptions({relay.endpoint()}, 3000ms);
        clientOptions.security = Credentials{"site", password};
        RpcClient client(clientOptions);
        QCOMPARE(client.invoke("test_method", parameters), expected);
        const auto wire = relay.captured();
        QVERIFY2(contains(wire.up, "PLAIN"), "the capture does not hold the ZMTP greeting");
        QVERIFY2(contains(wire.up, kMarker), "PLAIN: the request's marker is not on the wire");
        QVERIFY2(contains(wire.up, password), "PLAIN: the password is not on the wire");
        QVERIFY2(contains(wire.down, kMarker), "PLAIN: the reply's marker is not on the wire");
        QCOMPARE(wire.left_out_up, std::uint64_t{0});
    }

    // CURVE: neither, and the round trip works the same.
    const auto serverKeys = generate_curve_key_pair();
    const auto clientKeys = generate_curve_key_pair();
    auto options = repServerOptions();
    options.security = curveServer(serverKeys);
    ServerFixture fx(std::move(options));
    TcpRelay relay(fx.endpoint(), capture);
    auto clientOptions = reqClientOptions({relay.endpoint()}, 3000ms);
    clientOptions.security = curveClient(serverKeys.public_key, clientKeys);
    RpcClient client(clientOptions);
    for (int i = 0; i < 5; ++i)
        QCOMPARE(client.invoke("test_method", parameters), expected);
    const auto wire = relay.captured();
    QVERIFY2(contains(wire.up, "CURVE"), "the capture does not hold the ZMTP greeting");
    // Five requests and replies went through this capture, encrypted.
    QVERIFY2(wire.up.size() > 5 * encode_request("test_method", parameters).size(),
             qPrintable(QString::number(wire.up.size())));
    QVERIFY2(!contains(wire.up, kMarker), "CURVE: the request's marker is on the wire");
    QVERIFY2(!contains(wire.down, kMarker), "CURVE: the reply's marker is on the wire");
    QVERIFY2(!contains(wire.up, "test_method"), "CURVE: the function name is on the wire");
    QVERIFY2(!contains(wire.up, password) && !contains(wire.down, password),
             "CURVE: a password is on the wire");
    for (const auto* secret : {&serverKeys.secret_key, &clientKeys.secret_key})
        QVERIFY2(!contains(wire.up, *secret) && !contains(wire.down, *secret),
                 "a secret key is on the wire");
    QCOMPARE(wire.left_out_up + wire.left_out_down, std::uint64_t{0});

    // The capture is bounded: a small cap keeps exactly that many bytes and counts the rest.
    TcpRelayOptions small;
    small.capture_bytes = 16;
    TcpRelay bounded(fx.endpoint(), small);
    auto boundedOptions = reqClientOptions({bounded.endpoint()}, 3000ms);
    boundedOptions.security = curveClient(serverKeys.public_key);
    RpcClient boundedClient(boundedOptions);
    QCOMPARE(boundedClient.invoke("test_method", parameters), expected);
    const auto few = bounded.captured();
    QCOMPARE(few.up.size(), std::size_t{16});
    QCOMPARE(few.down.size(), std::size_t{16});
    QVERIFY(few.left_out_up > 0 && few.left_out_down > 0);
    QCOMPARE(few.up.size() + few.left_out_up, bounded.stats().bytes_up);
    bounded.clear_capture();
    QVERIFY(bounded.captured().up.empty());
}

void TestCurve::pubSubThroughRelayWithCurveHidesMarker() {
    TcpRelayOptions capture;
    capture.capture_bytes = 1 << 20;
    const json parameters = {{"text", kMarker}};
    for (const bool curve : {false, true}) {
        const auto keys = generate_curve_key_pair();
        auto publisherOptions = pubClientOptions();
        if (curve) publisherOptions.security = curveServer(keys);
        RpcClient publisher(publisherOptions);
        TcpRelay relay(publisher.sender().pub_endpoint(), capture);
        auto options = subServerOptions({relay.endpoint()});
        if (curve) options.security = curveClient(keys.public_key);
        ServerFixture fx(std::move(options));
        QVERIFY(waitForSubscribers(publisher.sender(), 1));
        for (int i = 0; i < 10; ++i)
            publisher.publish("record", parameters);
        QVERIFY2(waitUntil([&] { return fx.log->size() == 10; }),
                 qPrintable(QString::number(fx.log->size())));
        QCOMPARE(fx.log->snapshot().back(), parameters);
        const auto wire = relay.captured();
        QVERIFY2(wire.down.size() > 10 * std::strlen(kMarker),
                 qPrintable(QString::number(wire.down.size())));
        QVERIFY2(contains(wire.down, curve ? "CURVE" : "NULL"),
                 "the capture does not hold the ZMTP greeting");
        if (curve) {
            QVERIFY2(!contains(wire.down, kMarker) && !contains(wire.up, kMarker),
                     "CURVE: the marker is on the wire");
            QVERIFY2(!contains(wire.down, "record"), "CURVE: the function name is on the wire");
        } else {
            // The control: without security the capture does show it.
            QVERIFY2(contains(wire.down, kMarker), "no security: the marker is not on the wire");
        }
    }
}

QTEST_GUILESS_MAIN(TestCurve)
#include "tst_curve.moc"
