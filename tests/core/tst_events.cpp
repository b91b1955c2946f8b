// EventBus fan-out, bounded subscriptions (drop oldest, count drops), pop timeouts, concurrent
// publishers; the state names of events and metrics, and MetricsSnapshot::to_json().
#include <QtTest>

#include "zmqrpc/events.hpp"
#include "zmqrpc/metrics.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using zmqrpc::Event;
using zmqrpc::EventBus;
using zmqrpc::EventKind;

Q_DECLARE_METATYPE(zmqrpc::EventKind)
Q_DECLARE_METATYPE(zmqrpc::HeartbeatState)
Q_DECLARE_METATYPE(zmqrpc::ConnectionState)

namespace {

QByteArray bytes(const std::string& s) {
    return QByteArray(s.data(), static_cast<qsizetype>(s.size()));
}

void publish_numbered(EventBus& bus, int from, int to) {
    for (int i = from; i < to; ++i) {
        bus.publish("test", EventKind::Error, "tcp://127.0.0.1:1", std::to_string(i));
    }
}

}  // namespace

class TestEvents : public QObject {
    Q_OBJECT

  private slots:
    void eventKindNames_data();
    void eventKindNames();
    void heartbeatStateNames_data();
    void heartbeatStateNames();
    void connectionStateNames_data();
    void connectionStateNames();

    void twoSubscribersGetEveryEventInOrder();
    void publishStampsTime();
    void overflowDropsOldestAndCounts();
    void zeroCapacityDropsEverything();
    void tryPopAndDrainOnEmpty();
    void popTimeoutIsBounded();
    void popWakesOnPublish();
    void unsubscribeStopsDelivery();
    void busHoldsSubscriptionsWeakly();
    void concurrentPublishFromFourThreads();

    void metricsToJson();
    void metricsToJsonEmpty();
};

void TestEvents::eventKindNames_data() {
    QTest::addColumn<EventKind>("kind");
    QTest::addColumn<QByteArray>("name");
    const std::pair<EventKind, const char*> names[] = {
        {EventKind::Started, "started"},
        {EventKind::Stopped, "stopped"},
        {EventKind::Listening, "listening"},
        {EventKind::Accepted, "accepted"},
        {EventKind::Connected, "connected"},
        {EventKind::ConnectRetried, "connect-retried"},
        {EventKind::Disconnected, "disconnected"},
        {EventKind::HandshakeSucceeded, "handshake-succeeded"},
        {EventKind::CredentialsRefused, "credentials-refused"},
        {EventKind::HandshakeFailed, "handshake-failed"},
        {EventKind::HeartbeatLate, "heartbeat-late"},
        {EventKind::HeartbeatLost, "heartbeat-lost"},
        {EventKind::HeartbeatRecovered, "heartbeat-recovered"},
        {EventKind::SocketRecreated, "socket-recreated"},
        {EventKind::QueueFull, "queue-full"},
        {EventKind::QueueDrained, "queue-drained"},
        {EventKind::StoreError, "store-error"},
        {EventKind::RequestFailed, "request-failed"},
        {EventKind::BadMessage, "bad-message"},
        {EventKind::Error, "error"},
    };
    for (const auto& [kind, name] : names)
        QTest::newRow(name) << kind << QByteArray(name);
}

void TestEvents::eventKindNames() {
    QFETCH(EventKind, kind);
    QFETCH(QByteArray, name);
    QCOMPARE(QByteArray(zmqrpc::to_string(kind)), name);
}

void TestEvents::heartbeatStateNames_data() {
    QTest::addColumn<zmqrpc::HeartbeatState>("state");
    QTest::addColumn<QByteArray>("name");
    QTest::newRow("unmonitored") << zmqrpc::HeartbeatState::Unmonitored
                                 << QByteArray("unmonitored");
    QTest::newRow("alive") << zmqrpc::HeartbeatState::Alive << QByteArray("alive");
    QTest::newRow("late") << zmqrpc::HeartbeatState::Late << QByteArray("late");
    QTest::newRow("dead") << zmqrpc::HeartbeatState::Dead << QByteArray("dead");
}

