// Interop: the C++ library against a Python peer that speaks pyzmqrpc 3.0's wire protocol exactly
// (pyzmqrpc_peer.py, on pyzmq only), in both directions, over REQ/REP and PUB/SUB, through every
// proxy kind, with and without PLAIN credentials. Loopback only, ephemeral ports, bounded waits.
#include "interop_util.hpp"

#include <QtTest>

#include <zmqrpc/zmqrpc.hpp>

#include <memory>
#include <optional>
#include <stdexcept>

// Lets QCOMPARE print JSON values on mismatch (found by argument-dependent lookup).
namespace nlohmann {
inline char* toString(const json& value) {
    return QTest::toString(QString::fromStdString(value.dump()));
}
}  // namespace nlohmann

using namespace std::chrono_literals;
using interop::CallLog;
using interop::PythonPeer;
using zmqrpc::json;
using Kind = zmqrpc::RpcError::Kind;

namespace {

const char* const kUser = "test";
const char* const kPassword = "test";
// The output side of the proxies uses other credentials, to prove each side has its own.
const char* const kOutUser = "out";
const char* const kOutPassword = "out-secret";
// é € 𝄞 (the last one outside the BMP: a surrogate pair in Python's json.dumps).
const std::string kUnicode = "\u00e9\u20ac\U0001D11E";

const QString kAnyPort = QStringLiteral("tcp://127.0.0.1:*");

QString text451(const QString& name) {
    return QStringLiteral(
               "Function '%1' is not implemented on server. Check rpc_functions on server if it "
               "contains the function name")
        .arg(name);
}
QString text463(const QString& name, const QString& error) {
    return QStringLiteral("Exception raised when calling function %1. Exception: %2 ")
        .arg(name, error);
}

QStringList creds(bool on, const char* user = kUser, const char* password = kPassword) {
    if (!on) return {};
    return {QStringLiteral("--user"), QString::fromUtf8(user), QStringLiteral("--password"),
            QString::fromUtf8(password)};
}
zmqrpc::Credentials cppCreds(bool on, const char* user = kUser, const char* password = kPassword) {
    if (!on) return {};
    return {user, password};
}

// JSON for a command line: ASCII only (\u escapes), so no locale can mangle it.
QString arg(const json& value) {
    return QString::fromStdString(value.dump(-1, ' ', /*ensure_ascii=*/true));
}
QString qs(const std::string& s) {
    return QString::fromStdString(s);
}
json parse(const QString& text) {
    return json::parse(text.toUtf8().toStdString());
}

// test_method(param1, param2) -> param1 + param2, for strings and numbers like Python's "+".
json plus(const json& a, const json& b) {
    if (a.is_string() && b.is_string()) return a.get<std::string>() + b.get<std::string>();
    if (a.is_number_integer() && b.is_number_integer())
        return a.get<long long>() + b.get<long long>();
    if (a.is_number() && b.is_number()) return a.get<double>() + b.get<double>();
    throw std::runtime_error("unsupported operand types for +");
}

// The same four functions as the Python peer's server, recording each call.
zmqrpc::FunctionRegistry functions(const std::shared_ptr<CallLog>& log) {
    zmqrpc::FunctionRegistry registry;
    registry.add("test_method",
                 [log](const json& p) {
                     log->add("test_method", p);
                     return plus(p.at("param1"), p.at("param2"));
                 },
                 {"param1", "param2"});
    registry.add("echo", [log](const json& p) {
        log->add("echo", p);
        return p;
    });
    registry.add("fail",
                 [log](const json& p) -> json {
                     log->add("fail", p);
                     throw std::runtime_error(p.at("message").get<std::string>());
                 },
                 {"message"});
    registry.add("none", [log](const json& p) {
        log->add("none", p);
        return json(nullptr);
    });
    return registry;
}

// A copy of the first socket with that role (metrics() returns a temporary snapshot).
std::optional<zmqrpc::SocketSnapshot> socketOf(const zmqrpc::MetricsSnapshot& m,
                                               const std::string& role) {
    for (const auto& s : m.sockets)
        if (s.role == role) return s;
    return std::nullopt;
}

// The result of one run of `pyzmqrpc_peer.py call`.
struct PyCall {
    int exitCode = -1;
    QStringList responses;  // raw reply strings, in order
    int timeouts = 0;
    QByteArray diag;
};

PyCall pythonCall(const QString& endpoint, const QStringList& arguments, int perCallTimeoutMs,
                  int calls = 1) {
    PythonPeer peer(QStringList{QStringLiteral("call"), QStringLiteral("--req"), endpoint,
                                QStringLiteral("--timeout"), QString::number(perCallTimeoutMs)} +
                    arguments);
    PyCall result;
    result.exitCode = peer.waitForExit(perCallTimeoutMs * calls + 10000);
    while (auto line = peer.waitForLine(QStringLiteral("RESPONSE "), 0))
        result.responses << *line;
    while (peer.waitForLine(QStringLiteral("TIMEOUT"), 0))
        ++result.timeouts;
    result.diag = peer.diag();
    return result;
}

PyCall pythonInvoke(const QString& endpoint, const QString& function, const json& params,
                    const QStringList& extra = {}, int timeoutMs = 5000) {
    return pythonCall(endpoint,
                      QStringList{QStringLiteral("--function"), function,
                                  QStringLiteral("--params"), arg(params)} +
                          extra,
                      timeoutMs);
}

// Starts a Python peer and returns the endpoint of its READY line (empty on failure).
QString readyEndpoint(PythonPeer& peer) {
    if (!peer.started()) return {};
    auto line = peer.waitForLine(QStringLiteral("READY"), 10000);
    return line ? line->trimmed() : QString();
}

#define EXPECT_RPC_ERROR(expr, expectedKind, errorOut)                                       \
    do {                                                                                     \
        bool thrown_ = false;                                                                \
        try {                                                                                \
            (void)(expr);                                                                    \
        } catch (const zmqrpc::RpcError& e_) {                                               \
            thrown_ = true;                                                                  \
            errorOut = std::make_unique<zmqrpc::RpcError>(e_);                               \
        }                                                                                    \
        QVERIFY2(thrown_, "expected an RpcError from " #expr);                               \
        QVERIFY2(errorOut->kind() == (expectedKind),                                         \
                 qPrintable(QStringLiteral("kind %1 (%2), expected %3")                      \
                                .arg(QString::fromUtf8(zmqrpc::to_string(errorOut->kind())), \
                                     QString::fromUtf8(errorOut->what()),                    \
                                     QString::fromUtf8(zmqrpc::to_string(expectedKind)))));  \
    } while (false)

}  // namespace

class TestInterop : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase();

