// The Studio watching and steering a real deployment (issue 15): three runners, one per host,
// each `zmqrpc run FILE --host H --quiet` with a CURVE control and metrics endpoint, as the
// systemd unit starts it, each running its part of the bundled sampler-to-cloud example (the
// samplers on "pi", the site proxy on "site", the bridge and tap on "cloud"). The hosts are
// network namespaces on a veth bridge where this process may make them (CI runs as root), else
// distinct loopback addresses; the log's first line says which (testutil::HostNetwork).
//
// Through the real MainWindow: Connect to Runners shows every node running with counters
// rising, the tap and console reach the hosts' addresses, F6/Shift+F6 start and stop a remote
// node, Deploy restarts only what changed (and shows each host's result), a conflicting or
// invalid deploy changes nothing, a host cut off the network (veth down; SIGSTOP in loopback
// mode) is shown silent within the stale time with an alert and its SUB links dead, and it
// recovers by itself; a wrong control key is refused and shown.
#include "document/editor_document.hpp"
#include "health/alert_rules.hpp"
#include "health/alerts_widget.hpp"
#include "main_window.hpp"
#include "monitor/console_widget.hpp"
#include "monitor/tap_model.hpp"
#include "monitor/tap_widget.hpp"
#include "multihost.hpp"
#include "runtime/runtime_hub.hpp"
#include "scene/graph_scene.hpp"
#include "scene/node_item.hpp"

#include <zmqrpc/errors.hpp>
#include <zmqrpc/rpc_client.hpp>
#include <zmqrpc/security.hpp>

#include <QAction>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QMessageBox>
#include <QProcess>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <sys/prctl.h>

#include <csignal>
#include <fstream>
#include <map>
#include <memory>

#ifndef ZMQRPC_CLI
#error "ZMQRPC_CLI (path of the zmqrpc executable) must be defined"
#endif

using namespace studio;
using zmqrpc::json;
using zmqrpc::NodeState;

namespace {

const char* const kHosts[] = {"pi", "site", "cloud"};
constexpr int kPi = 0, kSite = 1, kCloud = 2;

void saveShot(QWidget* w, const QString& name) {
    QDir().mkpath(QStringLiteral(ZMQRPC_SCREENSHOT_DIR));
    QVERIFY(w->grab().save(QStringLiteral(ZMQRPC_SCREENSHOT_DIR "/") + name));
}

NodeState stateOf(const RuntimeSource& source, const char* id) {
    const auto* n = source.snapshot().node(id);
    return n != nullptr ? n->state : NodeState::Stopped;
}

QString reasonOf(const RuntimeSource& source, const char* id) {
    const auto* n = source.snapshot().node(id);
    return n != nullptr ? QString::fromStdString(n->reason) : QString();
}

}  // namespace

class TestDeployment : public QObject {
    Q_OBJECT

    QTemporaryDir tmp_;
    std::unique_ptr<testutil::HostNetwork> net_;
    int base_ = 0;  // first port of this process
    QString keys_;
    std::string runnerPublic_, studioPublic_;
    std::unique_ptr<QProcess> runners_[3];
    QString files_[3];
    std::unique_ptr<MainWindow> w_;

    QString address(int host) const { return net_->address(host); }
    QString control(int host) const {
        return QStringLiteral("tcp://%1:%2").arg(address(host)).arg(base_ + 20 + host);
    }
    QString metrics(int host) const {
        return QStringLiteral("tcp://%1:%2").arg(address(host)).arg(base_ + 30 + host);
    }

    // The example on three hosts, with each host's runner named.
    json deploymentDocument() const {
        QFile f(QStringLiteral(ZMQRPC_EXAMPLES_DIR "/sampler-to-cloud.json"));
        if (!f.open(QIODevice::ReadOnly)) return {};
        json doc = json::parse(f.readAll().toStdString());
        doc["hosts"] = json::array();
        for (int i = 0; i < 3; ++i) {
            json runner = {{"control", control(i).toStdString()},
                           {"metrics", metrics(i).toStdString()},
                           {"server_key", runnerPublic_},
                           {"security", {{"curve", {{"secret_key", {{"file", "studio"}}}}}}}};
            doc["hosts"].push_back(
                {{"name", kHosts[i]}, {"address", address(i).toStdString()}, {"runner", runner}});
        }
        int port = base_;
        for (auto& node : doc["nodes"]) {
            if (node["kind"] == "sampler") node["host"] = "pi";
            const int host = node["host"] == "pi" ? kPi : node["host"] == "site" ? kSite : kCloud;
            for (const char* key : {"bind", "rep_bind", "pub_bind"}) {
                if (node.contains("properties") && node["properties"].is_object() &&
                    node["properties"].contains(key)) {
                    node["properties"][key] =
                        QStringLiteral("tcp://%1:%2").arg(address(host)).arg(port++).toStdString();
                }
            }
        }
        return doc;
    }

