// Metrics: exact message and byte counts on both ends of a REQ/REP exchange, connection states
// from the socket monitor, snapshots read from another thread while traffic flows, the age of
// the last message, failure counters, and the JSON form of a snapshot.
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

}  // namespace

class TestMetrics : public QObject {
    Q_OBJECT

  private slots:
    void countsMatchAfterInvokes();
    void pubSubCounts();
    void connectionStates();
    void listeningWhenIdle();
    void failureCounters();
    void snapshotsFromAnotherThread();
    void lastMessageAgeGrowsWhileIdle();
    void toJsonHasKeys();
    void namesAndKinds();
};

void TestMetrics::countsMatchAfterInvokes() {
    ServerFixture fx(repServerOptions());
    RpcClient client(reqClientOptions({fx.endpoint()}));
    const auto registry = standardFunctions();
    const int n = 7;
    std::uint64_t requestBytes = 0, responseBytes = 0;
    for (int i = 0; i < n; ++i) {
        const json parameters = {{"a", i}, {"b", i * 1000}};
        const std::string request = encode_request("add", parameters);
        requestBytes += request.size();
        responseBytes += registry.dispatch(request).size();
        QCOMPARE(client.invoke("add", parameters), json(i + i * 1000));
    }
    // The server counts its reply right after sending it: wait for the last one.
    QVERIFY(waitUntil([&] { return fx.server->metrics().messages_out == std::uint64_t(n); }));
    auto s = fx.server->metrics();
    QCOMPARE(s.messages_in, std::uint64_t(n));
    QCOMPARE(s.messages_out, std::uint64_t(n));
    QCOMPARE(s.bytes_in, requestBytes);
    QCOMPARE(s.bytes_out, responseBytes);
    auto rep = socketOf(s, "rep");
    QVERIFY(rep);
    QCOMPARE(rep->messages_in, std::uint64_t(n));
    QCOMPARE(rep->messages_out, std::uint64_t(n));
    QCOMPARE(rep->bytes_in, requestBytes);
    QCOMPARE(rep->bytes_out, responseBytes);
    QCOMPARE(s.errors, std::uint64_t{0});
    QCOMPARE(s.bad_messages, std::uint64_t{0});

    auto c = client.metrics();
    QCOMPARE(c.messages_out, std::uint64_t(n));
    QCOMPARE(c.messages_in, std::uint64_t(n));
    QCOMPARE(c.bytes_out, requestBytes);
    QCOMPARE(c.bytes_in, responseBytes);
    auto req = socketOf(c, "req");
    QVERIFY(req);
    QCOMPARE(req->messages_out, std::uint64_t(n));
    QCOMPARE(req->bytes_in, responseBytes);
    QCOMPARE(c.requests_failed, std::uint64_t{0});

    // Heartbeats are counted apart, not as messages.
    client.send_heartbeat(true);
    QVERIFY(waitUntil([&] { return socketOf(fx.server->metrics(), "rep")->heartbeats_in == 1; }));
    QCOMPARE(fx.server->metrics().messages_in, std::uint64_t(n));
}

void TestMetrics::pubSubCounts() {
    Sender sender(pubSenderOptions());
    ServerFixture fx(subServerOptions({sender.pub_endpoint()}));
    QVERIFY(waitForSubscribers(sender));
    std::uint64_t bytes = 0;
    for (int i = 0; i < 5; ++i) {
        const std::string m = encode_request("add", {{"a", i}, {"b", 1}});
        bytes += m.size();
        sender.publish(m);
    }
    sender.send_heartbeat();
    QVERIFY(waitUntil([&] { return fx.log->size() == 5; }));
    QVERIFY(waitUntil([&] { return socketOf(fx.server->metrics(), "sub")->heartbeats_in == 1; }));
    auto s = fx.server->metrics();
    QCOMPARE(s.messages_in, std::uint64_t{5});
    QCOMPARE(s.bytes_in, bytes);
    QCOMPARE(s.messages_out, std::uint64_t{0});  // nothing answered over SUB
    auto p = sender.metrics();
    QCOMPARE(p.messages_out, std::uint64_t{5});
    QCOMPARE(p.bytes_out, bytes);
    QCOMPARE(socketOf(p, "pub")->heartbeats_out, std::uint64_t{1});
    QCOMPARE(socketOf(p, "pub")->messages_out, std::uint64_t{5});
}

