// RuntimeController: the sampler-to-cloud example run from the GUI thread through the worker --
// snapshots at least twice a second, events, taps, one node stopped, a node added while running,
// refusals (a topology with errors, unknown and external ids), secret keys given after a failed
// start, calls that only queue, and a destructor that stops everything in bounded time.
#include "runtime/runtime_hub.hpp"
#include "studio_testutil.hpp"
#include "testutil.hpp"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>
#include <set>

using namespace studio;
using namespace zmqrpc;
using namespace std::chrono_literals;

namespace {

constexpr const char* kAnyTcp = "tcp://127.0.0.1:*";
constexpr const char* kPassword = "controller-test-password";
constexpr int kWaitMs = 8000;  // generous: CI machines are slow and shared
constexpr qint64 kQueueOnlyMs = 50;

Topology localisedExample() {
    return testutil::localExample();
}

// The example's CURVE uplink: the bridge's secret key known (a key pair generated for this
// process), no key files; the environment is not read (the test does not depend on it).
Secrets bridgeSecrets() {
    Secrets s;
    s.use_environment = false;
    testutil::localExample("sampler-to-cloud", &s, kPassword);
    return s;
}

// What the bridge's secret key is known as in bridgeSecrets().
std::string bridgeSecretKey() {
    return testutil::testSecretKey("file:sampler-to-cloud-bridge");
}

using studio_testutil::noSecrets;
using studio_testutil::stateOf;

bool allRunning(const RuntimeController& rc, const Topology& t) {
    if (rc.snapshot().nodes.empty()) return false;
    for (const auto& n : t.nodes()) {
        if (stateOf(rc, n.id) != NodeState::Running) return false;
    }
    return true;
}

QString statesText(const RuntimeController& rc) {
    QString out;
    for (const auto& n : rc.snapshot().nodes) {
        out += QStringLiteral("%1=%2(%3) ")
                   .arg(QString::fromStdString(n.id), QString::fromLatin1(to_string(n.state)),
                        QString::fromStdString(n.reason));
    }
    return out;
}

// Calls `f` and returns how long it took on this thread.
template <class F>
qint64 elapsedMs(F&& f) {
    QElapsedTimer timer;
    timer.start();
    f();
    return timer.elapsed();
}

}  // namespace

class TestRuntimeController : public QObject {
    Q_OBJECT