    // C++ RpcClient -> Python REP server
    void cppClientToPythonRep_data();
    void cppClientToPythonRep();
    void cppClientToPythonRepRefused_data();
    void cppClientToPythonRepRefused();

    // Python client -> C++ RpcServer (REP)
    void pythonClientToCppRep_data();
    void pythonClientToCppRep();
    void pythonClientToCppRepWrongPassword();

    // PUB/SUB both ways
    void pythonPubToCppSub_data();
    void pythonPubToCppSub();
    void pythonPubToCppSubWrongPassword();
    void cppPubToPythonSub_data();
    void cppPubToPythonSub();
    void cppPubToPythonSubWrongPassword();

    // Every proxy with Python on both ends
    void proxySub2Req_data();
    void proxySub2Req();
    void proxySub2Pub_data();
    void proxySub2Pub();
    void proxyRep2Pub_data();
    void proxyRep2Pub();
    void proxyRep2Req_data();
    void proxyRep2Req();
    void proxyRep2ReqRefusedSides();
    void proxyBufferedRep2Req_data();
    void proxyBufferedRep2Req();

  private:
    static void credentialsRows() {
        QTest::addColumn<bool>("credentials");
        QTest::newRow("no-credentials") << false;
        QTest::newRow("credentials") << true;
    }
};

void TestInterop::initTestCase() {
    // A Python that cannot run the peer was found before any test (ZMQRPC_INTEROP_MAIN).
    qputenv("PYTHONUTF8", "1");
    qputenv("PYTHONIOENCODING", "utf-8");
    qputenv("PYTHONDONTWRITEBYTECODE", "1");
    qInfo("libzmq %s, python %s", zmqrpc::libzmq_version(), qPrintable(interop::pythonPath()));
}

// ---- C++ RpcClient -> Python REP server ---------------------------------------------------------

void TestInterop::cppClientToPythonRep_data() {
    credentialsRows();
}

void TestInterop::cppClientToPythonRep() {
    QFETCH(bool, credentials);
    PythonPeer server(QStringList{QStringLiteral("server"), QStringLiteral("--rep"), kAnyPort} +
                      creds(credentials));
    const QString ep = readyEndpoint(server);
    QVERIFY2(!ep.isEmpty(), server.diag());

    zmqrpc::RpcClientOptions options;
    options.name = "cpp-client";
    options.req_connect = {ep.toStdString()};
    options.security = cppCreds(credentials);
    options.req_timeout = 5s;
    zmqrpc::RpcClient client(options);

    QCOMPARE(client.invoke("test_method", {{"param1", "Hello"}, {"param2", " world"}}),
             json("Hello world"));
    auto call = server.waitForLine(QStringLiteral("CALL"), 3000);
    QVERIFY2(call, server.diag());
    QCOMPARE(parse(*call), json::parse(R"({"function": "test_method",
                 "parameters": {"param1": "Hello", "param2": " world"}})"));

    QCOMPARE(client.invoke("test_method", {{"param1", 40}, {"param2", 2}}), json(42));
    QVERIFY2(server.waitForLine(QStringLiteral("CALL"), 3000), server.diag());

    // Unicode, incl. a non-BMP character (surrogate pair in Python's json), round-trips.
    const json params = {{"text", kUnicode},
                         {"list", {kUnicode, 1, 2.5, true, nullptr}},
                         {"nested", {{kUnicode, kUnicode}}}};
    QCOMPARE(client.invoke("echo", params), params);
    call = server.waitForLine(QStringLiteral("CALL"), 3000);
    QVERIFY2(call, server.diag());
    QCOMPARE(parse(*call).at("parameters"), params);  // Python decoded what we sent

    std::unique_ptr<zmqrpc::RpcError> error;
    EXPECT_RPC_ERROR(client.invoke("nope", json::object()), Kind::Status, error);
    QCOMPARE(error->status_code(), 451);
    QCOMPARE(qs(error->status_message()), text451(QStringLiteral("nope")));

    EXPECT_RPC_ERROR(client.invoke("fail", {{"message", "boom " + kUnicode}}), Kind::Status, error);
    QCOMPARE(error->status_code(), 463);
    QCOMPARE(qs(error->status_message()), text463(QStringLiteral("fail"), qs("boom " + kUnicode)));

    QCOMPARE(client.invoke("none", json::object()), json(nullptr));
    // The client still works after error replies.
    QCOMPARE(client.invoke("echo", {{"after", "errors"}}), json({{"after", "errors"}}));
}

