// The Studio's main window, driven as a user would: open the example, draw a new proxy into it
// from the palette, link it with the mouse (and see an invalid link refused), edit a property in
// the inspector, undo and redo, save and reload, start the topology from the graph and watch it
// run, stop it; files, recovery and remembered dock layout. Screenshots for the README.
#include "charts/charts_widget.hpp"
#include "charts/metric_history.hpp"
#include "document/editor_document.hpp"
#include "health/alerts_widget.hpp"
#include "health/heartbeat_monitor.hpp"
#include "main_window.hpp"
#include "monitor/console_widget.hpp"
#include "monitor/event_log_model.hpp"
#include "monitor/event_log_widget.hpp"
#include "monitor/tap_widget.hpp"
#include "panels/inspector_widget.hpp"
#include "panels/palette_widget.hpp"
#include "panels/property_editors.hpp"
#include "runtime/runtime_hub.hpp"
#include "scene/graph_scene.hpp"
#include "scene/graph_view.hpp"
#include "scene/link_item.hpp"
#include "scene/node_item.hpp"
#include "testutil.hpp"

#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

using namespace studio;
using studio::LinkPhase;
using zmqrpc::NodeKind;
using zmqrpc::NodeState;

namespace {

constexpr const char* kPassword = "studio-test-password";

// The id of the link that leaves `node` (its first).
QString linkFrom(const EditorDocument& doc, const char* node) {
    for (const auto& l : doc.topology().links()) {
        if (l.from.node == node) return QString::fromStdString(l.id);
    }
    return {};
}

void saveShot(QWidget* w, const QString& name) {
    QDir().mkpath(QStringLiteral(ZMQRPC_SCREENSHOT_DIR));
    QVERIFY(w->grab().save(QStringLiteral(ZMQRPC_SCREENSHOT_DIR "/") + name));
}

// Presses on one port and releases on another, through the view's viewport, as a user would.
void dragPort(GraphView* view, NodeItem* from, const QString& fromPort, NodeItem* to,
              const QString& toPort) {
    QPoint a = view->mapFromScene(from->portScenePos(fromPort));
    QPoint b = view->mapFromScene(to->portScenePos(toPort));
    QTest::mousePress(view->viewport(), Qt::LeftButton, {}, a);
    for (int i = 1; i <= 8; ++i) {
        QPoint p = a + (b - a) * i / 8;
        QMouseEvent move(QEvent::MouseMove, p, view->viewport()->mapToGlobal(p), Qt::NoButton,
                         Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(view->viewport(), &move);
    }
    QTest::mouseRelease(view->viewport(), Qt::LeftButton, {}, b);
}

}  // namespace

class TestMainWindow : public QObject {
    Q_OBJECT

    QTemporaryDir tmp_;
    QStringList prompts_;
    QMessageBox::StandardButton answer_ = QMessageBox::Discard;

    std::unique_ptr<MainWindow> makeWindow() {
        auto w = std::make_unique<MainWindow>();
        w->setPrompt([this](const QString& title, const QString&, QMessageBox::StandardButtons) {
            prompts_ << title;
            return answer_;
        });
        w->setFileChooser([this](const QString&, const QString& path, const QString&, bool) {
            return chosen_.isEmpty() ? path : chosen_;
        });
        // The bridge password is in no keychain, file or environment here: the window asks.
        w->setPasswordPrompt([this](const zmqrpc::CredentialRef& ref) -> std::optional<QString> {
            passwordsAsked_ << QString::fromStdString(ref.source_text());
            return QString::fromLatin1(kPassword);
        });
        w->resize(1500, 900);
        w->show();
        return w;
    }
    QString chosen_;
    QStringList passwordsAsked_;

