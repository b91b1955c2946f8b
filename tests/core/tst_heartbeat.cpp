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
    // Both sockets are supervised with T = 800 ms: `a` by its own timeout, `b` by the default.
    // Heartbeats go out every 100 ms for 2.5 T. The pacing is causal: the next heartbeat goes
    // only once both receivers counted the last one, so nothing is in flight when we look, and
    // every count below is exact. A socket would be recreated only if a gap reached T, i.e. if
    // this thread were held up for 700 ms beyond its 100 ms pause (the widest gap is reported).
    const auto T = 800ms;
    Sender a(pubSenderOptions(kAnyTcp, "pub-a"));
    Sender b(pubSenderOptions(kAnyTcp, "pub-b"));
    EventRecorder events;
    ReceiverOptions options;
    options.name = "hb-receiver";
    options.events = events.bus();
    options.sub_connect = {{a.pub_endpoint(), T}, {b.pub_endpoint(), 0ms}};
    options.default_heartbeat_timeout = T;
    CountingReceiver rx(options);
    QVERIFY(a.wait_for_subscribers(1, 2000ms));
    QVERIFY(b.wait_for_subscribers(1, 2000ms));

    auto countedBoth = [&](std::uint64_t n) {
        auto m = rx.metrics();
        return socketOf(m, "sub", 0)->heartbeats_in == n &&
               socketOf(m, "sub", 1)->heartbeats_in == n;
    };
    const auto began = Clock::now();
    auto lastSent = began;
    std::int64_t widestGapMs = 0;
    std::uint64_t sent = 0;
    do {
        if (sent > 0) std::this_thread::sleep_for(100ms);
        const auto now = Clock::now();
        if (sent > 0)
            widestGapMs = std::max<std::int64_t>(
                widestGapMs,
                std::chrono::duration_cast<std::chrono::milliseconds>(now - lastSent).count());
        lastSent = now;
        a.send_heartbeat();
        b.send_heartbeat();
        ++sent;
        QVERIFY2(waitUntil([&] { return countedBoth(sent); }, 5000ms),
                 qPrintable(QStringLiteral("heartbeat %1 not counted on both sockets").arg(sent)));
    } while (Clock::now() - began < 5 * T / 2);

    auto m = rx.metrics();
    const auto sinceLastSent = msSince(lastSent);  // read after the snapshot: an upper bound
    const QString context = QStringLiteral("%1 heartbeats, widest gap between two %2 ms\n%3")
                                .arg(sent)
                                .arg(widestGapMs)
                                .arg(events.dump());
    for (std::size_t i = 0; i < 2; ++i) {
        auto s = socketOf(m, "sub", i);
        QVERIFY(s);
        QVERIFY2(s->recreates == 0, qPrintable(context));
        QVERIFY2(s->heartbeat == HeartbeatState::Alive, qPrintable(context));
        QCOMPARE(s->heartbeats_in, sent);
        QCOMPARE(s->messages_in, std::uint64_t{0});
        QVERIFY(s->ever_heard);
        // The age counts from the last heartbeat heard, which was sent after `lastSent`.
        QVERIFY2(s->last_message_age.count() <= sinceLastSent,
                 qPrintable(QStringLiteral("age %1 ms, last heartbeat sent %2 ms ago")
                                .arg(s->last_message_age.count())
                                .arg(sinceLastSent)));
    }
    QCOMPARE(rx.log->size(), std::size_t{0});
    QVERIFY2(events.count(EventKind::SocketRecreated) == 0, qPrintable(context));
    QVERIFY2(events.count(EventKind::HeartbeatLost) == 0, qPrintable(context));
    // Heartbeats are not messages.
    QCOMPARE(m.messages_in, std::uint64_t{0});
    QCOMPARE(a.metrics().sockets.front().heartbeats_out, sent);
    QCOMPARE(b.metrics().sockets.front().heartbeats_out, sent);
}

