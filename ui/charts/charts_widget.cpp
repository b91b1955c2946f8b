#include "charts/charts_widget.hpp"

#include "charts/heartbeat_timeline.hpp"
#include "runtime/runtime_source.hpp"

#include <QtCharts/QChart>
#include <QtCharts/QChartView>
#include <QtCharts/QDateTimeAxis>
#include <QtCharts/QLegend>
#include <QtCharts/QLegendMarker>
#include <QtCharts/QLineSeries>
#include <QtCharts/QValueAxis>

#include <QComboBox>
#include <QCoreApplication>
#include <QDateTime>
#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QRubberBand>
#include <QSaveFile>
#include <QTabWidget>
#include <QTextStream>
#include <QToolButton>
#include <QVBoxLayout>
#include <QWheelEvent>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>

namespace studio {

// A chart view whose x axis is time: the wheel zooms around the cursor, a drag pans and a
// Shift+drag selects a range (rubber band). It never changes the axis itself: it asks the
// ChartsWidget, which owns the range shared by every tab.
class TimeChartView : public QChartView {
  public:
    using RangeRequest = std::function<void(qint64, qint64)>;

    TimeChartView(QChart* chart, QWidget* parent) : QChartView(chart, parent) {
        setRenderHint(QPainter::Antialiasing);
        setRubberBand(QChartView::NoRubberBand);
        setDragMode(QGraphicsView::NoDrag);
    }

    void setRangeRequest(RangeRequest request) { request_ = std::move(request); }
    void setTimeRange(qint64 from, qint64 to) {
        from_ = from;
        to_ = to;
    }

  protected:
    void wheelEvent(QWheelEvent* event) override {
        const QRectF plot = chart()->plotArea();
        const double steps = event->angleDelta().y() / 120.0;
        if (steps == 0 || plot.width() <= 0) return;
        const double fx =
            std::clamp((sceneX(event->position()) - plot.left()) / plot.width(), 0.0, 1.0);
        const auto span = static_cast<double>(to_ - from_);
        const double anchor = static_cast<double>(from_) + fx * span;
        const double newSpan = std::max(1000.0, span * std::pow(0.8, steps));
        const auto from = static_cast<qint64>(anchor - fx * newSpan);
        if (request_) request_(from, from + static_cast<qint64>(newSpan));
        event->accept();
    }

    void mousePressEvent(QMouseEvent* event) override {
        if (event->button() != Qt::LeftButton) return QChartView::mousePressEvent(event);
        pressX_ = event->position().x();
        pressFrom_ = from_;
        pressTo_ = to_;
        if (event->modifiers() & Qt::ShiftModifier) {
            if (band_ == nullptr) band_ = new QRubberBand(QRubberBand::Rectangle, viewport());
            const QRectF plot = chart()->plotArea();
            band_->setGeometry(
                QRect(QPoint(static_cast<int>(pressX_), static_cast<int>(plot.top())),
                      QSize(1, static_cast<int>(plot.height()))));
            band_->show();
            mode_ = Mode::Band;
        } else {
            mode_ = Mode::Pan;
            viewport()->setCursor(Qt::ClosedHandCursor);
        }
        event->accept();
    }

    void mouseMoveEvent(QMouseEvent* event) override {
        const QRectF plot = chart()->plotArea();
        const double x = event->position().x();
        if (mode_ == Mode::Pan && plot.width() > 0) {
            const auto shift = static_cast<qint64>((x - pressX_) / plot.width() *
                                                   static_cast<double>(pressTo_ - pressFrom_));
            if (shift != 0 && request_) request_(pressFrom_ - shift, pressTo_ - shift);
        } else if (mode_ == Mode::Band) {
            band_->setGeometry(
                QRect(QPoint(static_cast<int>(std::min(x, pressX_)), static_cast<int>(plot.top())),
                      QSize(static_cast<int>(std::abs(x - pressX_)) + 1,
                            static_cast<int>(plot.height()))));
        }
        event->accept();
    }

