// Component tests of RpcClient + RpcServer over real sockets (the seed's test suite, ported, and
// more): REQ/REP and PUB/SUB invocation, credentials, status codes 451/463, round-robin, the Lazy
// Pirate recovery, timeout/unreachable classification and accuracy, ipc and inproc transports.
// Each failure scenario is arranged so that exactly one RpcError kind is right.
#include "testutil.hpp"

#include <QTemporaryDir>

using namespace testutil;
using namespace zmqrpc;

namespace {

const Credentials kTestCredentials{"test", "test"};

struct ServerFixture {
    std::shared_ptr<CallLog> log = std::make_shared<CallLog>();
    std::unique_ptr<RpcServer> server;

    explicit ServerFixture(RpcServerOptions options) {
        server = std::make_unique<RpcServer>(std::move(options), standardFunctions(log));
        server->start();
    }
    std::string endpoint() const { return server->rep_endpoint(); }
};

}  // namespace

class TestRpc : public QObject {
    Q_OBJECT

  private slots:
    void reqRepInvoke();
    void reqRepInvokeWithCredentials();
    void wrongPasswordIsRefused();
    void missingCredentialsAreRefused();
    void unknownFunctionIs451();
    void throwingFunctionIs463AndServerKeepsServing();
    void nullResultReturnsNull();
    void missingParametersGiveEmptyObject();
    void pubSubInvoke();
    void pubSubInvokeWithCredentials();
    void serverOnRepAndSubAtOnce();
    void roundRobinOverTwoServers();
    void unreachableThenRecoveryWhenServerReturns();
    void unreachableWhenNothingListens();
    void timeoutAccuracy();
    void ipcTransport();
    void inprocTransport();
};

void TestRpc::reqRepInvoke() {
    ServerFixture fx(repServerOptions());
    QVERIFY(!fx.endpoint().empty());
    QVERIFY2(fx.endpoint().find(":*") == std::string::npos, fx.endpoint().c_str());

    RpcClient client(reqClientOptions({fx.endpoint()}));
    json result = client.invoke("test_method", {{"param1", "Hello"}, {"param2", " world"}});
    QCOMPARE(result, json("Hello world"));
    QCOMPARE(client.invoke("add", {{"a", 40}, {"b", 2}}), json(42));
    QCOMPARE(fx.log->size(), std::size_t{2});
    QCOMPARE(fx.log->snapshot().front(), json({{"param1", "Hello"}, {"param2", " world"}}));
}

void TestRpc::reqRepInvokeWithCredentials() {
    auto options = repServerOptions();
    options.security = kTestCredentials;
    ServerFixture fx(std::move(options));

    auto clientOptions = reqClientOptions({fx.endpoint()});
    clientOptions.security = kTestCredentials;
    RpcClient client(clientOptions);
    QCOMPARE(client.invoke("test_method", {{"param1", "param1"}, {"param2", "param2"}}),
             json("param1param2"));
    QCOMPARE(fx.log->size(), std::size_t{1});
}

void TestRpc::wrongPasswordIsRefused() {
    auto options = repServerOptions();
    options.security = kTestCredentials;
    ServerFixture fx(std::move(options));

    auto clientOptions = reqClientOptions({fx.endpoint()});
    clientOptions.security = zmqrpc::Credentials{"test", "wrong"};
    RpcClient client(clientOptions);

    auto error = rpcErrorOf([&] { client.invoke("test_method", {{"param1", 1}, {"param2", 2}}); });
    QVERIFY2(error && error->kind() == RpcError::Kind::CredentialsRefused,
             qPrintable(describe(error)));
    // The error text must not leak the password.
    QVERIFY2(std::string(error->what()).find("wrong") == std::string::npos, error->what());
    QCOMPARE(fx.log->size(), std::size_t{0});

    QVERIFY2(waitUntil([&] {
                 auto rep = socketOf(fx.server->metrics(), "rep");
                 return rep && rep->credentials_refused >= 1;
             }),
             "server's rep socket did not count the refused credentials");
    // The client side saw the refusal too.
    client.sender().poll_events();
    auto req = socketOf(client.metrics(), "req");
    QVERIFY(req);
    QVERIFY(req->credentials_refused >= 1);

    // A client with the right password still gets through.
    auto goodOptions = reqClientOptions({fx.endpoint()});
    goodOptions.security = kTestCredentials;
    RpcClient good(goodOptions);
    QCOMPARE(good.invoke("add", {{"a", 1}, {"b", 2}}), json(3));
}