void TestHeartbeat::silenceRecreatesOnlyThatSocket() {
    Sender a(pubSenderOptions(kAnyTcp, "pub-a"));
    Sender b(pubSenderOptions(kAnyTcp, "pub-b"));
    EventRecorder events;
    ReceiverOptions options;
    options.name = "hb-receiver";
    options.events = events.bus();
    // a: its own 400 ms (the timeout under test: it is let run out); b: the default (0 = use
    // default_heartbeat_timeout), 5 s, which b's heartbeats every <= 100 ms never come near.
    options.sub_connect = {{a.pub_endpoint(), 400ms}, {b.pub_endpoint(), 0ms}};
    options.default_heartbeat_timeout = 5000ms;
    CountingReceiver rx(options);
    QVERIFY(a.wait_for_subscribers(1, 2000ms));
    QVERIFY(b.wait_for_subscribers(1, 2000ms));
    a.send_heartbeat();
    b.send_heartbeat();

    // a falls silent; b keeps heartbeating. Wait for a's socket to be recreated.
    std::optional<Event> recreated;
    std::optional<Event> lost;
    const auto give_up = Clock::now() + 5000ms;
    while (!recreated && Clock::now() < give_up) {
        b.send_heartbeat();
        recreated = events.waitFor(EventKind::SocketRecreated, 100ms, a.pub_endpoint());
    }
    QVERIFY2(recreated, qPrintable(events.dump()));
    // Lost is emitted before the socket is recreated, on the same thread.
    lost = events.waitFor(EventKind::HeartbeatLost, 0ms, a.pub_endpoint());
    QVERIFY2(lost, qPrintable(events.dump()));
    QVERIFY(lost->time <= recreated->time);
    {
        // A further recreate may follow every 400 ms while a stays silent: at least one.
        auto m = rx.metrics();
        QVERIFY(socketOf(m, "sub", 0)->recreates >= 1);
        QCOMPARE(socketOf(m, "sub", 0)->heartbeat, HeartbeatState::Dead);
    }

    // Recovery: what a sends now arrives (the new socket reconnects and resubscribes).
    const std::string message = encode_request("after", {{"n", 1}});
    QVERIFY2(sendUntil(
                 [&] {
                     a.publish(message);
                     b.send_heartbeat();
                 },
                 [&] { return rx.log->size() >= 1; }, 5000ms),
             qPrintable(events.dump()));
    QCOMPARE(rx.messages().front(), message);
    QCOMPARE(rx.log->snapshot().front().at("origin"), json("sub"));
    auto recovered = events.waitFor(EventKind::HeartbeatRecovered, 2000ms, a.pub_endpoint());
    QVERIFY2(recovered, qPrintable(events.dump()));
    // Alive while it hears (it turns late again 200 ms after a falls silent once more).
    QVERIFY2(
        sendUntil(
            [&] { a.send_heartbeat(); },
            [&] { return socketOf(rx.metrics(), "sub", 0)->heartbeat == HeartbeatState::Alive; },
            5000ms),
        qPrintable(events.dump()));

    // b was never affected.
    b.send_heartbeat();
    auto m = rx.metrics();
    QCOMPARE(socketOf(m, "sub", 1)->recreates, std::uint64_t{0});
    QCOMPARE(socketOf(m, "sub", 1)->heartbeat, HeartbeatState::Alive);
    QCOMPARE(events.count(EventKind::SocketRecreated, b.pub_endpoint()), std::size_t{0});
    QCOMPARE(events.count(EventKind::HeartbeatLost, b.pub_endpoint()), std::size_t{0});
    QCOMPARE(events.count(EventKind::HeartbeatLate, b.pub_endpoint()), std::size_t{0});
}

void TestHeartbeat::deadlineIsExact() {
    // One supervised socket, T = 400 ms. After its last heartbeat it must go late at T/2 and be
    // recreated at T, then again every T while silent. Never early: those lower bounds are exact
    // (actors round their poll timeouts up). Late by at most kWakeupSlackMs, one wake-up of the
    // receiver's thread on a loaded machine: that is all that lies between a deadline and its
    // event.
    const auto T = 400ms;
    const double t = static_cast<double>(T.count());
    Sender a(pubSenderOptions());
    EventRecorder events;
    ReceiverOptions options;
    options.name = "exact";
    options.events = events.bus();
    options.sub_connect = {{a.pub_endpoint(), T}};
    CountingReceiver rx(options);
    QVERIFY(a.wait_for_subscribers(1, 2000ms));

    auto heartbeatsIn = [&] { return socketOf(rx.metrics(), "sub")->heartbeats_in; };
    // The measurement starts from the heartbeat sent at `sentAt`. It is valid only if that
    // heartbeat was heard before the previous one's T/2 ran out: otherwise the late event may
    // count from the previous one. Counting is done on the receiver's thread after it reset its
    // deadlines, and events are published on that thread too, so "counted, and no late or
    // recovered event so far" proves it. A loaded machine can miss that; then measure again.
    std::chrono::system_clock::time_point sentAt;
    bool measured = false;
    for (int attempt = 0; attempt < 5 && !measured; ++attempt) {
        QVERIFY(sendUntil([&] { a.send_heartbeat(); }, [&] { return heartbeatsIn() >= 3; }, 5000ms,
                          20ms));
        const auto before = heartbeatsIn();
        events.clear();
        sentAt = std::chrono::system_clock::now();
        a.send_heartbeat();
        QVERIFY(waitUntil([&] { return heartbeatsIn() > before; }, 5000ms, 1ms));
        measured = events.count(EventKind::HeartbeatLate) == 0 &&
                   events.count(EventKind::HeartbeatRecovered) == 0;
    }
    QVERIFY2(measured, qPrintable(events.dump()));

    auto late = events.waitFor(EventKind::HeartbeatLate, 5000ms, a.pub_endpoint());
    auto recreated = events.waitFor(EventKind::SocketRecreated, 5000ms, a.pub_endpoint());
    QVERIFY2(late && recreated, qPrintable(events.dump()));
    const double lateMs = msBetween(sentAt, late->time);
    const double recreatedMs = msBetween(sentAt, recreated->time);
    QVERIFY2(lateMs >= t / 2 && lateMs < t / 2 + kWakeupSlackMs,
             qPrintable(QStringLiteral("late after %1 ms").arg(lateMs)));
    QVERIFY2(recreatedMs >= t && recreatedMs < t + kWakeupSlackMs,
             qPrintable(QStringLiteral("recreated after %1 ms").arg(recreatedMs)));
    QVERIFY(late->time <= recreated->time);

    // Still silent: the next recreate follows one timeout after the first one was due. The
    // first event is stamped a little after its deadline, so the interval between the two
    // events can be a little under T; measured from the heartbeat, it is at least 2 T exactly.
    events.clear();
    auto again = events.waitFor(EventKind::SocketRecreated, 5000ms, a.pub_endpoint());
    QVERIFY2(again, qPrintable(events.dump()));
    const double againMs = msBetween(sentAt, again->time);
    const double intervalMs = msBetween(recreated->time, again->time);
    QVERIFY2(againMs >= 2 * t && intervalMs < t + kWakeupSlackMs,
             qPrintable(QStringLiteral("second recreate after %1 ms, %2 ms after the first")
                            .arg(againMs)
                            .arg(intervalMs)));
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
    // One socket, one thread, in order: once the last message was handled, every heartbeat
    // before it was read too. Had one reached the handler, the log would hold more than five.
    QVERIFY(waitUntil([&] {
        auto messages = rx.messages();
        return !messages.empty() && messages.back() == "message 4";
    }));
    QCOMPARE(rx.log->size(), std::size_t{5});
    auto messages = rx.messages();
    for (int i = 0; i < 5; ++i)
        QCOMPARE(messages[i], "message " + std::to_string(i));
    auto m = rx.metrics();
    QCOMPARE(socketOf(m, "sub")->heartbeats_in, std::uint64_t{5});
    QCOMPARE(m.messages_in, std::uint64_t{5});
    QCOMPARE(socketOf(m, "sub")->messages_in, std::uint64_t{5});
}