    void mouseReleaseEvent(QMouseEvent* event) override {
        if (mode_ == Mode::Band) {
            band_->hide();
            const QRectF plot = chart()->plotArea();
            const double x0 = std::min(pressX_, event->position().x());
            const double x1 = std::max(pressX_, event->position().x());
            if (x1 - x0 >= 4 && plot.width() > 0 && request_) {
                const auto span = static_cast<double>(pressTo_ - pressFrom_);
                const auto at = [&](double x) {
                    return pressFrom_ + static_cast<qint64>((sceneX(QPointF(x, 0)) - plot.left()) /
                                                            plot.width() * span);
                };
                request_(at(x0), std::max(at(x1), at(x0) + 1000));
            }
        }
        mode_ = Mode::None;
        viewport()->unsetCursor();
        event->accept();
    }

  private:
    enum class Mode { None, Pan, Band };
    double sceneX(QPointF viewPos) const { return mapToScene(viewPos.toPoint()).x(); }

    RangeRequest request_;
    qint64 from_ = 0, to_ = 1;
    Mode mode_ = Mode::None;
    double pressX_ = 0;
    qint64 pressFrom_ = 0, pressTo_ = 0;
    QRubberBand* band_ = nullptr;
};

namespace {

constexpr int kRefreshMs = 250;   // at most four redraws a second
constexpr int kMaxPoints = 1200;  // per series; more is decimated (min/max per bucket)

struct WindowChoice {
    const char* label;
    qint64 ms;
};
constexpr std::array<WindowChoice, 5> kWindows = {
    {{"10 s", 10000}, {"60 s", 60000}, {"5 min", 300000}, {"15 min", 900000}, {"1 h", 3600000}}};

// Distinct on white and in print; one per node, by its place in the shown list.
QColor seriesColor(qsizetype index) {
    static const std::array<QColor, 10> colors = {
        QColor(0x1f, 0x77, 0xb4), QColor(0xd6, 0x27, 0x28), QColor(0x2c, 0xa0, 0x2c),
        QColor(0x94, 0x67, 0xbd), QColor(0xff, 0x7f, 0x0e), QColor(0x17, 0xbe, 0xcf),
        QColor(0x8c, 0x56, 0x4b), QColor(0xe3, 0x77, 0xc2), QColor(0x7f, 0x7f, 0x7f),
        QColor(0xbc, 0xbd, 0x22)};
    return colors[static_cast<std::size_t>(index) % colors.size()];
}

// A chart view this tall keeps a plot of at least 120 px (six whole y labels) beside its title,
// time axis and legend row: the dock it sits in cannot be made so short that the rates cannot be
// read.
constexpr int kMinimumChartHeight = 200;

QChart* makeChart() {
    auto* chart = new QChart;
    chart->setAnimationOptions(QChart::NoAnimation);
    chart->setBackgroundRoundness(0);
    chart->setMargins(QMargins(4, 4, 4, 4));
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->legend()->setShowToolTips(true);
    return chart;
}

QDateTimeAxis* makeTimeAxis(QChart* chart) {
    auto* axis = new QDateTimeAxis;
    axis->setFormat(QStringLiteral("hh:mm:ss"));
    axis->setTickCount(7);
    axis->setGridLinePen(QPen(QColor(0xdd, 0xdd, 0xdd), 1, Qt::DotLine));
    chart->addAxis(axis, Qt::AlignBottom);
    return axis;
}

QValueAxis* makeValueAxis(QChart* chart, const QString& title, Qt::Alignment side) {
    auto* axis = new QValueAxis;
    axis->setTitleText(title);
    axis->setLabelFormat(QStringLiteral("%.0f"));
    axis->setMin(0);
    axis->setGridLinePen(QPen(QColor(0xe6, 0xe6, 0xe6), 1));
    chart->addAxis(axis, side);
    return axis;
}

QLineSeries* makeSeries(QChart* chart, const QString& name, const QColor& color, Qt::PenStyle style,
                        QDateTimeAxis* x, QValueAxis* y) {
    auto* s = new QLineSeries;
    s->setName(name);
    s->setUseOpenGL(false);
    s->setPen(QPen(color, style == Qt::SolidLine ? 2.0 : 1.6, style));
    chart->addSeries(s);
    s->attachAxis(x);
    s->attachAxis(y);
    return s;
}

// The points of one metric of `node` in [from, to] (one sample beyond each end, so the line
// reaches the plot's edges; none after `cap`, the pause), decimated to about kMaxPoints keeping
// each bucket's extremes.
template <class Value>
QList<QPointF> pointsOf(const MetricHistory& history, const NodeHistory& node, qint64 from,
                        qint64 to, qint64 cap, Value value, double* maxY) {
    auto [first, last] = history.range(node, from, std::min(to, cap));
    if (first > 0) --first;
    if (last < node.samples.size() && node.samples[last].time <= cap) ++last;
    QList<QPointF> out;
    const std::size_t n = last > first ? last - first : 0;
    if (n == 0) return out;
    const std::size_t bucket = n > kMaxPoints ? (n * 2 + kMaxPoints - 1) / kMaxPoints : 1;
    out.reserve(static_cast<qsizetype>(n / bucket * 2 + 2));
    for (std::size_t i = first; i < last; i += bucket) {
        const std::size_t end = std::min(last, i + bucket);
        std::size_t lo = i, hi = i;
        for (std::size_t j = i; j < end; ++j) {
            if (value(node.samples[j]) < value(node.samples[lo])) lo = j;
            if (value(node.samples[j]) > value(node.samples[hi])) hi = j;
        }
        for (std::size_t j : {std::min(lo, hi), std::max(lo, hi)}) {
            const double y = value(node.samples[j]);
            out.append(QPointF(static_cast<double>(node.samples[j].time), y));
            if (maxY != nullptr) *maxY = std::max(*maxY, y);
            if (lo == hi) break;
        }
    }
    return out;
}

double fillPercent(const MetricSample& s) {
    return s.capacity > 0 ? 100.0 * static_cast<double>(s.fill) / static_cast<double>(s.capacity)
                          : 0.0;
}

QString durationText(double seconds) {
    if (seconds < 90) return QStringLiteral("%1 s").arg(std::max(1.0, std::round(seconds)));
    if (seconds < 5400) return QStringLiteral("%1 min").arg(std::round(seconds / 60));
    return QStringLiteral("%1 h").arg(seconds / 3600, 0, 'f', 1);
}

QString csvField(const QString& text) {
    if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) &&
        !text.contains(QLatin1Char('\n')))
        return text;
    QString quoted = text;
    quoted.replace(QLatin1Char('"'), QStringLiteral("\"\""));
    return QLatin1Char('"') + quoted + QLatin1Char('"');
}