void TestEvents::heartbeatStateNames() {
    QFETCH(zmqrpc::HeartbeatState, state);
    QFETCH(QByteArray, name);
    QCOMPARE(QByteArray(zmqrpc::to_string(state)), name);
}

void TestEvents::connectionStateNames_data() {
    using S = zmqrpc::ConnectionState;
    QTest::addColumn<S>("state");
    QTest::addColumn<QByteArray>("name");
    QTest::newRow("idle") << S::Idle << QByteArray("idle");
    QTest::newRow("listening") << S::Listening << QByteArray("listening");
    QTest::newRow("connecting") << S::Connecting << QByteArray("connecting");
    QTest::newRow("connected") << S::Connected << QByteArray("connected");
    QTest::newRow("disconnected") << S::Disconnected << QByteArray("disconnected");
    QTest::newRow("credentials-refused")
        << S::CredentialsRefused << QByteArray("credentials-refused");
    QTest::newRow("handshake-failed") << S::HandshakeFailed << QByteArray("handshake-failed");
}

void TestEvents::connectionStateNames() {
    QFETCH(zmqrpc::ConnectionState, state);
    QFETCH(QByteArray, name);
    QCOMPARE(QByteArray(zmqrpc::to_string(state)), name);
}

void TestEvents::twoSubscribersGetEveryEventInOrder() {
    EventBus bus;
    auto a = bus.subscribe(100);
    auto b = bus.subscribe(100);
    QCOMPARE(a->capacity(), std::size_t{100});
    bus.publish("server", EventKind::Listening, "tcp://0.0.0.0:5555", "bound");
    publish_numbered(bus, 0, 10);

    for (const auto& subscription : {a, b}) {
        const auto first = subscription->try_pop();
        QVERIFY(first.has_value());
        QCOMPARE(bytes(first->source), QByteArray("server"));
        QCOMPARE(first->kind, EventKind::Listening);
        QCOMPARE(bytes(first->endpoint), QByteArray("tcp://0.0.0.0:5555"));
        QCOMPARE(bytes(first->text), QByteArray("bound"));
        const std::vector<Event> rest = subscription->drain();
        QCOMPARE(rest.size(), std::size_t{10});
        for (int i = 0; i < 10; ++i) {
            QCOMPARE(rest[static_cast<std::size_t>(i)].text, std::to_string(i));
        }
        QCOMPARE(subscription->dropped(), std::uint64_t{0});
        QVERIFY(!subscription->try_pop().has_value());
    }
    // The default capacity.
    QCOMPARE(bus.subscribe()->capacity(), std::size_t{10000});
}

void TestEvents::publishStampsTime() {
    EventBus bus;
    auto subscription = bus.subscribe(10);
    const auto before = std::chrono::system_clock::now();
    bus.publish("x", EventKind::Started, "", "up");
    Event unstamped;
    unstamped.kind = EventKind::Stopped;
    bus.publish(unstamped);
    const auto after = std::chrono::system_clock::now();
    Event stamped;
    stamped.time = std::chrono::system_clock::time_point(std::chrono::seconds(1000));
    bus.publish(stamped);

    const auto events = subscription->drain();
    QCOMPARE(events.size(), std::size_t{3});
    for (std::size_t i = 0; i < 2; ++i) {
        QVERIFY(events[i].time >= before);
        QVERIFY(events[i].time <= after);
    }
    QCOMPARE(events[1].kind, EventKind::Stopped);
    QVERIFY(events[2].time == stamped.time);  // an explicit time is kept
}