void TestRpc::missingCredentialsAreRefused() {
    auto options = repServerOptions();
    options.security = kTestCredentials;
    ServerFixture fx(std::move(options));

    RpcClient client(reqClientOptions({fx.endpoint()}));  // presents none
    auto error = rpcErrorOf([&] { client.invoke("add", {{"a", 1}, {"b", 2}}); });
    QVERIFY2(error && error->kind() == RpcError::Kind::CredentialsRefused,
             qPrintable(describe(error)));
    QCOMPARE(fx.log->size(), std::size_t{0});
}

void TestRpc::unknownFunctionIs451() {
    ServerFixture fx(repServerOptions());
    RpcClient client(reqClientOptions({fx.endpoint()}));
    auto error = rpcErrorOf([&] { client.invoke("no_such_function", {{"x", 1}}); });
    QVERIFY2(error && error->kind() == RpcError::Kind::Status, qPrintable(describe(error)));
    QCOMPARE(error->status_code(), 451);
    const std::string expected =
        "Function 'no_such_function' is not implemented on server. Check rpc_functions on server "
        "if it contains the function name";
    QCOMPARE(error->status_message(), expected);
    QCOMPARE(std::string(error->what()), expected);
    // The server is still there.
    QCOMPARE(client.invoke("add", {{"a", 2}, {"b", 2}}), json(4));
}

void TestRpc::throwingFunctionIs463AndServerKeepsServing() {
    ServerFixture fx(repServerOptions());
    RpcClient client(reqClientOptions({fx.endpoint()}));
    auto error = rpcErrorOf([&] { client.invoke("fail"); });
    QVERIFY2(error && error->kind() == RpcError::Kind::Status, qPrintable(describe(error)));
    QCOMPARE(error->status_code(), 463);
    QCOMPARE(error->status_message(),
             std::string("Exception raised when calling function fail. Exception: deliberate "
                         "failure "));  // trailing space, as pyzmqrpc
    QCOMPARE(client.invoke("add", {{"a", 3}, {"b", 4}}), json(7));
    QVERIFY(fx.server->running());
    QVERIFY(waitUntil([&] { return fx.server->metrics().errors >= 1; }));
}

void TestRpc::nullResultReturnsNull() {
    ServerFixture fx(repServerOptions());
    RpcClient client(reqClientOptions({fx.endpoint()}));
    QVERIFY(client.invoke("nothing").is_null());
    // And on the wire: no response_message at all.
    const std::string reply = client.sender().request(encode_request("nothing"));
    auto response = decode_response(reply);
    QCOMPARE(response.status_code, 200);
    QCOMPARE(response.status_message, std::string("OK"));
    QVERIFY(!response.response_message.has_value());
    QVERIFY2(reply.find("response_message") == std::string::npos, reply.c_str());
}

void TestRpc::missingParametersGiveEmptyObject() {
    ServerFixture fx(repServerOptions());
    Sender sender(reqSenderOptions({fx.endpoint()}));
    // pyzmqrpc: "parameters" is optional; the function gets no arguments.
    auto response = decode_response(sender.request(R"({"function": "nothing"})"));
    QCOMPARE(response.status_code, 200);
    QCOMPARE(fx.log->size(), std::size_t{1});
    QCOMPARE(fx.log->snapshot().front(), json::object());
}