QString isoTime(qint64 ms) {
    return QDateTime::fromMSecsSinceEpoch(ms).toString(Qt::ISODateWithMs);
}

}  // namespace

ChartsWidget::ChartsWidget(RuntimeSource* runtime, QWidget* parent)
    : QWidget(parent), history_(new MetricHistory(runtime, this)) {
    windowCombo_ = new QComboBox(this);
    windowCombo_->setObjectName(QStringLiteral("chartsWindow"));
    for (const auto& w : kWindows)
        windowCombo_->addItem(QString::fromLatin1(w.label), w.ms);
    windowCombo_->setCurrentIndex(1);
    windowCombo_->setToolTip(tr("How much time the charts show while following"));

    followButton_ = new QToolButton(this);
    followButton_->setObjectName(QStringLiteral("chartsFollow"));
    followButton_->setText(tr("Follow"));
    followButton_->setCheckable(true);
    followButton_->setChecked(true);
    followButton_->setToolTip(
        tr("Keep now at the right edge. Zooming (wheel, Shift+drag) or panning (drag) turns "
           "it off; turn it on to return to live."));

    pauseButton_ = new QToolButton(this);
    pauseButton_->setObjectName(QStringLiteral("chartsPause"));
    pauseButton_->setText(tr("Pause"));
    pauseButton_->setCheckable(true);
    pauseButton_->setToolTip(tr("Freeze the charts; recording goes on"));

    auto* pngButton = new QToolButton(this);
    pngButton->setObjectName(QStringLiteral("chartsExportPng"));
    pngButton->setText(tr("PNG…"));
    pngButton->setToolTip(tr("Save the current chart as an image"));
    auto* csvButton = new QToolButton(this);
    csvButton->setObjectName(QStringLiteral("chartsExportCsv"));
    csvButton->setText(tr("CSV…"));
    csvButton->setToolTip(tr("Save the data of the current chart (time, node, metric, value)"));

    status_ = new QLabel(this);
    status_->setObjectName(QStringLiteral("chartsStatus"));
    status_->setForegroundRole(QPalette::PlaceholderText);

    // Rates.
    ratesChart_ = makeChart();
    ratesX_ = makeTimeAxis(ratesChart_);
    ratesY_ = makeValueAxis(ratesChart_, tr("messages/s"), Qt::AlignLeft);
    ratesY_->setRange(0, 5);
    ratesY_->setTickCount(6);
    ratesView_ = new TimeChartView(ratesChart_, this);
    ratesView_->setMinimumHeight(kMinimumChartHeight);
    ratesView_->setObjectName(QStringLiteral("ratesView"));

    // Queues.
    queueChart_ = makeChart();
    queueX_ = makeTimeAxis(queueChart_);
    queueY_ = makeValueAxis(queueChart_, tr("queue fill %"), Qt::AlignLeft);
    queueY_->setRange(0, 100);
    queueY_->setTickCount(6);
    dropY_ = makeValueAxis(queueChart_, tr("dropped (total)"), Qt::AlignRight);
    dropY_->setGridLineVisible(false);
    queueView_ = new TimeChartView(queueChart_, this);
    queueView_->setMinimumHeight(kMinimumChartHeight);
    queueView_->setObjectName(QStringLiteral("queueView"));
    forecastBox_ = new QWidget(this);
    forecastBox_->setObjectName(QStringLiteral("queueForecasts"));
    forecastLayout_ = new QVBoxLayout(forecastBox_);
    forecastLayout_->setContentsMargins(8, 2, 8, 6);
    forecastLayout_->setSpacing(2);
    auto* queuePage = new QWidget(this);
    queuePage->setAutoFillBackground(true);
    queuePage->setBackgroundRole(QPalette::Base);
    auto* queueLayout = new QVBoxLayout(queuePage);
    queueLayout->setContentsMargins(0, 0, 0, 0);
    queueLayout->setSpacing(0);
    queueLayout->addWidget(queueView_, 1);
    queueLayout->addWidget(forecastBox_);

    // Heartbeats.
    timeline_ = new HeartbeatTimeline(history_, this);

    tabs_ = new QTabWidget(this);
    tabs_->setObjectName(QStringLiteral("chartsTabs"));
    tabs_->setDocumentMode(true);
    tabs_->addTab(ratesView_, tr("Rates"));
    tabs_->addTab(queuePage, tr("Queues"));
    tabs_->addTab(timeline_, tr("Heartbeats"));

    auto* bar = new QHBoxLayout;
    bar->setContentsMargins(0, 0, 0, 0);
    bar->addWidget(new QLabel(tr("Window"), this));
    bar->addWidget(windowCombo_);
    bar->addWidget(followButton_);
    bar->addWidget(pauseButton_);
    bar->addWidget(status_, 1);
    bar->addWidget(pngButton);
    bar->addWidget(csvButton);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(4);
    layout->addLayout(bar);
    layout->addWidget(tabs_, 1);

    const auto request = [this](qint64 from, qint64 to) { userRange(from, to); };
    ratesView_->setRangeRequest(request);
    queueView_->setRangeRequest(request);
    connect(timeline_, &HeartbeatTimeline::rangeRequested, this, &ChartsWidget::userRange);

    connect(windowCombo_, &QComboBox::currentIndexChanged, this,
            [this](int index) { setWindowMs(windowCombo_->itemData(index).toLongLong()); });
    connect(followButton_, &QToolButton::toggled, this, &ChartsWidget::setFollowing);
    connect(pauseButton_, &QToolButton::toggled, this, &ChartsWidget::setPaused);
    connect(pngButton, &QToolButton::clicked, this, &ChartsWidget::exportPngInteractive);
    connect(csvButton, &QToolButton::clicked, this, &ChartsWidget::exportCsvInteractive);
    connect(tabs_, &QTabWidget::currentChanged, this, [this] { refresh(); });

    refreshTimer_.setSingleShot(true);
    refreshTimer_.setInterval(kRefreshMs);
    connect(&refreshTimer_, &QTimer::timeout, this, [this] {
        if (dirty_) refresh();
    });
    connect(history_, &MetricHistory::updated, this, &ChartsWidget::scheduleRefresh);

    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    viewTo_ = now;
    viewFrom_ = now - windowMs_;
    refresh();
}

