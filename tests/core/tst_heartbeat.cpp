// Component tests of heartbeat supervision (seed 1.5.0: per-SUB-socket timeouts): heartbeats keep
// sockets alive and never reach a handler, silence recreates exactly that socket on time, messages
// flow again afterwards, and a heartbeat over REQ/REP gets this project's 200 OK.
#include "testutil.hpp"

using namespace testutil;
using namespace zmqrpc;

namespace {

// A receiver that counts handler calls and keeps the messages.
struct CountingReceiver {
    std::shared_ptr<CallLog> log = std::make_shared<CallLog>();
    std::unique_ptr<Receiver> receiver;

    explicit CountingReceiver(ReceiverOptions options) {
        auto l = log;
        receiver = std::make_unique<Receiver>(
            std::move(options), [l](std::string_view message, Origin origin) -> std::string {
                l->add(json{{"message", std::string(message)},
                            {"origin", origin == Origin::Rep ? "rep" : "sub"}});
                return encode_response(status::kOk, "OK", json("handled"));
            });
        receiver->start();
    }
    MetricsSnapshot metrics() const { return receiver->metrics(); }
    std::vector<std::string> messages() const {
        std::vector<std::string> out;
        for (const auto& c : log->snapshot())
            out.push_back(c.at("message").get<std::string>());
        return out;
    }
};

double msBetween(std::chrono::system_clock::time_point from,
                 std::chrono::system_clock::time_point to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
}

}  // namespace

class TestHeartbeat : public QObject {
    Q_OBJECT

  private slots:
    void heartbeatsKeepSocketsAlive();
    void silenceRecreatesOnlyThatSocket();
    void deadlineIsExact();
    void heartbeatsNeverReachHandler();
    void heartbeatTimeoutsInMetrics();
    void rpcServerIgnoresHeartbeats();
    void heartbeatOnRepIsAnswered200();
    void pubHeartbeatIntervalOfProxy();
};

void TestHeartbeat::heartbeatsKeepSocketsAlive() {
    Sender a(pubSenderOptions(kAnyTcp, "pub-a"));
    Sender b(pubSenderOptions(kAnyTcp, "pub-b"));
    EventRecorder events;
    ReceiverOptions options;
    options.name = "hb-receiver";
    options.events = events.bus();
    options.sub_connect = {{a.pub_endpoint(), 400ms}, {b.pub_endpoint(), 0ms}};
    options.default_heartbeat_timeout = 400ms;
    CountingReceiver rx(options);
    QVERIFY(a.wait_for_subscribers(1, 2000ms));
    QVERIFY(b.wait_for_subscribers(1, 2000ms));

    const auto until = Clock::now() + 1200ms;
    int sent = 0;
    while (Clock::now() < until) {
        a.send_heartbeat();
        b.send_heartbeat();
        ++sent;
        std::this_thread::sleep_for(100ms);
    }
    QVERIFY(waitUntil([&] {
        auto m = rx.metrics();
        return socketOf(m, "sub", 0)->heartbeats_in >= std::uint64_t(sent - 1) &&
               socketOf(m, "sub", 1)->heartbeats_in >= std::uint64_t(sent - 1);
    }));
    auto m = rx.metrics();
    for (std::size_t i = 0; i < 2; ++i) {
        auto s = socketOf(m, "sub", i);
        QVERIFY(s);
        QCOMPARE(s->recreates, std::uint64_t{0});
        QCOMPARE(s->heartbeat, HeartbeatState::Alive);
        QVERIFY(s->ever_heard);
        QVERIFY2(s->last_message_age < 200ms,
                 qPrintable(QString::number(s->last_message_age.count())));
    }
    QCOMPARE(rx.log->size(), std::size_t{0});
    QCOMPARE(events.count(EventKind::SocketRecreated), std::size_t{0});
    QCOMPARE(events.count(EventKind::HeartbeatLost), std::size_t{0});
    // Heartbeats are not messages.
    QCOMPARE(m.messages_in, std::uint64_t{0});
    QCOMPARE(a.metrics().sockets.front().heartbeats_out, std::uint64_t(sent));
}