void TestRpc::pubSubInvoke() {
    RpcClient client(pubClientOptions());
    QVERIFY(!client.sender().pub_endpoint().empty());
    ServerFixture fx(subServerOptions({client.sender().pub_endpoint()}));
    QVERIFY(waitForSubscribers(client.sender()));

    json result = client.invoke("test_method", {{"param1", "param1"}, {"param2", "param2"}});
    QVERIFY(result.is_null());  // PUB: nothing comes back
    QVERIFY(waitUntil([&] { return fx.log->size() == 1; }));
    QCOMPARE(fx.log->snapshot().front(), json({{"param1", "param1"}, {"param2", "param2"}}));

    // publish() is the explicit fire-and-forget form.
    client.publish("add", {{"a", 1}, {"b", 1}});
    QVERIFY(waitUntil([&] { return fx.log->size() == 2; }));
    // Unknown functions over SUB are counted, not answered; the server keeps going.
    client.publish("no_such_function");
    client.publish("add", {{"a", 2}, {"b", 2}});
    QVERIFY(waitUntil([&] { return fx.log->size() == 3; }));
    QVERIFY(fx.server->running());
    // One socket, one thread, in order: the 451 was counted before the last call was logged.
    // It is an error (an unknown function), not a bad message (that is for what is not a call).
    auto m = fx.server->metrics();
    QCOMPARE(m.errors, std::uint64_t{1});
    QCOMPARE(m.bad_messages, std::uint64_t{0});
    QCOMPARE(m.messages_in, std::uint64_t{4});
    QCOMPARE(socketOf(m, "sub")->messages_in, std::uint64_t{4});
}

void TestRpc::pubSubInvokeWithCredentials() {
    auto clientOptions = pubClientOptions();
    clientOptions.security = kTestCredentials;
    RpcClient client(clientOptions);

    auto options = subServerOptions({client.sender().pub_endpoint()});
    options.security = kTestCredentials;
    ServerFixture fx(std::move(options));

    // A subscriber with a wrong password never joins.
    auto badOptions = subServerOptions({client.sender().pub_endpoint()}, "bad-sub");
    badOptions.security = zmqrpc::Credentials{"test", "wrong"};
    ServerFixture bad(std::move(badOptions));

    QVERIFY(waitForSubscribers(client.sender(), 1));
    QVERIFY(waitUntil([&] {
        auto sub = socketOf(bad.server->metrics(), "sub");
        return sub && sub->credentials_refused >= 1;
    }));
    client.invoke("test_method", {{"param1", "a"}, {"param2", "b"}});
    QVERIFY(waitUntil([&] { return fx.log->size() == 1; }));
    // The PUB has one subscriber only, the good one: a refused peer never gets a pipe, so it
    // cannot subscribe, and a PUB sends to its subscribers only. (Not checked through the PUB's
    // `peers`: MonitoredSocket counts them by event, not by connection, and the disconnect of
    // the refused peer takes the good one off, a bug of the core.)
    QVERIFY(client.sender().wait_for_subscribers(1, 0ms));
    QVERIFY(!client.sender().wait_for_subscribers(2, 0ms));
    client.sender().poll_events();
    QVERIFY(socketOf(client.metrics(), "pub")->credentials_refused >= 1);
    auto badSub = socketOf(bad.server->metrics(), "sub");
    QCOMPARE(badSub->peers, std::uint64_t{0});
    QCOMPARE(badSub->messages_in, std::uint64_t{0});
    QCOMPARE(bad.log->size(), std::size_t{0});
}

void TestRpc::serverOnRepAndSubAtOnce() {
    RpcClient publisher(pubClientOptions());
    auto options = repServerOptions();
    options.sub_connect = {publisher.sender().pub_endpoint()};
    ServerFixture fx(std::move(options));
    QVERIFY(waitForSubscribers(publisher.sender()));

    RpcClient requester(reqClientOptions({fx.endpoint()}));
    QCOMPARE(requester.invoke("add", {{"a", 1}, {"b", 2}}), json(3));
    publisher.invoke("add", {{"a", 10}, {"b", 20}});
    QVERIFY(waitUntil([&] { return fx.log->size() == 2; }));
    QCOMPARE(requester.invoke("add", {{"a", 5}, {"b", 5}}), json(10));

    auto m = fx.server->metrics();
    QVERIFY(socketOf(m, "rep"));
    QVERIFY(socketOf(m, "sub"));
    QCOMPARE(socketOf(m, "rep")->messages_in, std::uint64_t{2});
    QCOMPARE(socketOf(m, "sub")->messages_in, std::uint64_t{1});
}