void TestInterop::cppClientToPythonRepRefused_data() {
    QTest::addColumn<QString>("password");
    QTest::addColumn<int>("idleMs");       // between creating the client and the first invoke
    QTest::addColumn<bool>("pollEvents");  // Sender::poll_events() after the idle time
    QTest::newRow("wrong-password") << QStringLiteral("wrong") << 0 << false;
    QTest::newRow("no-credentials") << QString() << 0 << false;
    // The refusal happens while the client is idle, before the request (libzmq does not
    // reconnect after a refused handshake): it must still be reported as refused credentials,
    // whether or not the socket events were read in between.
    QTest::newRow("wrong-password-after-idle") << QStringLiteral("wrong") << 500 << false;
    QTest::newRow("no-credentials-after-idle") << QString() << 500 << false;
    QTest::newRow("wrong-password-after-idle-poll_events")
        << QStringLiteral("wrong") << 500 << true;
}

void TestInterop::cppClientToPythonRepRefused() {
    QFETCH(QString, password);
    QFETCH(int, idleMs);
    QFETCH(bool, pollEvents);
    PythonPeer server(QStringList{QStringLiteral("server"), QStringLiteral("--rep"), kAnyPort} +
                      creds(true));
    const QString ep = readyEndpoint(server);
    QVERIFY2(!ep.isEmpty(), server.diag());

    zmqrpc::RpcClientOptions options;
    options.name = "cpp-client-refused";
    options.req_connect = {ep.toStdString()};
    if (!password.isEmpty()) options.security = zmqrpc::Credentials{kUser, password.toStdString()};
    options.req_timeout = 3s;
    zmqrpc::RpcClient client(options);
    QThread::msleep(static_cast<unsigned long>(idleMs));
    if (pollEvents) client.sender().poll_events();

    std::unique_ptr<zmqrpc::RpcError> error;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_RPC_ERROR(client.invoke("test_method", {{"param1", 1}, {"param2", 2}}),
                     Kind::CredentialsRefused, error);
    qInfo("refused after %lld ms: %s",
          static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - start)
                                     .count()),
          error->what());
    QVERIFY2(!QString::fromUtf8(error->what()).contains(QStringLiteral("wrong")),
             "the error text must not contain the password");
    server.drain(200);
    QCOMPARE(server.countSeen(QStringLiteral("CALL")), 0);
}

// ---- Python client -> C++ RpcServer (REP) -------------------------------------------------------

void TestInterop::pythonClientToCppRep_data() {
    credentialsRows();
}

void TestInterop::pythonClientToCppRep() {
    QFETCH(bool, credentials);
    auto log = std::make_shared<CallLog>();
    zmqrpc::RpcServerOptions options;
    options.name = "cpp-server";
    options.context = std::make_shared<zmqrpc::Context>();
    options.rep_bind = kAnyPort.toStdString();
    options.security = cppCreds(credentials);
    zmqrpc::RpcServer server(options, functions(log));
    server.start();
    const QString ep = qs(zmqrpc::connect_address(server.rep_endpoint()));
    const QStringList auth = creds(credentials);

    PyCall r = pythonInvoke(ep, QStringLiteral("test_method"),
                            {{"param1", "Hello"}, {"param2", " world"}}, auth);
    QVERIFY2(r.exitCode == 0 && r.responses.size() == 1, r.diag);
    QCOMPARE(parse(r.responses[0]), json::parse(R"({"status_code": 200, "status_message": "OK",
                                                   "response_message": "Hello world"})"));
    QVERIFY(log->waitFor(1, 1s));
    QCOMPARE(log->calls()[0].second, json({{"param1", "Hello"}, {"param2", " world"}}));

    const json params = {{"text", kUnicode}, {"list", {kUnicode, 1, 2.5, false, nullptr}}};
    r = pythonInvoke(ep, QStringLiteral("echo"), params, auth);
    QVERIFY2(r.exitCode == 0 && r.responses.size() == 1, r.diag);
    json reply = parse(r.responses[0]);
    QCOMPARE(reply.at("status_code"), json(200));
    QCOMPARE(reply.at("response_message"), params);

    r = pythonInvoke(ep, QStringLiteral("nope"), json::object(), auth);
    QVERIFY2(r.exitCode == 0 && r.responses.size() == 1, r.diag);
    reply = parse(r.responses[0]);
    QCOMPARE(reply.at("status_code"), json(451));
    QCOMPARE(qs(reply.at("status_message").get<std::string>()), text451(QStringLiteral("nope")));
    QVERIFY(!reply.contains("response_message"));

    r = pythonInvoke(ep, QStringLiteral("fail"), {{"message", "boom " + kUnicode}}, auth);
    QVERIFY2(r.exitCode == 0 && r.responses.size() == 1, r.diag);
    reply = parse(r.responses[0]);
    QCOMPARE(reply.at("status_code"), json(463));
    QCOMPARE(qs(reply.at("status_message").get<std::string>()),
             text463(QStringLiteral("fail"), qs("boom " + kUnicode)));

    // none() returns None: no response_message at all. A request without "parameters" calls f().
    r = pythonCall(ep,
                   QStringList{QStringLiteral("--function"), QStringLiteral("none"),
                               QStringLiteral("--params"), QStringLiteral("null")} +
                       auth,
                   5000);
    QVERIFY2(r.exitCode == 0 && r.responses.size() == 1, r.diag);
    QCOMPARE(parse(r.responses[0]), json::parse(R"({"status_code": 200, "status_message": "OK"})"));

    // Bad requests get pyzmqrpc's 400 / 450.
    r = pythonCall(ep,
                   QStringList{QStringLiteral("--raw"), QStringLiteral("not json"),
                               QStringLiteral("--raw"), QStringLiteral(R"({"parameters": {}})")} +
                       auth,
                   5000, 2);
    QVERIFY2(r.exitCode == 0 && r.responses.size() == 2, r.diag);
    reply = parse(r.responses[0]);
    QCOMPARE(reply.at("status_code"), json(400));
    QVERIFY2(qs(reply.at("status_message").get<std::string>())
                 .startsWith(QStringLiteral("Incorrectly marshalled function. Incoming message is "
                                            "no proper json formatted string. Exception: ")),
             r.diag);
    reply = parse(r.responses[1]);
    QCOMPARE(reply.at("status_code"), json(450));
    QCOMPARE(qs(reply.at("status_message").get<std::string>()),
             QStringLiteral("Incorrectly marshalled function. No function name provided."));

    // A heartbeat over REQ (pyzmqrpc's send_heartbeat on a REQ client): this project answers
    // 200 OK (a pyzmqrpc server would leave the client hanging). Then the server still works.
    const std::size_t callsBefore = log->size();
    r = pythonCall(ep, QStringList{QStringLiteral("--heartbeat")} + auth, 5000);
    QVERIFY2(r.exitCode == 0 && r.responses.size() == 1, r.diag);
    QCOMPARE(parse(r.responses[0]), json::parse(R"({"status_code": 200, "status_message": "OK"})"));
    r = pythonInvoke(ep, QStringLiteral("test_method"), {{"param1", 1}, {"param2", 2}}, auth);
    QVERIFY2(r.exitCode == 0 && r.responses.size() == 1, r.diag);
    QCOMPARE(parse(r.responses[0]).at("response_message"), json(3));
    QCOMPARE(log->size(), callsBefore + 1);  // the heartbeat reached no function

    const auto rep = socketOf(server.metrics(), "rep");
    QVERIFY(rep);
    QCOMPARE(rep->heartbeats_in, std::uint64_t{1});
    server.stop();
}