void TestHeartbeat::silenceRecreatesOnlyThatSocket() {
    Sender a(pubSenderOptions(kAnyTcp, "pub-a"));
    Sender b(pubSenderOptions(kAnyTcp, "pub-b"));
    EventRecorder events;
    ReceiverOptions options;
    options.name = "hb-receiver";
    options.events = events.bus();
    // a: its own 400 ms; b: the default (0 = use default_heartbeat_timeout).
    options.sub_connect = {{a.pub_endpoint(), 400ms}, {b.pub_endpoint(), 0ms}};
    options.default_heartbeat_timeout = 800ms;
    CountingReceiver rx(options);
    QVERIFY(a.wait_for_subscribers(1, 2000ms));
    QVERIFY(b.wait_for_subscribers(1, 2000ms));
    a.send_heartbeat();
    b.send_heartbeat();

    // a falls silent; b keeps heartbeating every 100 ms. Wait for a's socket to be recreated.
    std::optional<Event> recreated;
    std::optional<Event> lost;
    const auto give_up = Clock::now() + 2000ms;
    while (!recreated && Clock::now() < give_up) {
        b.send_heartbeat();
        recreated = events.waitFor(EventKind::SocketRecreated, 100ms, a.pub_endpoint());
    }
    QVERIFY2(recreated, qPrintable(events.dump()));
    lost = events.waitFor(EventKind::HeartbeatLost, 0ms, a.pub_endpoint());
    QVERIFY2(lost, qPrintable(events.dump()));
    QVERIFY(lost->time <= recreated->time);
    {
        auto m = rx.metrics();
        QVERIFY(socketOf(m, "sub", 0)->recreates >= 1);
        QCOMPARE(socketOf(m, "sub", 0)->heartbeat, HeartbeatState::Dead);
    }

    // Recovery: what a sends now arrives (the new socket reconnects and resubscribes).
    const std::string message = encode_request("after", {{"n", 1}});
    QVERIFY2(sendUntil([&] { a.publish(message); }, [&] { return rx.log->size() >= 1; }, 3000ms),
             qPrintable(events.dump()));
    QCOMPARE(rx.messages().front(), message);
    QCOMPARE(rx.log->snapshot().front().at("origin"), json("sub"));
    auto recovered = events.waitFor(EventKind::HeartbeatRecovered, 1000ms, a.pub_endpoint());
    QVERIFY2(recovered, qPrintable(events.dump()));
    QCOMPARE(socketOf(rx.metrics(), "sub", 0)->heartbeat, HeartbeatState::Alive);

    // b was never affected.
    b.send_heartbeat();
    auto m = rx.metrics();
    QCOMPARE(socketOf(m, "sub", 1)->recreates, std::uint64_t{0});
    QCOMPARE(socketOf(m, "sub", 1)->heartbeat, HeartbeatState::Alive);
    QCOMPARE(events.count(EventKind::SocketRecreated, b.pub_endpoint()), std::size_t{0});
    QCOMPARE(events.count(EventKind::HeartbeatLost, b.pub_endpoint()), std::size_t{0});
}

