// Component tests of the five proxies end to end over real sockets: Sub2Req, Sub2Pub, Rep2Pub,
// Rep2Req (reply passed back unchanged, 482 when undeliverable), BufferedRep2Req (accepted while
// the downstream is away, delivered in order when it returns), a chain of two proxies, queue
// metrics and drops, separate input/output credentials, and a bounded stop under traffic.
#include "testutil.hpp"

using namespace testutil;
using namespace zmqrpc;

namespace {

struct ServerFixture {
    std::shared_ptr<CallLog> log = std::make_shared<CallLog>();
    std::unique_ptr<RpcServer> server;
    explicit ServerFixture(RpcServerOptions options) {
        server = std::make_unique<RpcServer>(std::move(options), standardFunctions(log));
        server->start();
    }
    std::string endpoint() const { return server->rep_endpoint(); }
};

// A SUB receiver that keeps every message it gets.
struct Tap {
    std::shared_ptr<std::vector<std::string>> messages =
        std::make_shared<std::vector<std::string>>();
    std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
    std::unique_ptr<Receiver> receiver;
    explicit Tap(const std::string& endpoint, Credentials credentials = {},
                 std::shared_ptr<Context> context = nullptr) {
        ReceiverOptions options;
        options.name = "tap";
        options.sub_connect = {endpoint};
        options.security = std::move(credentials);
        options.context = std::move(context);
        auto m = messages;
        auto mx = mutex;
        receiver = std::make_unique<Receiver>(options, [m, mx](std::string_view msg, Origin) {
            std::lock_guard lock(*mx);
            m->emplace_back(msg);
            return std::string();
        });
        receiver->start();
    }
    std::vector<std::string> all() const {
        std::lock_guard lock(*mutex);
        return *messages;
    }
    // Messages that are not the probe.
    std::vector<std::string> real() const {
        std::vector<std::string> out;
        for (auto& m : all())
            if (m.find("probe") == std::string::npos) out.push_back(m);
        return out;
    }
    std::size_t size() const { return all().size(); }
};

ProxyOptions proxyOptions(std::string name) {
    ProxyOptions options;
    options.name = std::move(name);
    return options;
}

bool queueBalanced(const QueueSnapshot& q) {
    return q.delivered + q.dropped + q.fill == q.received;
}

QString queueText(const QueueSnapshot& q) {
    return QStringLiteral("capacity %1 fill %2 high %3 received %4 delivered %5 dropped %6")
        .arg(q.capacity)
        .arg(q.fill)
        .arg(q.high_water)
        .arg(q.received)
        .arg(q.delivered)
        .arg(q.dropped);
}

const std::string kProbe = encode_request("probe");

}  // namespace

class TestProxies : public QObject {
    Q_OBJECT

  private slots:
    void sub2Req();
    void sub2Pub();
    void rep2Pub();
    void rep2ReqPassesReplyUnchanged();
    void rep2ReqDownstreamAbsentIs482();
    void bufferedRep2ReqDeliversInOrderWhenServerReturns();
    void chainSub2ReqThenRep2Pub();
    void queueCapacityDefault();
    void smallQueueCountsDrops();
    void credentialsOnBothSides_data();
    void credentialsOnBothSides();
    void wrongInputCredentialsRefused();
    void stopWithTrafficFlowing_data();
    void stopWithTrafficFlowing();
    void configurationChecked();
    // Last: when it fails it tends to take the process down (see the report).
    void manyReqRecreatesDoNotCrash();
};

