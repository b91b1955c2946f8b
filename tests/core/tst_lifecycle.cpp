// Life cycle of every actor (Receiver, RpcServer, each Proxy kind): start/stop/join, a second
// start (throws ConfigError "already running", as actor.hpp/the lead specify), stop before start,
// destruction while running, stop within 200 ms, and restart on the same endpoint.
#include "testutil.hpp"

using namespace testutil;
using namespace zmqrpc;

namespace {

// One interface over the different actor classes.
struct ActorUnderTest {
    virtual ~ActorUnderTest() = default;
    virtual void start() = 0;
    virtual void stop() = 0;
    virtual void join() = 0;
    virtual bool running() const = 0;
    virtual std::string repEndpoint() const = 0;  // empty when the actor has no REP input
    virtual std::string pubEndpoint() const = 0;  // empty when the actor has no PUB output
    virtual MetricsSnapshot metrics() const = 0;
    // Messages its handler got (receivers); empty for the other kinds.
    std::shared_ptr<CallLog> handled;
};

template <class T>
struct Wrapped : ActorUnderTest {
    std::unique_ptr<T> actor;
    explicit Wrapped(std::unique_ptr<T> a) : actor(std::move(a)) {}
    void start() override { actor->start(); }
    void stop() override { actor->stop(); }
    void join() override { actor->join(); }
    bool running() const override { return actor->running(); }
    std::string repEndpoint() const override {
        if constexpr (std::is_same_v<T, Proxy>) {
            return actor->input_endpoint();
        } else {
            return actor->rep_endpoint();
        }
    }
    std::string pubEndpoint() const override {
        if constexpr (std::is_same_v<T, Proxy>) {
            return actor->output_endpoint();
        } else {
            return {};
        }
    }
    MetricsSnapshot metrics() const override { return actor->metrics(); }
};

// Fixed endpoints, so that a restart binds the very same ones. The SUB-only kinds subscribe to
// `feed` and a Sub2Req delivers to `downstream`: nothing listens there until serves() binds them.
struct Endpoints {
    std::string rep = freeTcpEndpoint();
    std::string pub = freeTcpEndpoint();
    std::string nowhere = deadTcpEndpoint();
    std::string feed = freeTcpEndpoint();
    std::string downstream = freeTcpEndpoint();
};

std::unique_ptr<ActorUnderTest> make(const QString& kind, const Endpoints& ep,
                                     std::shared_ptr<EventBus> events = nullptr) {
    if (kind == "receiver-rep" || kind == "receiver-sub") {
        auto log = std::make_shared<CallLog>();
        auto handler = [log](std::string_view message, Origin) {
            log->add(json(std::string(message)));
            return encode_response(200, "OK");
        };
        ReceiverOptions options;
        options.name = kind.toStdString();
        options.events = events;
        if (kind == "receiver-rep") {
            options.rep_bind = ep.rep;
        } else {
            options.sub_connect = {{ep.feed, 300ms}};
        }
        auto actor =
            std::make_unique<Wrapped<Receiver>>(std::make_unique<Receiver>(options, handler));
        actor->handled = log;
        return actor;
    }
    if (kind == "rpc-server") {
        auto options = repServerOptions(ep.rep, "rpc-server");
        options.events = events;
        options.sub_connect = {ep.nowhere};
        return std::make_unique<Wrapped<RpcServer>>(
            std::make_unique<RpcServer>(options, standardFunctions()));
    }
    ProxyKind pk = proxy_kind_from_string(kind.toStdString());
    ProxyOptions options;
    options.name = kind.toStdString();
    options.events = events;
    const bool repIn =
        pk == ProxyKind::Rep2Pub || pk == ProxyKind::Rep2Req || pk == ProxyKind::BufferedRep2Req;
    const bool pubOut = pk == ProxyKind::Sub2Pub || pk == ProxyKind::Rep2Pub;
    if (repIn) {
        options.input.rep_bind = ep.rep;
    } else {
        options.input.sub_connect = {{pubOut ? ep.nowhere : ep.feed, 300ms}};
    }
    if (pubOut) {
        options.output.pub_bind = ep.pub;
    } else {
        options.output.req_connect = {repIn ? ep.nowhere : ep.downstream};
        options.output.req_timeout = 200ms;
        options.retry_interval = 20ms;
    }
    return std::make_unique<Wrapped<Proxy>>(std::make_unique<Proxy>(pk, options));
}

// Proves the actor's sockets are really up: its REP answers a heartbeat; its PUB is listening;
// a SUB-only actor receives what is published on `ep.feed` and dispatches it (a receiver to its
// handler, a Sub2Req downstream to `ep.downstream`). Each call publishes a message of its own.
bool serves(ActorUnderTest& actor, const Endpoints& ep) {
    static std::atomic<int> probes{0};
    if (!actor.running()) return false;
    if (!actor.repEndpoint().empty()) {
        Sender sender(reqSenderOptions({actor.repEndpoint()}, 1000ms, "probe"));
        try {
            return decode_response(sender.request(kHeartbeat)).status_code == 200;
        } catch (const Error&) {
            return false;
        }
    }
    if (!actor.pubEndpoint().empty()) {
        auto pub = socketOf(actor.metrics(), "pub");
        return pub && pub->connection == ConnectionState::Listening;
    }
    // SUB-only. The actor's SUB connects to a feed that exists only now: it reconnects (and its
    // 300 ms heartbeat timeout recreates it meanwhile), so publish until the message got through.
    const std::string message = encode_request("record", {{"probe", probes.fetch_add(1)}});
    Sender feed(pubSenderOptions(ep.feed, "feed"));
    auto published = [&] { feed.publish(message); };
    auto has = [&message](const CallLog& log) {
        for (const auto& m : log.snapshot())
            if (m == json(message)) return true;
        return false;
    };
    if (actor.handled)
        return sendUntil(
            published, [&] { return has(*actor.handled); }, 5000ms);
    auto downstream = std::make_shared<CallLog>();
    ReceiverOptions sinkOptions;
    sinkOptions.name = "downstream";
    sinkOptions.rep_bind = ep.downstream;
    Receiver sink(sinkOptions, [downstream](std::string_view m, Origin) {
        downstream->add(json(std::string(m)));
        return encode_response(200, "OK");
    });
    sink.start();
    return sendUntil(
        published, [&] { return has(*downstream); }, 5000ms);
}

// start() that reports a ConfigError as text instead of throwing (empty: started).
std::string tryStart(ActorUnderTest& actor) {
    try {
        actor.start();
        return {};
    } catch (const ConfigError& e) {
        return e.what();
    }
}

}  // namespace