void ChartsWidget::scheduleRefresh() {
    dirty_ = true;
    if (!refreshTimer_.isActive()) refreshTimer_.start();
}

void ChartsWidget::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    if (dirty_) refresh();
}

void ChartsWidget::setSelectedNodes(const QStringList& nodeIds) {
    if (nodeIds == selected_) return;
    selected_ = nodeIds;
    refresh();
}

void ChartsWidget::setWindowMs(qint64 ms) {
    if (ms <= 0 || ms == windowMs_) return;
    windowMs_ = ms;
    for (int i = 0; i < windowCombo_->count(); ++i) {
        if (windowCombo_->itemData(i).toLongLong() == ms && windowCombo_->currentIndex() != i)
            windowCombo_->setCurrentIndex(i);
    }
    // Not following: the window applies around the end of what is shown.
    if (!following_) viewFrom_ = viewTo_ - windowMs_;
    refresh();
}

void ChartsWidget::setFollowing(bool follow) {
    if (followButton_->isChecked() != follow) followButton_->setChecked(follow);
    if (follow == following_) return;
    following_ = follow;
    if (follow) {
        // Back to live: the window width returns with it.
        viewFrom_ = viewTo_ - windowMs_;
    }
    refresh();
}

void ChartsWidget::setPaused(bool paused) {
    if (pauseButton_->isChecked() != paused) pauseButton_->setChecked(paused);
    if (paused == paused_) return;
    paused_ = paused;
    pauseButton_->setText(paused ? tr("Resume") : tr("Pause"));
    if (paused) pausedAt_ = history_->latestTime() > 0 ? history_->latestTime() : viewTo_;
    refresh();
}