void TestProxies::sub2Req() {
    ServerFixture fx(repServerOptions());
    Sender source(pubSenderOptions());
    auto options = proxyOptions("sub2req");
    options.input.sub_connect = {source.pub_endpoint()};
    options.output.req_connect = {fx.endpoint()};
    options.output.req_timeout = 1000ms;
    Proxy proxy(ProxyKind::Sub2Req, options);
    proxy.start();
    QCOMPARE(proxy.kind(), ProxyKind::Sub2Req);
    QVERIFY(waitForSubscribers(source));

    for (int i = 0; i < 3; ++i)
        source.publish(encode_request("add", {{"a", i}, {"b", 100}}));
    QVERIFY(waitUntil([&] { return fx.log->size() == 3; }));
    auto calls = fx.log->snapshot();
    for (int i = 0; i < 3; ++i)
        QCOMPARE(calls[i].at("a"), json(i));

    // A downstream error (451) is counted, not fatal.
    source.publish(encode_request("no_such_function"));
    source.publish(encode_request("add", {{"a", 9}, {"b", 9}}));
    QVERIFY(waitUntil([&] { return fx.log->size() == 4; }));
    QVERIFY(waitUntil([&] { return proxy.metrics().queue.delivered == 5; }));
    auto m = proxy.metrics();
    QVERIFY2(m.errors >= 1, qPrintable(QString::number(m.errors)));
    QVERIFY2(queueBalanced(m.queue), qPrintable(queueText(m.queue)));
    QCOMPARE(m.queue.received, std::uint64_t{5});
    QCOMPARE(m.kind, std::string("proxy:sub2req"));
}

void TestProxies::sub2Pub() {
    Sender source(pubSenderOptions());
    auto options = proxyOptions("sub2pub");
    options.input.sub_connect = {source.pub_endpoint()};
    options.output.pub_bind = kAnyTcp;
    Proxy proxy(ProxyKind::Sub2Pub, options);
    proxy.start();
    QVERIFY(!proxy.output_endpoint().empty());
    QVERIFY(proxy.input_endpoint().empty());
    Tap tap(proxy.output_endpoint());
    QVERIFY(waitForSubscribers(source));
    QVERIFY(sendUntil([&] { source.publish(kProbe); }, [&] { return tap.size() >= 1; }));

    for (int i = 0; i < 20; ++i)
        source.publish("message " + std::to_string(i));
    QVERIFY(waitUntil([&] { return tap.real().size() == 20; }));
    auto got = tap.real();
    for (int i = 0; i < 20; ++i)
        QCOMPARE(got[i], "message " + std::to_string(i));

    // Sizes below, around and across libzmq's 8 KiB receive buffer, back to back: the proxy sends
    // on the very frames it received, which share that buffer, so each must arrive whole.
    std::vector<std::string> sent;
    for (int i = 0; i < 60; ++i) {
        std::string m(static_cast<std::size_t>(i * 397 % 20000 + 2),
                      static_cast<char>('a' + i % 26));
        m.front() = '<';
        m.back() = '>';
        sent.push_back(m);
        source.publish(m);
    }
    QVERIFY(waitUntil([&] { return tap.real().size() == 80; }));
    got = tap.real();
    for (int i = 0; i < 60; ++i)
        QVERIFY2(got[20 + static_cast<std::size_t>(i)] == sent[static_cast<std::size_t>(i)],
                 qPrintable(QString("message %1 (%2 bytes) changed").arg(i).arg(sent[i].size())));
    QVERIFY(waitUntil([&] {
        auto q = proxy.metrics().queue;
        return q.fill == 0 && q.delivered == q.received && q.received >= 81;  // + the probe(s)
    }));
    auto m = proxy.metrics();
    QVERIFY(queueBalanced(m.queue));
    QCOMPARE(m.queue.fill, std::uint64_t{0});
}