void TestInterop::pythonClientToCppRepWrongPassword() {
    auto log = std::make_shared<CallLog>();
    auto context = std::make_shared<zmqrpc::Context>();
    zmqrpc::RpcServerOptions options;
    options.name = "cpp-server-auth";
    options.context = context;
    options.rep_bind = kAnyPort.toStdString();
    options.security = cppCreds(true);
    zmqrpc::RpcServer server(options, functions(log));
    server.start();
    const QString ep = qs(zmqrpc::connect_address(server.rep_endpoint()));

    PyCall r = pythonInvoke(ep, QStringLiteral("test_method"), {{"param1", 1}, {"param2", 2}},
                            creds(true, kUser, "wrong"), 1500);
    QVERIFY2(r.exitCode == 3 && r.timeouts == 1 && r.responses.isEmpty(), r.diag);
    // Without any credentials: refused as well.
    r = pythonInvoke(ep, QStringLiteral("test_method"), {{"param1", 1}, {"param2", 2}}, {}, 1500);
    QVERIFY2(r.exitCode == 3 && r.timeouts == 1 && r.responses.isEmpty(), r.diag);
    QCOMPARE(log->size(), std::size_t{0});
    QVERIFY2(context->refused_count() >= 1,
             qPrintable(QStringLiteral("refused_count %1").arg(context->refused_count())));
    // The right password still works after refusals.
    r = pythonInvoke(ep, QStringLiteral("test_method"), {{"param1", 1}, {"param2", 2}},
                     creds(true));
    QVERIFY2(r.exitCode == 0 && r.responses.size() == 1, r.diag);
    QCOMPARE(parse(r.responses[0]).at("response_message"), json(3));
}

// ---- PUB/SUB -----------------------------------------------------------------------------------

void TestInterop::pythonPubToCppSub_data() {
    credentialsRows();
}

void TestInterop::pythonPubToCppSub() {
    QFETCH(bool, credentials);
    constexpr int kCount = 5;
    PythonPeer publisher(QStringList{QStringLiteral("publish"), QStringLiteral("--pub"), kAnyPort,
                                     QStringLiteral("--function"), QStringLiteral("echo"),
                                     QStringLiteral("--params"), arg({{"text", kUnicode}}),
                                     QStringLiteral("--count"), QString::number(kCount),
                                     QStringLiteral("--interval-ms"), QStringLiteral("10"),
                                     QStringLiteral("--heartbeat"), QStringLiteral("--seq"),
                                     QStringLiteral("--subscribers"), QStringLiteral("1")} +
                         creds(credentials));
    const QString ep = readyEndpoint(publisher);
    QVERIFY2(!ep.isEmpty(), publisher.diag());

    auto log = std::make_shared<CallLog>();
    zmqrpc::RpcServerOptions options;
    options.name = "cpp-sub-server";
    options.sub_connect = {zmqrpc::SubEndpoint(ep.toStdString())};
    options.security = cppCreds(credentials);
    zmqrpc::RpcServer server(options, functions(log));
    server.start();

    publisher.write("GO\n");
    QVERIFY2(publisher.waitForLine(QStringLiteral("CONNECTED"), 5000), publisher.diag());
    QVERIFY2(publisher.waitForLine(QStringLiteral("SENT"), 10000), publisher.diag());
    QVERIFY2(log->waitFor(kCount, 5s),
             qPrintable(QStringLiteral("%1 of %2 calls\n").arg(log->size()).arg(kCount) +
                        publisher.diagnostics()));
    const auto calls = log->calls();
    for (int i = 0; i < kCount; ++i) {
        QCOMPARE(qs(calls[i].first), QStringLiteral("echo"));
        QCOMPARE(calls[i].second, json({{"text", kUnicode}, {"seq", i}}));
    }
    // kCount + 1 heartbeats: counted on the SUB socket, never dispatched.
    QVERIFY2(interop::waitUntil(
                 [&] {
                     auto sub = socketOf(server.metrics(), "sub");
                     return sub && sub->heartbeats_in == kCount + 1;
                 },
                 3s),
             qPrintable(QStringLiteral("heartbeats_in = %1")
                            .arg(socketOf(server.metrics(), "sub")
                                     ? socketOf(server.metrics(), "sub")->heartbeats_in
                                     : 0)));
    // Every heartbeat has been counted; none may reach a function (a bounded look, not a sleep:
    // it ends at once if one does).
    QVERIFY2(!log->waitFor(kCount + 1, 100ms), "a heartbeat was dispatched to a function");
    QCOMPARE(log->size(), std::size_t(kCount));
    server.stop();
}