class TestLifecycle : public QObject {
    Q_OBJECT

  private slots:
    void startStopJoin_data() { kinds(); }
    void startStopJoin();
    void startTwiceThrows_data() { kinds(); }
    void startTwiceThrows();
    void stopBeforeStartIsHarmless_data() { kinds(); }
    void stopBeforeStartIsHarmless();
    void destructorWhileRunningStops_data() { kinds(); }
    void destructorWhileRunningStops();
    void restartOnSameEndpoint_data() { kinds(); }
    void restartOnSameEndpoint();
    void failedStartLeavesActorStartable();
    void stopAnswersWaitingClients();
    void stoppedEventCountsLostMessages();

  private:
    void kinds() {
        QTest::addColumn<QString>("kind");
        for (const char* k : {"receiver-rep", "receiver-sub", "rpc-server", "sub2req", "sub2pub",
                              "rep2pub", "rep2req", "buffered-rep2req"}) {
            QTest::newRow(k) << QString::fromLatin1(k);
        }
    }
};

void TestLifecycle::startStopJoin() {
    QFETCH(QString, kind);
    Endpoints ep;
    EventRecorder events;
    auto actor = make(kind, ep, events.bus());
    QVERIFY(!actor->running());
    QVERIFY(!actor->metrics().running);
    actor->start();
    QVERIFY(actor->running());
    QVERIFY(actor->metrics().running);
    QVERIFY(events.waitFor(EventKind::Started, 1000ms));
    if (!actor->repEndpoint().empty()) QCOMPARE(actor->repEndpoint(), ep.rep);
    if (!actor->pubEndpoint().empty()) QCOMPARE(actor->pubEndpoint(), ep.pub);
    QVERIFY(serves(*actor, ep));

    const double stopMs = timeMs([&] { actor->stop(); });
    QVERIFY2(stopMs < kStopBudgetMs, qPrintable(QStringLiteral("stop took %1 ms").arg(stopMs)));
    QVERIFY(!actor->running());
    QVERIFY(!actor->metrics().running);
    const double joinMs = timeMs([&] { actor->join(); });
    QVERIFY2(joinMs < 50, qPrintable(QString::number(joinMs)));
    QVERIFY2(events.waitFor(EventKind::Stopped, 1000ms), qPrintable(events.dump()));
    // stop() is idempotent.
    actor->stop();
    actor->join();
    QVERIFY(!actor->running());
}