void TestProxies::rep2Pub() {
    auto options = proxyOptions("rep2pub");
    options.input.rep_bind = kAnyTcp;
    options.output.pub_bind = kAnyTcp;
    Proxy proxy(ProxyKind::Rep2Pub, options);
    proxy.start();
    QVERIFY(!proxy.input_endpoint().empty());
    QVERIFY(!proxy.output_endpoint().empty());
    Tap tap(proxy.output_endpoint());
    RpcClient client(reqClientOptions({proxy.input_endpoint()}));
    QVERIFY(sendUntil([&] { client.invoke("probe"); }, [&] { return tap.size() >= 1; }));

    // The client gets 200 OK (no response_message); the PUB side carries the request unchanged.
    const std::string request = encode_request("add", {{"a", 1}, {"b", 2}});
    const std::string reply = client.sender().request(request);
    auto response = decode_response(reply);
    QCOMPARE(response.status_code, 200);
    QCOMPARE(response.status_message, std::string("OK"));
    QVERIFY(!response.response_message);
    QVERIFY(waitUntil([&] { return tap.real().size() == 1; }));
    QCOMPARE(tap.real().front(), request);
    QVERIFY(client.invoke("whatever", {{"x", 1}}).is_null());
    QVERIFY(waitUntil([&] { return tap.real().size() == 2; }));

    // A heartbeat over REQ is answered 200 OK and published, as pyzmqrpc's Rep2Pub does: the
    // tap hears exactly these three heartbeats (the proxy sends none of its own), and no message.
    for (int i = 0; i < 3; ++i) {
        auto hb = decode_response(client.sender().request(std::string(kHeartbeat)));
        QCOMPARE(hb.status_code, 200);
        QVERIFY(!hb.response_message);
    }
    auto tapHeard = [&] {
        auto s = socketOf(tap.receiver->metrics(), "sub", 0);
        return s ? s->heartbeats_in : std::uint64_t{0};
    };
    QVERIFY(waitUntil([&] { return tapHeard() == 3; }));
    auto pubOut = socketOf(proxy.metrics(), "pub", 0);
    QVERIFY(pubOut);
    QCOMPARE(pubOut->heartbeats_out, std::uint64_t{3});
    QCOMPARE(tap.real().size(), std::size_t{2});
}

void TestProxies::rep2ReqPassesReplyUnchanged() {
    ServerFixture fx(repServerOptions());
    auto options = proxyOptions("rep2req");
    options.input.rep_bind = kAnyTcp;
    options.output.req_connect = {fx.endpoint()};
    options.output.req_timeout = 1000ms;
    Proxy proxy(ProxyKind::Rep2Req, options);
    proxy.start();
    RpcClient client(reqClientOptions({proxy.input_endpoint()}, 2000ms));

    QCOMPARE(client.invoke("add", {{"a", 20}, {"b", 22}}), json(42));
    QCOMPARE(client.invoke("test_method", {{"param1", "x"}, {"param2", "y"}}), json("xy"));

    // Byte-for-byte what the server itself would answer.
    const std::string request = encode_request("add", {{"a", 1}, {"b", 2}});
    QCOMPARE(client.sender().request(request), standardFunctions().dispatch(request));

    auto error = rpcErrorOf([&] { client.invoke("no_such_function"); });
    QVERIFY2(error && error->kind() == RpcError::Kind::Status, qPrintable(describe(error)));
    QCOMPARE(error->status_code(), 451);
    QCOMPARE(error->status_message(),
             std::string("Function 'no_such_function' is not implemented on server. Check "
                         "rpc_functions on server if it contains the function name"));
    auto raised = rpcErrorOf([&] { client.invoke("fail"); });
    QVERIFY2(raised && raised->status_code() == 463, qPrintable(describe(raised)));
    // add, test_method, add, fail (the unknown function never reached a function).
    QCOMPARE(fx.log->size(), std::size_t{4});
}

void TestProxies::rep2ReqDownstreamAbsentIs482() {
    auto options = proxyOptions("rep2req-absent");
    options.input.rep_bind = kAnyTcp;
    options.output.req_connect = {deadTcpEndpoint()};
    options.output.req_timeout = 200ms;
    Proxy proxy(ProxyKind::Rep2Req, options);
    proxy.start();
    RpcClient client(reqClientOptions({proxy.input_endpoint()}, 2000ms));

    const auto start = Clock::now();
    auto error = rpcErrorOf([&] { client.invoke("add", {{"a", 1}, {"b", 2}}); });
    const auto elapsed = msSince(start);
    QVERIFY2(error && error->kind() == RpcError::Kind::Status, qPrintable(describe(error)));
    QCOMPARE(error->status_code(), 482);
    QVERIFY(!error->status_message().empty());
    QVERIFY2(elapsed >= 190 && elapsed < 1000, qPrintable(QString::number(elapsed)));
    // The proxy counts right after answering: wait for it.
    QVERIFY(waitUntil([&] { return proxy.metrics().queue.dropped == 1; }));
    auto m = proxy.metrics();
    QVERIFY2(queueBalanced(m.queue), qPrintable(queueText(m.queue)));
    QCOMPARE(m.queue.fill, std::uint64_t{0});
    QVERIFY(m.requests_failed >= 1);
}