void TestInterop::pythonPubToCppSubWrongPassword() {
    PythonPeer publisher(
        QStringList{QStringLiteral("publish"), QStringLiteral("--pub"), kAnyPort,
                    QStringLiteral("--function"), QStringLiteral("echo"), QStringLiteral("--count"),
                    QStringLiteral("3"), QStringLiteral("--subscribers"), QStringLiteral("1"),
                    QStringLiteral("--subscribers-timeout-ms"), QStringLiteral("1000")} +
        creds(true));
    const QString ep = readyEndpoint(publisher);
    QVERIFY2(!ep.isEmpty(), publisher.diag());

    auto log = std::make_shared<CallLog>();
    zmqrpc::RpcServerOptions options;
    options.name = "cpp-sub-server-refused";
    options.sub_connect = {zmqrpc::SubEndpoint(ep.toStdString())};
    options.security = zmqrpc::Credentials{kUser, "wrong"};
    zmqrpc::RpcServer server(options, functions(log));
    server.start();

    QVERIFY2(publisher.waitForLine(QStringLiteral("AUTH_FAILED"), 5000), publisher.diag());
    publisher.write("GO\n");
    QVERIFY2(publisher.waitForLine(QStringLiteral("SENT"), 10000), publisher.diag());
    QVERIFY2(interop::waitUntil(
                 [&] {
                     auto sub = socketOf(server.metrics(), "sub");
                     return sub && sub->credentials_refused >= 1;
                 },
                 3s),
             "the C++ SUB socket does not report the refused credentials");
    // Nothing may arrive: the refused SUB never had a subscription at the publisher.
    QVERIFY2(!log->waitFor(1, 300ms), "a call arrived over a refused connection");
    QCOMPARE(publisher.countSeen(QStringLiteral("CONNECTED")), 0);
}

void TestInterop::cppPubToPythonSub_data() {
    credentialsRows();
}

void TestInterop::cppPubToPythonSub() {
    QFETCH(bool, credentials);
    constexpr int kCount = 5;
    zmqrpc::RpcClientOptions options;
    options.name = "cpp-publisher";
    options.pub_bind = kAnyPort.toStdString();
    options.security = cppCreds(credentials);
    zmqrpc::RpcClient client(options);
    const QString ep = qs(zmqrpc::connect_address(client.sender().pub_endpoint()));

    PythonPeer subServer(QStringList{QStringLiteral("server"), QStringLiteral("--sub"), ep} +
                         creds(credentials));
    QVERIFY2(!readyEndpoint(subServer).isEmpty(), subServer.diag());
    // The XPUB under our PUB hands a subscription to us only once it is in place: what is
    // published from now on reaches the subscriber, no settling time needed.
    QVERIFY2(client.sender().wait_for_subscribers(1, 3s), subServer.diag());

    for (int i = 0; i < kCount; ++i) {
        client.send_heartbeat();
        client.publish("echo", {{"text", kUnicode}, {"seq", i}});
    }
    client.send_heartbeat();

    for (int i = 0; i < kCount; ++i) {
        auto call = subServer.waitForLine(QStringLiteral("CALL"), 5000);
        QVERIFY2(call, subServer.diag());
        QCOMPARE(parse(*call),
                 json({{"function", "echo"}, {"parameters", {{"text", kUnicode}, {"seq", i}}}}));
    }
    QVERIFY2(
        interop::waitUntil(
            [&] { return subServer.countSeen(QStringLiteral("HEARTBEAT sub")) == kCount + 1; }, 3s),
        subServer.diag());
    const auto pub = socketOf(client.metrics(), "pub");
    QVERIFY(pub);
    QCOMPARE(pub->heartbeats_out, std::uint64_t(kCount + 1));
}

void TestInterop::cppPubToPythonSubWrongPassword() {
    auto context = std::make_shared<zmqrpc::Context>();
    zmqrpc::RpcClientOptions options;
    options.name = "cpp-publisher-auth";
    options.context = context;
    options.pub_bind = kAnyPort.toStdString();
    options.security = cppCreds(true);
    zmqrpc::RpcClient client(options);
    const QString ep = qs(zmqrpc::connect_address(client.sender().pub_endpoint()));

    PythonPeer subscriber(QStringList{QStringLiteral("subscribe"), QStringLiteral("--sub"), ep,
                                      QStringLiteral("--count"), QStringLiteral("1"),
                                      QStringLiteral("--timeout-ms"), QStringLiteral("2500")} +
                          creds(true, kUser, "wrong"));
    QVERIFY2(subscriber.waitForLine(QStringLiteral("READY"), 10000), subscriber.diag());
    QVERIFY2(subscriber.waitForLine(QStringLiteral("AUTH_FAILED"), 5000), subscriber.diag());
    QVERIFY(!client.sender().wait_for_subscribers(1, 1000ms));
    client.publish("echo", {{"secret", "data"}});
    QCOMPARE(subscriber.waitForExit(6000), 3);
    QCOMPARE(subscriber.countSeen(QStringLiteral("MSG")), 0);
    QVERIFY2(context->refused_count() >= 1,
             qPrintable(QStringLiteral("refused_count %1").arg(context->refused_count())));
}

// ---- Proxies -----------------------------------------------------------------------------------

void TestInterop::proxySub2Req_data() {
    credentialsRows();
}