    void startRunner(int i) {
        auto& p = runners_[i];
        p = std::make_unique<QProcess>();
        p->setProcessChannelMode(QProcess::ForwardedErrorChannel);
        p->setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGKILL); });
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("ZMQRPC_KEYS"), keys_);
        p->setProcessEnvironment(env);
        const QString authorized = keys_ + QStringLiteral("/studio.authorized_keys");
        // As packaging/zmqrpc-runner@.service runs it: run FILE --host H --quiet $ZMQRPC_ARGS.
        net_->start(*p, i, QStringLiteral(ZMQRPC_CLI),
                    {"run", files_[i], "--host", kHosts[i], "--quiet", "--control", control(i),
                     "--control-curve-secret-file", "runner", "--control-curve-authorized-keys",
                     authorized, "--metrics", metrics(i), "--metrics-curve-secret-file", "runner",
                     "--metrics-curve-authorized-keys", authorized});
        p->closeWriteChannel();
        QVERIFY2(p->waitForStarted(5000), qPrintable(p->errorString()));
    }

    // A call to a runner's control endpoint from this process, as the Studio makes it.
    json controlCall(int host, const char* verb, const json& parameters) {
        zmqrpc::CurveSecurity curve;
        curve.keys = zmqrpc::load_curve_secret_file(keys_.toStdString() + "/studio.key_secret");
        curve.server_key = runnerPublic_;
        zmqrpc::RpcClientOptions options;
        options.req_connect = {control(host).toStdString()};
        options.security = curve;
        options.req_timeout = std::chrono::seconds(5);
        zmqrpc::RpcClient client(std::move(options));
        return client.invoke(verb, parameters, std::chrono::seconds(10));
    }

    bool allRunning() const {
        for (const auto& node : w_->document()->topology().nodes()) {
            if (stateOf(*w_->runtime(), node.id.c_str()) != NodeState::Running) return false;
        }
        return true;
    }

    std::map<std::string, std::chrono::system_clock::time_point> sinces() const {
        std::map<std::string, std::chrono::system_clock::time_point> out;
        for (const auto& n : w_->runtime()->snapshot().nodes)
            out[n.id] = n.since;
        return out;
    }

    void select(const char* id) {
        w_->scene()->clearSelection();
        w_->scene()->nodeItem(QString::fromLatin1(id))->setSelected(true);
    }

  private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("zmqrpc-tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_deployment"));
        QSettings::setDefaultFormat(QSettings::IniFormat);
        QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, tmp_.filePath("settings"));
        QSettings().clear();
        qputenv("ZMQRPC_STUDIO_NO_KEYCHAIN", "1");
        qputenv("ZMQRPC_CREDENTIALS", tmp_.filePath("credentials.json").toUtf8());
        keys_ = tmp_.filePath("keys");
        qputenv("ZMQRPC_KEYS", keys_.toUtf8());

        net_ = std::make_unique<testutil::HostNetwork>(3);
        QVERIFY2(net_->ok(), qPrintable(net_->error()));
        qInfo("hosts: %s", qPrintable(net_->modeText()));
        // Ports of this process only (two tests on loopback addresses must not meet).
        base_ = 21000 + static_cast<int>(QCoreApplication::applicationPid() % 400) * 50;

        const std::filesystem::path dir = keys_.toStdString();
        for (const char* name : {"sampler-to-cloud-bridge", "runner", "studio", "intruder"})
            zmqrpc::write_curve_key_pair(dir, name, zmqrpc::generate_curve_key_pair(), false);
        runnerPublic_ = zmqrpc::load_curve_public_file(dir / "runner.key");
        studioPublic_ = zmqrpc::load_curve_public_file(dir / "studio.key");
        {
            std::ofstream out(dir / "studio.authorized_keys");
            out << studioPublic_ << " the Studio\n";
        }

        const json doc = deploymentDocument();
        QVERIFY(!doc.is_null());
        for (int i = 0; i < 3; ++i) {
            QDir().mkpath(tmp_.filePath(kHosts[i]));
            files_[i] = tmp_.filePath(QStringLiteral("%1/deployment.json").arg(kHosts[i]));
            std::ofstream(files_[i].toStdString()) << doc.dump(2) << "\n";
            startRunner(i);
        }
        // The Studio's own copy (what a person opens).
        std::ofstream(tmp_.filePath("deployment.json").toStdString()) << doc.dump(2) << "\n";

        w_ = std::make_unique<MainWindow>();
        w_->setPrompt([](const QString&, const QString&, QMessageBox::StandardButtons) {
            return QMessageBox::No;
        });
        w_->resize(1500, 900);
        w_->show();
        QVERIFY(w_->openFile(tmp_.filePath("deployment.json")));
    }

    void cleanupTestCase() {
        w_.reset();
        for (auto& p : runners_) {
            if (!p) continue;
            ::kill(static_cast<pid_t>(p->processId()), SIGCONT);
            p->terminate();
            if (!p->waitForFinished(5000)) p->kill();
            p->waitForFinished(2000);
        }
        net_.reset();
    }

    void connectShowsEveryHost() {
        QVERIFY(w_->action("run.connectRunners")->isEnabled());
        w_->action("run.connectRunners")->trigger();
        QCOMPARE(w_->runtime()->runnerHosts(), QStringList({"pi", "site", "cloud"}));
        QTRY_VERIFY_WITH_TIMEOUT(allRunning(), 20000);

        // Counters rise on every host: samples cross pi -> site -> cloud into the tap.
        const auto* uplink = w_->runtime()->snapshot().link("uplink");
        QVERIFY(uplink != nullptr);
        const auto before = uplink->messages;
        QTRY_VERIFY_WITH_TIMEOUT(w_->runtime()->snapshot().link("uplink")->messages > before + 5,
                                 5000);
        QTRY_VERIFY_WITH_TIMEOUT(w_->runtime()->snapshot().node("sampler-1")->rate_out > 0 &&
                                     w_->runtime()->snapshot().node("cloud-tap")->rate_in > 0,
                                 5000);
        // The canvas shows the runners' states, as for local nodes.
        QCOMPARE(w_->scene()->nodeItem(QStringLiteral("site-proxy"))->state(), NodeState::Running);

        // Nothing runs twice: the Studio's own runtime leaves the runner hosts alone, also when
        // F5 asks for everything (it goes to the runners).
        w_->action("run.startAll")->trigger();
        QTest::qWait(600);
        for (const auto& n : w_->runtime()->local()->snapshot().nodes)
            QVERIFY2(n.state == NodeState::Remote, n.id.c_str());

        // The tap of a remote tap node (its messages come over the control endpoint).
        select("cloud-tap");
        QTRY_VERIFY_WITH_TIMEOUT(w_->tap()->model()->rowCount() > 3, 5000);
        QVERIFY(!w_->runtime()->tapMessages(QStringLiteral("cloud-tap"), 0).empty());
        // The console reaches a remote server at its host's address.
        w_->console()->setTargetNode(QStringLiteral("cloud-bridge"));
        QVERIFY2(w_->console()->targetEndpoint().contains(address(kCloud)),
                 qPrintable(w_->console()->targetEndpoint() + w_->console()->targetError()));
        QTest::qWait(300);
        saveShot(w_.get(), QStringLiteral("studio-runners.png"));
    }

    void stopAndStartRemoteNode() {
        select("sampler-2");
        w_->action("run.stopSelected")->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(*w_->runtime(), "sampler-2"), NodeState::Stopped, 5000);
        // The runner itself says so.
        const json status = controlCall(kPi, "status", json::object());
        bool stopped = false;
        for (const auto& n : status["nodes"])
            stopped = stopped || (n["node"] == "sampler-2" && n["state"] == "stopped");
        QVERIFY2(stopped, status.dump().c_str());
        QCOMPARE(stateOf(*w_->runtime(), "sampler-1"), NodeState::Running);
        w_->action("run.startSelected")->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(*w_->runtime(), "sampler-2"), NodeState::Running, 5000);
    }

    void deployRestartsOnlyChanged() {
        QTRY_VERIFY_WITH_TIMEOUT(allRunning(), 5000);
        const auto before = sinces();
        EditorDocument* doc = w_->document();
        QVERIFY(doc->setProperty(QStringLiteral("sampler-2"), QStringLiteral("rate"), 7));
        const QString added = doc->addNode(zmqrpc::NodeKind::RpcServer, QPointF(200, 600));
        doc->setNodeHost(added, QStringLiteral("site"));
        QVERIFY(doc->setProperty(
            added, QStringLiteral("rep_bind"),
            QStringLiteral("tcp://%1:%2").arg(address(kSite)).arg(base_ + 40).toStdString()));
        QVERIFY(w_->action("run.deploy")->isEnabled());
        w_->action("run.deploy")->trigger();
        QMessageBox* box = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT(
            (box = w_->findChild<QMessageBox*>(QStringLiteral("deployResults"))) != nullptr &&
                box->isVisible(),
            20000);
        const auto& reports = w_->runtime()->deployReports();
        QCOMPARE(reports.size(), 3);
        for (const auto& r : reports) {
            QVERIFY2(!r.refused, qPrintable(r.message));
            for (const auto& n : r.nodes) {
                const bool changed = n.node == "sampler-2" || n.node == added.toStdString();
                QCOMPARE(n.outcome, changed ? zmqrpc::DeployResult::Outcome::Applied
                                            : zmqrpc::DeployResult::Outcome::Unchanged);
            }
        }
        QVERIFY(box->informativeText().contains(QStringLiteral("sampler-2 applied")));
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(*w_->runtime(), added.toUtf8().constData()),
                                  NodeState::Running, 5000);
        saveShot(w_.get(), QStringLiteral("studio-deploy.png"));
        box->close();
        // Only those two restarted: every other node is the same run as before.
        const auto after = sinces();
        for (const auto& [id, since] : before) {
            if (id == "sampler-2") {
                QVERIFY(after.at(id) > since);
            } else {
                QVERIFY2(after.at(id) == since, id.c_str());
            }
        }
        // The runner on site runs the new document (its revision is what the Studio knows).
        const json describe = controlCall(kSite, "describe", json::object());
        QCOMPARE(QString::fromStdString(describe.value("revision", "")),
                 w_->runtime()->runner(QStringLiteral("site"))->revision());
    }

    void conflictingAndInvalidDeployChangeNothing() {
        const auto before = sinces();
        // Someone else deploys to cloud (the same document, another revision: a new name).
        json other = json::parse(zmqrpc::save_topology(w_->document()->topology()));
        other["name"] = "edited elsewhere";
        const json current = controlCall(kCloud, "status", json::object());
        controlCall(kCloud, "deploy", {{"topology", other}, {"revision", current["revision"]}});

        // The Studio's deploy to cloud is refused as a conflict; the others apply (unchanged).
        w_->action("run.deploy")->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(w_->runtime()->deployReports().size() == 3, 20000);
        const auto& cloud = w_->runtime()->deployReports()[QStringLiteral("cloud")];
        QVERIFY(cloud.refused);
        QVERIFY2(cloud.message.contains(QStringLiteral("revision conflict")),
                 qPrintable(cloud.message));
        auto* box = w_->findChild<QMessageBox*>(QStringLiteral("deployResults"));
        QTRY_VERIFY(box != nullptr && box->isVisible());
        QCOMPARE(box->icon(), QMessageBox::Warning);
        box->close();

        // A document with errors is not sent at all.
        QStringList failures;
        auto connection = connect(w_->runtime(), &RuntimeSource::operationFailed, this,
                                  [&](const QString& m) { failures << m; });
        EditorDocument* doc = w_->document();
        QVERIFY(doc->setProperty(QStringLiteral("cloud-bridge"), QStringLiteral("rep_bind"),
                                 "not an endpoint"));
        QTRY_VERIFY(!w_->document()->problems().empty());
        w_->action("run.deploy")->trigger();
        QTRY_VERIFY(!failures.isEmpty());
        QVERIFY2(failures.front().contains(QStringLiteral("not deployed")),
                 qPrintable(failures.front()));
        disconnect(connection);
        doc->undoStack()->undo();

        // A runner refuses one itself, with its problems.
        json bad = json::parse(zmqrpc::save_topology(w_->document()->topology()));
        bad["links"].push_back(
            {{"id", "broken"}, {"from", "sampler-1.pub"}, {"to", "nowhere.sub"}});
        const json status = controlCall(kPi, "status", json::object());
        try {
            controlCall(kPi, "deploy", {{"topology", bad}, {"revision", status["revision"]}});
            QFAIL("an invalid document was deployed");
        } catch (const zmqrpc::RpcError& e) {
            QVERIFY2(QString::fromStdString(e.status_message()).contains("nothing changed"),
                     e.what());
        }
        QTest::qWait(600);
        const auto after = sinces();
        for (const auto& [id, since] : before) {
            if (after.count(id) != 0) QVERIFY2(after.at(id) == since, id.c_str());
        }
    }

    void lostHostIsShownAndRecovers() {
        QTRY_VERIFY_WITH_TIMEOUT(allRunning(), 10000);
        QString why;
        const bool cut = net_->cut(kPi, &why);
        if (!cut) {
            qInfo("cannot cut pi's network (%s): freezing its runner with SIGSTOP instead",
                  qPrintable(why));
            QVERIFY(::kill(static_cast<pid_t>(runners_[kPi]->processId()), SIGSTOP) == 0);
        }
        QElapsedTimer lost;
        lost.start();
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(*w_->runtime(), "sampler-1"), NodeState::Unknown, 6000);
        const qint64 shownAfter = lost.elapsed();
        qInfo("pi cut off (%s): its nodes shown unknown after %lld ms",
              cut ? "veth down" : "SIGSTOP", static_cast<long long>(shownAfter));
        QVERIFY2(
            reasonOf(*w_->runtime(), "sampler-1").startsWith(QStringLiteral("runner 'pi' silent")),
            qPrintable(reasonOf(*w_->runtime(), "sampler-1")));
        // The other hosts stay known.
        QCOMPARE(stateOf(*w_->runtime(), "site-proxy"), NodeState::Running);
        // An alert for the silent runner.
        bool alerted = false;
        for (const auto& a : w_->alerts()->rules()->alerts())
            alerted =
                alerted || (a.rule == AlertRule::RunnerSilent && a.subject == "pi" && a.active);
        QVERIFY(alerted);
        // The site proxy's SUB links from pi die (their heartbeat timeout is 5 s).
        QTRY_VERIFY_WITH_TIMEOUT(w_->runtime()->snapshot().link("sampler-1-to-proxy")->heartbeat ==
                                     zmqrpc::HeartbeatState::Dead,
                                 9000);
        QTest::qWait(200);
        saveShot(w_.get(), QStringLiteral("studio-runner-silent.png"));

        if (cut)
            QVERIFY2(net_->restore(kPi, &why), qPrintable(why));
        else
            QVERIFY(::kill(static_cast<pid_t>(runners_[kPi]->processId()), SIGCONT) == 0);
        // Everything recovers by itself: the runner answers, the links hear heartbeats again.
        QTRY_VERIFY_WITH_TIMEOUT(allRunning(), 15000);
        QTRY_VERIFY_WITH_TIMEOUT(w_->runtime()->snapshot().link("sampler-1-to-proxy")->heartbeat ==
                                     zmqrpc::HeartbeatState::Alive,
                                 15000);
    }

    void wrongControlKeyIsRefused() {
        // The cloud runner is reached with a key its authorized_keys does not list.
        std::vector<zmqrpc::Host> hosts = w_->document()->topology().hosts();
        const auto good = hosts[kCloud].runner;
        hosts[kCloud].runner.security = zmqrpc::SecurityRef::from_json(
            json{{"curve", {{"secret_key", {{"file", "intruder"}}}}}});
        w_->document()->setHosts(hosts);
        QTRY_VERIFY_WITH_TIMEOUT(
            stateOf(*w_->runtime(), "cloud-bridge") == NodeState::Unknown &&
                reasonOf(*w_->runtime(), "cloud-bridge").contains(QStringLiteral("refused")),
            10000);
        qInfo("shown: %s", qPrintable(reasonOf(*w_->runtime(), "cloud-bridge")));
        // The runner was not touched; with the right key again it is shown running.
        hosts[kCloud].runner = good;
        w_->document()->setHosts(hosts);
        QTRY_VERIFY_WITH_TIMEOUT(allRunning(), 10000);
    }
};

QTEST_MAIN(TestDeployment)
#include "tst_deployment.moc"