void TestProxies::bufferedRep2ReqDeliversInOrderWhenServerReturns() {
    const std::string downstream = deadTcpEndpoint();
    auto options = proxyOptions("buffered");
    options.input.rep_bind = kAnyTcp;
    options.output.req_connect = {downstream};
    // Long enough that a delivery to the running server never times out (and is sent again)
    // on a loaded machine: while the server is away, attempts fail unsent (Unreachable).
    options.output.req_timeout = 1000ms;
    options.retry_interval = 50ms;
    Proxy proxy(ProxyKind::BufferedRep2Req, options);
    proxy.start();
    RpcClient client(reqClientOptions({proxy.input_endpoint()}, 1000ms));

    for (int i = 0; i < 3; ++i) {
        const std::string reply = client.sender().request(encode_request("record", {{"seq", i}}));
        auto response = decode_response(reply);
        QCOMPARE(response.status_code, 200);  // accepted
        QVERIFY(!response.response_message);
    }
    auto m = proxy.metrics();
    QCOMPARE(m.queue.received, std::uint64_t{3});
    QCOMPARE(m.queue.fill, std::uint64_t{3});
    QCOMPARE(m.queue.delivered, std::uint64_t{0});

    // Let at least one delivery attempt fail before the server appears.
    QVERIFY(waitUntil([&] { return proxy.metrics().requests_failed >= 1; }, 5000ms));

    ServerFixture fx(repServerOptions(downstream));
    QVERIFY(waitUntil([&] { return fx.log->size() == 3; }, 3000ms));
    auto calls = fx.log->snapshot();
    for (int i = 0; i < 3; ++i)
        QCOMPARE(calls[i].at("seq"), json(i));
    QVERIFY(waitUntil([&] { return proxy.metrics().queue.delivered == 3; }));
    m = proxy.metrics();
    QCOMPARE(m.queue.fill, std::uint64_t{0});
    QCOMPARE(m.queue.dropped, std::uint64_t{0});
    QVERIFY(queueBalanced(m.queue));
    // Each sent exactly once (the failed attempts were never sent: no peer), and with the queue
    // empty nothing is left to send again later.
    QCOMPARE(m.messages_out, std::uint64_t{3});
    QCOMPARE(fx.log->size(), std::size_t{3});
}

void TestProxies::chainSub2ReqThenRep2Pub() {
    // pub -> Sub2Req -> Rep2Pub -> tap
    Sender source(pubSenderOptions());
    auto bOptions = proxyOptions("rep2pub");
    bOptions.input.rep_bind = kAnyTcp;
    bOptions.output.pub_bind = kAnyTcp;
    Proxy b(ProxyKind::Rep2Pub, bOptions);
    b.start();
    auto aOptions = proxyOptions("sub2req");
    aOptions.input.sub_connect = {source.pub_endpoint()};
    aOptions.output.req_connect = {b.input_endpoint()};
    aOptions.output.req_timeout = 1000ms;
    Proxy a(ProxyKind::Sub2Req, aOptions);
    a.start();
    Tap tap(b.output_endpoint());
    QVERIFY(waitForSubscribers(source));
    QVERIFY(sendUntil([&] { source.publish(kProbe); }, [&] { return tap.size() >= 1; }));

    std::vector<std::string> sent;
    for (int i = 0; i < 10; ++i) {
        sent.push_back(encode_request("sample", {{"seq", i}}));
        source.publish(sent.back());
    }
    QVERIFY(waitUntil([&] { return tap.real().size() == 10; }));
    QCOMPARE(tap.real(), sent);
    auto m = a.metrics();
    QCOMPARE(m.errors, std::uint64_t{0});  // Rep2Pub answered 200 each time
}