  private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("zmqrpc-tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_main_window"));
        QSettings::setDefaultFormat(QSettings::IniFormat);
        QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, tmp_.filePath("settings"));
        QSettings().clear();
        qputenv("ZMQRPC_STUDIO_NO_KEYCHAIN", "1");
        qunsetenv("ZMQRPC_BRIDGE_PASSWORD");
        qputenv("ZMQRPC_CREDENTIALS", tmp_.filePath("credentials.json").toUtf8());
        // Key files go into the test's directory, never into ~/.config.
        qputenv("ZMQRPC_KEYS", tmp_.filePath("keys").toUtf8());
        QFile::remove(MainWindow::recoveryPath());
    }

    // The whole user story of issue 5 in one window.
    void drawRunSave() {
        auto w = makeWindow();
        QVERIFY(w->openExample(QStringLiteral("sampler-to-cloud")));
        auto* doc = w->document();
        QCOMPARE(doc->topology().nodes().size(), std::size_t(6));
        // An example is no file: the title is the topology's name ([*]: the modified mark).
        QCOMPARE(w->windowTitle(), QStringLiteral("Sampler to cloud[*] — zmqrpc Studio"));
        QVERIFY(!w->isWindowModified());
        QTRY_VERIFY(w->scene()->nodeItem(QStringLiteral("site-proxy")) != nullptr);
        QTest::qWait(50);
        saveShot(w.get(), QStringLiteral("studio-example.png"));

        // A new proxy from the palette: type its name in the palette's search, Enter adds it
        // where the view is looking.
        auto* search = w->palette()->searchField();
        search->setFocus();
        QTest::keyClicks(search, QStringLiteral("sub2pub"));
        QCOMPARE(w->palette()->visibleKinds(), QList<NodeKind>{NodeKind::Sub2Pub});
        QTest::keyClick(search, Qt::Key_Return);
        QTRY_VERIFY(doc->topology().find_node("sub2pub-1") != nullptr);
        QVERIFY(doc->isDirty());
        QVERIFY(w->isWindowModified());
        // Move it below the tap so the links are easy to see, then link the bridge's PUB to it.
        doc->moveNodes({{"sub2pub-1", {0, 0}}}, {{"sub2pub-1", {900, 260}}});
        w->view()->fitToView();
        NodeItem* bridge = w->scene()->nodeItem(QStringLiteral("cloud-bridge"));
        NodeItem* proxy = w->scene()->nodeItem(QStringLiteral("sub2pub-1"));
        QVERIFY(bridge && proxy);
        // The drags below map scene positions through the view: the item must be where it was
        // moved to (the view's transform is set by fitToView() itself).
        QTRY_COMPARE(proxy->pos(), QPointF(900, 260));
        const auto links = doc->topology().links().size();
        dragPort(w->view(), bridge, QStringLiteral("pub"), proxy, QStringLiteral("sub"));
        QTRY_COMPARE(doc->topology().links().size(), links + 1);
        // An invalid one (REQ output to a SUB input) is refused with the reason.
        NodeItem* site = w->scene()->nodeItem(QStringLiteral("site-proxy"));
        QSignalSpy refused(w->scene(), &GraphScene::linkRefused);
        dragPort(w->view(), site, QStringLiteral("req"), proxy, QStringLiteral("sub"));
        QTRY_COMPARE(refused.count(), 1);
        QVERIFY(refused.front().front().toString().contains(QStringLiteral("REP")));
        QCOMPARE(doc->topology().links().size(), links + 1);

        // Edit a property in the inspector: select the sampler, change its rate.
        w->scene()->selectOnly({QStringLiteral("sampler-1")}, {});
        QTRY_COMPARE(w->inspector()->shownId(), QStringLiteral("sampler-1"));
        auto* rateEditor = w->inspector()->editor(QStringLiteral("rate"));
        QVERIFY(rateEditor);
        auto* spin = rateEditor->findChild<QDoubleSpinBox*>();
        QVERIFY(spin);
        spin->setFocus();
        spin->selectAll();
        QTest::keyClicks(spin, QStringLiteral("20"));
        QTest::keyClick(spin, Qt::Key_Return);
        QTRY_COMPARE(doc->topology().find_node("sampler-1")->property("rate"), nlohmann::json(20));

        // Undo and redo through the window's actions.
        w->action(QStringLiteral("edit.undo"))->trigger();
        QCOMPARE(doc->topology().find_node("sampler-1")->property("rate"), nlohmann::json(5));
        w->action(QStringLiteral("edit.redo"))->trigger();
        QCOMPARE(doc->topology().find_node("sampler-1")->property("rate"), nlohmann::json(20));

        // The document's description is edited in the inspector when nothing is selected.
        w->scene()->selectOnly({}, {});
        auto* description =
            w->inspector()->findChild<QPlainTextEdit*>(QStringLiteral("document.description"));
        QVERIFY(description);
        description->setFocus();
        description->selectAll();
        QTest::keyClicks(description, QStringLiteral("Drawn in a test"));
        QTRY_COMPARE(doc->topology().description(), std::string("Drawn in a test"));

        // Save, reload: the same document. The title loses its mark.
        chosen_ = tmp_.filePath(QStringLiteral("drawn.json"));
        QVERIFY(w->saveAs());
        QVERIFY(!doc->isDirty());
        QVERIFY(w->windowTitle().contains(QStringLiteral("drawn.json")));
        QCOMPARE(w->recentFiles().value(0), QFileInfo(chosen_).absoluteFilePath());
        const zmqrpc::Topology saved = doc->topology();
        QVERIFY(w->openFile(chosen_));
        QVERIFY(doc->topology() == saved);
        // ... and the same file passes `zmqrpc validate` rules (no errors).
        QVERIFY(!zmqrpc::has_errors(zmqrpc::validate(doc->topology())));
    }

    // Start the example from the graph, watch counters rise, stop it. Its uplink is CURVE:
    // the bridge's key file is not there yet, so the window offers to generate it (and writes
    // its public key into the document); no password is asked for.
    void startAndWatch() {
        if (!zmqrpc::curve_available()) QSKIP("libzmq without CURVE");
        auto w = makeWindow();
        w->document()->reset(testutil::localExample(), QString(), false);
        QTRY_VERIFY(w->scene()->nodeItem(QStringLiteral("cloud-tap")) != nullptr);
        const QString uplink = linkFrom(*w->document(), "site-proxy");
        QVERIFY(w->scene()->linkItem(uplink)->isCurve());
        QVERIFY(w->scene()->linkItem(uplink)->label().contains(QStringLiteral("CURVE")));
        const QString secretFile = tmp_.filePath("keys/sampler-to-cloud-bridge.key_secret");
        QVERIFY(!QFile::exists(secretFile));
        passwordsAsked_.clear();
        prompts_.clear();
        answer_ = QMessageBox::Yes;
        w->action(QStringLiteral("run.startAll"))->trigger();
        answer_ = QMessageBox::Discard;
        QVERIFY(passwordsAsked_.isEmpty());
        QCOMPARE(prompts_, QStringList{QStringLiteral("CURVE key missing")});
        QVERIFY(QFile::exists(secretFile));
        const zmqrpc::CurveKeyPair keys = zmqrpc::load_curve_secret_file(secretFile.toStdString());
        const auto bridge = zmqrpc::SecurityRef::from_json(
            w->document()->topology().find_node("cloud-bridge")->property("input_credentials"));
        QVERIFY(bridge.curve() != nullptr);
        QCOMPARE(bridge.curve()->public_key, keys.public_key);
        QVERIFY(zmqrpc::save_topology(w->document()->topology()).find(keys.secret_key) ==
                std::string::npos);
        auto running = [&] {
            const auto& snap = w->runtime()->snapshot();
            if (snap.nodes.size() != 6) return false;
            for (const auto& n : snap.nodes) {
                if (n.state != NodeState::Running) return false;
            }
            return true;
        };
        QTRY_VERIFY_WITH_TIMEOUT(running(), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(w->scene()->nodeItem("cloud-tap")->state() == NodeState::Running,
                                 5000);
        auto tapCount = [&] {
            const auto* n = w->runtime()->snapshot().node("cloud-tap");
            return n ? n->metrics.messages_in : 0;
        };
        QTRY_VERIFY_WITH_TIMEOUT(tapCount() > 0, 10000);
        const auto first = tapCount();
        QTRY_VERIFY_WITH_TIMEOUT(tapCount() > first, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(w->runtime()->snapshot().node("cloud-tap")->rate_in > 0, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(
            w->scene()->nodeItem("cloud-tap")->footerText().contains(QStringLiteral("/s")), 5000);
        // Properties of a running node are read-only in the inspector.
        w->scene()->selectOnly({QStringLiteral("site-proxy")}, {});
        QTRY_VERIFY(w->inspector()->isReadOnly());
        QTest::qWait(600);  // a few snapshots: rates settle for the picture
        w->view()->fitToView();
        w->scene()->selectOnly({}, {});
        saveShot(w.get(), QStringLiteral("studio-running.png"));
        // The charts dock follows the selection.
        auto* charts = w->findChild<QDockWidget*>(QStringLiteral("chartsDock"));
        QVERIFY(charts);
        charts->raise();
        w->resizeDocks({charts}, {360}, Qt::Vertical);
        w->scene()->selectOnly({QStringLiteral("sampler-1"), QStringLiteral("site-proxy"),
                                QStringLiteral("cloud-tap")},
                               {});
        QTest::qWait(2500);
        w->view()->fitToView();
        QTest::qWait(100);
        saveShot(w.get(), QStringLiteral("studio-charts.png"));

        // Stop one node from the selection, then all.
        w->scene()->selectOnly({QStringLiteral("sampler-1")}, {});
        QTRY_COMPARE(w->inspector()->shownId(), QStringLiteral("sampler-1"));
        QVERIFY(w->inspector()->isReadOnly());
        w->action(QStringLiteral("run.stopSelected"))->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(
            w->runtime()->snapshot().node("sampler-1")->state == NodeState::Stopped, 5000);
        QCOMPARE(w->runtime()->snapshot().node("cloud-tap")->state, NodeState::Running);
        // Stopped, the node shown is editable again; the others still run.
        QTRY_VERIFY_WITH_TIMEOUT(!w->inspector()->isReadOnly(), 5000);
        QCOMPARE(w->inspector()->shownId(), QStringLiteral("sampler-1"));
        w->action(QStringLiteral("run.stopAll"))->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(
            w->runtime()->snapshot().node("cloud-tap")->state == NodeState::Stopped, 5000);
        // And so is the proxy that was read-only while it ran.
        w->scene()->selectOnly({QStringLiteral("site-proxy")}, {});
        QTRY_COMPARE(w->inspector()->shownId(), QStringLiteral("site-proxy"));
        QTRY_VERIFY_WITH_TIMEOUT(!w->inspector()->isReadOnly(), 5000);
    }

    // A PLAIN uplink (both ends name one environment variable that is not set): the password
    // is asked for once before the start, and the traffic arrives.
    void plainPasswordAskedOnce() {
        auto w = makeWindow();
        zmqrpc::Topology t = testutil::localExample();
        const auto plain = nlohmann::json::parse(
            R"({"username": "bridge", "password": {"env": "ZMQRPC_BRIDGE_PASSWORD"}})");
        t.set_property("site-proxy", "output_credentials", plain);
        t.set_property("cloud-bridge", "input_credentials", plain);
        w->document()->reset(t, QString(), false);
        QTRY_VERIFY(w->scene()->nodeItem(QStringLiteral("cloud-tap")) != nullptr);
        QVERIFY(!w->scene()->linkItem(linkFrom(*w->document(), "site-proxy"))->isCurve());
        passwordsAsked_.clear();
        w->action(QStringLiteral("run.startAll"))->trigger();
        QCOMPARE(passwordsAsked_, QStringList{QStringLiteral("env:ZMQRPC_BRIDGE_PASSWORD")});
        QTRY_VERIFY_WITH_TIMEOUT(
            w->runtime()->snapshot().node("cloud-tap") &&
                w->runtime()->snapshot().node("cloud-tap")->metrics.messages_in > 0,
            10000);
        w->action(QStringLiteral("run.stopAll"))->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(
            w->runtime()->snapshot().node("cloud-tap")->state == NodeState::Stopped, 5000);
    }

    // A CURVE server that is not the one the document names (its public key in the topology
    // belongs to another key pair): the proxy's link shows the refusal, not a timeout, and says
    // why with the event's text.
    void wrongServerKeyShowsOnTheLink() {
        if (!zmqrpc::curve_available()) QSKIP("libzmq without CURVE");
        zmqrpc::CurveSecurity serverCurve;
        serverCurve.keys = zmqrpc::generate_curve_key_pair();
        serverCurve.clients = zmqrpc::CurveClients::AnyWithServerKey;
        auto options = testutil::repServerOptions();
        options.security = serverCurve;
        zmqrpc::RpcServer server(options, testutil::standardFunctions());
        server.start();
        const std::string other = zmqrpc::generate_curve_key_pair().public_key;

        zmqrpc::Topology t;
        zmqrpc::Node sampler;
        sampler.id = "sampler";
        sampler.kind = NodeKind::Sampler;
        sampler.properties = {{"bind", "tcp://127.0.0.1:*"}, {"rate", 20}};
        zmqrpc::Node proxy;
        proxy.id = "uplink";
        proxy.kind = NodeKind::Sub2Req;
        proxy.position = {300, 0};
        proxy.properties = {{"output_credentials", {{"curve", nlohmann::json::object()}}},
                            {"req_timeout", 0.5}};
        zmqrpc::Node cloud;
        cloud.id = "cloud";
        cloud.kind = NodeKind::External;
        cloud.position = {600, 0};
        cloud.properties = {
            {"socket", "rep"},
            {"endpoint", server.rep_endpoint()},
            {"credentials", {{"curve", {{"public_key", other}, {"clients", "any"}}}}}};
        t.add_node(sampler);
        t.add_node(proxy);
        t.add_node(cloud);
        t.add_link({"feed", {"sampler", "pub"}, {"uplink", "sub"}, 0});
        t.add_link({"upload", {"uplink", "req"}, {"cloud", "rep"}, 0});
        auto w = makeWindow();
        w->document()->reset(t, QString(), false);
        QTRY_VERIFY(w->scene()->linkItem(QStringLiteral("upload")) != nullptr);
        LinkItem* upload = w->scene()->linkItem(QStringLiteral("upload"));
        QVERIFY(upload->isCurve());
        w->action(QStringLiteral("run.startAll"))->trigger();
        const auto refused = [&] {
            const auto* link = w->runtime()->snapshot().link("upload");
            return link != nullptr &&
                   link->connection == zmqrpc::ConnectionState::CredentialsRefused;
        };
        // The server hangs up on a HELLO it cannot decrypt: refused at the first handshake,
        // and it stays shown as refused while the proxy pauses before it tries again.
        QTRY_VERIFY_WITH_TIMEOUT(refused(), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(upload->isRefused(), 5000);
        // The external server's node says it refuses, not that it cannot be reached.
        QTRY_VERIFY_WITH_TIMEOUT(
            w->runtime()->snapshot().node("cloud")->reason.find("refuses") != std::string::npos,
            5000);
        QVERIFY(upload->showsLock());
        QTRY_VERIFY_WITH_TIMEOUT(!upload->refusal().isEmpty(), 5000);
        QVERIFY2(upload->toolTip().contains(QStringLiteral("credentials refused: ")),
                 qPrintable(upload->toolTip()));
        QVERIFY2(upload->toolTip().contains(QStringLiteral("CURVE")),
                 qPrintable(upload->toolTip()));
        QVERIFY2(upload->toolTip().contains(upload->refusal()), qPrintable(upload->toolTip()));
        // Drawn as refused (the lock), not as a handshake failure or a timeout.
        QVERIFY(!upload->toolTip().contains(QStringLiteral("timeout")));
        w->view()->fitToView();
        QTest::qWait(100);
        saveShot(w.get(), QStringLiteral("studio-curve-refused.png"));
        w->action(QStringLiteral("run.stopAll"))->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(
            w->runtime()->snapshot().node("uplink")->state == NodeState::Stopped, 5000);
        server.stop();
        server.join();
    }

    // The monitor docks follow the selection: a server is the console's target (and a call
    // gets its answer), a tap node or a PUB->SUB link is what the tap view shows.
    void monitorDocksFollowSelection() {
        auto w = makeWindow();
        w->document()->reset(testutil::localExample("rpc-fanout"), QString(), false);
        QTRY_VERIFY(w->scene()->nodeItem(QStringLiteral("front")) != nullptr);
        w->action(QStringLiteral("run.startAll"))->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(
            w->runtime()->snapshot().node("front") &&
                w->runtime()->snapshot().node("front")->state == NodeState::Running &&
                w->runtime()->snapshot().node("sampler-tap")->state == NodeState::Running,
            10000);

        w->scene()->selectOnly({QStringLiteral("front")}, {});
        auto* console = w->console();
        QTRY_VERIFY_WITH_TIMEOUT(!console->targetEndpoint().isEmpty(), 5000);
        QTRY_VERIFY_WITH_TIMEOUT(console->functionNames().contains(QStringLiteral("echo")), 5000);
        auto* function = console->findChild<QComboBox*>(QStringLiteral("consoleFunction"));
        auto* params = console->findChild<QPlainTextEdit*>(QStringLiteral("consoleParams"));
        auto* send = console->findChild<QPushButton*>(QStringLiteral("consoleSend"));
        QVERIFY(function && params && send);
        function->setCurrentText(QStringLiteral("echo"));
        params->setPlainText(QStringLiteral("{\"sensor\": \"t-1\", \"value\": 21.5}"));
        QTRY_VERIFY(send->isEnabled());
        QTest::mouseClick(send, Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(console->responseText().contains(QStringLiteral("21.5")), 5000);
        QCOMPARE(console->lastResult().status, 200);
        w->findChild<QDockWidget*>(QStringLiteral("consoleDock"))->raise();
        w->view()->fitToView();
        QTest::qWait(100);
        saveShot(w.get(), QStringLiteral("studio-console.png"));

        w->scene()->selectOnly({QStringLiteral("sampler-tap")}, {});
        QTRY_VERIFY_WITH_TIMEOUT(w->tap()->messageCount() > 0, 5000);
        QString link;
        for (const auto& l : w->document()->topology().links()) {
            if (l.to.node == "sampler-tap") link = QString::fromStdString(l.id);
        }
        w->scene()->selectOnly({}, {link});
        QTRY_VERIFY_WITH_TIMEOUT(w->tap()->watchedText().contains(QStringLiteral("tcp://")), 5000);
        QTRY_VERIFY_WITH_TIMEOUT(w->tap()->messageCount() > 0, 5000);
        w->findChild<QDockWidget*>(QStringLiteral("tapDock"))->raise();
        QTest::qWait(300);
        saveShot(w.get(), QStringLiteral("studio-tap.png"));
        w->action(QStringLiteral("run.stopAll"))->trigger();
    }

    // Issue 6's story: stop a sampler and see the heartbeat failure in the timeline, the
    // monitor table, the event log and the alerts; restart it and see the recovery.
    void heartbeatFailureEverywhere() {
        auto w = makeWindow();
        zmqrpc::Topology t;
        zmqrpc::Node sampler;
        sampler.id = "sampler";
        sampler.kind = NodeKind::Sampler;
        sampler.properties = {
            {"bind", "tcp://127.0.0.1:*"}, {"rate", 20}, {"heartbeat_interval", 0.1}};
        zmqrpc::Node tap;
        tap.id = "tap";
        tap.kind = NodeKind::Tap;
        tap.position = {320, 0};
        t.add_node(sampler);
        t.add_node(tap);
        t.add_link({"watched", {"sampler", "pub"}, {"tap", "sub"}, 0.6});
        w->document()->reset(t, QString(), false);
        w->action(QStringLiteral("run.startAll"))->trigger();
        auto phase = [&] {
            const auto* link = w->charts()->history()->link(QStringLiteral("watched"));
            return link ? link->current : LinkPhase::Inactive;
        };
        QTRY_COMPARE_WITH_TIMEOUT(phase(), LinkPhase::Alive, 5000);

        w->scene()->selectOnly({QStringLiteral("sampler")}, {});
        w->action(QStringLiteral("run.stopSelected"))->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(phase(), LinkPhase::Dead, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(w->heartbeats()->summaryText().contains(QStringLiteral("dead")),
                                 3000);
        auto logged = [&](zmqrpc::EventKind kind) {
            auto* model = w->eventLog()->model();
            for (int i = 0; i < model->rowCount(); ++i) {
                if (model->rowAt(i).kind == kind && model->rowAt(i).node == QStringLiteral("tap"))
                    return true;
            }
            return false;
        };
        QTRY_VERIFY_WITH_TIMEOUT(logged(zmqrpc::EventKind::HeartbeatLate), 3000);
        QTRY_VERIFY_WITH_TIMEOUT(logged(zmqrpc::EventKind::HeartbeatLost), 3000);
        QTRY_VERIFY_WITH_TIMEOUT(logged(zmqrpc::EventKind::SocketRecreated), 3000);
        QTRY_VERIFY_WITH_TIMEOUT(w->alerts()->unacknowledgedCount() > 0, 3000);
        QTRY_VERIFY_WITH_TIMEOUT(
            !w->charts()->history()->link(QStringLiteral("watched"))->recreations.empty(), 3000);

        w->action(QStringLiteral("run.startSelected"))->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(phase(), LinkPhase::Alive, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(logged(zmqrpc::EventKind::HeartbeatRecovered), 3000);
        QTRY_VERIFY_WITH_TIMEOUT(!w->heartbeats()->summaryText().contains(QStringLiteral("dead")),
                                 3000);
        w->action(QStringLiteral("run.stopAll"))->trigger();
    }

    // Unsaved changes are asked about; Cancel keeps them.
    void promptsBeforeLosingChanges() {
        auto w = makeWindow();
        w->document()->newDocument();
        w->document()->addNode(NodeKind::Tap, {});
        QVERIFY(w->isWindowModified());
        prompts_.clear();
        answer_ = QMessageBox::Cancel;
        w->action(QStringLiteral("file.new"))->trigger();
        QCOMPARE(prompts_.size(), 1);
        QCOMPARE(w->document()->topology().nodes().size(), std::size_t(1));
        answer_ = QMessageBox::Discard;
        w->action(QStringLiteral("file.new"))->trigger();
        QCOMPARE(w->document()->topology().nodes().size(), std::size_t(0));
        QVERIFY(!w->isWindowModified());
    }

    // Unsaved work survives a crash: the recovery file is offered by the next window.
    void recovery() {
        QString path;
        {
            auto w = makeWindow();
            QVERIFY(w->openExample(QStringLiteral("rpc-fanout")));
            w->document()->addNode(NodeKind::Tap, {600, 600});
            w->writeRecovery();
            path = MainWindow::recoveryPath();
            QVERIFY(QFile::exists(path));
            // A crash: the window goes without closeEvent (no clean exit removes the file).
            w->setPrompt([](const QString&, const QString&, QMessageBox::StandardButtons) {
                return QMessageBox::Discard;
            });
            w.release()->deleteLater();
        }
        QVERIFY(QFile::exists(path));
        auto w = makeWindow();
        answer_ = QMessageBox::Yes;
        QVERIFY(w->offerRecovery());
        QCOMPARE(w->document()->topology().nodes().size(), std::size_t(8));
        QVERIFY(w->document()->isDirty());
        answer_ = QMessageBox::Discard;
        QVERIFY(w->close());
        QVERIFY(!QFile::exists(path));
    }

    // Export as PNG and SVG.
    void exportDiagram() {
        auto w = makeWindow();
        QVERIFY(w->openExample(QStringLiteral("sampler-to-cloud")));
        chosen_ = tmp_.filePath(QStringLiteral("diagram.png"));
        w->action(QStringLiteral("file.exportPng"))->trigger();
        QImage png(chosen_);
        QVERIFY(!png.isNull() && png.width() > 400);
        chosen_ = tmp_.filePath(QStringLiteral("diagram.svg"));
        w->action(QStringLiteral("file.exportSvg"))->trigger();
        QFile svg(chosen_);
        QVERIFY(svg.open(QIODevice::ReadOnly));
        QVERIFY(svg.readAll().contains("<svg"));
        chosen_.clear();
    }

    // Dock layout is remembered across windows.
    void dockLayoutRemembered() {
        {
            auto w = makeWindow();
            for (const char* name : {"paletteDock", "inspectorDock", "eventsDock", "consoleDock",
                                     "tapDock", "heartbeatsDock", "alertsDock", "chartsDock"})
                QVERIFY2(w->findChild<QDockWidget*>(QString::fromLatin1(name)), name);
            auto* dock = w->findChild<QDockWidget*>(QStringLiteral("problemsDock"));
            QVERIFY(dock && dock->isVisible());
            dock->hide();
            answer_ = QMessageBox::Discard;
            QVERIFY(w->close());
        }
        auto w = makeWindow();
        auto* dock = w->findChild<QDockWidget*>(QStringLiteral("problemsDock"));
        QVERIFY(dock);
        QVERIFY(!dock->isVisible());
        dock->show();
        QVERIFY(w->close());
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