void TestInterop::proxySub2Req() {
    QFETCH(bool, credentials);
    constexpr int kCount = 4;
    PythonPeer repServer(QStringList{QStringLiteral("server"), QStringLiteral("--rep"), kAnyPort} +
                         creds(credentials, kOutUser, kOutPassword));
    const QString repEp = readyEndpoint(repServer);
    QVERIFY2(!repEp.isEmpty(), repServer.diag());
    PythonPeer publisher(QStringList{QStringLiteral("publish"), QStringLiteral("--pub"), kAnyPort,
                                     QStringLiteral("--function"), QStringLiteral("echo"),
                                     QStringLiteral("--params"), arg({{"text", kUnicode}}),
                                     QStringLiteral("--count"), QString::number(kCount),
                                     QStringLiteral("--heartbeat"), QStringLiteral("--seq"),
                                     QStringLiteral("--subscribers"), QStringLiteral("1")} +
                         creds(credentials));
    const QString pubEp = readyEndpoint(publisher);
    QVERIFY2(!pubEp.isEmpty(), publisher.diag());

    zmqrpc::ProxyOptions options;
    options.name = "sub2req";
    options.input.sub_connect = {zmqrpc::SubEndpoint(pubEp.toStdString())};
    options.input.security = cppCreds(credentials);
    options.output.req_connect = {repEp.toStdString()};
    options.output.security = cppCreds(credentials, kOutUser, kOutPassword);
    options.output.req_timeout = 3s;
    zmqrpc::Proxy proxy(zmqrpc::ProxyKind::Sub2Req, options);
    proxy.start();

    publisher.write("GO\n");
    QVERIFY2(publisher.waitForLine(QStringLiteral("SENT"), 10000), publisher.diag());
    for (int i = 0; i < kCount; ++i) {
        auto call = repServer.waitForLine(QStringLiteral("CALL"), 5000);
        QVERIFY2(call, repServer.diag() + "\n" + publisher.diag());
        QCOMPARE(parse(*call),
                 json({{"function", "echo"}, {"parameters", {{"text", kUnicode}, {"seq", i}}}}));
    }
    // Heartbeats end at the proxy's SUB: forwarded over REQ they would wedge a pyzmqrpc REP
    // server (it never answers a heartbeat).
    repServer.drain(200);
    QCOMPARE(repServer.countSeen(QStringLiteral("HEARTBEAT")), 0);
    QVERIFY(interop::waitUntil([&] { return proxy.metrics().queue.delivered == kCount; }, 3s));
    proxy.stop();
}

void TestInterop::proxySub2Pub_data() {
    credentialsRows();
}

void TestInterop::proxySub2Pub() {
    QFETCH(bool, credentials);
    constexpr int kCount = 4;
    PythonPeer publisher(QStringList{QStringLiteral("publish"), QStringLiteral("--pub"), kAnyPort,
                                     QStringLiteral("--function"), QStringLiteral("echo"),
                                     QStringLiteral("--params"), arg({{"text", kUnicode}}),
                                     QStringLiteral("--count"), QString::number(kCount),
                                     QStringLiteral("--heartbeat"), QStringLiteral("--seq"),
                                     QStringLiteral("--subscribers"), QStringLiteral("1")} +
                         creds(credentials));
    const QString pubEp = readyEndpoint(publisher);
    QVERIFY2(!pubEp.isEmpty(), publisher.diag());

    // A C++ heartbeat publisher on a second input of the proxy: once one of its heartbeats,
    // passed on, reaches the Python subscriber, that subscriber's subscription is in place at
    // the proxy's PUB and nothing the Python publisher sends can be lost for want of it.
    zmqrpc::SenderOptions probeOptions;
    probeOptions.name = "sub2pub-probe";
    probeOptions.pub_bind = kAnyPort.toStdString();
    probeOptions.security = cppCreds(credentials);
    zmqrpc::Sender probe(probeOptions);
    const std::string probeEp = zmqrpc::connect_address(probe.pub_endpoint());

    zmqrpc::ProxyOptions options;
    options.name = "sub2pub";
    options.input.sub_connect = {zmqrpc::SubEndpoint(pubEp.toStdString()),
                                 zmqrpc::SubEndpoint(probeEp)};
    options.input.security = cppCreds(credentials);
    options.output.pub_bind = kAnyPort.toStdString();
    options.output.security = cppCreds(credentials, kOutUser, kOutPassword);
    zmqrpc::Proxy proxy(zmqrpc::ProxyKind::Sub2Pub, options);
    proxy.start();
    const QString outEp = qs(zmqrpc::connect_address(proxy.output_endpoint()));

    PythonPeer subscriber(QStringList{QStringLiteral("subscribe"), QStringLiteral("--sub"), outEp,
                                      QStringLiteral("--count"), QString::number(kCount),
                                      QStringLiteral("--timeout-ms"), QStringLiteral("10000")} +
                          creds(credentials, kOutUser, kOutPassword));
    QVERIFY2(subscriber.waitForLine(QStringLiteral("CONNECTED"), 5000), subscriber.diag());
    QVERIFY2(interop::waitUntil(
                 [&] {
                     probe.send_heartbeat();
                     return subscriber.countSeen(QStringLiteral("HEARTBEAT")) > 0;
                 },
                 5s),
             subscriber.diag());

    publisher.write("GO\n");
    QVERIFY2(publisher.waitForLine(QStringLiteral("SENT"), 10000), publisher.diag());
    for (int i = 0; i < kCount; ++i) {
        auto msg = subscriber.waitForLine(QStringLiteral("MSG"), 5000);
        QVERIFY2(msg, subscriber.diag() + "\n" + publisher.diag());
        QCOMPARE(parse(*msg),
                 json({{"function", "echo"}, {"parameters", {{"text", kUnicode}, {"seq", i}}}}));
    }
    QCOMPARE(subscriber.waitForExit(3000), 0);
    // Sub2Pub passes heartbeats on (as pyzmqrpc does): all kCount + 1 of the Python publisher's
    // arrived, and the PUB sent one for every heartbeat either input received.
    QVERIFY2(interop::waitUntil(
                 [&] {
                     const auto m = proxy.metrics();
                     std::uint64_t received = 0, fromPython = 0;
                     for (const auto& s : m.sockets) {
                         if (s.role != "sub") continue;
                         received += s.heartbeats_in;
                         if (s.endpoint == pubEp.toStdString()) fromPython = s.heartbeats_in;
                     }
                     const auto pub = socketOf(m, "pub");
                     return fromPython == kCount + 1 && pub && pub->heartbeats_out == received;
                 },
                 3s),
             publisher.diag());
    proxy.stop();
}