void TestProxies::queueCapacityDefault() {
    auto options = proxyOptions("default-queue");
    options.input.rep_bind = kAnyTcp;
    options.output.pub_bind = kAnyTcp;
    Proxy proxy(ProxyKind::Rep2Pub, options);
    auto m = proxy.metrics();
    QVERIFY(m.has_queue);
    QCOMPARE(m.queue.capacity, std::uint64_t{100000});
    proxy.start();
    QCOMPARE(proxy.metrics().queue.capacity, std::uint64_t{100000});
    QCOMPARE(proxy.metrics().queue.fill, std::uint64_t{0});
}

void TestProxies::smallQueueCountsDrops() {
    const std::string downstream = deadTcpEndpoint();
    EventRecorder events;
    auto options = proxyOptions("small-queue");
    options.events = events.bus();
    options.input.rep_bind = kAnyTcp;
    options.output.req_connect = {downstream};
    options.output.req_timeout = 200ms;
    options.retry_interval = 20ms;
    options.queue_capacity = 5;
    Proxy proxy(ProxyKind::BufferedRep2Req, options);
    proxy.start();
    RpcClient client(reqClientOptions({proxy.input_endpoint()}, 1000ms));

    int accepted = 0, refused = 0;
    for (int i = 0; i < 10; ++i) {
        auto response =
            decode_response(client.sender().request(encode_request("record", {{"seq", i}})));
        if (response.status_code == 200) {
            ++accepted;
        } else {
            QCOMPARE(response.status_code, 482);
            ++refused;
        }
    }
    QCOMPARE(accepted, 5);
    QCOMPARE(refused, 5);
    auto m = proxy.metrics();
    QCOMPARE(m.queue.capacity, std::uint64_t{5});
    QCOMPARE(m.queue.received, std::uint64_t{10});
    QCOMPARE(m.queue.dropped, std::uint64_t{5});
    QCOMPARE(m.queue.high_water, std::uint64_t{5});
    QCOMPARE(m.queue.fill, std::uint64_t{5});
    QVERIFY2(queueBalanced(m.queue), qPrintable(queueText(m.queue)));
    QVERIFY2(events.waitFor(EventKind::QueueFull, 500ms), qPrintable(events.dump()));

    // The downstream appears: the five accepted ones are delivered, in order.
    ServerFixture fx(repServerOptions(downstream));
    QVERIFY(waitUntil([&] { return fx.log->size() == 5; }, 3000ms));
    auto calls = fx.log->snapshot();
    for (int i = 0; i < 5; ++i)
        QCOMPARE(calls[i].at("seq"), json(i));
    QVERIFY(waitUntil([&] { return proxy.metrics().queue.delivered == 5; }));
    m = proxy.metrics();
    QCOMPARE(m.queue.fill, std::uint64_t{0});
    QCOMPARE(m.queue.high_water, std::uint64_t{5});
    QVERIFY2(queueBalanced(m.queue), qPrintable(queueText(m.queue)));
    QVERIFY2(events.waitFor(EventKind::QueueDrained, 500ms), qPrintable(events.dump()));
}

void TestProxies::credentialsOnBothSides_data() {
    QTest::addColumn<int>("kind");
    QTest::newRow("rep2req") << int(ProxyKind::Rep2Req);
    QTest::newRow("sub2pub") << int(ProxyKind::Sub2Pub);
    QTest::newRow("sub2req") << int(ProxyKind::Sub2Req);
    QTest::newRow("rep2pub") << int(ProxyKind::Rep2Pub);
}