void TestMetrics::connectionStates() {
    ServerFixture fx(repServerOptions());
    RpcClient client(reqClientOptions({fx.endpoint()}));
    QCOMPARE(client.invoke("add", {{"a", 1}, {"b", 1}}), json(2));
    client.sender().poll_events();
    auto req = socketOf(client.metrics(), "req");
    QVERIFY(req);
    QCOMPARE(req->connection, ConnectionState::Connected);
    QCOMPARE(req->peers, std::uint64_t{1});
    QVERIFY(req->connects >= 1);
    QVERIFY(waitUntil([&] {
        auto rep = socketOf(fx.server->metrics(), "rep");
        return rep->connection == ConnectionState::Connected && rep->peers == 1;
    }));

    // SUB side too.
    Sender sender(pubSenderOptions());
    ServerFixture sub(subServerOptions({sender.pub_endpoint()}));
    QVERIFY(sender.wait_for_subscribers(1, 2000ms));
    QVERIFY(waitUntil([&] {
        return socketOf(sub.server->metrics(), "sub")->connection == ConnectionState::Connected;
    }));
    sender.poll_events();
    QCOMPARE(socketOf(sender.metrics(), "pub")->connection, ConnectionState::Connected);
    QCOMPARE(socketOf(sender.metrics(), "pub")->peers, std::uint64_t{1});

    // The peer goes away: the server's socket goes back to Listening.
    client = RpcClient(reqClientOptions({deadTcpEndpoint()}));  // drops the connected client
    QVERIFY(waitUntil([&] {
        auto rep = socketOf(fx.server->metrics(), "rep");
        return rep->connection == ConnectionState::Listening && rep->peers == 0;
    }));
    QVERIFY(socketOf(fx.server->metrics(), "rep")->disconnects >= 1);
}

void TestMetrics::listeningWhenIdle() {
    ServerFixture fx(repServerOptions());
    auto rep = socketOf(fx.server->metrics(), "rep");
    QVERIFY(rep);
    QCOMPARE(rep->connection, ConnectionState::Listening);
    QCOMPARE(rep->peers, std::uint64_t{0});
    QCOMPARE(rep->endpoint, fx.endpoint());
    QCOMPARE(rep->messages_in, std::uint64_t{0});
    QCOMPARE(rep->heartbeat, HeartbeatState::Unmonitored);
    QVERIFY(!rep->ever_heard);

    Sender sender(pubSenderOptions());
    sender.poll_events();
    QCOMPARE(socketOf(sender.metrics(), "pub")->connection, ConnectionState::Listening);
    QCOMPARE(socketOf(sender.metrics(), "pub")->endpoint, sender.pub_endpoint());

    // A SUB whose publisher is not there: connecting, not connected.
    ServerFixture sub(subServerOptions({deadTcpEndpoint()}));
    QVERIFY(waitUntil([&] {
        auto c = socketOf(sub.server->metrics(), "sub")->connection;
        return c == ConnectionState::Connecting;
    }));
}

void TestMetrics::failureCounters() {
    ServerFixture fx(repServerOptions());
    RpcClient client(reqClientOptions({fx.endpoint()}));
    QVERIFY_THROWS_EXCEPTION(RpcError, client.invoke("no_such_function"));
    QVERIFY_THROWS_EXCEPTION(RpcError, client.invoke("fail"));
    (void)client.sender().request("{not json");
    (void)client.sender().request("{}");
    QVERIFY(waitUntil([&] {
        auto m = fx.server->metrics();
        return m.errors == 2 && m.bad_messages == 2;
    }));
    QCOMPARE(client.metrics().requests_failed, std::uint64_t{0});  // answered is not failed

    RpcClient lost(reqClientOptions({deadTcpEndpoint()}, 100ms));
    QVERIFY_THROWS_EXCEPTION(RpcError, lost.invoke("add"));
    QVERIFY_THROWS_EXCEPTION(RpcError, lost.invoke("add"));
    auto m = lost.metrics();
    QCOMPARE(m.requests_failed, std::uint64_t{2});
    QCOMPARE(socketOf(m, "req")->recreates, std::uint64_t{2});
    QVERIFY(socketOf(m, "req")->errors >= 2);
}