void ChartsWidget::setViewRange(qint64 from, qint64 to) {
    userRange(from, to);
}

void ChartsWidget::userRange(qint64 from, qint64 to) {
    if (to <= from) return;
    viewFrom_ = from;
    viewTo_ = to;
    if (following_) {
        following_ = false;
        const QSignalBlocker block(followButton_);
        followButton_->setChecked(false);
    }
    refresh();
}

void ChartsWidget::updateRange() {
    if (following_) {
        qint64 end = history_->latestTime();
        if (end <= 0) end = QDateTime::currentMSecsSinceEpoch();
        if (paused_) end = std::min(end, pausedAt_);
        viewTo_ = end;
        viewFrom_ = end - windowMs_;
    }
}

void ChartsWidget::refresh() {
    refreshTimer_.stop();
    if (!isVisible()) {
        dirty_ = true;  // drawn when shown
        updateRange();
        return;
    }
    dirty_ = false;
    updateRange();
    refreshRates();
    refreshQueues();
    timeline_->setRange(viewFrom_, viewTo_, paused_ ? pausedAt_ : 0);

    QString status;
    if (paused_) {
        status = tr("Paused at %1 — recording goes on")
                     .arg(QDateTime::fromMSecsSinceEpoch(pausedAt_).toString(
                         QStringLiteral("hh:mm:ss")));
    } else if (!following_) {
        status =
            tr("Looking at %1 – %2 (Follow to return to live)")
                .arg(QDateTime::fromMSecsSinceEpoch(viewFrom_).toString(QStringLiteral("hh:mm:ss")),
                     QDateTime::fromMSecsSinceEpoch(viewTo_).toString(QStringLiteral("hh:mm:ss")));
    } else if (history_->latestTime() == 0) {
        status = tr("Start the topology to see live metrics");
    }
    status_->setText(status);
}