void TestHeartbeat::deadlineIsExact() {
    const auto T = 300ms;
    Sender a(pubSenderOptions());
    EventRecorder events;
    ReceiverOptions options;
    options.name = "exact";
    options.events = events.bus();
    options.sub_connect = {{a.pub_endpoint(), T}};
    CountingReceiver rx(options);
    QVERIFY(a.wait_for_subscribers(1, 2000ms));

    auto heartbeatsIn = [&] { return socketOf(rx.metrics(), "sub")->heartbeats_in; };
    // Establish: heartbeats until a few arrived.
    QVERIFY(
        sendUntil([&] { a.send_heartbeat(); }, [&] { return heartbeatsIn() >= 3; }, 2000ms, 20ms));
    const auto before = heartbeatsIn();
    events.clear();
    const auto sentAt = std::chrono::system_clock::now();
    a.send_heartbeat();
    QVERIFY(waitUntil([&] { return heartbeatsIn() > before; }, 200ms, 1ms));

    auto late = events.waitFor(EventKind::HeartbeatLate, 1000ms, a.pub_endpoint());
    auto recreated = events.waitFor(EventKind::SocketRecreated, 1000ms, a.pub_endpoint());
    QVERIFY2(late && recreated, qPrintable(events.dump()));
    const double lateMs = msBetween(sentAt, late->time);
    const double recreatedMs = msBetween(sentAt, recreated->time);
    QVERIFY2(lateMs >= static_cast<double>(T.count()) / 2.0 &&
                 lateMs < static_cast<double>(T.count()) / 2.0 + slackMs(50),
             qPrintable(QStringLiteral("late after %1 ms").arg(lateMs)));
    QVERIFY2(recreatedMs >= static_cast<double>(T.count()) &&
                 recreatedMs < static_cast<double>(T.count()) + slackMs(50),
             qPrintable(QStringLiteral("recreated after %1 ms").arg(recreatedMs)));

    // Still silent: the next recreate follows one timeout later.
    events.clear();
    auto again = events.waitFor(EventKind::SocketRecreated, 1000ms, a.pub_endpoint());
    QVERIFY(again);
    const double againMs = msBetween(recreated->time, again->time);
    QVERIFY2(againMs >= static_cast<double>(T.count() - 1) &&
                 againMs < static_cast<double>(T.count()) + slackMs(50),
             qPrintable(QStringLiteral("second recreate after %1 ms").arg(againMs)));
    QCOMPARE(socketOf(rx.metrics(), "sub")->heartbeat, HeartbeatState::Dead);
    QVERIFY(socketOf(rx.metrics(), "sub")->recreates >= 2);
}

void TestHeartbeat::heartbeatsNeverReachHandler() {
    Sender a(pubSenderOptions());
    ReceiverOptions options;
    options.name = "mixed";
    options.sub_connect = {{a.pub_endpoint(), 2000ms}};
    CountingReceiver rx(options);
    QVERIFY(waitForSubscribers(a));
    for (int i = 0; i < 5; ++i) {
        a.send_heartbeat();
        a.publish("message " + std::to_string(i));
    }
    QVERIFY(waitUntil([&] { return rx.log->size() == 5; }));
    QVERIFY(waitUntil([&] { return socketOf(rx.metrics(), "sub")->heartbeats_in == 5; }));
    std::this_thread::sleep_for(50ms);
    QCOMPARE(rx.log->size(), std::size_t{5});
    auto messages = rx.messages();
    for (int i = 0; i < 5; ++i)
        QCOMPARE(messages[i], "message " + std::to_string(i));
    auto m = rx.metrics();
    QCOMPARE(m.messages_in, std::uint64_t{5});
    QCOMPARE(socketOf(m, "sub")->messages_in, std::uint64_t{5});
}

void TestHeartbeat::heartbeatTimeoutsInMetrics() {
    ReceiverOptions options;
    options.name = "timeouts";
    options.sub_connect = {{deadTcpEndpoint(), 400ms}, {deadTcpEndpoint(), 0ms}};
    options.default_heartbeat_timeout = 5s;
    CountingReceiver rx(options);
    auto m = rx.metrics();
    QCOMPARE(m.sockets.size(), std::size_t{2});
    QCOMPARE(socketOf(m, "sub", 0)->heartbeat_timeout, 400ms);
    QCOMPARE(socketOf(m, "sub", 1)->heartbeat_timeout, 5000ms);
    QCOMPARE(socketOf(m, "sub", 0)->heartbeat, HeartbeatState::Alive);
    QVERIFY(!socketOf(m, "sub", 0)->ever_heard);

    // Zero default and zero per-endpoint: unsupervised.
    ReceiverOptions off;
    off.name = "unsupervised";
    off.sub_connect = {deadTcpEndpoint()};
    off.default_heartbeat_timeout = 0ms;
    CountingReceiver rx2(off);
    QCOMPARE(socketOf(rx2.metrics(), "sub")->heartbeat, HeartbeatState::Unmonitored);
    QCOMPARE(socketOf(rx2.metrics(), "sub")->heartbeat_timeout, 0ms);
}