void TestMetrics::snapshotsFromAnotherThread() {
    ServerFixture fx(repServerOptions());
    ProxyOptions proxyOptions;
    proxyOptions.name = "observed-proxy";
    proxyOptions.input.rep_bind = kAnyTcp;
    proxyOptions.output.req_connect = {fx.endpoint()};
    Proxy proxy(ProxyKind::Rep2Req, proxyOptions);
    proxy.start();

    std::atomic<bool> done{false};
    std::atomic<int> snapshots{0};
    std::atomic<bool> monotonic{true};
    std::thread reader([&] {
        std::uint64_t lastServer = 0, lastProxy = 0;
        const auto give_up = Clock::now() + 5s;
        while (!done && Clock::now() < give_up) {
            auto s = fx.server->metrics();
            auto p = proxy.metrics();
            (void)s.to_json().dump();
            (void)p.to_json().dump();
            if (s.messages_in < lastServer || p.messages_in < lastProxy) monotonic = false;
            lastServer = s.messages_in;
            lastProxy = p.messages_in;
            ++snapshots;
        }
    });
    RpcClient client(reqClientOptions({proxy.input_endpoint()}, 2000ms));
    for (int i = 0; i < 100; ++i)
        QCOMPARE(client.invoke("add", {{"a", i}, {"b", 0}}), json(i));
    done = true;
    reader.join();
    QVERIFY(snapshots.load() > 10);
    QVERIFY(monotonic.load());
    QCOMPARE(fx.server->metrics().messages_in, std::uint64_t{100});
    QVERIFY(waitUntil([&] { return proxy.metrics().queue.delivered == 100; }));
}

void TestMetrics::lastMessageAgeGrowsWhileIdle() {
    Sender sender(pubSenderOptions());
    ServerFixture fx(subServerOptions({sender.pub_endpoint()}));
    QVERIFY(waitForSubscribers(sender));
    // Every bound below is causal: the age counts from when the message was heard, which is
    // after it was sent; between two snapshots it grows by the time between them (each age is
    // truncated to whole milliseconds: 1 ms of rounding).
    const auto published = Clock::now();
    sender.publish(encode_request("nothing"));
    QVERIFY(waitUntil([&] { return fx.log->size() == 1; }));
    auto first = *socketOf(fx.server->metrics(), "sub");
    const auto firstTaken = Clock::now();
    QVERIFY(first.ever_heard);
    QVERIFY2(first.last_message_age.count() <= msSince(published),
             qPrintable(QString::number(first.last_message_age.count())));
    std::this_thread::sleep_for(150ms);  // idle time: what is tested
    const auto secondTaking = Clock::now();
    auto second = *socketOf(fx.server->metrics(), "sub");
    const auto between =
        std::chrono::duration_cast<std::chrono::milliseconds>(secondTaking - firstTaken);
    QVERIFY2(second.last_message_age >= first.last_message_age + between - 1ms,
             qPrintable(QStringLiteral("%1 -> %2 ms, %3 ms apart")
                            .arg(first.last_message_age.count())
                            .arg(second.last_message_age.count())
                            .arg(between.count())));
    // A heartbeat resets it too.
    const auto beat = Clock::now();
    sender.send_heartbeat();
    QVERIFY(waitUntil([&] { return socketOf(fx.server->metrics(), "sub")->heartbeats_in == 1; }));
    auto third = *socketOf(fx.server->metrics(), "sub");
    QVERIFY2(third.last_message_age.count() <= msSince(beat),
             qPrintable(QString::number(third.last_message_age.count())));
}