void TestHeartbeat::heartbeatTimeoutsInMetrics() {
    ReceiverOptions options;
    options.name = "timeouts";
    // Timeouts long enough that the first look sees them alive even on a loaded machine.
    options.sub_connect = {{deadTcpEndpoint(), 4000ms}, {deadTcpEndpoint(), 0ms}};
    options.default_heartbeat_timeout = 5s;
    CountingReceiver rx(options);
    auto m = rx.metrics();
    QCOMPARE(m.sockets.size(), std::size_t{2});
    QCOMPARE(socketOf(m, "sub", 0)->heartbeat_timeout, 4000ms);
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
    const auto interval = 50ms;
    const auto timeout = 500ms;
    Sender source(pubSenderOptions());
    ProxyOptions proxyOptions;
    proxyOptions.name = "hb-proxy";
    proxyOptions.input.sub_connect = {source.pub_endpoint()};
    proxyOptions.output.pub_bind = kAnyTcp;
    proxyOptions.output.pub_heartbeat_interval = interval;
    const auto proxyStarting = Clock::now();
    Proxy proxy(ProxyKind::Sub2Pub, proxyOptions);
    proxy.start();

    EventRecorder events;
    ReceiverOptions options;
    options.name = "downstream";
    options.events = events.bus();
    options.sub_connect = {{proxy.output_endpoint(), timeout}};
    CountingReceiver rx(options);
    QVERIFY(waitUntil([&] { return socketOf(rx.metrics(), "sub")->heartbeats_in >= 1; }));
    const auto first = socketOf(rx.metrics(), "sub")->heartbeats_in;
    // The time passing is what is tested: 2.4 timeouts with nothing but the proxy's heartbeats.
    std::this_thread::sleep_for(1200ms);
    auto s = *socketOf(rx.metrics(), "sub");
    const auto elapsedMs = msSince(proxyStarting);  // read after the snapshot: an upper bound
    QVERIFY2(s.recreates == 0, qPrintable(events.dump()));
    QCOMPARE(events.count(EventKind::HeartbeatLost), std::size_t{0});
    QCOMPARE(rx.log->size(), std::size_t{0});
    // More kept coming. And never faster than the interval: the proxy's first heartbeat is due
    // one interval after it started, each next one an interval after the last.
    QVERIFY2(s.heartbeats_in >= first + 2,
             qPrintable(QStringLiteral("%1 -> %2").arg(first).arg(s.heartbeats_in)));
    QVERIFY2(s.heartbeats_in <= static_cast<std::uint64_t>(elapsedMs / interval.count()),
             qPrintable(
                 QStringLiteral("%1 heartbeats within %2 ms").arg(s.heartbeats_in).arg(elapsedMs)));
}

QTEST_GUILESS_MAIN(TestHeartbeat)
#include "tst_heartbeat.moc"
