// studio_load_bench: "under a 100000 msg/s load through the example, the GUI's event loop never
// stalls more than 50 ms and memory stays flat" (issue 6). The sampler-to-cloud example runs in
// a real studio::MainWindow (plus the heartbeat monitor and alerts widgets), all nodes on one
// host with binds on tcp://127.0.0.1:*, the bridge password known, and the three samplers at
// 33400 msg/s each. A 5 ms QTimer on the GUI thread records the gaps between its ticks (the
// event loop's stalls); RSS is read from /proc/self/status at the start, after the warm-up and
// at the end; rates come from the runtime snapshots. A program, not a test: it asserts nothing
// about timing (its CTest smoke run only checks that it completes).
//
//   studio_load_bench [--seconds N] [--rate PER_SAMPLER]    (offscreen when no display is set)
#include "document/editor_document.hpp"
#include "health/alerts_widget.hpp"
#include "health/heartbeat_monitor.hpp"
#include "main_window.hpp"
#include "runtime/runtime_controller.hpp"
#include "runtime/runtime_hub.hpp"
#include "testutil.hpp"

#include <zmqrpc/topology.hpp>

#include <QAction>
#include <QApplication>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace {

constexpr const char* kPassword = "load-bench-password";

// Resident set size in MiB (VmRSS), or -1 when unknown.
double rssMiB() {
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly)) return -1;
    for (const QByteArray& line : f.readAll().split('\n')) {
        if (!line.startsWith("VmRSS:")) continue;
        const QList<QByteArray> parts = line.simplified().split(' ');
        if (parts.size() >= 2) return parts.at(1).toDouble() / 1024.0;
    }
    return -1;
}

