// The live charts: a real RuntimeController running a sampler -> tap link supervised by
// heartbeats (0.6 s) and a buffered-rep2req whose rpc-server is stopped, fed by an RpcClient from
// the test so that its queue fills. Rates reach the selected series, the queue chart rises and
// forecasts when it will be full, losing the sampler turns the tap's timeline late, then dead,
// with a recreation mark and back to alive when it returns; Follow off + zoom keeps the range
// while recording goes on, Pause freezes, and both exports write files. MetricHistory alone:
// bounded under 20000 snapshots, and its forecasts.
#include "charts/charts_widget.hpp"
#include "charts/heartbeat_timeline.hpp"
#include "charts/metric_history.hpp"
#include "runtime/runtime_hub.hpp"
#include "studio_testutil.hpp"

#include <zmqrpc/rpc_client.hpp>

#include <QDir>
#include <QFile>
#include <QImage>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QToolButton>
#include <QWheelEvent>
#include <QtCharts/QChartView>
#include <QtCharts/QLineSeries>
#include <QtTest>

#include <memory>

using namespace studio;
using namespace zmqrpc;
using namespace std::chrono_literals;

namespace {

constexpr const char* kAnyTcp = "tcp://127.0.0.1:*";
constexpr int kWaitMs = 8000;

Topology chartsTopology() {
    Topology t;
    Node sampler;
    sampler.id = "sampler";
    sampler.kind = NodeKind::Sampler;
    sampler.name = "Sampler";
    sampler.properties = {{"bind", kAnyTcp}, {"rate", 50}, {"heartbeat_interval", 0.1}};
    t.add_node(sampler);
    Node tap;
    tap.id = "tap";
    tap.kind = NodeKind::Tap;
    tap.name = "Tap";
    t.add_node(tap);
    Node buffer;
    buffer.id = "buffer";
    buffer.kind = NodeKind::BufferedRep2Req;
    buffer.name = "Buffer";
    buffer.properties = {{"rep_bind", kAnyTcp}, {"queue_capacity", 1000}, {"req_timeout", 0.3}};
    t.add_node(buffer);
    Node server;
    server.id = "server";
    server.kind = NodeKind::RpcServer;
    server.name = "Server";
    server.properties = {{"rep_bind", kAnyTcp}};
    t.add_node(server);

    Link heard;
    heard.id = "sampler-to-tap";
    heard.from = {"sampler", "pub"};
    heard.to = {"tap", "sub"};
    heard.heartbeat_timeout = 0.6;
    t.add_link(heard);
    Link down;
    down.id = "buffer-to-server";
    down.from = {"buffer", "req"};
    down.to = {"server", "rep"};
    t.add_link(down);
    return t;
}

using studio_testutil::noSecrets;
using studio_testutil::stateOf;

std::string repEndpoint(const RuntimeController& rc, const std::string& id) {
    const NodeStatus* n = rc.snapshot().node(id);
    if (n == nullptr) return {};
    for (const auto& s : n->metrics.sockets) {
        if (s.role == "rep") return s.endpoint;
    }
    return {};
}

bool hasPositive(const QLineSeries* series) {
    if (series == nullptr) return false;
    const auto pts = series->points();
    return std::any_of(pts.begin(), pts.end(), [](const QPointF& p) { return p.y() > 0; });
}

bool sawPhase(const MetricHistory& h, const QString& link, LinkPhase phase) {
    const LinkHistory* l = h.link(link);
    if (l == nullptr) return false;
    return std::any_of(l->intervals.begin(), l->intervals.end(),
                       [&](const PhaseInterval& iv) { return iv.phase == phase; });
}

void screenshot(QWidget* w, const QString& name) {
    QTest::qWait(100);  // QtCharts lays its axes out on the next turn of the event loop
    QDir().mkpath(QStringLiteral(ZMQRPC_SCREENSHOT_DIR));
    QVERIFY(w->grab().save(QStringLiteral(ZMQRPC_SCREENSHOT_DIR "/") + name));
}

RuntimeSnapshot syntheticSnapshot(qint64 ms, std::uint64_t fill, HeartbeatState hb,
                                  std::uint64_t recreates) {
    RuntimeSnapshot s;
    s.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
    NodeStatus n;
    n.id = "proxy";
    n.name = "Proxy";
    n.kind = NodeKind::BufferedRep2Req;
    n.state = NodeState::Running;
    n.rate_in = 10;
    n.rate_out = 5;
    n.metrics.has_queue = true;
    n.metrics.queue.capacity = 1000;
    n.metrics.queue.fill = fill;
    s.nodes.push_back(n);
    LinkStatus l;
    l.id = "link";
    l.active = true;
    l.heartbeat = hb;
    l.ever_heard = true;
    l.heartbeat_timeout = 600ms;
    l.recreates = recreates;
    s.links.push_back(l);
    return s;
}

}  // namespace