void TestProxies::credentialsOnBothSides() {
    QFETCH(int, kind);
    const Credentials in{"in-user", "in-pass"};
    const Credentials out{"out-user", "out-pass"};
    const auto proxyKind = static_cast<ProxyKind>(kind);
    const bool repIn = proxyKind == ProxyKind::Rep2Req || proxyKind == ProxyKind::Rep2Pub;
    const bool pubOut = proxyKind == ProxyKind::Sub2Pub || proxyKind == ProxyKind::Rep2Pub;

    // Downstream: a server requiring `out` (for *2Req) — created after the proxy for *2Pub.
    std::unique_ptr<ServerFixture> server;
    if (!pubOut) {
        auto serverOptions = repServerOptions();
        serverOptions.security = out;
        server = std::make_unique<ServerFixture>(std::move(serverOptions));
    }
    // Upstream for Sub*: a publisher requiring `in`.
    std::unique_ptr<Sender> source;
    if (!repIn) {
        auto sourceOptions = pubSenderOptions();
        sourceOptions.security = in;
        source = std::make_unique<Sender>(sourceOptions);
    }

    auto options = proxyOptions("secured");
    if (repIn) {
        options.input.rep_bind = kAnyTcp;
    } else {
        options.input.sub_connect = {source->pub_endpoint()};
    }
    options.input.security = in;
    if (pubOut) {
        options.output.pub_bind = kAnyTcp;
    } else {
        options.output.req_connect = {server->endpoint()};
        options.output.req_timeout = 1000ms;
    }
    options.output.security = out;
    Proxy proxy(proxyKind, options);
    proxy.start();

    std::unique_ptr<Tap> tap;
    if (pubOut) tap = std::make_unique<Tap>(proxy.output_endpoint(), out);
    std::unique_ptr<RpcClient> client;
    if (repIn) {
        auto clientOptions = reqClientOptions({proxy.input_endpoint()}, 2000ms);
        clientOptions.security = in;
        client = std::make_unique<RpcClient>(clientOptions);
    } else {
        QVERIFY(waitForSubscribers(*source));
    }

    auto send = [&](const std::string& message) {
        if (client) {
            (void)client->sender().request(message);
        } else {
            source->publish(message);
        }
    };
    auto arrived = [&] { return pubOut ? tap->size() >= 1 : server->log->size() >= 1; };
    QVERIFY(sendUntil([&] { send(encode_request("record", {{"probe", true}})); }, arrived));

    if (proxyKind == ProxyKind::Rep2Req) {
        QCOMPARE(client->invoke("add", {{"a", 2}, {"b", 3}}), json(5));
    }
    auto m = proxy.metrics();
    for (const auto& s : m.sockets) {
        QVERIFY2(s.credentials_refused == 0, s.role.c_str());
    }
}

void TestProxies::wrongInputCredentialsRefused() {
    ServerFixture fx(repServerOptions());
    auto options = proxyOptions("secured-in");
    options.input.rep_bind = kAnyTcp;
    options.input.security = zmqrpc::Credentials{"in-user", "in-pass"};
    options.output.req_connect = {fx.endpoint()};
    Proxy proxy(ProxyKind::Rep2Req, options);
    proxy.start();
    auto clientOptions = reqClientOptions({proxy.input_endpoint()}, 1000ms);
    clientOptions.security = zmqrpc::Credentials{"in-user", "out-pass"};
    RpcClient client(clientOptions);
    auto error = rpcErrorOf([&] { client.invoke("add", {{"a", 1}, {"b", 1}}); });
    QVERIFY2(error && error->kind() == RpcError::Kind::CredentialsRefused,
             qPrintable(describe(error)));
    QVERIFY(waitUntil([&] { return socketOf(proxy.metrics(), "rep")->credentials_refused >= 1; }));
    QCOMPARE(fx.log->size(), std::size_t{0});
}

void TestProxies::stopWithTrafficFlowing_data() {
    QTest::addColumn<int>("kind");
    QTest::newRow("sub2pub") << int(ProxyKind::Sub2Pub);
    QTest::newRow("sub2req") << int(ProxyKind::Sub2Req);
    QTest::newRow("sub2req-downstream-dead") << -1;
}