void TestLifecycle::startTwiceThrows() {
    QFETCH(QString, kind);
    Endpoints ep;
    auto actor = make(kind, ep);
    actor->start();
    bool threw = false;
    try {
        actor->start();
    } catch (const ConfigError& e) {
        threw = true;
        QVERIFY2(std::string(e.what()).find("already running") != std::string::npos, e.what());
    }
    QVERIFY2(threw, "second start() did not throw ConfigError");
    QVERIFY(actor->running());
    QVERIFY(serves(*actor, ep));
    actor->stop();
    QVERIFY(!actor->running());
}

void TestLifecycle::stopBeforeStartIsHarmless() {
    QFETCH(QString, kind);
    Endpoints ep;
    auto actor = make(kind, ep);
    const double ms = timeMs([&] {
        actor->stop();
        actor->join();
        actor->stop();
    });
    QVERIFY(ms < 50);
    QVERIFY(!actor->running());
    actor->start();
    QVERIFY(actor->running());
    QVERIFY(serves(*actor, ep));
}

void TestLifecycle::destructorWhileRunningStops() {
    QFETCH(QString, kind);
    Endpoints ep;
    auto actor = make(kind, ep);
    actor->start();
    QVERIFY(serves(*actor, ep));
    const double ms = timeMs([&] { actor.reset(); });
    QVERIFY2(ms < kStopBudgetMs, qPrintable(QStringLiteral("destructor took %1 ms").arg(ms)));
    // Its endpoints are free again: a new one binds them (eventually: libzmq closes listeners
    // asynchronously; restartOnSameEndpoint checks the immediate case).
    auto again = make(kind, ep);
    std::string error;
    QVERIFY2(waitUntil([&] { return (error = tryStart(*again)).empty(); }, 1000ms, 10ms),
             error.c_str());
    QVERIFY(serves(*again, ep));
}

void TestLifecycle::restartOnSameEndpoint() {
    QFETCH(QString, kind);
    Endpoints ep;
    EventRecorder events;
    auto actor = make(kind, ep, events.bus());
    for (int round = 0; round < 3; ++round) {
        // Immediately after stop(): stop() must have released the endpoints.
        const std::string error = tryStart(*actor);
        QVERIFY2(error.empty(),
                 qPrintable(QStringLiteral("round %1: %2").arg(round).arg(qs(error))));
        QVERIFY2(actor->running(), qPrintable(QStringLiteral("round %1").arg(round)));
        if (!actor->repEndpoint().empty()) QCOMPARE(actor->repEndpoint(), ep.rep);
        if (!actor->pubEndpoint().empty()) QCOMPARE(actor->pubEndpoint(), ep.pub);
        QVERIFY2(serves(*actor, ep), qPrintable(QStringLiteral("round %1").arg(round)));
        const double stopMs = timeMs([&] { actor->stop(); });
        QVERIFY2(stopMs < kStopBudgetMs, qPrintable(QStringLiteral("stop took %1 ms").arg(stopMs)));
        QVERIFY(!actor->running());
    }
    QCOMPARE(events.count(EventKind::Started), std::size_t{3});
    QVERIFY(waitUntil([&] { return events.count(EventKind::Stopped) == 3; }, 1000ms));
}

