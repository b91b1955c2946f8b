// The health monitor: the heartbeat table and the alert rules, driven by a real
// RuntimeController on loopback. A sampler (heartbeat 0.1 s) feeds a tap (timeout 0.6 s); the
// sampler is stopped (the row goes late, then dead, its socket is recreated, the failure time is
// set and the row tinted), and restarted (alive again). The dead link raises an alert that stays
// listed, cleared, until acknowledged. A buffered proxy whose downstream is stopped fills its
// queue past the threshold; a tap whose sampler stopped sits at zero rate; a tap with the wrong
// password is refused. AlertRules alone against made-up snapshots pins the alert life cycle.
// Screenshots go to ZMQRPC_SCREENSHOT_DIR.
#include "document/editor_document.hpp"
#include "health/alert_rules.hpp"
#include "health/alerts_widget.hpp"
#include "health/heartbeat_monitor.hpp"
#include "runtime/runtime_hub.hpp"
#include "studio_testutil.hpp"
#include "testutil.hpp"

#include <zmqrpc/rpc_client.hpp>

#include <QBrush>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFont>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>

#include <set>

using namespace studio;
using namespace zmqrpc;
using namespace std::chrono_literals;

namespace {

constexpr const char* kAnyTcp = "tcp://127.0.0.1:*";
constexpr int kWaitMs = 8000;
using State = HeartbeatModel::State;

Node makeNode(std::string id, NodeKind kind, json properties) {
    Node n;
    n.id = std::move(id);
    n.kind = kind;
    n.properties = std::move(properties);
    return n;
}

Link makeLink(std::string id, std::string from, std::string to, double heartbeatTimeout = 0) {
    auto split = [](const std::string& s) {
        auto dot = s.find('.');
        return PortRef{s.substr(0, dot), s.substr(dot + 1)};
    };
    Link l;
    l.id = std::move(id);
    l.from = split(from);
    l.to = split(to);
    l.heartbeat_timeout = heartbeatTimeout;
    return l;
}

// sampler "s" (heartbeat 0.1 s) -> tap "tap" over link "s-to-tap" (timeout 0.6 s).
Topology samplerToTap(json samplerExtra = json::object(), json tapProps = json::object()) {
    Topology t;
    json sp = {{"bind", kAnyTcp}, {"rate", 20}, {"heartbeat_interval", 0.1}};
    sp.update(samplerExtra);
    t.add_node(makeNode("s", NodeKind::Sampler, sp));
    t.add_node(makeNode("tap", NodeKind::Tap, tapProps));
    t.add_link(makeLink("s-to-tap", "s.pub", "tap.sub", 0.6));
    return t;
}

using studio_testutil::noSecrets;
using studio_testutil::stateOf;

const Alert* findAlert(const AlertRules& rules, AlertRule rule, const QString& subject) {
    for (const auto& a : rules.alerts()) {
        if (a.rule == rule && a.subject == subject) return &a;
    }
    return nullptr;
}

QString alertsText(const AlertRules& rules) {
    QString out;
    for (const auto& a : rules.alerts())
        out += QStringLiteral("[%1 %2 %3 active=%4] ")
                   .arg(alertRuleName(a.rule), a.subject, a.text)
                   .arg(a.active);
    return out;
}

void saveShot(QWidget* w, const QString& name) {
    QDir().mkpath(QStringLiteral(ZMQRPC_SCREENSHOT_DIR));
    const QString path = QStringLiteral(ZMQRPC_SCREENSHOT_DIR "/%1.png").arg(name);
    QVERIFY2(w->grab().save(path), qPrintable(path));
}

// Made-up snapshots for the rules alone.
RuntimeSnapshot snapshotAt(double seconds) {
    RuntimeSnapshot s;
    s.time = std::chrono::system_clock::time_point(
        std::chrono::milliseconds(static_cast<std::int64_t>(1'700'000'000'000 + seconds * 1000)));
    return s;
}

NodeStatus runningNode(const std::string& id, NodeKind kind, double rateIn, double rateOut) {
    NodeStatus n;
    n.id = id;
    n.kind = kind;
    n.state = NodeState::Running;
    n.since = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'699'999'000'000));
    n.rate_in = rateIn;
    n.rate_out = rateOut;
    return n;
}