void TestHeartbeat::rpcServerIgnoresHeartbeats() {
    // Seed 1.5.1: "Fixed heartbeat reception in ZmqRpcServer": a heartbeat is not a call.
    Sender a(pubSenderOptions());
    EventRecorder events;
    auto log = std::make_shared<CallLog>();
    auto options = subServerOptions({{a.pub_endpoint(), 1000ms}});
    options.events = events.bus();
    RpcServer server(options, standardFunctions(log));
    server.start();
    QVERIFY(waitForSubscribers(a));
    for (int i = 0; i < 3; ++i)
        a.send_heartbeat();
    a.publish(encode_request("add", {{"a", 1}, {"b", 2}}));
    QVERIFY(waitUntil([&] { return log->size() == 1; }));
    QVERIFY(waitUntil([&] { return socketOf(server.metrics(), "sub")->heartbeats_in == 3; }));
    auto m = server.metrics();
    QCOMPARE(m.bad_messages, std::uint64_t{0});
    QCOMPARE(m.errors, std::uint64_t{0});
    QCOMPARE(events.count(EventKind::BadMessage), std::size_t{0});
}

void TestHeartbeat::heartbeatOnRepIsAnswered200() {
    ReceiverOptions options;
    options.name = "rep-hb";
    options.rep_bind = kAnyTcp;
    CountingReceiver rx(options);
    Sender sender(reqSenderOptions({rx.receiver->rep_endpoint()}, 1000ms));

    const std::string reply = sender.request(kHeartbeat);
    auto response = decode_response(reply);
    QCOMPARE(response.status_code, 200);
    QCOMPARE(response.status_message, std::string("OK"));
    QVERIFY(!response.response_message.has_value());
    QCOMPARE(reply, std::string(R"({"status_code": 200, "status_message": "OK"})"));
    QCOMPARE(rx.log->size(), std::size_t{0});

    // send_heartbeat(over_req) waits for that answer and does not disturb the REQ socket.
    sender.send_heartbeat(true);
    auto req = socketOf(sender.metrics(), "req");
    QCOMPARE(req->recreates, std::uint64_t{0});
    QCOMPARE(sender.metrics().requests_failed, std::uint64_t{0});

    // A real message after the heartbeats reaches the handler.
    auto handled = decode_response(sender.request("payload"));
    QCOMPARE(handled.response_message.value_or(json()), json("handled"));
    QCOMPARE(rx.log->size(), std::size_t{1});
    QCOMPARE(socketOf(rx.metrics(), "rep")->heartbeats_in, std::uint64_t{2});
}

void TestHeartbeat::pubHeartbeatIntervalOfProxy() {
    // A Sub2Pub proxy with pub_heartbeat_interval keeps a downstream supervised receiver alive
    // even when no data flows.
    Sender source(pubSenderOptions());
    ProxyOptions proxyOptions;
    proxyOptions.name = "hb-proxy";
    proxyOptions.input.sub_connect = {source.pub_endpoint()};
    proxyOptions.output.pub_bind = kAnyTcp;
    proxyOptions.output.pub_heartbeat_interval = 50ms;
    Proxy proxy(ProxyKind::Sub2Pub, proxyOptions);
    proxy.start();

    EventRecorder events;
    ReceiverOptions options;
    options.name = "downstream";
    options.events = events.bus();
    options.sub_connect = {{proxy.output_endpoint(), 300ms}};
    CountingReceiver rx(options);
    QVERIFY(waitUntil([&] { return socketOf(rx.metrics(), "sub")->heartbeats_in >= 1; }));
    std::this_thread::sleep_for(800ms);
    auto s = *socketOf(rx.metrics(), "sub");
    QCOMPARE(s.recreates, std::uint64_t{0});
    QVERIFY2(s.heartbeats_in >= 10, qPrintable(QString::number(s.heartbeats_in)));
    QCOMPARE(rx.log->size(), std::size_t{0});
}

QTEST_GUILESS_MAIN(TestHeartbeat)
#include "tst_heartbeat.moc"