void TestLifecycle::failedStartLeavesActorStartable() {
    // start() that fails (address in use) throws, leaves the actor stopped, and a later start()
    // once the address is free succeeds.
    Endpoints ep;
    auto blocker = make("receiver-rep", ep);
    blocker->start();
    auto actor = make("rpc-server", ep);
    QVERIFY_THROWS_EXCEPTION(ConfigError, actor->start());
    QVERIFY(!actor->running());
    actor->stop();  // harmless
    blocker->stop();
    const std::string error = tryStart(*actor);
    QVERIFY2(error.empty(), error.c_str());
    QVERIFY(actor->running());
    QVERIFY(serves(*actor, ep));
}

void TestLifecycle::stopAnswersWaitingClients() {
    // A Rep2Req proxy whose downstream never answers holds a client's request; stopping the
    // proxy answers that client (482) instead of leaving it to time out.
    ProxyOptions options;
    options.name = "holding";
    options.input.rep_bind = kAnyTcp;
    options.output.req_connect = {deadTcpEndpoint()};
    options.output.req_timeout = 5000ms;
    Proxy proxy(ProxyKind::Rep2Req, options);
    proxy.start();
    const std::string endpoint = proxy.input_endpoint();
    std::optional<RpcError> error;
    std::atomic<bool> done{false};
    Clock::time_point answeredAt;
    std::thread client([&] {
        RpcClient c(reqClientOptions({endpoint}, 3000ms));
        error = rpcErrorOf([&] { c.invoke("add", {{"a", 1}, {"b", 1}}); });
        answeredAt = Clock::now();
        done = true;
    });
    QVERIFY(waitUntil([&] { return proxy.metrics().queue.received == 1; }));
    const auto stoppedAt = Clock::now();
    const double stopMs = timeMs([&] { proxy.stop(); });
    QVERIFY(waitUntil([&] { return done.load(); }, 4000ms));
    client.join();
    QVERIFY2(stopMs < kStopBudgetMs, qPrintable(QString::number(stopMs)));
    QVERIFY2(error && error->kind() == RpcError::Kind::Status && error->status_code() == 482,
             qPrintable(describe(error)));
    QVERIFY(answeredAt - stoppedAt < 1000ms);
}

void TestLifecycle::stoppedEventCountsLostMessages() {
    // proxy.hpp: "Stopping loses queued messages of a buffered proxy; the Stopped event says how
    // many."
    EventRecorder events;
    ProxyOptions options;
    options.name = "losing";
    options.events = events.bus();
    options.input.rep_bind = kAnyTcp;
    options.output.req_connect = {deadTcpEndpoint()};
    options.output.req_timeout = 200ms;
    Proxy proxy(ProxyKind::BufferedRep2Req, options);
    proxy.start();
    Sender sender(reqSenderOptions({proxy.input_endpoint()}));
    for (int i = 0; i < 3; ++i) {
        QCOMPARE(decode_response(sender.request(encode_request("record", {{"i", i}}))).status_code,
                 200);
    }
    QCOMPARE(proxy.metrics().queue.fill, std::uint64_t{3});
    proxy.stop();
    auto stopped = events.waitFor(EventKind::Stopped, 1000ms);
    QVERIFY2(stopped, qPrintable(events.dump()));
    QCOMPARE(stopped->text, std::string("stopped with 3 queued message(s) not delivered"));
    auto q = proxy.metrics().queue;
    QCOMPARE(q.dropped, std::uint64_t{3});
    QCOMPARE(q.fill, std::uint64_t{0});
    QCOMPARE(q.delivered + q.dropped + q.fill, q.received);
}

QTEST_GUILESS_MAIN(TestLifecycle)
#include "tst_lifecycle.moc"