void TestMetrics::toJsonHasKeys() {
    ServerFixture fx(repServerOptions());
    RpcClient client(reqClientOptions({fx.endpoint()}));
    client.invoke("add", {{"a", 1}, {"b", 1}});
    const json j = fx.server->metrics().to_json();
    QVERIFY(j.is_object());
    for (const char* key :
         {"name", "kind", "running", "messages_in", "bytes_in", "messages_out", "bytes_out",
          "errors", "bad_messages", "requests_failed", "has_queue", "queue", "sockets"}) {
        QVERIFY2(j.contains(key), key);
    }
    QCOMPARE(j.at("name"), json("server"));
    QCOMPARE(j.at("running"), json(true));
    QVERIFY(j.at("sockets").is_array());
    QCOMPARE(j.at("sockets").size(), std::size_t{1});
    const json& s = j.at("sockets").at(0);
    for (const char* key :
         {"role", "endpoint", "connection", "peers", "messages_in", "bytes_in", "messages_out",
          "bytes_out", "heartbeats_in", "heartbeats_out", "recreates", "credentials_refused",
          "heartbeat", "last_message_age_ms", "ever_heard"}) {
        QVERIFY2(s.contains(key), key);
    }
    QCOMPARE(s.at("role"), json("rep"));
    QCOMPARE(s.at("endpoint"), json(fx.endpoint()));
    QVERIFY(s.at("connection").is_string());
    QVERIFY(
        waitUntil([&] { return fx.server->metrics().to_json().at("messages_out") == json(1); }));

    ProxyOptions proxyOptions;
    proxyOptions.input.rep_bind = kAnyTcp;
    proxyOptions.output.pub_bind = kAnyTcp;
    proxyOptions.queue_capacity = 42;
    Proxy proxy(ProxyKind::Rep2Pub, proxyOptions);
    const json p = proxy.metrics().to_json();
    QCOMPARE(p.at("has_queue"), json(true));
    for (const char* key : {"capacity", "fill", "high_water", "received", "delivered", "dropped"}) {
        QVERIFY2(p.at("queue").contains(key), key);
    }
    QCOMPARE(p.at("queue").at("capacity"), json(42));
    QCOMPARE(p.at("running"), json(false));
}

void TestMetrics::namesAndKinds() {
    ServerFixture fx(repServerOptions(kAnyTcp, "my-server"));
    QCOMPARE(fx.server->metrics().name, std::string("my-server"));
    QCOMPARE(fx.server->metrics().kind, std::string("rpc-server"));
    QVERIFY(fx.server->metrics().running);
    QVERIFY(!fx.server->metrics().has_queue);
    ReceiverOptions options;
    options.rep_bind = kAnyTcp;
    Receiver receiver(options, [](std::string_view, Origin) { return std::string(); });
    QCOMPARE(receiver.metrics().kind, std::string("receiver"));
    QVERIFY(!receiver.metrics().running);
    receiver.start();
    QVERIFY(receiver.metrics().running);
    receiver.stop();
    QVERIFY(!receiver.metrics().running);
    Sender sender(pubSenderOptions(kAnyTcp, "my-sender"));
    QCOMPARE(sender.metrics().kind, std::string("sender"));
    QCOMPARE(sender.metrics().name, std::string("my-sender"));
    for (auto [kind, text] : {std::pair{ProxyKind::Sub2Pub, "proxy:sub2pub"},
                              std::pair{ProxyKind::BufferedRep2Req, "proxy:buffered-rep2req"}}) {
        ProxyOptions po;
        if (kind == ProxyKind::Sub2Pub) {
            po.input.sub_connect = {deadTcpEndpoint()};
            po.output.pub_bind = kAnyTcp;
        } else {
            po.input.rep_bind = kAnyTcp;
            po.output.req_connect = {deadTcpEndpoint()};
        }
        Proxy proxy(kind, po);
        QCOMPARE(proxy.metrics().kind, std::string(text));
    }
}

QTEST_GUILESS_MAIN(TestMetrics)
#include "tst_metrics.moc"
