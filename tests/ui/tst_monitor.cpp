// The monitoring widgets, driven through their real widgets offscreen: the RPC console against a
// real RpcServer (describe, echo, 451, 463, timeout, invalid JSON, history across instances,
// repeat with a latency summary, Publish and Heartbeat on its PUB, node targets and their
// credentials, a GUI thread that keeps ticking during a slow call), the event log fed by a real
// RuntimeController (filters, bounded ring, copy) and the tap view (a Sender's PUB, heartbeats,
// filter, pause; a tap node of a running graph). Screenshots go to ZMQRPC_SCREENSHOT_DIR.
#include "document/editor_document.hpp"
#include "monitor/console_widget.hpp"
#include "monitor/event_log_model.hpp"
#include "monitor/event_log_widget.hpp"
#include "monitor/latency_histogram.hpp"
#include "monitor/tap_model.hpp"
#include "monitor/tap_widget.hpp"
#include "runtime/runtime_hub.hpp"

#include <zmqrpc/diagnostics.hpp>
#include <zmqrpc/protocol.hpp>
#include <zmqrpc/receiver.hpp>
#include <zmqrpc/rpc_server.hpp>
#include <zmqrpc/security.hpp>
#include <zmqrpc/sender.hpp>

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTableView>
#include <QTemporaryDir>
#include <QTimer>
#include <QToolButton>
#include <QtTest>

#include <atomic>
#include <memory>
#include <mutex>

using namespace studio;
using namespace std::chrono_literals;

namespace {

constexpr const char* kAnyTcp = "tcp://127.0.0.1:*";
constexpr int kWaitMs = 8000;

void saveShot(QWidget* w, const QString& name) {
    QDir().mkpath(QStringLiteral(ZMQRPC_SCREENSHOT_DIR));
    const QString path = QStringLiteral(ZMQRPC_SCREENSHOT_DIR "/%1.png").arg(name);
    QVERIFY2(w->grab().save(path), qPrintable(path));
}

template <class T>
T* child(QWidget* parent, const char* name) {
    T* w = parent->findChild<T*>(QString::fromLatin1(name));
    if (w == nullptr) qFatal("no child %s", name);
    return w;
}

// Replaces the text of a line edit or plain-text edit by typing.
void retype(QWidget* edit, const QString& text) {
    edit->setFocus();
    QTest::keyClick(edit, Qt::Key_A, Qt::ControlModifier);
    QTest::keyClick(edit, Qt::Key_Delete);
    if (!text.isEmpty()) QTest::keyClicks(edit, text);
}

// What a Receiver's tap saw, collected on its thread.
struct TapLog {
    std::mutex mutex;
    std::vector<std::pair<std::string, bool>> seen;
    int count(bool heartbeat, const std::string& needle = {}) {
        std::lock_guard lock(mutex);
        int n = 0;
        for (const auto& [m, hb] : seen) {
            if (hb == heartbeat && m.find(needle) != std::string::npos) ++n;
        }
        return n;
    }
};

zmqrpc::Topology samplerAndTap() {
    zmqrpc::Topology t;
    zmqrpc::Node sampler;
    sampler.id = "sampler-1";
    sampler.kind = zmqrpc::NodeKind::Sampler;
    sampler.properties = {{"bind", kAnyTcp}, {"rate", 50}, {"heartbeat_interval", 0.2}};
    t.add_node(sampler);
    zmqrpc::Node tap;
    tap.id = "tap-1";
    tap.kind = zmqrpc::NodeKind::Tap;
    t.add_node(tap);
    zmqrpc::Link link;
    link.from = {"sampler-1", "pub"};
    link.to = {"tap-1", "sub"};
    link.heartbeat_timeout = 2;
    t.add_link(link);
    return t;
}

}  // namespace

class TestMonitor : public QObject {
    Q_OBJECT

    QTemporaryDir settingsDir_;
    std::unique_ptr<zmqrpc::RpcServer> server_;
    QString endpoint_;
    EditorDocument doc_;

    std::unique_ptr<ConsoleWidget> makeConsole() {
        auto c = std::make_unique<ConsoleWidget>(&doc_, nullptr, nullptr);
        c->resize(860, 620);
        c->show();
        return c;
    }

    // Types the test server's endpoint and waits for its functions.
    void target(ConsoleWidget& c, const QString& endpoint) {
        auto* combo = child<QComboBox>(&c, "consoleTarget");
        retype(combo->lineEdit(), endpoint);
        QTRY_VERIFY_WITH_TIMEOUT(c.functionNames().contains(QStringLiteral("sleep")), kWaitMs);
    }