  private slots:
    void runsTheExampleAndReportsIt() {
        const Topology t = localisedExample();
        auto rc = std::make_unique<RuntimeController>();
        QSignalSpy snapshots(rc.get(), &RuntimeController::snapshotUpdated);
        QSignalSpy busy(rc.get(), &RuntimeController::busyChanged);
        QSignalSpy failures(rc.get(), &RuntimeController::operationFailed);
        std::vector<Event> events;
        connect(rc.get(), &RuntimeController::eventsArrived, this, [&](const QList<Event>& batch) {
            events.insert(events.end(), batch.begin(), batch.end());
        });
        // A subscription taken before anything runs still receives (the controller's own bus).
        auto early = rc->events()->subscribe(10000);

        rc->setSecrets(bridgeSecrets());
        rc->setTopology(t);
        QVERIFY(rc->snapshot().nodes.empty());

        // startAll() only queues: the GUI thread is back at once, busy.
        QVERIFY(elapsedMs([&] { rc->startAll(); }) < kQueueOnlyMs);
        QVERIFY(rc->isBusy());
        QCOMPARE(busy.count(), 1);
        QCOMPARE(busy.at(0).at(0).toBool(), true);

        QTRY_VERIFY2_WITH_TIMEOUT(allRunning(*rc, t), qPrintable(statesText(*rc)), kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(!rc->isBusy(), kWaitMs);
        QCOMPARE(busy.count(), 2);
        QCOMPARE(busy.at(1).at(0).toBool(), false);
        QVERIFY2(failures.isEmpty(),
                 failures.isEmpty() ? "" : qPrintable(failures.at(0).at(0).toString()));
        for (const auto& n : t.nodes())
            QVERIFY2(rc->isActive(QString::fromStdString(n.id)), n.id.c_str());
        QVERIFY(!rc->isActive(QStringLiteral("no-such-node")));

        // Traffic reaches the tap through the password-protected bridge.
        QTRY_VERIFY2_WITH_TIMEOUT(rc->snapshot().node("cloud-tap")->rate_in > 0,
                                  qPrintable(statesText(*rc)), kWaitMs);
        const auto kept = rc->tapMessages(QStringLiteral("cloud-tap"), 0);
        QVERIFY(!kept.empty());
        QVERIFY(rc->tapMessages(QStringLiteral("cloud-tap"), kept.back().seq + 1000).empty());
        QVERIFY(rc->tapMessages(QStringLiteral("no-such-tap"), 0).empty());

        // Every node said it was running, in the eventsArrived batches and on events().
        const auto sawRunning = [&](const std::vector<Event>& seen) {
            std::set<std::string> running;
            for (const auto& e : seen) {
                if (e.kind == EventKind::StateChanged && e.text == "running")
                    running.insert(e.source);
            }
            for (const auto& n : t.nodes()) {
                if (running.count(n.id) == 0) return false;
            }
            return true;
        };
        QTRY_VERIFY_WITH_TIMEOUT(sawRunning(events), kWaitMs);
        const auto fromBus = early->drain();
        QVERIFY(sawRunning(fromBus));

        // The canvas is refreshed (every 250 ms) while nothing else happens. A loaded machine
        // delays timers, so what is checked is that the snapshots keep coming on their own.
        snapshots.clear();
        QTRY_VERIFY2_WITH_TIMEOUT(snapshots.count() >= 3,
                                  qPrintable(QString::number(snapshots.count())), kWaitMs);

        // The destructor stops everything within two seconds.
        QVERIFY(elapsedMs([&] { rc.reset(); }) < 2000);
    }

    void stopsOneNodeAndAddsOneWhileRunning() {
        Topology t = localisedExample();
        RuntimeController rc;
        QSignalSpy failures(&rc, &RuntimeController::operationFailed);
        rc.setSecrets(bridgeSecrets());
        rc.setTopology(t);
        rc.startAll();
        QTRY_VERIFY2_WITH_TIMEOUT(allRunning(rc, t), qPrintable(statesText(rc)), kWaitMs);

        QVERIFY(elapsedMs([&] { rc.stop({QStringLiteral("sampler-1")}); }) < kQueueOnlyMs);
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(rc, "sampler-1"), NodeState::Stopped, kWaitMs);
        QVERIFY(!rc.isActive(QStringLiteral("sampler-1")));
        for (const char* id : {"sampler-2", "sampler-3", "site-proxy", "cloud-bridge", "cloud-tap"})
            QCOMPARE(stateOf(rc, id), NodeState::Running);

        // A second tap on the bridge, added while everything else runs: the running nodes are
        // left alone; the new one starts on request and sees traffic.
        Node tap;
        tap.id = "tap-2";
        tap.kind = NodeKind::Tap;
        t.add_node(tap);
        Link link;
        link.from = {"cloud-bridge", "pub"};
        link.to = {"tap-2", "sub"};
        t.add_link(link);
        rc.setTopology(t);
        QTRY_VERIFY_WITH_TIMEOUT(rc.snapshot().node("tap-2") != nullptr, kWaitMs);
        QCOMPARE(stateOf(rc, "tap-2"), NodeState::Stopped);
        for (const char* id : {"sampler-2", "sampler-3", "site-proxy", "cloud-bridge", "cloud-tap"})
            QCOMPARE(stateOf(rc, id), NodeState::Running);
        rc.start({QStringLiteral("tap-2"), QStringLiteral("sampler-1")});
        QTRY_VERIFY2_WITH_TIMEOUT(allRunning(rc, t), qPrintable(statesText(rc)), kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(rc.snapshot().node("tap-2")->rate_in > 0, kWaitMs);
        QVERIFY(failures.isEmpty());

        QVERIFY(elapsedMs([&] { rc.stopAll(); }) < kQueueOnlyMs);
        QTRY_VERIFY_WITH_TIMEOUT(!rc.isBusy(), kWaitMs);
        for (const auto& n : rc.snapshot().nodes)
            QCOMPARE(n.state, NodeState::Stopped);
    }

    void refusesWhatCannotStart() {
        Topology t = localisedExample();
        Node ext;
        ext.id = "ext";
        ext.kind = NodeKind::External;
        ext.properties = {{"socket", "pub"}, {"endpoint", "tcp://127.0.0.1:9"}};
        t.add_node(ext);
        Topology broken = t;
        broken.set_property("site-proxy", "queue_capacity", 0);
        QVERIFY(has_errors(validate(broken)));

        RuntimeController rc;
        QSignalSpy failures(&rc, &RuntimeController::operationFailed);
        QSignalSpy busy(&rc, &RuntimeController::busyChanged);
        rc.setSecrets(bridgeSecrets());
        rc.setTopology(broken);

        // A topology with errors: nothing starts, and the first error is named.
        rc.startAll();
        QCOMPARE(failures.count(), 1);
        const QString message = failures.at(0).at(0).toString();
        QVERIFY2(message.startsWith(QStringLiteral("the topology has errors: ")),
                 qPrintable(message));
        QVERIFY2(message.contains(QStringLiteral("site-proxy")), qPrintable(message));
        QVERIFY(busy.isEmpty());
        QTest::qWait(300);
        QVERIFY(rc.snapshot().nodes.empty());
        for (const auto& n : t.nodes())
            QVERIFY(!rc.isActive(QString::fromStdString(n.id)));

        // Valid again: it runs. Broken while running: starts refused, stops still work.
        rc.setTopology(t);
        rc.start({QStringLiteral("sampler-1"), QStringLiteral("sampler-2")});
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(rc, "sampler-2"), NodeState::Running, kWaitMs);
        rc.setTopology(broken);
        failures.clear();
        rc.start({QStringLiteral("sampler-3")});
        QCOMPARE(failures.count(), 1);
        rc.stop({QStringLiteral("sampler-1")});
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(rc, "sampler-1"), NodeState::Stopped, kWaitMs);
        QCOMPARE(stateOf(rc, "sampler-2"), NodeState::Running);
        QCOMPARE(stateOf(rc, "sampler-3"), NodeState::Stopped);