QStringList ChartsWidget::pickRateNodes() const {
    QStringList ids;
    for (const auto& id : selected_) {
        if (history_->node(id) != nullptr) ids.append(id);
    }
    if (!selected_.isEmpty()) return ids;
    // Nothing selected: the busiest few over the visible window, in document order.
    std::vector<std::pair<double, QString>> busy;
    for (const auto& id : history_->nodeIds()) {
        const NodeHistory* h = history_->node(id);
        const auto [first, last] = history_->range(*h, viewFrom_, std::min(viewTo_, limit()));
        double sum = 0;
        for (std::size_t i = first; i < last; ++i)
            sum += h->samples[i].rateIn + h->samples[i].rateOut;
        if (sum > 0) busy.emplace_back(sum, id);
    }
    std::stable_sort(busy.begin(), busy.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    if (busy.size() > static_cast<std::size_t>(kBusiestCount)) busy.resize(kBusiestCount);
    for (const auto& id : history_->nodeIds()) {
        for (const auto& b : busy) {
            if (b.second == id) ids.append(id);
        }
    }
    return ids;
}

QStringList ChartsWidget::pickQueueNodes() const {
    QStringList all, chosen;
    for (const auto& id : history_->nodeIds()) {
        const NodeHistory* h = history_->node(id);
        if (h->hasQueue) {
            all.append(id);
            if (selected_.contains(id)) chosen.append(id);
        }
    }
    // A selection with proxies in it narrows the chart to them; otherwise every proxy.
    return chosen.isEmpty() ? all : chosen;
}

void ChartsWidget::rebuildRateSeries(const QStringList& ids) {
    for (auto& s : rateSeries_) {
        ratesChart_->removeSeries(s.in);
        ratesChart_->removeSeries(s.out);
        delete s.in;
        delete s.out;
    }
    rateSeries_.clear();
    for (qsizetype i = 0; i < ids.size(); ++i) {
        const NodeHistory* h = history_->node(ids[i]);
        const QString name = h->name.isEmpty() ? h->id : h->name;
        const QColor color = seriesColor(i);
        RateSeries s;
        s.in =
            makeSeries(ratesChart_, tr("%1 in").arg(name), color, Qt::SolidLine, ratesX_, ratesY_);
        s.out = makeSeries(ratesChart_, tr("%1 out").arg(name), color.lighter(125), Qt::DashLine,
                           ratesX_, ratesY_);
        rateSeries_.insert(ids[i], s);
    }
    shownRates_ = ids;
    // An axis that had no series when the chart was first laid out on screen stays collapsed
    // (QtCharts 6.4); hiding and showing it makes the layout measure it again.
    ratesX_->setVisible(false);
    ratesX_->setVisible(true);
}

void ChartsWidget::refreshRates() {
    const QStringList ids = pickRateNodes();
    if (ids != shownRates_) rebuildRateSeries(ids);
    double maxY = 0;
    for (const auto& id : shownRates_) {
        const NodeHistory* h = history_->node(id);
        const RateSeries& s = rateSeries_[id];
        s.in->replace(pointsOf(
            *history_, *h, viewFrom_, viewTo_, limit(),
            [](const MetricSample& m) { return m.rateIn; }, &maxY));
        s.out->replace(pointsOf(
            *history_, *h, viewFrom_, viewTo_, limit(),
            [](const MetricSample& m) { return m.rateOut; }, &maxY));
    }
    ratesX_->setRange(QDateTime::fromMSecsSinceEpoch(viewFrom_),
                      QDateTime::fromMSecsSinceEpoch(viewTo_));
    ratesView_->setTimeRange(viewFrom_, viewTo_);
    // A steady top (only grows by nice steps) so the lines do not jump every refresh.
    // At least 0 to 5, so that whole-number labels of a quiet chart read 0, 1, 2, ... 5.
    const double top = std::max(5.0, maxY * 1.15);
    if (top > ratesY_->max() || top < ratesY_->max() * 0.5) {
        ratesY_->setRange(0, top);
        ratesY_->applyNiceNumbers();
    }
    ratesChart_->setTitle(
        shownRates_.isEmpty()
            ? (selected_.isEmpty() ? tr("No traffic yet") : tr("No data for the selected nodes"))
            : QString());
}

void ChartsWidget::rebuildQueueSeries(const QStringList& ids) {
    for (auto& s : queueSeries_) {
        queueChart_->removeSeries(s.fill);
        queueChart_->removeSeries(s.dropped);
        delete s.fill;
        delete s.dropped;
        delete s.forecast;
    }
    queueSeries_.clear();
    for (qsizetype i = 0; i < ids.size(); ++i) {
        const NodeHistory* h = history_->node(ids[i]);
        const QString name = h->name.isEmpty() ? h->id : h->name;
        const QColor color = seriesColor(i);
        QueueSeries s;
        s.fill = makeSeries(queueChart_, tr("%1 fill").arg(name), color, Qt::SolidLine, queueX_,
                            queueY_);
        s.dropped = makeSeries(queueChart_, tr("%1 dropped").arg(name), color.darker(110),
                               Qt::DotLine, queueX_, dropY_);
        s.forecast = new QLabel(forecastBox_);
        s.forecast->setObjectName(QStringLiteral("forecast:") + ids[i]);
        s.forecast->setTextFormat(Qt::RichText);
        forecastLayout_->addWidget(s.forecast);
        queueSeries_.insert(ids[i], s);
    }
    shownQueues_ = ids;
    queueX_->setVisible(false);  // see rebuildRateSeries()
    queueX_->setVisible(true);
    forecastBox_->setVisible(!ids.isEmpty());
}

QString ChartsWidget::forecastLine(const NodeHistory& node) const {
    const QueueForecast f = history_->forecast(node.id, 10000, paused_ ? pausedAt_ : 0);
    const QString name = (node.name.isEmpty() ? node.id : node.name).toHtmlEscaped();
    QString line = QStringLiteral("<b>%1</b>: ").arg(name);
    if (f.capacity == 0) return line + tr("not running");
    const double pct = 100.0 * static_cast<double>(f.fill) / static_cast<double>(f.capacity);
    line += tr("%1 / %2 (%3 %)").arg(f.fill).arg(f.capacity).arg(pct, 0, 'f', pct < 10 ? 1 : 0);
    if (f.dropped > 0) line += tr(", %1 dropped").arg(f.dropped);
    line += QStringLiteral(" — ");
    switch (f.trend) {
        case QueueForecast::Trend::Filling:
            line += tr("rising %1/s: <span style='color:%3'><b>full in ~%2</b></span>")
                        .arg(f.slope, 0, 'f', 1)
                        .arg(durationText(f.seconds), f.seconds < 60 ? QStringLiteral("#c0392b")
                                                                     : QStringLiteral("#b7770e"));
            break;
        case QueueForecast::Trend::Draining:
            line += tr("falling %1/s: <span style='color:#2e8b57'><b>drained in ~%2</b></span>")
                        .arg(-f.slope, 0, 'f', 1)
                        .arg(durationText(f.seconds));
            break;
        case QueueForecast::Trend::Full:
            line += tr("<span style='color:#c0392b'><b>full: new input is dropped</b></span>");
            break;
        case QueueForecast::Trend::Steady:
            line += tr("steady");
            break;
        case QueueForecast::Trend::Empty:
            line += tr("empty");
            break;
        case QueueForecast::Trend::Unknown:
            line += tr("measuring…");
            break;
    }
    return line;
}

void ChartsWidget::refreshQueues() {
    const QStringList ids = pickQueueNodes();
    if (ids != shownQueues_) rebuildQueueSeries(ids);
    double maxDropped = 0;
    for (const auto& id : shownQueues_) {
        const NodeHistory* h = history_->node(id);
        const QueueSeries& s = queueSeries_[id];
        s.fill->replace(pointsOf(*history_, *h, viewFrom_, viewTo_, limit(), fillPercent, nullptr));
        s.dropped->replace(pointsOf(
            *history_, *h, viewFrom_, viewTo_, limit(),
            [](const MetricSample& m) { return static_cast<double>(m.dropped); }, &maxDropped));
        s.forecast->setText(forecastLine(*h));
    }
    queueX_->setRange(QDateTime::fromMSecsSinceEpoch(viewFrom_),
                      QDateTime::fromMSecsSinceEpoch(viewTo_));
    queueView_->setTimeRange(viewFrom_, viewTo_);
    const double top = std::max(10.0, maxDropped * 1.15);
    if (top > dropY_->max() || top < dropY_->max() * 0.5) {
        dropY_->setRange(0, top);
        dropY_->applyNiceNumbers();
    }
    queueChart_->setTitle(shownQueues_.isEmpty() ? tr("No proxy with a queue is running")
                                                 : QString());
}

QLineSeries* ChartsWidget::rateSeries(const QString& nodeId, bool out) const {
    auto it = rateSeries_.constFind(nodeId);
    if (it == rateSeries_.constEnd()) return nullptr;
    return out ? it->out : it->in;
}

QLineSeries* ChartsWidget::fillSeries(const QString& nodeId) const {
    auto it = queueSeries_.constFind(nodeId);
    return it == queueSeries_.constEnd() ? nullptr : it->fill;
}

QString ChartsWidget::forecastText(const QString& nodeId) const {
    auto it = queueSeries_.constFind(nodeId);
    return it == queueSeries_.constEnd() ? QString() : it->forecast->text();
}

bool ChartsWidget::exportPng(const QString& path) {
    if (dirty_) refresh();
    // QtCharts lays out axes and series on the next turn of the event loop: let it, so the
    // image shows what the last refresh drew.
    QCoreApplication::processEvents(QEventLoop::ExcludeUserInputEvents);
    QWidget* page = tabs_->currentWidget();
    if (page == nullptr) return false;
    const QPixmap image = page->grab();
    return !image.isNull() && image.save(path, "PNG");
}

bool ChartsWidget::exportCsv(const QString& path) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text)) return false;
    QTextStream out(&file);
    out << "time,node,metric,value\n";
    const qint64 from = viewFrom_;
    const qint64 to = std::min(viewTo_, limit());
    const auto rows = [&](const QString& id, const char* metric, auto value) {
        const NodeHistory* h = history_->node(id);
        if (h == nullptr) return;
        const auto [first, last] = history_->range(*h, from, to);
        for (std::size_t i = first; i < last; ++i) {
            out << isoTime(h->samples[i].time) << ',' << csvField(id) << ',' << metric << ','
                << value(h->samples[i]) << '\n';
        }
    };
    switch (tabs_->currentIndex()) {
        case RatesTab:
            for (const auto& id : shownRates_) {
                rows(id, "rate_in", [](const MetricSample& m) { return m.rateIn; });
                rows(id, "rate_out", [](const MetricSample& m) { return m.rateOut; });
            }
            break;
        case QueuesTab:
            for (const auto& id : shownQueues_) {
                rows(id, "queue_fill", [](const MetricSample& m) { return m.fill; });
                rows(id, "queue_capacity", [](const MetricSample& m) { return m.capacity; });
                rows(id, "queue_dropped", [](const MetricSample& m) { return m.dropped; });
            }
            break;
        default:
            // One row per state change (the state from then on) and per recreation.
            for (const auto& id : history_->linkIds()) {
                const LinkHistory* h = history_->link(id);
                for (const auto& iv : h->intervals) {
                    if (iv.end < from || iv.start > to) continue;
                    out << isoTime(std::max(iv.start, from)) << ',' << csvField(id) << ",heartbeat,"
                        << to_string(iv.phase) << '\n';
                }
                for (qint64 t : h->recreations) {
                    if (t >= from && t <= to)
                        out << isoTime(t) << ',' << csvField(id) << ",recreated,1\n";
                }
            }
            break;
    }
    out.flush();
    return out.status() == QTextStream::Ok && file.commit();
}

void ChartsWidget::exportPngInteractive() {
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export chart as PNG"), QStringLiteral("chart.png"), tr("PNG images (*.png)"));
    if (!path.isEmpty()) exportPng(path);
}

void ChartsWidget::exportCsvInteractive() {
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export chart data as CSV"), QStringLiteral("chart.csv"), tr("CSV files (*.csv)"));
    if (!path.isEmpty()) exportCsv(path);
}

}  // namespace studio