void TestInterop::proxyRep2Pub_data() {
    credentialsRows();
}

void TestInterop::proxyRep2Pub() {
    QFETCH(bool, credentials);
    constexpr int kCount = 3;
    zmqrpc::ProxyOptions options;
    options.name = "rep2pub";
    options.input.rep_bind = kAnyPort.toStdString();
    options.input.security = cppCreds(credentials);
    options.output.pub_bind = kAnyPort.toStdString();
    options.output.security = cppCreds(credentials, kOutUser, kOutPassword);
    // The proxy's own heartbeats tell when the subscriber's subscription is in place (below).
    options.output.pub_heartbeat_interval = 20ms;
    zmqrpc::Proxy proxy(zmqrpc::ProxyKind::Rep2Pub, options);
    proxy.start();
    const QString inEp = qs(zmqrpc::connect_address(proxy.input_endpoint()));
    const QString outEp = qs(zmqrpc::connect_address(proxy.output_endpoint()));

    PythonPeer subscriber(QStringList{QStringLiteral("subscribe"), QStringLiteral("--sub"), outEp,
                                      QStringLiteral("--count"), QString::number(kCount),
                                      QStringLiteral("--timeout-ms"), QStringLiteral("10000")} +
                          creds(credentials, kOutUser, kOutPassword));
    QVERIFY2(subscriber.waitForLine(QStringLiteral("CONNECTED"), 5000), subscriber.diag());
    // A heartbeat from the proxy's PUB reached the subscriber: its subscription is in place, so
    // the calls published from now on reach it.
    QVERIFY2(subscriber.waitForLine(QStringLiteral("HEARTBEAT"), 5000), subscriber.diag());

    QStringList calls{QStringLiteral("--function"), QStringLiteral("echo")};
    for (int i = 0; i < kCount; ++i)
        calls << QStringLiteral("--params") << arg({{"text", kUnicode}, {"seq", i}});
    PyCall r = pythonCall(inEp, calls + creds(credentials), 5000, kCount);
    QVERIFY2(r.exitCode == 0 && r.responses.size() == kCount, r.diag);
    for (const QString& response : r.responses)
        QCOMPARE(parse(response), json::parse(R"({"status_code": 200, "status_message": "OK"})"));

    for (int i = 0; i < kCount; ++i) {
        auto msg = subscriber.waitForLine(QStringLiteral("MSG"), 5000);
        QVERIFY2(msg, subscriber.diag());
        QCOMPARE(parse(*msg),
                 json({{"function", "echo"}, {"parameters", {{"text", kUnicode}, {"seq", i}}}}));
    }
    QCOMPARE(subscriber.waitForExit(3000), 0);
    proxy.stop();
}

void TestInterop::proxyRep2Req_data() {
    credentialsRows();
}

void TestInterop::proxyRep2Req() {
    QFETCH(bool, credentials);
    PythonPeer repServer(QStringList{QStringLiteral("server"), QStringLiteral("--rep"), kAnyPort} +
                         creds(credentials, kOutUser, kOutPassword));
    const QString repEp = readyEndpoint(repServer);
    QVERIFY2(!repEp.isEmpty(), repServer.diag());

    zmqrpc::ProxyOptions options;
    options.name = "rep2req";
    options.input.rep_bind = kAnyPort.toStdString();
    options.input.security = cppCreds(credentials);
    options.output.req_connect = {repEp.toStdString()};
    options.output.security = cppCreds(credentials, kOutUser, kOutPassword);
    options.output.req_timeout = 3s;
    zmqrpc::Proxy proxy(zmqrpc::ProxyKind::Rep2Req, options);
    proxy.start();
    const QString inEp = qs(zmqrpc::connect_address(proxy.input_endpoint()));
    const QStringList auth = creds(credentials);

    // The Python server's reply comes back byte for byte (json.dumps output).
    PyCall r = pythonInvoke(inEp, QStringLiteral("test_method"),
                            {{"param1", "Hello"}, {"param2", " world"}}, auth);
    QVERIFY2(r.exitCode == 0 && r.responses.size() == 1, r.diag + repServer.diag());
    QCOMPARE(r.responses[0], QStringLiteral(R"({"status_code": 200, "status_message": "OK", )"
                                            R"("response_message": "Hello world"})"));
    auto call = repServer.waitForLine(QStringLiteral("CALL"), 3000);
    QVERIFY2(call, repServer.diag());
    QCOMPARE(parse(*call), json::parse(R"({"function": "test_method",
                 "parameters": {"param1": "Hello", "param2": " world"}})"));

    r = pythonInvoke(inEp, QStringLiteral("echo"), {{"text", kUnicode}}, auth);
    QVERIFY2(r.exitCode == 0 && r.responses.size() == 1, r.diag);
    QCOMPARE(r.responses[0],
             QStringLiteral(R"({"status_code": 200, "status_message": "OK", )"
                            R"("response_message": {"text": "\u00e9\u20ac\ud834\udd1e"}})"));

    r = pythonInvoke(inEp, QStringLiteral("nope"), json::object(), auth);
    QVERIFY2(r.exitCode == 0 && r.responses.size() == 1, r.diag);
    QCOMPARE(r.responses[0], QStringLiteral(R"({"status_code": 451, "status_message": ")") +
                                 text451(QStringLiteral("nope")) + QStringLiteral(R"("})"));

    r = pythonInvoke(inEp, QStringLiteral("fail"), {{"message", "boom"}}, auth);
    QVERIFY2(r.exitCode == 0 && r.responses.size() == 1, r.diag);
    QCOMPARE(r.responses[0], QStringLiteral(R"({"status_code": 463, "status_message": ")") +
                                 text463(QStringLiteral("fail"), QStringLiteral("boom")) +
                                 QStringLiteral(R"("})"));

    r = pythonInvoke(inEp, QStringLiteral("none"), json::object(), auth);
    QVERIFY2(r.exitCode == 0 && r.responses.size() == 1, r.diag);
    QCOMPARE(r.responses[0], QStringLiteral(R"({"status_code": 200, "status_message": "OK"})"));
    proxy.stop();
}