        // Unknown and external ids: refused by the runtime with its reason, busy ends.
        rc.setTopology(t);
        failures.clear();
        rc.start({QStringLiteral("no-such-node")});
        QTRY_COMPARE_WITH_TIMEOUT(failures.count(), 1, kWaitMs);
        QVERIFY2(failures.at(0).at(0).toString().contains(QStringLiteral("no-such-node")),
                 qPrintable(failures.at(0).at(0).toString()));
        rc.start({QStringLiteral("ext")});
        QTRY_COMPARE_WITH_TIMEOUT(failures.count(), 2, kWaitMs);
        QVERIFY2(failures.at(1).at(0).toString().contains(QStringLiteral("ext")),
                 qPrintable(failures.at(1).at(0).toString()));
        QTRY_VERIFY_WITH_TIMEOUT(!rc.isBusy(), kWaitMs);
        QCOMPARE(stateOf(rc, "ext"), NodeState::External);
        QCOMPARE(stateOf(rc, "sampler-2"), NodeState::Running);
    }

    void secretsGivenAfterAFailedStartApply() {
        const Topology t = localisedExample();
        RuntimeController rc;
        // No key files either: an empty keys directory.
        QTemporaryDir keys;
        QVERIFY(keys.isValid());
        Secrets none = noSecrets();
        none.keys_dir = keys.path().toStdString();
        rc.setSecrets(none);
        rc.setTopology(t);
        rc.startAll();
        // Without the bridge's secret key the bridge cannot serve: it fails, saying which key
        // file it looked for (never a key); the site proxy waits for it; the others run.
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(rc, "cloud-bridge"), NodeState::Failed, kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(rc, "site-proxy"), NodeState::Waiting, kWaitMs);
        QCOMPARE(stateOf(rc, "sampler-1"), NodeState::Running);
        const auto samplerSince = rc.snapshot().node("sampler-1")->since;
        const std::string reason = rc.snapshot().node("cloud-bridge")->reason;
        QVERIFY2(reason.find("CURVE") != std::string::npos, reason.c_str());
        QVERIFY2(reason.find("sampler-to-cloud-bridge") != std::string::npos, reason.c_str());
        QVERIFY2(reason.find(bridgeSecretKey()) == std::string::npos, reason.c_str());
        QVERIFY2(rc.snapshot().node("site-proxy")->reason.find("cloud-bridge") != std::string::npos,
                 rc.snapshot().node("site-proxy")->reason.c_str());

        // New secrets while nodes run: the failed nodes start with them at once, and the
        // running ones were never touched.
        rc.setSecrets(bridgeSecrets());
        rc.start({QStringLiteral("site-proxy"), QStringLiteral("cloud-bridge"),
                  QStringLiteral("cloud-tap")});
        QTRY_VERIFY2_WITH_TIMEOUT(allRunning(rc, t), qPrintable(statesText(rc)), kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(rc.snapshot().node("cloud-tap")->rate_in > 0, kWaitMs);
        QCOMPARE(rc.snapshot().node("sampler-1")->since, samplerSince);
    }

    void destroysCleanlyWithoutEverStarting() {
        RuntimeController rc;
        rc.setTopology(localisedExample());
        rc.stopAll();  // nothing to stop, no Runtime made: still answers
        QTRY_VERIFY_WITH_TIMEOUT(!rc.isBusy(), kWaitMs);
        QVERIFY(rc.snapshot().nodes.empty());
        QVERIFY(rc.tapMessages(QStringLiteral("cloud-tap"), 0).empty());
    }
};

QTEST_MAIN(TestRuntimeController)
#include "tst_runtime_controller.moc"