class TestCharts : public QObject {
    Q_OBJECT

  private slots:
    void historyStaysBounded() {
        MetricHistory h(nullptr);
        const qint64 t0 = 1'700'000'000'000;
        const int n = 20000;
        for (int i = 0; i < n; ++i) {
            // A link flapping every snapshot and a recreation each time: the worst case.
            const auto hb = (i % 2 == 0) ? HeartbeatState::Alive : HeartbeatState::Dead;
            h.addSnapshot(syntheticSnapshot(t0 + i * 250LL, static_cast<std::uint64_t>(i % 1000),
                                            hb, static_cast<std::uint64_t>(i)));
        }
        QVERIFY(h.sampleCount(QStringLiteral("proxy")) <= h.capacity());
        QCOMPARE(h.sampleCount(QStringLiteral("proxy")), h.capacity());
        const NodeHistory* node = h.node(QStringLiteral("proxy"));
        QCOMPARE(node->samples.back().time, t0 + (n - 1) * 250LL);  // the newest kept
        const LinkHistory* link = h.link(QStringLiteral("link"));
        QVERIFY(link != nullptr);
        QVERIFY(link->intervals.size() <= h.capacity());
        QVERIFY(link->recreations.size() <= h.capacity());
        QVERIFY(!link->recreations.empty());
        // Nothing older than the retention span survives.
        QVERIFY(link->intervals.front().end >= h.latestTime() - h.retentionMs());

        // A node that disappears is forgotten once its last sample is older than the span.
        RuntimeSnapshot empty;
        empty.time = std::chrono::system_clock::time_point(
            std::chrono::milliseconds(h.latestTime() + h.retentionMs() + 1000));
        h.addSnapshot(empty);
        QVERIFY(h.node(QStringLiteral("proxy")) == nullptr);
        QVERIFY(h.linkIds().isEmpty());
    }

    void forecastsFillingAndDraining() {
        MetricHistory h(nullptr);
        const qint64 t0 = 1'700'000'000'000;
        // Rising 10 messages a second for 10 s: 100 of 1000, full in ~90 s.
        for (int i = 0; i <= 40; ++i)
            h.addSnapshot(syntheticSnapshot(t0 + i * 250LL, static_cast<std::uint64_t>(i * 2.5),
                                            HeartbeatState::Alive, 0));
        QueueForecast f = h.forecast(QStringLiteral("proxy"));
        QCOMPARE(f.trend, QueueForecast::Trend::Filling);
        QVERIFY2(std::abs(f.slope - 10) < 0.5, qPrintable(QString::number(f.slope)));
        QVERIFY2(std::abs(f.seconds - 90) < 5, qPrintable(QString::number(f.seconds)));
        // Then falling 8 a second from 100 to 60: drained in ~7.5 s.
        for (int i = 1; i <= 20; ++i)
            h.addSnapshot(syntheticSnapshot(t0 + (40 + i) * 250LL,
                                            static_cast<std::uint64_t>(100 - i * 2),
                                            HeartbeatState::Alive, 0));
        f = h.forecast(QStringLiteral("proxy"), 4000);
        QCOMPARE(f.trend, QueueForecast::Trend::Draining);
        QVERIFY2(f.seconds > 6 && f.seconds < 9, qPrintable(QString::number(f.seconds)));
    }