// Rep2Req with credentials on both sides: a client with the wrong password is refused at the
// input (times out, like pyzmqrpc); a proxy with the wrong output password answers 482.
void TestInterop::proxyRep2ReqRefusedSides() {
    PythonPeer repServer(QStringList{QStringLiteral("server"), QStringLiteral("--rep"), kAnyPort} +
                         creds(true, kOutUser, kOutPassword));
    const QString repEp = readyEndpoint(repServer);
    QVERIFY2(!repEp.isEmpty(), repServer.diag());

    zmqrpc::ProxyOptions options;
    options.name = "rep2req-wrong-output";
    options.input.rep_bind = kAnyPort.toStdString();
    options.input.security = cppCreds(true);
    options.output.req_connect = {repEp.toStdString()};
    options.output.security = zmqrpc::Credentials{kOutUser, "wrong"};
    options.output.req_timeout = 1500ms;
    zmqrpc::Proxy proxy(zmqrpc::ProxyKind::Rep2Req, options);
    proxy.start();
    const QString inEp = qs(zmqrpc::connect_address(proxy.input_endpoint()));

    PyCall r =
        pythonInvoke(inEp, QStringLiteral("echo"), {{"a", 1}}, creds(true, kUser, "wrong"), 1500);
    QVERIFY2(r.exitCode == 3 && r.timeouts == 1, r.diag);

    r = pythonInvoke(inEp, QStringLiteral("echo"), {{"a", 1}}, creds(true), 8000);
    QVERIFY2(r.exitCode == 0 && r.responses.size() == 1, r.diag);
    const json reply = parse(r.responses[0]);
    QCOMPARE(reply.at("status_code"), json(482));
    // The reason must be the real one: the downstream refused the proxy's credentials.
    QVERIFY2(qs(reply.at("status_message").get<std::string>())
                 .contains(QStringLiteral("credentials"), Qt::CaseInsensitive),
             qPrintable(qs(reply.at("status_message").get<std::string>())));
    QVERIFY2(reply.at("status_message").get<std::string>().find("wrong") == std::string::npos,
             "482 text must not contain the password");
    qInfo("482 text: %s", reply.at("status_message").get<std::string>().c_str());
    QCOMPARE(repServer.countSeen(QStringLiteral("CALL")), 0);
    proxy.stop();
}

void TestInterop::proxyBufferedRep2Req_data() {
    credentialsRows();
}

void TestInterop::proxyBufferedRep2Req() {
    QFETCH(bool, credentials);
    constexpr int kCount = 5;
    PythonPeer repServer(QStringList{QStringLiteral("server"), QStringLiteral("--rep"), kAnyPort} +
                         creds(credentials, kOutUser, kOutPassword));
    const QString repEp = readyEndpoint(repServer);
    QVERIFY2(!repEp.isEmpty(), repServer.diag());

    zmqrpc::ProxyOptions options;
    options.name = "buffered-rep2req";
    options.input.rep_bind = kAnyPort.toStdString();
    options.input.security = cppCreds(credentials);
    options.output.req_connect = {repEp.toStdString()};
    options.output.security = cppCreds(credentials, kOutUser, kOutPassword);
    options.output.req_timeout = 3s;
    zmqrpc::Proxy proxy(zmqrpc::ProxyKind::BufferedRep2Req, options);
    proxy.start();
    const QString inEp = qs(zmqrpc::connect_address(proxy.input_endpoint()));

    QStringList calls{QStringLiteral("--function"), QStringLiteral("echo")};
    for (int i = 0; i < kCount; ++i)
        calls << QStringLiteral("--params") << arg({{"text", kUnicode}, {"seq", i}});
    PyCall r = pythonCall(inEp, calls + creds(credentials), 5000, kCount);
    QVERIFY2(r.exitCode == 0 && r.responses.size() == kCount, r.diag);
    for (const QString& response : r.responses)
        QCOMPARE(parse(response), json::parse(R"({"status_code": 200, "status_message": "OK"})"));

    for (int i = 0; i < kCount; ++i) {
        auto call = repServer.waitForLine(QStringLiteral("CALL"), 5000);
        QVERIFY2(call, repServer.diag());
        QCOMPARE(parse(*call),
                 json({{"function", "echo"}, {"parameters", {{"text", kUnicode}, {"seq", i}}}}));
    }
    QVERIFY(interop::waitUntil([&] { return proxy.metrics().queue.delivered == kCount; }, 3s));
    proxy.stop();
}

ZMQRPC_INTEROP_MAIN(TestInterop)
#include "tst_interop.moc"