void TestEvents::overflowDropsOldestAndCounts() {
    EventBus bus;
    auto small = bus.subscribe(3);
    auto large = bus.subscribe(1000);
    publish_numbered(bus, 0, 10);  // never blocks, although nobody reads

    QCOMPARE(small->dropped(), std::uint64_t{7});
    const auto kept = small->drain();
    QCOMPARE(kept.size(), std::size_t{3});
    QCOMPARE(kept[0].text, std::string("7"));  // the oldest went first
    QCOMPARE(kept[1].text, std::string("8"));
    QCOMPARE(kept[2].text, std::string("9"));

    // The other subscriber is unaffected.
    QCOMPARE(large->dropped(), std::uint64_t{0});
    QCOMPARE(large->drain().size(), std::size_t{10});

    // Drops keep counting; a drained subscription has room again.
    publish_numbered(bus, 10, 12);
    QCOMPARE(small->dropped(), std::uint64_t{7});
    publish_numbered(bus, 12, 14);
    QCOMPARE(small->dropped(), std::uint64_t{8});
    const auto next = small->try_pop();
    QVERIFY(next.has_value());
    QCOMPARE(next->text, std::string("11"));
}

void TestEvents::zeroCapacityDropsEverything() {
    EventBus bus;
    auto none = bus.subscribe(0);
    publish_numbered(bus, 0, 5);
    QCOMPARE(none->dropped(), std::uint64_t{5});
    QVERIFY(!none->try_pop().has_value());
    QVERIFY(!none->pop(0ms).has_value());
}

void TestEvents::tryPopAndDrainOnEmpty() {
    zmqrpc::EventSubscription subscription(5);
    QVERIFY(!subscription.try_pop().has_value());
    QVERIFY(subscription.drain().empty());
    QCOMPARE(subscription.dropped(), std::uint64_t{0});
    QCOMPARE(subscription.capacity(), std::size_t{5});
}

void TestEvents::popTimeoutIsBounded() {
    EventBus bus;
    auto subscription = bus.subscribe(10);
    QElapsedTimer timer;
    timer.start();
    QVERIFY(!subscription->pop(100ms).has_value());
    const qint64 waited = timer.elapsed();
    QVERIFY2(waited >= 90, qPrintable(QString::number(waited)));
    QVERIFY2(waited < 3000, qPrintable(QString::number(waited)));

    timer.restart();
    QVERIFY(!subscription->pop(0ms).has_value());
    QVERIFY(!subscription->pop(-5ms).has_value());
    QVERIFY(timer.elapsed() < 1000);

    // An event already queued is returned at once, even with a long timeout.
    publish_numbered(bus, 0, 1);
    timer.restart();
    const auto event = subscription->pop(10s);
    QVERIFY(event.has_value());
    QCOMPARE(event->text, std::string("0"));
    QVERIFY(timer.elapsed() < 1000);
}

void TestEvents::popWakesOnPublish() {
    EventBus bus;
    auto subscription = bus.subscribe(10);
    std::thread publisher([&bus] {
        std::this_thread::sleep_for(50ms);
        publish_numbered(bus, 0, 1);
    });
    QElapsedTimer timer;
    timer.start();
    const auto event = subscription->pop(10s);
    const qint64 waited = timer.elapsed();
    publisher.join();
    QVERIFY(event.has_value());
    QCOMPARE(event->text, std::string("0"));
    QVERIFY2(waited < 5000, qPrintable(QString::number(waited)));  // woken, not timed out
}

void TestEvents::unsubscribeStopsDelivery() {
    EventBus bus;
    auto a = bus.subscribe(10);
    auto b = bus.subscribe(10);
    bus.unsubscribe(a);
    publish_numbered(bus, 0, 3);
    QVERIFY(!a->try_pop().has_value());
    QCOMPARE(b->drain().size(), std::size_t{3});
    bus.unsubscribe(a);  // twice is harmless
    bus.unsubscribe(nullptr);
    bus.unsubscribe(std::make_shared<zmqrpc::EventSubscription>(1));  // never subscribed
    publish_numbered(bus, 3, 4);
    QCOMPARE(b->drain().size(), std::size_t{1});
}

void TestEvents::busHoldsSubscriptionsWeakly() {
    EventBus bus;
    auto subscription = bus.subscribe(10);
    std::weak_ptr<zmqrpc::EventSubscription> weak = subscription;
    subscription.reset();
    QVERIFY(weak.expired());      // the bus does not keep a subscription alive
    publish_numbered(bus, 0, 3);  // and publishing past a dead one is fine
    auto other = bus.subscribe(10);
    publish_numbered(bus, 3, 5);
    QCOMPARE(other->drain().size(), std::size_t{2});
}