LinkStatus subLink(const std::string& id, HeartbeatState hb, int ageMs) {
    LinkStatus l;
    l.id = id;
    l.endpoint = "tcp://127.0.0.1:40001";
    l.active = true;
    l.connection = ConnectionState::Connected;
    l.heartbeat = hb;
    l.heartbeat_timeout = 5000ms;
    l.last_message_age = std::chrono::milliseconds(ageMs);
    l.ever_heard = true;
    return l;
}

}  // namespace

class TestHealth : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() {
        qRegisterMetaType<zmqrpc::Event>();
        qRegisterMetaType<QList<zmqrpc::Event>>();
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("zmqrpc-tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_health"));
        QSettings::setDefaultFormat(QSettings::IniFormat);
        QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, tmp_.filePath("settings"));
        QSettings().clear();
    }

    // The alert life cycle against made-up snapshots: raise, clear (still listed), re-activate
    // the same alert, acknowledge (leaves once cleared), a new alert after that; queue, zero
    // rate over time, and a refusal event mapped to its link and held for a while.
    void rulesLifeCycle() {
        Topology t;
        t.add_node(
            makeNode("s", NodeKind::Sampler, {{"bind", kAnyTcp}, {"heartbeat_interval", 0.5}}));
        t.add_node(makeNode("tap", NodeKind::Tap, json::object()));
        t.add_node(makeNode("q", NodeKind::BufferedRep2Req, {{"rep_bind", kAnyTcp}}));
        t.add_link(makeLink("L", "s.pub", "tap.sub", 5));
        AlertRules rules;
        rules.setTopology(t);
        QSignalSpy raised(&rules, &AlertRules::alertRaised);

        auto snap = [](double at, HeartbeatState hb, int ageMs, double tapRate,
                       std::uint64_t fill = 0) {
            RuntimeSnapshot s = snapshotAt(at);
            s.nodes.push_back(runningNode("s", NodeKind::Sampler, 0, 10));
            s.nodes.push_back(runningNode("tap", NodeKind::Tap, tapRate, 0));
            NodeStatus q = runningNode("q", NodeKind::BufferedRep2Req, 1, 1);
            q.metrics.has_queue = true;
            q.metrics.queue.capacity = 10;
            q.metrics.queue.fill = fill;
            s.nodes.push_back(q);
            s.links.push_back(subLink("L", hb, ageMs));
            return s;
        };

        rules.evaluate(snap(0, HeartbeatState::Alive, 100, 10));
        QVERIFY(rules.alerts().empty());
        // 1.4 s of silence is fewer than 3 heartbeats of 0.5 s; 1.6 s is more.
        rules.evaluate(snap(1, HeartbeatState::Alive, 1400, 10));
        QVERIFY(rules.alerts().empty());
        rules.evaluate(snap(2, HeartbeatState::Late, 1600, 10));
        QCOMPARE(raised.count(), 1);
        const quint64 first = rules.alerts().front().id;
        QCOMPARE(rules.alerts().front().rule, AlertRule::MissedHeartbeats);
        QCOMPARE(rules.alerts().front().subject, QStringLiteral("L"));
        QVERIFY(rules.alerts().front().subjectIsLink);
        QVERIFY2(rules.alerts().front().text.contains(QStringLiteral("3 heartbeats")),
                 qPrintable(rules.alerts().front().text));

        rules.evaluate(snap(3, HeartbeatState::Alive, 10, 10));  // recovered: cleared, listed
        QCOMPARE(rules.alerts().size(), std::size_t(1));
        QVERIFY(!rules.alerts().front().active);
        QCOMPARE(rules.unacknowledgedCount(), 1);

        rules.evaluate(snap(4, HeartbeatState::Dead, 6000, 10));  // back while still listed
        QCOMPARE(raised.count(), 1);
        QCOMPARE(rules.alerts().front().id, first);
        QVERIFY(rules.alerts().front().active);
        QVERIFY(rules.alerts().front().text.startsWith(QStringLiteral("dead")));

        QVERIFY(rules.acknowledge(first));  // acknowledged but active: listed
        QCOMPARE(rules.alerts().size(), std::size_t(1));
        QCOMPARE(rules.unacknowledgedCount(), 0);
        rules.evaluate(snap(5, HeartbeatState::Alive, 10, 10));  // cleared + acknowledged: gone
        QVERIFY(rules.alerts().empty());
        rules.evaluate(snap(6, HeartbeatState::Dead, 6000, 10));  // a new one
        QCOMPARE(raised.count(), 2);
        QVERIFY(rules.alerts().front().id != first);
        rules.acknowledgeAll();
        rules.evaluate(snap(7, HeartbeatState::Alive, 10, 10));
        QVERIFY(rules.alerts().empty());

        // Queue: 9 of 10 is above 80 %, 8 of 10 is not.
        rules.evaluate(snap(8, HeartbeatState::Alive, 10, 10, 8));
        QVERIFY(rules.alerts().empty());
        rules.evaluate(snap(9, HeartbeatState::Alive, 10, 10, 9));
        QVERIFY(findAlert(rules, AlertRule::QueueAbove, QStringLiteral("q")) != nullptr);
        rules.acknowledgeAll();
        rules.evaluate(snap(10, HeartbeatState::Alive, 10, 10, 0));
        QVERIFY(rules.alerts().empty());

        // Zero rate: first zero at 20 s, alert once 10 s have passed.
        rules.evaluate(snap(20, HeartbeatState::Alive, 10, 0));
        rules.evaluate(snap(29.5, HeartbeatState::Alive, 10, 0));
        QVERIFY(findAlert(rules, AlertRule::RateZero, QStringLiteral("tap")) == nullptr);
        rules.evaluate(snap(30.5, HeartbeatState::Alive, 10, 0));
        QVERIFY2(findAlert(rules, AlertRule::RateZero, QStringLiteral("tap")) != nullptr,
                 qPrintable(alertsText(rules)));
        rules.evaluate(snap(31, HeartbeatState::Alive, 10, 5));  // traffic again: cleared
        QVERIFY(!findAlert(rules, AlertRule::RateZero, QStringLiteral("tap"))->active);
        rules.acknowledgeAll();
        QVERIFY(rules.alerts().empty());

        // A refusal event names the connecting node and the endpoint: mapped to the link.
        Event e;
        e.time = snapshotAt(40).time;
        e.source = "tap";
        e.kind = EventKind::CredentialsRefused;
        e.endpoint = "tcp://127.0.0.1:40001";
        e.text = "PLAIN credentials refused";
        rules.addEvents({e});
        rules.evaluate(snap(40.2, HeartbeatState::Alive, 10, 5));
        const Alert* refused = findAlert(rules, AlertRule::CredentialsRefused, QStringLiteral("L"));
        QVERIFY2(refused != nullptr, qPrintable(alertsText(rules)));
        QVERIFY(refused->active);
        rules.evaluate(snap(40 + AlertRules::kEventHoldSeconds + 1, HeartbeatState::Alive, 10, 5));
        QVERIFY(!findAlert(rules, AlertRule::CredentialsRefused, QStringLiteral("L"))->active);

        // A disabled rule raises nothing and clears what it raised.
        AlertSettings off = rules.settings();
        off.missedHeartbeatsEnabled = false;
        rules.setSettings(off);
        rules.evaluate(snap(50, HeartbeatState::Dead, 9000, 5));
        QVERIFY(findAlert(rules, AlertRule::MissedHeartbeats, QStringLiteral("L")) == nullptr);
    }

    // The heartbeat table and the missed-heartbeats alert on a real run: alive, late then dead
    // with the sampler stopped (recreated, failure time, tinted bold row), alive again after a
    // restart; the alert stays listed as cleared until acknowledged through the button.
    void heartbeatMonitorAndDeadLinkAlert() {
        EditorDocument doc;
        doc.reset(samplerToTap(), QString(), false);
        RuntimeController rc;
        rc.setSecrets(noSecrets());
        rc.setTopology(doc.topology());
        HeartbeatMonitorWidget monitor(&doc, &rc);
        monitor.resize(900, 200);
        monitor.show();
        AlertsWidget alerts(&rc);
        alerts.setDocument(&doc);
        alerts.resize(1000, 260);
        alerts.show();
        QSignalSpy raised(&alerts, &AlertsWidget::alertRaised);
        QSignalSpy activated(&monitor, &HeartbeatMonitorWidget::linkActivated);

        HeartbeatModel* model = monitor.model();
        QCOMPARE(model->rowCount(), 1);
        const int row = model->rowOf(QStringLiteral("s-to-tap"));
        QCOMPARE(row, 0);
        QCOMPARE(model->stateAt(row), State::NotRunning);

        // Every state the row passes through, and every late/lost event.
        std::set<State> seen;
        connect(model, &QAbstractItemModel::dataChanged, this,
                [&] { seen.insert(model->stateAt(row)); });
        bool lateEvent = false;
        connect(&rc, &RuntimeController::eventsArrived, this, [&](const QList<Event>& events) {
            for (const auto& e : events) {
                if (e.source == "tap" && e.kind == EventKind::HeartbeatLate) lateEvent = true;
            }
        });

        rc.startAll();
        QTRY_COMPARE_WITH_TIMEOUT(model->stateAt(row), State::Alive, kWaitMs);
        QVERIFY(!model->lastFailureAt(row).isValid());
        const quint64 recreatesBefore = model->recreatesAt(row);
        // The row follows the live age: well under the timeout while alive.
        const QModelIndex age = model->index(row, HeartbeatModel::AgeColumn);
        QVERIFY2(age.data(HeartbeatModel::SortRole).toDouble() < 0.6,
                 qPrintable(age.data().toString()));
        // Start-up noise (a waiting link) is not what this test is about.
        alerts.acknowledgeAll();
        raised.clear();

        rc.stop({QStringLiteral("s")});
        QTRY_COMPARE_WITH_TIMEOUT(model->stateAt(row), State::Dead, kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(model->recreatesAt(row) >= recreatesBefore + 1, kWaitMs);
        // Late comes first: seen in a snapshot, or at least announced by its event (the late
        // window, 0.3 s, is close to the snapshot period).
        QVERIFY(seen.count(State::Late) == 1 || lateEvent);
        QVERIFY(model->lastFailureAt(row).isValid());
        const QModelIndex state = model->index(row, HeartbeatModel::StateColumn);
        QCOMPARE(state.data().toString(), QStringLiteral("dead"));
        QVERIFY(state.data(Qt::BackgroundRole).value<QBrush>().color().red() > 200);
        QVERIFY(state.data(Qt::FontRole).value<QFont>().bold());
        QVERIFY(!model->index(row, HeartbeatModel::LastFailureColumn).data().toString().isEmpty());
        QVERIFY(monitor.summaryText().contains(QStringLiteral("1 dead")));

        // The dead link raised an alert.
        QTRY_VERIFY_WITH_TIMEOUT(raised.count() >= 1, kWaitMs);
        QVERIFY2(raised.first().first().toString().contains(QStringLiteral("s-to-tap")),
                 qPrintable(raised.first().first().toString()));
        const Alert* dead =
            findAlert(*alerts.rules(), AlertRule::MissedHeartbeats, QStringLiteral("s-to-tap"));
        QVERIFY2(dead != nullptr, qPrintable(alertsText(*alerts.rules())));
        const quint64 deadId = dead->id;
        QCOMPARE(alerts.badgeText(), QStringLiteral("1 alert"));
        QCOMPARE(alerts.unacknowledgedCount(), 1);
        saveShot(&monitor, QStringLiteral("health_monitor_dead"));

        // Double-click a row: the main window gets the link id.
        // (Qt 6 item views need the press that precedes a double-click in real life.)
        const QPoint cell =
            monitor.view()->visualRect(monitor.view()->model()->index(0, 0)).center();
        QTest::mouseClick(monitor.view()->viewport(), Qt::LeftButton, {}, cell);
        QTest::mouseDClick(monitor.view()->viewport(), Qt::LeftButton, {}, cell);
        QCOMPARE(activated.count(), 1);
        QCOMPARE(activated.first().first().toString(), QStringLiteral("s-to-tap"));

        // Restart: alive again; the alert stays, cleared, until acknowledged.
        rc.start({QStringLiteral("s")});
        QTRY_COMPARE_WITH_TIMEOUT(model->stateAt(row), State::Alive, kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(!alerts.rules()->alert(deadId)->active, kWaitMs);
        QCOMPARE(state.data(Qt::BackgroundRole), QVariant());
        const int alertRow = alerts.model()->rowOf(deadId);
        QVERIFY(alertRow >= 0);
        QCOMPARE(alerts.model()->index(alertRow, AlertsModel::StateColumn).data().toString(),
                 QStringLiteral("cleared"));
        QCOMPARE(alerts.badgeText(), QStringLiteral("1 alert"));
        saveShot(&monitor, QStringLiteral("health_monitor_recovered"));
        saveShot(&alerts, QStringLiteral("health_alerts_cleared"));

        // Acknowledge through the widget: select the row, press the button.
        auto* ack = alerts.findChild<QPushButton*>(QStringLiteral("alertAcknowledge"));
        QVERIFY(ack != nullptr);
        QVERIFY(!ack->isEnabled());
        QTest::mouseClick(alerts.view()->viewport(), Qt::LeftButton, {},
                          alerts.view()->visualRect(alerts.model()->index(alertRow, 1)).center());
        QVERIFY(ack->isEnabled());
        QTest::mouseClick(ack, Qt::LeftButton);
        QVERIFY(alerts.rules()->alert(deadId) == nullptr);
        QCOMPARE(alerts.badgeText(), QStringLiteral("No alerts"));
    }

    // A buffered proxy whose downstream is stopped queues what a client sends: above 50 % of a
    // capacity of 10, the queue alert comes (threshold set through the form).
    void queueAboveThreshold() {
        Topology t;
        t.add_node(makeNode("bridge", NodeKind::BufferedRep2Req,
                            {{"rep_bind", kAnyTcp},
                             {"queue_capacity", 10},
                             {"req_timeout", 0.2},
                             {"retry_interval", 0.05}}));
        t.add_node(makeNode("store", NodeKind::RpcServer, {{"rep_bind", kAnyTcp}}));
        t.add_link(makeLink("bridge-to-store", "bridge.req", "store.rep"));
        EditorDocument doc;
        doc.reset(t, QString(), false);
        RuntimeController rc;
        rc.setSecrets(noSecrets());
        rc.setTopology(doc.topology());
        AlertsWidget alerts(&rc);
        alerts.setDocument(&doc);
        alerts.resize(1000, 320);
        alerts.show();
        auto* toggle = alerts.findChild<QToolButton*>(QStringLiteral("alertSettingsToggle"));
        QVERIFY(toggle != nullptr);
        QTest::mouseClick(toggle, Qt::LeftButton);
        auto* percent = alerts.findChild<QSpinBox*>(QStringLiteral("alertQueuePercent"));
        QVERIFY(percent != nullptr && percent->isVisible());
        percent->setFocus();
        QTest::keyClick(percent, Qt::Key_A, Qt::ControlModifier);
        QTest::keyClicks(percent, QStringLiteral("50"));
        QCOMPARE(alerts.rules()->settings().queuePercent, 50);
        QCOMPARE(QSettings().value(QStringLiteral("alerts/queuePercent")).toInt(), 50);
        QSignalSpy raised(&alerts, &AlertsWidget::alertRaised);

        rc.startAll();
        QTRY_VERIFY_WITH_TIMEOUT(stateOf(rc, "bridge") == NodeState::Running &&
                                     stateOf(rc, "store") == NodeState::Running,
                                 kWaitMs);
        rc.stop({QStringLiteral("store")});
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(rc, "store"), NodeState::Stopped, kWaitMs);
        std::string endpoint;
        for (const auto& s : rc.snapshot().node("bridge")->metrics.sockets) {
            if (s.role == "rep") endpoint = s.endpoint;
        }
        QVERIFY(!endpoint.empty());
        {
            RpcClient client(testutil::reqClientOptions({endpoint}, 2000ms));
            for (int i = 0; i < 8; ++i)
                client.invoke("echo", {{"i", i}});
        }
        QTRY_VERIFY_WITH_TIMEOUT(
            findAlert(*alerts.rules(), AlertRule::QueueAbove, QStringLiteral("bridge")) != nullptr,
            kWaitMs);
        const Alert* a =
            findAlert(*alerts.rules(), AlertRule::QueueAbove, QStringLiteral("bridge"));
        QVERIFY2(a->text.contains(QStringLiteral("of 10")), qPrintable(a->text));
        QVERIFY(raised.count() >= 1);
        saveShot(&alerts, QStringLiteral("health_alerts_queue"));
        alerts.setSettings(AlertSettings{});
    }

    // A tap whose sampler stopped receives nothing: with T = 1 s the zero-rate alert comes.
    void rateAtZero() {
        EditorDocument doc;
        doc.reset(samplerToTap(), QString(), false);
        RuntimeController rc;
        rc.setSecrets(noSecrets());
        rc.setTopology(doc.topology());
        AlertsWidget alerts(&rc);
        alerts.setDocument(&doc);
        AlertSettings s;
        s.rateZeroSeconds = 1;
        s.missedHeartbeatsEnabled = false;
        alerts.setSettings(s);
        auto* seconds = alerts.findChild<QDoubleSpinBox*>(QStringLiteral("alertRateSeconds"));
        QCOMPARE(seconds->value(), 1.0);

        rc.startAll();
        QTRY_VERIFY_WITH_TIMEOUT(
            rc.snapshot().node("tap") != nullptr && rc.snapshot().node("tap")->rate_in > 0,
            kWaitMs);
        alerts.acknowledgeAll();  // a zero at start-up is not what we look at
        QVERIFY(findAlert(*alerts.rules(), AlertRule::RateZero, QStringLiteral("tap")) == nullptr);
        rc.stop({QStringLiteral("s")});
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                const Alert* a =
                    findAlert(*alerts.rules(), AlertRule::RateZero, QStringLiteral("tap"));
                return a != nullptr && a->active;
            }(),
            kWaitMs);
        QVERIFY(findAlert(*alerts.rules(), AlertRule::RateZero, QStringLiteral("tap"))
                    ->text.contains(QStringLiteral("received nothing")));
        alerts.setSettings(AlertSettings{});
    }

    // A tap presenting the wrong password: the refusal is an alert on its link.
    void credentialsRefused() {
        const json samplerCreds = {
            {"credentials", {{"username", "site"}, {"password", {{"file", "publisher"}}}}}};
        const json tapCreds = {
            {"credentials", {{"username", "site"}, {"password", {{"file", "subscriber"}}}}}};
        EditorDocument doc;
        doc.reset(samplerToTap(samplerCreds, tapCreds), QString(), false);
        RuntimeController rc;
        Secrets secrets = noSecrets();
        secrets.file_entries["publisher"] = "the-password";
        secrets.file_entries["subscriber"] = "not-the-password";
        rc.setSecrets(secrets);
        rc.setTopology(doc.topology());
        AlertsWidget alerts(&rc);
        alerts.setDocument(&doc);
        alerts.resize(1000, 260);
        alerts.show();
        QSignalSpy raised(&alerts, &AlertsWidget::alertRaised);
        rc.startAll();
        QTRY_VERIFY_WITH_TIMEOUT(findAlert(*alerts.rules(), AlertRule::CredentialsRefused,
                                           QStringLiteral("s-to-tap")) != nullptr,
                                 kWaitMs);
        bool announced = false;
        for (const auto& args : raised) {
            if (args.first().toString().contains(QStringLiteral("Credentials refused")))
                announced = true;
        }
        QVERIFY(announced);
        QVERIFY(alerts.unacknowledgedCount() >= 1);
        saveShot(&alerts, QStringLiteral("health_alerts_credentials"));
    }

  private:
    QTemporaryDir tmp_;
};

QTEST_MAIN(TestHealth)
#include "tst_health.moc"