    void drawsLiveMetrics() {
        auto rc = std::make_unique<RuntimeController>();
        ChartsWidget charts(rc.get());
        charts.resize(960, 560);
        charts.show();
        QVERIFY(QTest::qWaitForWindowExposed(&charts));
        charts.setSelectedNodes({QStringLiteral("sampler"), QStringLiteral("tap")});

        rc->setSecrets(noSecrets());
        rc->setTopology(chartsTopology());
        rc->startAll();
        QTRY_VERIFY_WITH_TIMEOUT(stateOf(*rc, "sampler") == NodeState::Running &&
                                     stateOf(*rc, "tap") == NodeState::Running &&
                                     stateOf(*rc, "buffer") == NodeState::Running &&
                                     stateOf(*rc, "server") == NodeState::Running,
                                 kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(!rc->isBusy(), kWaitMs);
        // The downstream server goes away: the buffer keeps everything it accepts.
        rc->stop({QStringLiteral("server")});
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(*rc, "server"), NodeState::Stopped, kWaitMs);
        const std::string bufferEndpoint = repEndpoint(*rc, "buffer");
        QVERIFY(!bufferEndpoint.empty());

        RpcClientOptions options;
        options.name = "charts-test-client";
        options.req_connect = {bufferEndpoint};
        options.req_timeout = 1s;
        RpcClient client(options);
        int accepted = 0;
        QTimer feeder;
        feeder.setInterval(40);  // 25 a second into a queue of 1000
        connect(&feeder, &QTimer::timeout, this, [&] {
            try {
                client.invoke("store_sample", {{"value", accepted}}, 1000ms);
                ++accepted;
            } catch (const std::exception&) {
                // A refusal would show on the chart; the test checks the fill below.
            }
        });
        feeder.start();

        // 1. Rates: the selected sampler and tap get points above zero.
        QTRY_VERIFY_WITH_TIMEOUT(hasPositive(charts.rateSeries(QStringLiteral("sampler"), true)),
                                 kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(hasPositive(charts.rateSeries(QStringLiteral("tap"), false)),
                                 kWaitMs);
        QCOMPARE(charts.shownNodes(), QStringList({"sampler", "tap"}));
        QTest::qWait(1500);  // a little more line to look at
        charts.tabs()->setCurrentIndex(ChartsWidget::RatesTab);
        charts.refresh();
        screenshot(&charts, QStringLiteral("charts-rates.png"));

        // Exports of the rates tab: rows name the nodes; the image is not empty.
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString csvPath = dir.filePath(QStringLiteral("rates.csv"));
        QVERIFY(charts.exportCsv(csvPath));
        QFile csv(csvPath);
        QVERIFY(csv.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(csv.readAll());
        QVERIFY(text.startsWith(QStringLiteral("time,node,metric,value\n")));
        QVERIFY(text.contains(QStringLiteral(",sampler,rate_out,")));
        QVERIFY(text.contains(QStringLiteral(",tap,rate_in,")));
        QVERIFY(text.count(QLatin1Char('\n')) > 10);
        const QString pngPath = dir.filePath(QStringLiteral("rates.png"));
        QVERIFY(charts.exportPng(pngPath));
        QImage png(pngPath);
        QVERIFY(!png.isNull());
        QVERIFY(png.width() > 100 && png.height() > 100);
        QVERIFY(!charts.exportCsv(QStringLiteral("/nonexistent-dir/x.csv")));

        // 2. Queue: the buffer's fill rises and the forecast says when it will be full.
        charts.tabs()->setCurrentIndex(ChartsWidget::QueuesTab);
        QVERIFY(charts.shownQueues().contains(QStringLiteral("buffer")));
        QTRY_VERIFY2_WITH_TIMEOUT(
            charts.forecastText(QStringLiteral("buffer")).contains(QStringLiteral("full in ~")),
            qPrintable(charts.forecastText(QStringLiteral("buffer"))), 12000);
        QVERIFY(accepted > 0);
        const auto fill = charts.fillSeries(QStringLiteral("buffer"))->points();
        QVERIFY(fill.size() > 8);
        QVERIFY2(fill.last().y() > fill.first().y(),
                 qPrintable(QStringLiteral("%1 -> %2").arg(fill.first().y()).arg(fill.last().y())));
        screenshot(&charts, QStringLiteral("charts-queue.png"));
        feeder.stop();

        // 3. Follow off by a real wheel zoom on the rates chart: the range stays put while the
        //    history keeps recording; Follow on returns to live.
        charts.tabs()->setCurrentIndex(ChartsWidget::RatesTab);
        auto* view = charts.findChild<QChartView*>(QStringLiteral("ratesView"));
        QVERIFY(view != nullptr);
        const QPointF at(view->width() / 2.0, view->height() / 2.0);
        QWheelEvent wheel(at, view->mapToGlobal(at), QPoint(), QPoint(0, 240), Qt::NoButton,
                          Qt::NoModifier, Qt::NoScrollPhase, false);
        QApplication::sendEvent(view->viewport(), &wheel);
        QVERIFY(!charts.isFollowing());
        QVERIFY(!charts.findChild<QToolButton*>(QStringLiteral("chartsFollow"))->isChecked());
        const qint64 from = charts.viewFrom(), to = charts.viewTo();
        QVERIFY2(to - from < 60000, qPrintable(QString::number(to - from)));  // zoomed in
        // New samples arrive, and are drawn (refresh() is what the redraw timer calls): the
        // zoomed view stays where it was.
        const std::size_t before = charts.history()->sampleCount(QStringLiteral("tap"));
        QTRY_VERIFY_WITH_TIMEOUT(charts.history()->sampleCount(QStringLiteral("tap")) >= before + 3,
                                 kWaitMs);
        charts.refresh();
        QCOMPARE(charts.viewFrom(), from);
        QCOMPARE(charts.viewTo(), to);
        QTest::mouseClick(charts.findChild<QToolButton*>(QStringLiteral("chartsFollow")),
                          Qt::LeftButton);
        QVERIFY(charts.isFollowing());
        QTRY_VERIFY_WITH_TIMEOUT(charts.viewTo() > to, kWaitMs);
        QCOMPARE(charts.viewTo() - charts.viewFrom(), charts.windowMs());

        // 4. Pause freezes the picture; recording goes on.
        auto* pause = charts.findChild<QToolButton*>(QStringLiteral("chartsPause"));
        QTest::mouseClick(pause, Qt::LeftButton);
        QVERIFY(charts.isPaused());
        const auto frozen = charts.rateSeries(QStringLiteral("tap"), false)->points();
        const qint64 frozenTo = charts.viewTo();
        const std::size_t recorded = charts.history()->sampleCount(QStringLiteral("tap"));
        QTRY_VERIFY_WITH_TIMEOUT(
            charts.history()->sampleCount(QStringLiteral("tap")) >= recorded + 3, kWaitMs);
        charts.refresh();
        QCOMPARE(charts.rateSeries(QStringLiteral("tap"), false)->points(), frozen);
        QCOMPARE(charts.viewTo(), frozenTo);
        QTest::mouseClick(pause, Qt::LeftButton);
        QVERIFY(!charts.isPaused());
        QTRY_VERIFY_WITH_TIMEOUT(charts.viewTo() > frozenTo, kWaitMs);

        // 5. Heartbeats: the sampler goes away -> late, then dead with a recreation mark; it
        //    comes back -> alive again.
        const QString link = QStringLiteral("sampler-to-tap");
        QTRY_VERIFY_WITH_TIMEOUT(charts.history()->link(link) != nullptr &&
                                     charts.history()->link(link)->current == LinkPhase::Alive,
                                 kWaitMs);
        QVERIFY(charts.history()->link(link)->recreations.empty());
        rc->stop({QStringLiteral("sampler")});
        QTRY_VERIFY_WITH_TIMEOUT(sawPhase(*charts.history(), link, LinkPhase::Late), 3000);
        QTRY_VERIFY_WITH_TIMEOUT(sawPhase(*charts.history(), link, LinkPhase::Dead), 3000);
        QTRY_VERIFY_WITH_TIMEOUT(!charts.history()->link(link)->recreations.empty(), 3000);
        QTest::qWait(1500);  // a visible stretch of red
        rc->start({QStringLiteral("sampler")});
        QTRY_COMPARE_WITH_TIMEOUT(charts.history()->link(link)->current, LinkPhase::Alive, kWaitMs);
        QTest::qWait(1500);
        charts.setWindowMs(10000);
        charts.tabs()->setCurrentIndex(ChartsWidget::HeartbeatsTab);
        charts.refresh();
        QCOMPARE(charts.timeline()->rangeTo() - charts.timeline()->rangeFrom(), 10000);
        screenshot(&charts, QStringLiteral("charts-heartbeats.png"));

        const QString hbPath = dir.filePath(QStringLiteral("heartbeats.csv"));
        QVERIFY(charts.exportCsv(hbPath));
        QFile hb(hbPath);
        QVERIFY(hb.open(QIODevice::ReadOnly));
        const QString hbText = QString::fromUtf8(hb.readAll());
        QVERIFY(hbText.contains(QStringLiteral(",sampler-to-tap,heartbeat,dead")));
        QVERIFY(hbText.contains(QStringLiteral(",sampler-to-tap,recreated,1")));

        charts.tabs()->setCurrentIndex(ChartsWidget::RatesTab);
        charts.refresh();
        screenshot(&charts, QStringLiteral("charts-rates-late.png"));
        rc.reset();  // stops everything
    }
};

QTEST_MAIN(TestCharts)
#include "tst_charts.moc"