void TestEvents::concurrentPublishFromFourThreads() {
    constexpr int kThreads = 4;
    constexpr int kPerThread = 2000;
    constexpr std::size_t kTotal = kThreads * kPerThread;
    EventBus bus;
    auto all = bus.subscribe(kTotal);
    auto small = bus.subscribe(64);
    auto live = bus.subscribe(kTotal);

    // A reader consuming while the publishers run.
    std::atomic<bool> publishing{true};
    std::size_t read_live = 0;
    std::thread reader([&] {
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (live->pop(20ms)) {
                ++read_live;
            } else if (!publishing.load()) {
                break;
            }
        }
    });

    std::vector<std::thread> publishers;
    for (int t = 0; t < kThreads; ++t) {
        publishers.emplace_back([&bus, t] {
            for (int i = 0; i < kPerThread; ++i) {
                bus.publish("thread-" + std::to_string(t), EventKind::Error, "", std::to_string(i));
            }
        });
    }
    for (auto& thread : publishers)
        thread.join();
    publishing = false;
    reader.join();

    // Everything arrived, nothing dropped, each publisher's events in its own order.
    const auto events = all->drain();
    QCOMPARE(events.size(), kTotal);
    QCOMPARE(all->dropped(), std::uint64_t{0});
    std::map<std::string, int> next;
    for (const auto& event : events) {
        int& expected = next[event.source];
        QCOMPARE(event.text, std::to_string(expected));
        ++expected;
    }
    QCOMPARE(next.size(), std::size_t{kThreads});
    for (const auto& [source, count] : next)
        QCOMPARE(count, kPerThread);

    // The small one kept the newest 64 and counted the rest.
    QCOMPARE(small->drain().size(), std::size_t{64});
    QCOMPARE(small->dropped(), std::uint64_t{kTotal - 64});

    // The concurrent reader saw every event (none dropped with that capacity).
    QCOMPARE(read_live + live->drain().size(), kTotal);
    QCOMPARE(live->dropped(), std::uint64_t{0});
}