void TestProxies::stopWithTrafficFlowing() {
    QFETCH(int, kind);
    const bool deadDownstream = kind == -1;
    const auto proxyKind = deadDownstream ? ProxyKind::Sub2Req : static_cast<ProxyKind>(kind);

    std::unique_ptr<ServerFixture> server;
    if (proxyKind == ProxyKind::Sub2Req && !deadDownstream) {
        server = std::make_unique<ServerFixture>(repServerOptions());
    }
    Sender source(pubSenderOptions());
    auto options = proxyOptions("busy");
    options.input.sub_connect = {source.pub_endpoint()};
    if (proxyKind == ProxyKind::Sub2Pub) {
        options.output.pub_bind = kAnyTcp;
    } else {
        options.output.req_connect = {deadDownstream ? deadTcpEndpoint() : server->endpoint()};
        options.output.req_timeout = 1000ms;
    }
    auto proxy = std::make_unique<Proxy>(proxyKind, options);
    proxy->start();
    std::unique_ptr<Tap> tap;
    if (proxyKind == ProxyKind::Sub2Pub) tap = std::make_unique<Tap>(proxy->output_endpoint());
    QVERIFY(waitForSubscribers(source));

    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> published{0};
    std::thread publisher([&] {
        const auto give_up = Clock::now() + 5s;  // bounded even if the test fails early
        const std::string message = encode_request("add", {{"a", 1}, {"b", 2}});
        while (!stop && Clock::now() < give_up) {
            source.publish(message);
            ++published;
        }
    });
    QVERIFY(waitUntil([&] { return proxy->metrics().queue.received >= 100; }, 3000ms));
    const double stopMs = timeMs([&] { proxy->stop(); });
    stop = true;
    publisher.join();
    QVERIFY2(stopMs < kStopBudgetMs, qPrintable(QStringLiteral("stop took %1 ms").arg(stopMs)));
    QVERIFY(!proxy->running());
    auto m = proxy->metrics();
    QVERIFY2(queueBalanced(m.queue), qPrintable(queueText(m.queue)));
    QCOMPARE(m.queue.fill, std::uint64_t{0});
    QVERIFY(!m.running);
}

void TestProxies::configurationChecked() {
    // Each kind insists on its sides.
    ProxyOptions none = proxyOptions("bad");
    for (auto kind : {ProxyKind::Sub2Req, ProxyKind::Sub2Pub, ProxyKind::Rep2Pub,
                      ProxyKind::Rep2Req, ProxyKind::BufferedRep2Req}) {
        QVERIFY_THROWS_EXCEPTION(ConfigError, Proxy(kind, none));
    }
    ProxyOptions wrongSides = proxyOptions("bad");
    wrongSides.input.rep_bind = kAnyTcp;
    wrongSides.output.pub_bind = kAnyTcp;
    QVERIFY_THROWS_EXCEPTION(ConfigError, Proxy(ProxyKind::Sub2Req, wrongSides));
    QVERIFY_THROWS_EXCEPTION(ConfigError, Proxy(ProxyKind::Rep2Req, wrongSides));

    QCOMPARE(proxy_kind_from_string("buffered-rep2req"), ProxyKind::BufferedRep2Req);
    QCOMPARE(std::string(to_string(ProxyKind::Sub2Pub)), std::string("sub2pub"));
    QVERIFY_THROWS_EXCEPTION(ConfigError, proxy_kind_from_string("rep2rep"));
}

void TestProxies::manyReqRecreatesDoNotCrash() {
    // A buffered proxy whose downstream never answers recreates its REQ socket every
    // req_timeout. Hundreds of recreates must not leave a closed socket in the actor's poll set.
    auto options = proxyOptions("recreating");
    options.input.rep_bind = kAnyTcp;
    options.output.req_connect = {deadTcpEndpoint()};
    options.output.req_timeout = 5ms;
    options.retry_interval = 0ms;
    Proxy proxy(ProxyKind::BufferedRep2Req, options);
    proxy.start();
    RpcClient client(reqClientOptions({proxy.input_endpoint()}, 1000ms));
    QCOMPARE(decode_response(client.sender().request(encode_request("record"))).status_code, 200);
    QVERIFY(waitUntil([&] { return proxy.metrics().requests_failed >= 150; }, 3000ms));
    QVERIFY(proxy.running());
    // Still answering on its input.
    QCOMPARE(decode_response(client.sender().request(encode_request("record"))).status_code, 200);
    const double stopMs = timeMs([&] { proxy.stop(); });
    QVERIFY2(stopMs < kStopBudgetMs, qPrintable(QString::number(stopMs)));
}

QTEST_GUILESS_MAIN(TestProxies)
#include "tst_proxies.moc"