    // Types function and parameters, clicks Send, waits for the answer.
    void call(ConsoleWidget& c, const QString& function, const QString& params) {
        retype(child<QComboBox>(&c, "consoleFunction")->lineEdit(), function);
        retype(child<QPlainTextEdit>(&c, "consoleParams"), params);
        auto* send = child<QPushButton>(&c, "consoleSend");
        QVERIFY(send->isEnabled());
        QSignalSpy done(&c, &ConsoleWidget::callFinished);
        QTest::mouseClick(send, Qt::LeftButton);
        QVERIFY(c.isCallRunning());
        QVERIFY(!send->isEnabled());  // one call at a time
        QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1, kWaitMs);
        QVERIFY(!c.isCallRunning());
    }

  private slots:
    void initTestCase() {
        QVERIFY(settingsDir_.isValid());
        QCoreApplication::setOrganizationName(QStringLiteral("zmqrpc-tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_monitor"));
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, settingsDir_.path());
        QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settingsDir_.path());
        QSettings().clear();

        zmqrpc::RpcServerOptions options;
        options.name = "test-server";
        options.rep_bind = kAnyTcp;
        server_ = std::make_unique<zmqrpc::RpcServer>(options, zmqrpc::diagnostic_functions());
        server_->start();
        endpoint_ = QString::fromStdString(server_->rep_endpoint());
        QVERIFY(endpoint_.startsWith(QLatin1String("tcp://127.0.0.1:")));
    }

    void cleanupTestCase() { server_.reset(); }

    void consoleCallsTheServer() {
        auto c = makeConsole();
        target(*c, endpoint_);
        auto* functions = child<QComboBox>(c.get(), "consoleFunction");
        for (const char* name : {"echo", "add", "sleep", "fail", "ping"})
            QVERIFY2(functions->findText(QString::fromLatin1(name)) >= 0, name);

        // The hint and the template come from _describe.
        retype(functions->lineEdit(), QStringLiteral("add"));
        QVERIFY(child<QLabel>(c.get(), "consoleHint")->text().contains(QLatin1String("add(a, b)")));
        QTest::mouseClick(child<QPushButton>(c.get(), "consoleTemplate"), Qt::LeftButton);
        const QString tmpl = child<QPlainTextEdit>(c.get(), "consoleParams")->toPlainText();
        QVERIFY2(tmpl.contains(QLatin1String("\"a\": null")) &&
                     tmpl.contains(QLatin1String("\"b\": null")),
                 qPrintable(tmpl));

        call(*c, QStringLiteral("add"), QStringLiteral("{\"a\": 2, \"b\": 40}"));
        QVERIFY2(c->lastResult().ok(), qPrintable(c->resultText()));
        QCOMPARE(c->responseText(), QStringLiteral("42"));

        call(*c, QStringLiteral("unknown_function"), QString());
        QVERIFY2(c->resultText().contains(QLatin1String("451")), qPrintable(c->resultText()));
        QVERIFY(c->resultText().startsWith(QLatin1String("server status 451")));

        call(*c, QStringLiteral("fail"), QStringLiteral("{\"message\": \"boom\"}"));
        QVERIFY2(c->resultText().contains(QLatin1String("463")) &&
                     c->resultText().contains(QLatin1String("boom")),
                 qPrintable(c->resultText()));

        // Invalid JSON: a red message and no Send; fixed, Send comes back.
        auto* params = child<QPlainTextEdit>(c.get(), "consoleParams");
        auto* send = child<QPushButton>(c.get(), "consoleSend");
        auto* error = child<QLabel>(c.get(), "consoleParamsError");
        retype(params, QStringLiteral("{\"x\": "));
        QVERIFY(!send->isEnabled());
        QVERIFY(error->isVisible());
        QVERIFY(error->text().contains(QLatin1String("Invalid JSON")));
        retype(params, QStringLiteral("[1, 2]"));
        QVERIFY(!send->isEnabled());
        QVERIFY(error->text().contains(QLatin1String("object")));
        // Python's reading of JSON, and its words: 01 is a 0 followed by extra text.
        retype(params, QStringLiteral("{\"x\": 01}"));
        QVERIFY(!send->isEnabled());
        QVERIFY2(
            error->text() ==
                QLatin1String("Invalid JSON: Expecting ',' delimiter: line 1 column 8 (char 7)"),
            qPrintable(error->text()));
        params->setPlainText(QStringLiteral("{\"x\": ") + QString(5000, QLatin1Char('[')) +
                             QString(5000, QLatin1Char(']')) + QLatin1Char('}'));
        QVERIFY(!send->isEnabled());
        QVERIFY2(error->text() == QLatin1String("Invalid JSON: maximum recursion depth exceeded "
                                                "while decoding a JSON array from a unicode "
                                                "string"),
                 qPrintable(error->text()));

        // A typed endpoint that does not parse is refused before any call.
        auto* targetEdit = child<QComboBox>(c.get(), "consoleTarget")->lineEdit();
        retype(targetEdit, QStringLiteral("tcp://nowhere"));
        QTRY_VERIFY_WITH_TIMEOUT(!c->targetError().isEmpty(), kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(!child<QLabel>(c.get(), "consoleTargetInfo")->text().isEmpty(),
                                 kWaitMs);
        retype(targetEdit, endpoint_);
        QTRY_VERIFY_WITH_TIMEOUT(c->targetError().isEmpty(), kWaitMs);

        call(*c, QStringLiteral("echo"), QStringLiteral("{\"x\": 1}"));
        QVERIFY2(c->resultText().startsWith(QLatin1String("200")), qPrintable(c->resultText()));
        QVERIFY2(c->responseText().contains(QLatin1String("\"x\": 1")),
                 qPrintable(c->responseText()));
        QVERIFY(c->lastRoundTripMs() > 0);
        QVERIFY(child<QLabel>(c.get(), "consoleRoundTrip")->text().contains(QLatin1String("ms")));
        saveShot(c.get(), QStringLiteral("monitor-console-echo"));
    }

    void consoleKeepsHistory() {
        QSettings().remove(QLatin1String(ConsoleWidget::kHistoryKey));
        {
            auto c = makeConsole();
            target(*c, endpoint_);
            call(*c, QStringLiteral("echo"), QStringLiteral("{\"n\": 1}"));
            call(*c, QStringLiteral("echo"), QStringLiteral("{\"n\": 2}"));
            QCOMPARE(c->history().size(), 2);

            auto* params = child<QPlainTextEdit>(c.get(), "consoleParams");
            // A draft; Up (caret on the first line) recalls the newest, then the older one.
            retype(params, QStringLiteral("{\"draft\": true}"));
            params->moveCursor(QTextCursor::Start);
            QTest::keyClick(params, Qt::Key_Up);
            QVERIFY2(params->toPlainText().contains(QLatin1String("\"n\": 2")),
                     qPrintable(params->toPlainText()));
            params->moveCursor(QTextCursor::Start);
            QTest::keyClick(params, Qt::Key_Up);
            QVERIFY2(params->toPlainText().contains(QLatin1String("\"n\": 1")),
                     qPrintable(params->toPlainText()));
            // Alt+Down anywhere goes forward, and past the newest back to the draft.
            QTest::keyClick(params, Qt::Key_Down, Qt::AltModifier);
            QVERIFY(params->toPlainText().contains(QLatin1String("\"n\": 2")));
            QTest::keyClick(params, Qt::Key_Down, Qt::AltModifier);
            QVERIFY(params->toPlainText().contains(QLatin1String("draft")));

            // After sending {"n": 2} again, the first Up skips what is already shown.
            retype(params, QStringLiteral("{\"n\": 2}"));
            params->moveCursor(QTextCursor::Start);
            QTest::keyClick(params, Qt::Key_Up);
            QVERIFY(params->toPlainText().contains(QLatin1String("\"n\": 1")));
        }
        // A new console (a restart) has the history.
        auto again = makeConsole();
        QCOMPARE(again->history().size(), 2);
        QCOMPARE(again->history().back().function, QStringLiteral("echo"));
        QCOMPARE(again->history().back().parameters, QStringLiteral("{\"n\": 2}"));
        QCOMPARE(again->history().back().target, endpoint_);
        QCOMPARE(child<QListWidget>(again.get(), "consoleHistory")->count(), 2);
        auto* params = child<QPlainTextEdit>(again.get(), "consoleParams");
        params->setFocus();
        QTest::keyClick(params, Qt::Key_Up);
        QVERIFY(params->toPlainText().contains(QLatin1String("\"n\": 2")));
        QCOMPARE(child<QComboBox>(again.get(), "consoleFunction")->currentText(),
                 QStringLiteral("echo"));
    }

    void consoleRepeats() {
        auto c = makeConsole();
        target(*c, endpoint_);
        retype(child<QComboBox>(c.get(), "consoleFunction")->lineEdit(), QStringLiteral("echo"));
        retype(child<QPlainTextEdit>(c.get(), "consoleParams"), QStringLiteral("{\"r\": 1}"));
        auto* count = child<QSpinBox>(c.get(), "consoleRepeatCount");
        auto* rate = child<QDoubleSpinBox>(c.get(), "consoleRepeatRate");
        retype(count, QStringLiteral("20"));
        retype(rate, QStringLiteral("0"));
        QCOMPARE(count->value(), 20);
        QCOMPARE(rate->value(), 0.0);
        QSignalSpy done(c.get(), &ConsoleWidget::repeatFinished);
        QTest::mouseClick(child<QPushButton>(c.get(), "consoleRepeat"), Qt::LeftButton);
        QVERIFY(c->isRepeatRunning());
        QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1, kWaitMs);
        auto* progress = child<QProgressBar>(c.get(), "consoleProgress");
        QCOMPARE(progress->value(), progress->maximum());
        QCOMPARE(progress->maximum(), 20);
        QCOMPARE(c->lastRepeat().ok, 20);
        QCOMPARE(c->lastRepeat().failed, 0);
        const QString summary = child<QLabel>(c.get(), "consoleRepeatSummary")->text();
        QVERIFY2(summary.contains(QLatin1String("20 ok")), qPrintable(summary));
        for (const char* word : {"min", "median", "p99", "max"})
            QVERIFY2(summary.contains(QLatin1String(word)), word);
        auto* histogram = c->findChild<LatencyHistogram*>();
        int total = 0;
        for (int b : histogram->buckets())
            total += b;
        QCOMPARE(total, 20);
        saveShot(c.get(), QStringLiteral("monitor-console-repeat"));

        // A paced run can be cancelled.
        retype(count, QStringLiteral("1000"));
        retype(rate, QStringLiteral("20"));
        QTest::mouseClick(child<QPushButton>(c.get(), "consoleRepeat"), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(progress->value() >= 1, kWaitMs);  // under way
        QTest::mouseClick(child<QPushButton>(c.get(), "consoleCancel"), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(done.count() == 2, kWaitMs);
        QVERIFY(c->lastRepeat().cancelled);
        QVERIFY(c->lastRepeat().ok < 1000);
    }

    void consolePublishesOnItsPub() {
        auto c = makeConsole();
        QTRY_VERIFY_WITH_TIMEOUT(!c->publishEndpoint().isEmpty(), kWaitMs);
        auto* bound = child<QLineEdit>(c.get(), "consoleBound");
        QCOMPARE(bound->text(), c->publishEndpoint());

        auto log = std::make_shared<TapLog>();
        zmqrpc::ReceiverOptions options;
        options.name = "test-tap";
        options.sub_connect = {bound->text().toStdString()};
        options.default_heartbeat_timeout = 0ms;
        options.tap = [log](const std::string&, std::string_view message, bool heartbeat) {
            std::lock_guard lock(log->mutex);
            log->seen.emplace_back(std::string(message), heartbeat);
        };
        zmqrpc::Receiver receiver(options, [](std::string_view, zmqrpc::Origin) { return ""; });
        receiver.start();

        retype(child<QComboBox>(c.get(), "consoleFunction")->lineEdit(),
               QStringLiteral("store_sample"));
        retype(child<QPlainTextEdit>(c.get(), "consoleParams"), QStringLiteral("{\"v\": 7}"));
        auto* publish = child<QPushButton>(c.get(), "consolePublish");
        QVERIFY(publish->isEnabled());
        // A SUB joins a PUB asynchronously: publish until it hears.
        QElapsedTimer clock;
        clock.start();
        while (log->count(false, "store_sample") == 0 && clock.elapsed() < kWaitMs) {
            QTest::mouseClick(publish, Qt::LeftButton);
            QTest::qWait(50);
        }
        QVERIFY(log->count(false, "\"v\": 7") > 0);
        auto* heartbeat = child<QPushButton>(c.get(), "consoleHeartbeat");
        while (log->count(true) == 0 && clock.elapsed() < 2 * kWaitMs) {
            QTest::mouseClick(heartbeat, Qt::LeftButton);
            QTest::qWait(50);
        }
        QVERIFY(log->count(true) > 0);
        receiver.stop();
    }

    void consoleTargetsNodesOfTheDocument() {
        const QString port = endpoint_.section(QLatin1Char(':'), -1);
        zmqrpc::Topology t;
        zmqrpc::Node server;
        server.id = "server-1";
        server.name = "diagnostics";
        server.kind = zmqrpc::NodeKind::RpcServer;
        server.properties = {{"rep_bind", "tcp://*:" + port.toStdString()}};
        t.add_node(server);
        zmqrpc::Node guarded;
        guarded.id = "server-2";
        guarded.kind = zmqrpc::NodeKind::RpcServer;
        guarded.properties = {
            {"rep_bind", "tcp://127.0.0.1:1"},
            {"credentials", {{"username", "alice"}, {"password", {{"file", "no-such-entry"}}}}}};
        t.add_node(guarded);
        zmqrpc::Node sampler;  // no REP: not a target
        sampler.id = "sampler-1";
        sampler.kind = zmqrpc::NodeKind::Sampler;
        sampler.properties = {{"bind", kAnyTcp}};
        t.add_node(sampler);
        doc_.reset(t, QString(), false);

        auto c = makeConsole();
        auto* combo = child<QComboBox>(c.get(), "consoleTarget");
        QCOMPARE(combo->count(), 2);
        QCOMPARE(combo->itemText(0), QStringLiteral("diagnostics (tcp://127.0.0.1:%1)").arg(port));
        QCOMPARE(combo->itemData(0).toString(), QStringLiteral("server-1"));

        // A node whose password cannot be found: the error, no call.
        c->setTargetNode(QStringLiteral("server-2"));
        QVERIFY2(c->targetError().contains(QLatin1String("no-such-entry")),
                 qPrintable(c->targetError()));
        QVERIFY(!child<QLineEdit>(c.get(), "consoleUser")->isEnabled());

        // The reachable one, picked with the keyboard from the list.
        combo->setFocus();
        QCOMPARE(combo->currentIndex(), 1);
        QTest::keyClick(combo, Qt::Key_Up);
        QCOMPARE(combo->currentIndex(), 0);
        QTRY_COMPARE_WITH_TIMEOUT(c->targetEndpoint(),
                                  QStringLiteral("tcp://127.0.0.1:%1").arg(port), kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(c->functionNames().contains(QStringLiteral("echo")), kWaitMs);
        call(*c, QStringLiteral("ping"), QString());
        QVERIFY2(c->resultText().startsWith(QLatin1String("200")), qPrintable(c->resultText()));
        QVERIFY(c->responseText().contains(QLatin1String("pong")));
        doc_.reset(zmqrpc::Topology{}, QString(), false);
    }

    // A CURVE server: the console connects to a node of the document with the public key the
    // node's security names (a fresh key pair of its own), or to a typed endpoint with a typed
    // server key; a wrong key is refused, not timed out.
    void consoleSpeaksCurve() {
        if (!zmqrpc::curve_available()) QSKIP("libzmq without CURVE");
        zmqrpc::CurveSecurity curve;
        curve.keys = zmqrpc::generate_curve_key_pair();
        curve.clients = zmqrpc::CurveClients::AnyWithServerKey;
        zmqrpc::RpcServerOptions options;
        options.name = "curve-server";
        options.rep_bind = kAnyTcp;
        options.security = curve;
        zmqrpc::RpcServer server(options, zmqrpc::diagnostic_functions());
        server.start();
        const QString endpoint = QString::fromStdString(server.rep_endpoint());
        const QString port = endpoint.section(QLatin1Char(':'), -1);

        zmqrpc::Topology t;
        zmqrpc::Node node;
        node.id = "secure";
        node.kind = zmqrpc::NodeKind::RpcServer;
        node.properties = {{"rep_bind", "tcp://127.0.0.1:" + port.toStdString()},
                           {"credentials",
                            {{"curve",
                              {{"secret_key", {{"env", "ZMQRPC_TEST_UNSET_SECRET"}}},
                               {"public_key", curve.keys.public_key},
                               {"clients", "any"}}}}}};
        t.add_node(node);
        doc_.reset(t, QString(), false);

        auto c = makeConsole();
        c->setTargetNode(QStringLiteral("secure"));
        QVERIFY2(c->targetError().isEmpty(), qPrintable(c->targetError()));
        const QString info = child<QLabel>(c.get(), "consoleTargetInfo")->text();
        QVERIFY2(info.contains(QLatin1String("CURVE")), qPrintable(info));
        QVERIFY(!child<QLineEdit>(c.get(), "consoleServerKey")->isEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(c->functionNames().contains(QStringLiteral("echo")), kWaitMs);
        call(*c, QStringLiteral("ping"), QString());
        QVERIFY2(c->resultText().startsWith(QLatin1String("200")), qPrintable(c->resultText()));
        doc_.reset(zmqrpc::Topology{}, QString(), false);

        // Typed: the endpoint and the server's public key.
        auto typed = makeConsole();
        auto* key = child<QLineEdit>(typed.get(), "consoleServerKey");
        QVERIFY(key->isEnabled());
        retype(key, QString::fromStdString(curve.keys.public_key));
        QTest::keyClick(key, Qt::Key_Return);
        target(*typed, endpoint);
        call(*typed, QStringLiteral("ping"), QString());
        QVERIFY2(typed->resultText().startsWith(QLatin1String("200")),
                 qPrintable(typed->resultText()));

        // Another server's key: refused (the server cannot decrypt the handshake).
        retype(key, QString::fromStdString(zmqrpc::generate_curve_key_pair().public_key));
        QTest::keyClick(key, Qt::Key_Return);
        retype(child<QDoubleSpinBox>(typed.get(), "consoleTimeout"), QStringLiteral("3"));
        call(*typed, QStringLiteral("ping"), QString());
        QCOMPARE(typed->lastResult().outcome, ConsoleCallResult::Outcome::CredentialsRefused);
        QVERIFY2(typed->resultText().contains(QLatin1String("refused")),
                 qPrintable(typed->resultText()));

        // Not a key: said at once, no call.
        retype(key, QStringLiteral("not-a-key"));
        QTest::keyClick(key, Qt::Key_Return);
        QVERIFY2(typed->targetError().contains(QLatin1String("server key")),
                 qPrintable(typed->targetError()));
        server.stop();
        server.join();
    }

    void consoleTimesOutWithoutBlockingTheGui() {
        // A server of its own: the sleeps below occupy it.
        zmqrpc::RpcServerOptions options;
        options.name = "sleepy-server";
        options.rep_bind = kAnyTcp;
        zmqrpc::RpcServer sleepy(options, zmqrpc::diagnostic_functions());
        sleepy.start();
        const QString endpoint = QString::fromStdString(sleepy.rep_endpoint());

        auto c = makeConsole();
        target(*c, endpoint);
        const auto received = [&] { return sleepy.metrics().messages_in; };
        const auto answered = [&] { return sleepy.metrics().messages_out; };
        auto* timeout = child<QDoubleSpinBox>(c.get(), "consoleTimeout");
        // The one default of a call a person waits for, shared with `zmqrpc call`.
        QCOMPARE(timeout->value(), 10.0);
        retype(timeout, QStringLiteral("0.3"));
        QCOMPARE(timeout->value(), 0.3);
        const auto receivedBefore = received();
        call(*c, QStringLiteral("sleep"), QStringLiteral("{\"seconds\": 2}"));
        QVERIFY2(c->resultText().contains(QLatin1String("timeout after 0.3 s")),
                 qPrintable(c->resultText()));
        QCOMPARE(c->lastResult().outcome, ConsoleCallResult::Outcome::Timeout);

        // While a 2 s sleep runs, a 10 ms timer keeps ticking on the GUI thread.
        retype(timeout, QStringLiteral("10"));
        // Let the server finish the first sleep: it received it and answered everything (it
        // runs one call at a time), so the next call does not queue behind it.
        QTRY_VERIFY_WITH_TIMEOUT(received() > receivedBefore && answered() == received(), kWaitMs);
        QElapsedTimer clock;
        clock.start();
        qint64 last = 0, worst = 0;
        int ticks = 0;
        QTimer ticker;
        ticker.setInterval(10);
        connect(&ticker, &QTimer::timeout, this, [&] {
            worst = std::max(worst, clock.elapsed() - last);
            last = clock.elapsed();
            ++ticks;
        });
        ticker.start();
        call(*c, QStringLiteral("sleep"), QStringLiteral("{\"seconds\": 2}"));
        ticker.stop();
        QVERIFY2(c->lastResult().ok(), qPrintable(c->resultText()));
        QVERIFY(c->lastRoundTripMs() >= 1900);
        QVERIFY(clock.elapsed() >= 1900);
        QVERIFY2(worst < 200, qPrintable(QString::number(worst)));
        QVERIFY2(ticks > 50, qPrintable(QString::number(ticks)));
        sleepy.stop();
    }

    void eventLogFollowsTheRuntime() {
        RuntimeController rc;
        EventLogWidget log(&rc);
        log.resize(900, 360);
        log.show();
        TapWidget tapView(&rc);
        tapView.resize(900, 360);
        tapView.show();
        rc.setTopology(samplerAndTap());
        rc.startAll();

        auto* model = log.model();
        const auto rowsOf = [&](const QString& node, const QString& kind) {
            int n = 0;
            for (int r = 0; r < model->rowCount(); ++r) {
                const auto& row = model->rowAt(r);
                if ((node.isEmpty() || row.node == node) &&
                    (kind.isEmpty() || row.kindText == kind))
                    ++n;
            }
            return n;
        };
        QTRY_VERIFY_WITH_TIMEOUT(
            rowsOf(QStringLiteral("sampler-1"), QStringLiteral("state-changed")) > 0 ||
                rowsOf(QStringLiteral("sampler-1"), QString()) > 0,
            kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(rowsOf(QStringLiteral("tap-1"), QString()) > 0, kWaitMs);
        const int all = model->rowCount();
        QVERIFY(all >= 2);
        QCOMPARE(model->index(0, EventLogModel::TimeColumn).data().toString().size(), 12);

        // Node filter: the combo was filled from the sources seen.
        auto* nodes = child<QComboBox>(&log, "eventNodeFilter");
        QVERIFY(nodes->findText(QStringLiteral("sampler-1")) > 0);
        nodes->setCurrentIndex(nodes->findText(QStringLiteral("tap-1")));
        QVERIFY(model->rowCount() > 0);
        for (int r = 0; r < model->rowCount(); ++r)
            QCOMPARE(model->rowAt(r).node, QStringLiteral("tap-1"));
        nodes->setCurrentIndex(0);

        // Kind filter reduces the rows to that kind.
        auto* kinds = child<QComboBox>(&log, "eventKindFilter");
        const QString kind = model->rowAt(0).kindText;
        kinds->setCurrentIndex(kinds->findText(kind));
        QVERIFY(model->rowCount() > 0);
        for (int r = 0; r < model->rowCount(); ++r)
            QCOMPARE(model->rowAt(r).kindText, kind);
        kinds->setCurrentIndex(kinds->findText(QStringLiteral("queue-full")) >= 0
                                   ? kinds->findText(QStringLiteral("queue-full"))
                                   : 0);
        kinds->setCurrentIndex(0);

        // Text filter, case-insensitive over every column.
        auto* text = child<QLineEdit>(&log, "eventTextFilter");
        retype(text, QStringLiteral("TAP-1"));
        QVERIFY(model->rowCount() > 0);
        QVERIFY(static_cast<std::size_t>(model->rowCount()) <= model->keptRows());
        for (int r = 0; r < model->rowCount(); ++r) {
            const auto& row = model->rowAt(r);
            QVERIFY((row.time + row.node + row.kindText + row.endpoint + row.text)
                        .contains(QLatin1String("tap-1"), Qt::CaseInsensitive));
        }
        retype(text, QStringLiteral("no such text anywhere"));
        QCOMPARE(model->rowCount(), 0);
        QVERIFY(log.statusText().contains(QLatin1String("0 of")));
        retype(text, QString());

        // Copy: the selected rows, tab-separated.
        auto* view = log.view();
        view->setFocus();
        view->selectRow(0);
        QTest::keyClick(view, Qt::Key_C, Qt::ControlModifier);
        const QString copied = QApplication::clipboard()->text();
        QVERIFY2(copied.count(QLatin1Char('\t')) == 4, qPrintable(copied));
        QVERIFY(copied.contains(model->rowAt(0).node));

        // The tap node's kept messages, polled from the controller.
        tapView.watchTap(QStringLiteral("tap-1"));
        QTRY_VERIFY_WITH_TIMEOUT(tapView.messageCount() > 0, kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(tapView.heartbeatCount() > 0, kWaitMs);
        QVERIFY(tapView.model()->rowCount() > 0);
        QVERIFY(tapView.watchedText().contains(QLatin1String("tap-1")));

        // Pause holds new events aside; resume shows them.
        log.setPaused(true);
        const auto kept = model->keptRows();
        QList<zmqrpc::Event> more;
        more.append(zmqrpc::Event{std::chrono::system_clock::now(), "sampler-1",
                                  zmqrpc::EventKind::HeartbeatLost, "tcp://127.0.0.1:1", "lost"});
        log.addEvents(more);
        QCOMPARE(model->keptRows(), kept);
        QVERIFY(log.statusText().contains(QLatin1String("paused")));
        log.setPaused(false);
        QVERIFY(model->keptRows() > kept);

        // A few problem rows for the picture.
        more.clear();
        const auto now = std::chrono::system_clock::now();
        more.append({now, "bridge", zmqrpc::EventKind::HeartbeatLate, "tcp://10.0.0.5:5601",
                     "silent for 5.0 s"});
        more.append({now, "bridge", zmqrpc::EventKind::HeartbeatRecovered, "tcp://10.0.0.5:5601",
                     "heard again"});
        more.append({now, "cloud", zmqrpc::EventKind::CredentialsRefused, "tcp://10.0.0.9:5700",
                     "user 'site' refused"});
        log.addEvents(more);
        saveShot(&log, QStringLiteral("monitor-event-log"));
        saveShot(&tapView, QStringLiteral("monitor-tap-node"));

        log.clear();
        QCOMPARE(model->rowCount(), 0);
        rc.stopAll();
        QTRY_VERIFY_WITH_TIMEOUT(!rc.isBusy(), kWaitMs);
    }

    void eventLogIsBoundedAndFast() {
        EventLogWidget log(nullptr);
        log.resize(800, 300);
        log.show();
        auto* model = log.model();
        QCOMPARE(model->capacity(), EventLogModel::kDefaultCapacity);
        QSignalSpy inserted(model, &QAbstractItemModel::rowsInserted);
        const auto now = std::chrono::system_clock::now();
        QElapsedTimer clock;
        clock.start();
        // 20000 events in batches of 500, as a busy runtime would deliver them.
        for (int b = 0; b < 40; ++b) {
            std::vector<zmqrpc::Event> batch;
            for (int i = 0; i < 500; ++i) {
                const int n = b * 500 + i;
                batch.push_back(
                    {now, "node-" + std::to_string(n % 7),
                     n % 3 == 0 ? zmqrpc::EventKind::HeartbeatLate : zmqrpc::EventKind::Connected,
                     "tcp://127.0.0.1:5555", "event " + std::to_string(n)});
            }
            model->append(batch);
            QCoreApplication::processEvents();
        }
        const qint64 ms = clock.elapsed();
        QVERIFY2(ms < 5000, qPrintable(QString::number(ms)));
        QCOMPARE(inserted.count(), 40);  // one insertion per batch
        QCOMPARE(model->rowCount(), 10000);
        QCOMPARE(model->dropped(), quint64(10000));
        QCOMPARE(model->rowAt(0).text, QStringLiteral("event 10000"));
        QCOMPARE(model->rowAt(9999).text, QStringLiteral("event 19999"));
        QVERIFY2(log.statusText().contains(QLatin1String("10000 older events dropped")),
                 qPrintable(log.statusText()));
        QVERIFY(child<QLabel>(&log, "eventStatus")->text().contains(QLatin1String("dropped")));
        // Amber rows for late heartbeats.
        for (int r = 0; r < 3; ++r) {
            const bool late = model->rowAt(r).kind == zmqrpc::EventKind::HeartbeatLate;
            QCOMPARE(model->index(r, 0).data(Qt::BackgroundRole).isValid(), late);
        }
        // Filtered appends keep the ring bounded too.
        auto* kinds = child<QComboBox>(&log, "eventKindFilter");
        kinds->setCurrentIndex(kinds->findText(QStringLiteral("heartbeat-late")));
        QVERIFY(model->rowCount() > 3000 && model->rowCount() < 3500);
        std::vector<zmqrpc::Event> batch(
            15000, zmqrpc::Event{now, "x", zmqrpc::EventKind::Connected, "", "c"});
        model->append(batch);
        QCOMPARE(model->rowCount(), 0);
        QCOMPARE(model->keptRows(), std::size_t(10000));
    }

    void tapWidgetWatchesAPub() {
        zmqrpc::SenderOptions options;
        options.name = "test-pub";
        options.pub_bind = kAnyTcp;
        zmqrpc::Sender sender(options);
        const QString pub = QString::fromStdString(sender.pub_endpoint());

        TapWidget tap(nullptr);
        tap.resize(900, 360);
        tap.show();
        QSignalSpy started(&tap, &TapWidget::watchStarted);
        retype(child<QLineEdit>(&tap, "tapEndpoint"), pub);
        QTest::mouseClick(child<QPushButton>(&tap, "tapWatch"), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(started.count() == 1, kWaitMs);
        QVERIFY(sender.wait_for_subscribers(1, 5s));

        int seq = 0;
        const auto publishSome = [&](int n) {
            for (int i = 0; i < n; ++i, ++seq) {
                sender.publish(zmqrpc::encode_request(
                    "store_sample", {{"seq", seq}, {"kind", seq % 2 ? "odd" : "even"}}));
                if (seq % 5 == 0) sender.send_heartbeat();
            }
        };
        publishSome(20);
        QTRY_VERIFY_WITH_TIMEOUT(tap.messageCount() == 20, kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(tap.heartbeatCount() == 4, kWaitMs);
        auto* model = tap.model();
        QCOMPARE(model->rowCount(), 24);
        int heartbeats = 0;
        for (int r = 0; r < model->rowCount(); ++r) {
            const QModelIndex message = model->index(r, TapModel::MessageColumn);
            if (message.data(Qt::UserRole).toBool()) {
                ++heartbeats;
                QVERIFY(message.data().toString().startsWith(QChar(0x2665)));
                QVERIFY(message.data(Qt::ForegroundRole).isValid());
            } else {
                QVERIFY(message.data().toString().contains(QLatin1String("store_sample")));
            }
        }
        QCOMPARE(heartbeats, 4);
        QVERIFY(tap.counterText().startsWith(QLatin1String("20 msg, 4 heartbeats")));

        // Filter (substring, case-insensitive).
        retype(child<QLineEdit>(&tap, "tapFilter"), QStringLiteral("ODD"));
        QCOMPARE(model->rowCount(), 10);
        retype(child<QLineEdit>(&tap, "tapFilter"), QString());
        QCOMPARE(model->rowCount(), 24);

        // Pause: counting goes on, rows wait until resumed.
        QTest::mouseClick(child<QToolButton>(&tap, "tapPause"), Qt::LeftButton);
        QVERIFY(tap.isPaused());
        publishSome(10);
        QTRY_VERIFY_WITH_TIMEOUT(tap.messageCount() == 30, kWaitMs);
        QCOMPARE(model->rowCount(), 24);
        QVERIFY(tap.counterText().contains(QLatin1String("held")));
        QTest::mouseClick(child<QToolButton>(&tap, "tapPause"), Qt::LeftButton);
        QVERIFY(!tap.isPaused());
        QCOMPARE(model->rowCount(), 24 + 10 + 2);
        saveShot(&tap, QStringLiteral("monitor-tap"));

        // Bounded rows.
        auto* maxRows = child<QSpinBox>(&tap, "tapMaxRows");
        maxRows->setValue(15);
        QCOMPARE(model->rowCount(), 15);

        // Clear and stop.
        QTest::mouseClick(child<QToolButton>(&tap, "tapClear"), Qt::LeftButton);
        QCOMPARE(model->rowCount(), 0);
        QCOMPARE(tap.messageCount(), quint64(0));
        QTest::mouseClick(child<QPushButton>(&tap, "tapStop"), Qt::LeftButton);
        QVERIFY(!tap.isWatching());

        // A bad endpoint is reported.
        QSignalSpy failed(&tap, &TapWidget::watchFailed);
        tap.watchEndpoint(QStringLiteral("tcp://nowhere"));
        QTRY_VERIFY_WITH_TIMEOUT(failed.count() == 1, kWaitMs);
        QVERIFY(!tap.isWatching());
    }
};

QTEST_MAIN(TestMonitor)
#include "tst_monitor.moc"