// The example on one host, every bind on an ephemeral loopback port (as the tests localise
// it), samplers at `rate`, the passwords it names known.
zmqrpc::Topology loadExample(double rate, zmqrpc::Secrets& secrets) {
    zmqrpc::Topology t = testutil::localExample("sampler-to-cloud", &secrets, kPassword);
    for (const auto& n : std::vector<zmqrpc::Node>(t.nodes())) {
        if (n.kind == zmqrpc::NodeKind::Sampler) t.set_property(n.id, "rate", rate);
    }
    return t;
}

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const auto at = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(at, values.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY") &&
        qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    double seconds = 20;
    double rate = 33400;
    bool encrypted = true;  // the example's uplink is CURVE; --no-encryption: none, as before
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--no-encryption") == 0)
            encrypted = false;
        else if (i + 1 < argc && std::strcmp(argv[i], "--seconds") == 0)
            seconds = std::max(1.0, std::atof(argv[++i]));
        else if (i + 1 < argc && std::strcmp(argv[i], "--rate") == 0)
            rate = std::max(1.0, std::atof(argv[++i]));
    }
    QApplication app(argc, argv);
    // The bench must not touch the user's settings, recent files or recovery file.
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("zmqrpc-bench"));
    QCoreApplication::setApplicationName(QStringLiteral("studio_load_bench"));
    QTemporaryDir settingsDir;
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settingsDir.path());

    // The example's uplink is CURVE: its key pair lives in a keys directory of the bench's own
    // (never the user's), made here, as `zmqrpc keygen sampler-to-cloud-bridge` would.
    QTemporaryDir keysDir;
    qputenv("ZMQRPC_KEYS", keysDir.path().toUtf8());
    try {
        zmqrpc::write_curve_key_pair(keysDir.path().toStdString(), "sampler-to-cloud-bridge",
                                     zmqrpc::generate_curve_key_pair(), false);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cannot make the example's key pair: %s\n", e.what());
        return 1;
    }

    zmqrpc::Secrets secrets;
    secrets.use_environment = false;
    zmqrpc::Topology topology;
    try {
        topology = loadExample(rate, secrets);
        if (!encrypted) {
            topology.set_property("site-proxy", "output_credentials", nullptr);
            topology.set_property("cloud-bridge", "input_credentials", nullptr);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cannot load the example: %s\n", e.what());
        return 1;
    }

    studio::MainWindow window;
    window.resize(1400, 900);
    window.show();
    // Nobody types at a bench: the password prompt answers with the known one.
    window.setPasswordPrompt([](const zmqrpc::CredentialRef&) -> std::optional<QString> {
        return QString::fromLatin1(kPassword);
    });
    // Nor answers a question: one would block the bench; say it and take the default.
    window.setPrompt([](const QString& title, const QString& text, QMessageBox::StandardButtons) {
        std::fprintf(stderr, "studio_load_bench: unexpected question '%s': %s\n", qPrintable(title),
                     qPrintable(text));
        return QMessageBox::No;
    });
    window.document()->reset(topology, QString(), false);
    window.runtime()->setSecrets(secrets);
    // The health widgets ride along (the main window may dock them too).
    studio::HeartbeatMonitorWidget monitor(window.document(), window.runtime());
    studio::AlertsWidget alerts(window.runtime());
    alerts.setDocument(window.document());
    monitor.resize(900, 240);
    alerts.resize(1000, 240);
    monitor.show();
    alerts.show();
    QCoreApplication::processEvents();

    const double rssStart = rssMiB();
    const double warmUp = std::min(5.0, seconds / 2);
    double rssWarm = -1;

    // Event-loop gaps: ticks of a 5 ms timer, measured from the start of the run.
    std::vector<double> gaps, gapsAfterWarmUp;
    gaps.reserve(static_cast<std::size_t>(seconds * 220));
    QElapsedTimer clock;
    qint64 lastTick = 0;
    QTimer ticker;
    ticker.setTimerType(Qt::PreciseTimer);
    ticker.setInterval(5);
    QObject::connect(&ticker, &QTimer::timeout, [&] {
        const qint64 now = clock.nsecsElapsed();
        const double gap = static_cast<double>(now - lastTick) / 1e6;
        lastTick = now;
        gaps.push_back(gap);
        if (static_cast<double>(now) / 1e9 >= warmUp) gapsAfterWarmUp.push_back(gap);
        if (rssWarm < 0 && static_cast<double>(now) / 1e9 >= warmUp) rssWarm = rssMiB();
    });

    // Rates, averaged over the snapshots after the warm-up.
    struct Sum {
        double samplers = 0, proxyIn = 0, proxyOut = 0, tap = 0;
        int n = 0;
    } sum;
    std::uint64_t dropped = 0, fillMax = 0;
    int running = 0;
    QObject::connect(window.runtime(), &studio::RuntimeController::snapshotUpdated, [&] {
        const auto& snap = window.runtime()->snapshot();
        running = 0;
        double samplers = 0;
        for (const auto& n : snap.nodes) {
            if (n.state == zmqrpc::NodeState::Running) ++running;
            if (n.kind == zmqrpc::NodeKind::Sampler) samplers += n.rate_out;
        }
        if (static_cast<double>(clock.elapsed()) / 1000.0 < warmUp) return;
        const auto* proxy = snap.node("site-proxy");
        const auto* tap = snap.node("cloud-tap");
        if (proxy == nullptr || tap == nullptr) return;
        sum.samplers += samplers;
        sum.proxyIn += proxy->rate_in;
        sum.proxyOut += proxy->rate_out;
        sum.tap += tap->rate_in;
        ++sum.n;
        dropped = proxy->metrics.queue.dropped;
        fillMax = std::max(fillMax, proxy->metrics.queue.fill);
    });

    clock.start();
    ticker.start();
    window.action(QStringLiteral("run.startAll"))->trigger();
    QTimer::singleShot(static_cast<int>(seconds * 1000), &app, [&] {
        ticker.stop();
        app.quit();
    });
    app.exec();
    const double rssEnd = rssMiB();
    if (rssWarm < 0) rssWarm = rssEnd;

    const int n = std::max(1, sum.n);
    std::printf(
        "studio load bench: sampler-to-cloud, 3 samplers x %.0f msg/s, uplink %s, %.0f s "
        "(warm-up %.1f s), build %s, %d of %zu nodes running at the end\n",
        rate, encrypted ? "CURVE" : "unencrypted", seconds, warmUp, ZMQRPC_BENCH_BUILD_TYPE,
        running, window.runtime()->snapshot().nodes.size());
    std::printf(
        "achieved msg/s:   samplers sent %.0f, site proxy in %.0f / forwarded %.0f, "
        "cloud tap received %.0f\n",
        sum.samplers / n, sum.proxyIn / n, sum.proxyOut / n, sum.tap / n);
    std::printf("site proxy queue: max fill %llu, dropped %llu (full queue drops by design)\n",
                static_cast<unsigned long long>(fillMax), static_cast<unsigned long long>(dropped));
    std::printf(
        "event loop gap:   max %.1f ms, p99 %.1f ms over the run (%zu ticks of 5 ms); "
        "after warm-up max %.1f ms, p99 %.1f ms\n",
        gaps.empty() ? 0.0 : *std::max_element(gaps.begin(), gaps.end()), percentile(gaps, 0.99),
        gaps.size(),
        gapsAfterWarmUp.empty() ? 0.0
                                : *std::max_element(gapsAfterWarmUp.begin(), gapsAfterWarmUp.end()),
        percentile(gapsAfterWarmUp, 0.99));
    std::printf(
        "RSS MiB:          start %.1f, after warm-up %.1f, end %.1f, growth after "
        "warm-up %+.1f\n",
        rssStart, rssWarm, rssEnd, rssEnd - rssWarm);
    std::printf("alerts: %d unacknowledged\n", alerts.unacknowledgedCount());
    for (const auto& a : alerts.rules()->alerts()) {
        std::printf("  %s %s: %s\n", qPrintable(studio::alertRuleName(a.rule)),
                    qPrintable(a.subject), qPrintable(a.text));
    }
    std::printf("load bench complete\n");
    std::fflush(stdout);
    return 0;
}