void TestRpc::roundRobinOverTwoServers() {
    ServerFixture a(repServerOptions(kAnyTcp, "server-a"));
    ServerFixture b(repServerOptions(kAnyTcp, "server-b"));
    RpcClient client(reqClientOptions({a.endpoint(), b.endpoint()}));
    // Wait until both peers are handshaken so that round-robin has two pipes to choose from.
    QVERIFY(waitUntil([&] {
        client.sender().poll_events();
        auto req = socketOf(client.metrics(), "req");
        return req && req->peers >= 2;
    }));
    for (int i = 0; i < 10; ++i)
        QCOMPARE(client.invoke("add", {{"a", i}, {"b", 1}}), json(i + 1));
    // libzmq's REQ load-balances strictly in turn over the peers it can send to, and both stay
    // writable (one request at a time): five each, alternating.
    QCOMPARE(a.log->size(), std::size_t{5});
    QCOMPARE(b.log->size(), std::size_t{5});
    const auto first = a.log->snapshot().front().at("a") == json(0) ? a.log : b.log;
    for (int i = 0; i < 5; ++i)
        QCOMPARE(first->snapshot().at(static_cast<std::size_t>(i)).at("a"), json(2 * i));
}

void TestRpc::unreachableThenRecoveryWhenServerReturns() {
    const std::string endpoint = freeTcpEndpoint();
    auto fx = std::make_unique<ServerFixture>(repServerOptions(endpoint));
    QCOMPARE(fx->endpoint(), endpoint);
    RpcClient client(reqClientOptions({endpoint}, 1000ms));
    QCOMPARE(client.invoke("add", {{"a", 1}, {"b", 1}}), json(2));
    const auto retriesBefore = socketOf(client.metrics(), "req")->connect_retries;

    fx.reset();  // the server goes away

    // Wait until the client's REQ lost its peer and libzmq started reconnecting. libzmq ends
    // the pipe of a lost peer (ZMQ_IMMEDIATE) before it starts the reconnect that reports the
    // first retry, and the next send takes that end into account: from then on there is no
    // peer to send to, so the request is never sent and the only right outcome is Unreachable.
    // (Sent into the lost connection before the client noticed, it would time out instead:
    // that race is what this wait takes out.)
    QVERIFY(waitUntil(
        [&] {
            client.sender().poll_events();
            auto req = socketOf(client.metrics(), "req");
            return req->peers == 0 && req->connect_retries > retriesBefore;
        },
        5000ms));

    const auto timeout = 300ms;
    const auto start = Clock::now();
    auto error = rpcErrorOf([&] { client.invoke("add", {{"a", 1}, {"b", 2}}, timeout); });
    const auto elapsed = static_cast<double>(msSince(start));
    QVERIFY2(error && error->kind() == RpcError::Kind::Unreachable, qPrintable(describe(error)));
    QVERIFY2(elapsed >= static_cast<double>(timeout.count()) &&
                 elapsed < static_cast<double>(timeout.count()) + kWakeupSlackMs,
             qPrintable(QStringLiteral("elapsed %1 ms").arg(elapsed)));
    auto req = socketOf(client.metrics(), "req");
    QVERIFY(req);
    QCOMPARE(req->recreates, std::uint64_t{1});  // Lazy Pirate: once per failed request
    QCOMPARE(client.metrics().requests_failed, std::uint64_t{1});

    // The server comes back on the same endpoint: the recreated socket reaches it.
    ServerFixture back(repServerOptions(endpoint, "server-back"));
    QCOMPARE(client.invoke("add", {{"a", 20}, {"b", 22}}, 5000ms), json(42));
    QCOMPARE(back.log->size(), std::size_t{1});
}

void TestRpc::unreachableWhenNothingListens() {
    const std::string endpoint = deadTcpEndpoint();
    RpcClient client(reqClientOptions({endpoint}, 200ms));
    const auto start = Clock::now();
    auto error = rpcErrorOf([&] { client.invoke("add", {{"a", 1}, {"b", 2}}); });
    const auto elapsed = static_cast<double>(msSince(start));
    QVERIFY2(error && error->kind() == RpcError::Kind::Unreachable, qPrintable(describe(error)));
    // Never before the deadline; after it, by one wake-up of this thread at most.
    QVERIFY2(elapsed >= 200 && elapsed < 200 + kWakeupSlackMs,
             qPrintable(QStringLiteral("elapsed %1 ms").arg(elapsed)));
    // A second attempt behaves the same (the socket was recreated, still nobody there).
    auto again = rpcErrorOf([&] { client.invoke("add", {{"a", 1}, {"b", 2}}, 100ms); });
    QVERIFY2(again && again->kind() == RpcError::Kind::Unreachable, qPrintable(describe(again)));
    QCOMPARE(client.metrics().requests_failed, std::uint64_t{2});
}