void TestEvents::metricsToJson() {
    zmqrpc::MetricsSnapshot snapshot;
    snapshot.name = "proxy-1";
    snapshot.kind = "proxy:sub2req";
    snapshot.running = true;
    snapshot.messages_in = 10;
    snapshot.bytes_in = 1000;
    snapshot.messages_out = 9;
    snapshot.bytes_out = 900;
    snapshot.errors = 1;
    snapshot.bad_messages = 2;
    snapshot.requests_failed = 3;
    snapshot.has_queue = true;
    snapshot.queue = {100, 4, 50, 20, 15, 1};

    zmqrpc::SocketSnapshot sub;
    sub.role = "sub";
    sub.endpoint = "tcp://127.0.0.1:5555";
    sub.connection = zmqrpc::ConnectionState::CredentialsRefused;
    sub.peers = 1;
    sub.messages_in = 11;
    sub.bytes_in = 12;
    sub.messages_out = 13;
    sub.bytes_out = 14;
    sub.heartbeats_in = 15;
    sub.heartbeats_out = 16;
    sub.connects = 17;
    sub.disconnects = 18;
    sub.connect_retries = 19;
    sub.credentials_refused = 20;
    sub.handshake_failures = 21;
    sub.recreates = 22;
    sub.errors = 23;
    sub.heartbeat = zmqrpc::HeartbeatState::Late;
    sub.heartbeat_timeout = std::chrono::milliseconds(60000);
    sub.last_message_age = std::chrono::milliseconds(31234);
    sub.ever_heard = true;
    snapshot.sockets.push_back(sub);
    zmqrpc::SocketSnapshot rep;
    rep.role = "rep";
    snapshot.sockets.push_back(rep);

    const nlohmann::json j = snapshot.to_json();
    QCOMPARE(j.at("name").get<std::string>(), std::string("proxy-1"));
    QCOMPARE(j.at("kind").get<std::string>(), std::string("proxy:sub2req"));
    QCOMPARE(j.at("running").get<bool>(), true);
    QCOMPARE(j.at("messages_in").get<std::uint64_t>(), std::uint64_t{10});
    QCOMPARE(j.at("bytes_in").get<std::uint64_t>(), std::uint64_t{1000});
    QCOMPARE(j.at("messages_out").get<std::uint64_t>(), std::uint64_t{9});
    QCOMPARE(j.at("bytes_out").get<std::uint64_t>(), std::uint64_t{900});
    QCOMPARE(j.at("errors").get<std::uint64_t>(), std::uint64_t{1});
    QCOMPARE(j.at("bad_messages").get<std::uint64_t>(), std::uint64_t{2});
    QCOMPARE(j.at("requests_failed").get<std::uint64_t>(), std::uint64_t{3});
    QCOMPARE(j.at("has_queue").get<bool>(), true);

    const auto& q = j.at("queue");
    QCOMPARE(q.at("capacity").get<std::uint64_t>(), std::uint64_t{100});
    QCOMPARE(q.at("fill").get<std::uint64_t>(), std::uint64_t{4});
    QCOMPARE(q.at("high_water").get<std::uint64_t>(), std::uint64_t{50});
    QCOMPARE(q.at("received").get<std::uint64_t>(), std::uint64_t{20});
    QCOMPARE(q.at("delivered").get<std::uint64_t>(), std::uint64_t{15});
    QCOMPARE(q.at("dropped").get<std::uint64_t>(), std::uint64_t{1});

    const auto& sockets = j.at("sockets");
    QVERIFY(sockets.is_array());
    QCOMPARE(sockets.size(), std::size_t{2});
    const auto& s = sockets.at(0);
    QCOMPARE(s.at("role").get<std::string>(), std::string("sub"));
    QCOMPARE(s.at("endpoint").get<std::string>(), std::string("tcp://127.0.0.1:5555"));
    QCOMPARE(s.at("connection").get<std::string>(), std::string("credentials-refused"));
    const char* counters[] = {"peers",
                              "messages_in",
                              "bytes_in",
                              "messages_out",
                              "bytes_out",
                              "heartbeats_in",
                              "heartbeats_out",
                              "connects",
                              "disconnects",
                              "connect_retries",
                              "credentials_refused",
                              "handshake_failures",
                              "recreates",
                              "errors"};
    std::uint64_t expected = 1;
    for (const char* counter : counters) {
        QVERIFY2(s.at(counter).is_number_unsigned(), counter);
        QCOMPARE(s.at(counter).get<std::uint64_t>(), expected);
        expected = expected == 1 ? 11 : expected + 1;
    }
    QCOMPARE(s.at("heartbeat").get<std::string>(), std::string("late"));
    QVERIFY(s.at("heartbeat_timeout_ms").is_number_integer());
    QCOMPARE(s.at("heartbeat_timeout_ms").get<std::int64_t>(), std::int64_t{60000});
    QVERIFY(s.at("last_message_age_ms").is_number_integer());
    QCOMPARE(s.at("last_message_age_ms").get<std::int64_t>(), std::int64_t{31234});
    QCOMPARE(s.at("ever_heard").get<bool>(), true);

    const auto& r = sockets.at(1);
    QCOMPARE(r.at("connection").get<std::string>(), std::string("idle"));
    QCOMPARE(r.at("heartbeat").get<std::string>(), std::string("unmonitored"));
    QCOMPARE(r.at("ever_heard").get<bool>(), false);
}

void TestEvents::metricsToJsonEmpty() {
    const nlohmann::json j = zmqrpc::MetricsSnapshot{}.to_json();
    QVERIFY(j.is_object());
    QCOMPARE(j.at("running").get<bool>(), false);
    QCOMPARE(j.at("has_queue").get<bool>(), false);
    QVERIFY(j.at("queue").is_object());
    QVERIFY(j.at("sockets").is_array());
    QVERIFY(j.at("sockets").empty());
}

QTEST_GUILESS_MAIN(TestEvents)
#include "tst_events.moc"