void TestRpc::timeoutAccuracy() {
    ServerFixture fx(repServerOptions());
    RpcClient client(reqClientOptions({fx.endpoint()}, 2000ms));
    QCOMPARE(client.invoke("add", {{"a", 1}, {"b", 1}}), json(2));  // connected and warm

    // The request is sent on a live connection and the server sits on it for a second: the
    // only right outcome is Timeout, at the deadline (200 ms), long before the reply (1000 ms).
    const auto start = Clock::now();
    auto error = rpcErrorOf([&] { client.invoke("sleep_ms", {{"ms", 1000}}, 200ms); });
    const auto elapsed = static_cast<double>(msSince(start));
    QVERIFY2(error && error->kind() == RpcError::Kind::Timeout, qPrintable(describe(error)));
    QVERIFY2(elapsed >= 200 && elapsed < 200 + kWakeupSlackMs,
             qPrintable(QStringLiteral("elapsed %1 ms").arg(elapsed)));

    // Once the function is done, the next call works (the late reply went to the old socket).
    QCOMPARE(client.invoke("add", {{"a", 2}, {"b", 3}}, 5000ms), json(5));
}

void TestRpc::ipcTransport() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string endpoint = "ipc://" + dir.filePath(QStringLiteral("rpc.sock")).toStdString();
    ServerFixture fx(repServerOptions(endpoint));
    QCOMPARE(fx.endpoint(), endpoint);
    RpcClient client(reqClientOptions({fx.endpoint()}));
    QCOMPARE(client.invoke("test_method", {{"param1", "ip"}, {"param2", "c"}}), json("ipc"));

    // PUB/SUB over ipc too.
    const std::string pubEndpoint =
        "ipc://" + dir.filePath(QStringLiteral("pub.sock")).toStdString();
    RpcClient publisher(pubClientOptions(pubEndpoint));
    QCOMPARE(publisher.sender().pub_endpoint(), pubEndpoint);
    ServerFixture sub(subServerOptions({pubEndpoint}));
    QVERIFY(waitForSubscribers(publisher.sender()));
    publisher.invoke("add", {{"a", 1}, {"b", 2}});
    QVERIFY(waitUntil([&] { return sub.log->size() == 1; }));
}

void TestRpc::inprocTransport() {
    auto context = std::make_shared<Context>();
    const std::string endpoint = uniqueInproc("rpc");
    auto options = repServerOptions(endpoint);
    options.context = context;
    ServerFixture fx(std::move(options));
    QCOMPARE(fx.endpoint(), endpoint);

    auto clientOptions = reqClientOptions({endpoint});
    clientOptions.context = context;
    RpcClient client(clientOptions);
    QCOMPARE(client.invoke("add", {{"a", 4}, {"b", 5}}), json(9));

    // With credentials over inproc (ZAP works for inproc too).
    const std::string secured = uniqueInproc("rpc-secured");
    auto securedOptions = repServerOptions(secured, "secured");
    securedOptions.context = context;
    securedOptions.security = kTestCredentials;
    ServerFixture sfx(std::move(securedOptions));
    auto goodOptions = reqClientOptions({secured});
    goodOptions.context = context;
    goodOptions.security = kTestCredentials;
    RpcClient good(goodOptions);
    QCOMPARE(good.invoke("add", {{"a", 1}, {"b", 1}}), json(2));

    // PUB/SUB over inproc.
    auto pubOptions = pubClientOptions(uniqueInproc("pub"));
    pubOptions.context = context;
    RpcClient publisher(pubOptions);
    auto subOptions = subServerOptions({publisher.sender().pub_endpoint()});
    subOptions.context = context;
    ServerFixture sub(std::move(subOptions));
    QVERIFY(waitForSubscribers(publisher.sender()));
    publisher.invoke("add", {{"a", 1}, {"b", 2}});
    QVERIFY(waitUntil([&] { return sub.log->size() == 1; }));
}

QTEST_GUILESS_MAIN(TestRpc)
#include "tst_rpc.moc"
