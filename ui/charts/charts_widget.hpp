// The live charts dock: three tabs over one MetricHistory --
//   Rates       messages/s in and out of the selected nodes (or the busiest few), one series
//               per node and direction;
//   Queues      each proxy's queue fill in percent of its capacity, drops on a second axis, and
//               under the chart a forecast per proxy ("full in ~40 s", "drained in ~12 s");
//   Heartbeats  the heartbeat timeline of every supervised SUB link (HeartbeatTimeline).
// All three share one visible time range. Follow keeps it at "now minus the window"; a wheel
// zoom, a drag (pan) or a Shift+drag (rubber band) on any chart turns Follow off and looks into
// the past while recording goes on; Follow on returns to live. Pause freezes what is shown
// (recording goes on; the range can still be moved over what was recorded up to the pause).
//
// Performance: the series are rebuilt with replace() from the history at most four times a
// second, only while the widget is visible, decimated (min/max per pixel-ish bucket) when a
// window holds more points than the plot has pixels; QtCharts' OpenGL is left off.
//
// GUI thread only. Owns its MetricHistory; the controller is not owned (null: feed history()).
#pragma once

#include "charts/metric_history.hpp"

#include <QHash>
#include <QStringList>
#include <QTimer>
#include <QWidget>

#include <limits>

class QChart;
class QChartView;
class QComboBox;
class QDateTimeAxis;
class QLabel;
class QLineSeries;
class QTabWidget;
class QToolButton;
class QValueAxis;
class QVBoxLayout;

namespace studio {

class HeartbeatTimeline;
class RuntimeSource;
class TimeChartView;

class ChartsWidget : public QWidget {
    Q_OBJECT

  public:
    enum Tab { RatesTab = 0, QueuesTab = 1, HeartbeatsTab = 2 };
    // How many nodes the Rates tab shows when nothing is selected.
    static constexpr int kBusiestCount = 4;

    explicit ChartsWidget(RuntimeSource* runtime, QWidget* parent = nullptr);

    MetricHistory* history() const noexcept { return history_; }
    QTabWidget* tabs() const noexcept { return tabs_; }
    QChart* ratesChart() const noexcept { return ratesChart_; }
    QChart* queueChart() const noexcept { return queueChart_; }
    HeartbeatTimeline* timeline() const noexcept { return timeline_; }

    // The nodes the Rates tab shows now (the selection, or the busiest few).
    QStringList shownNodes() const { return shownRates_; }
    QStringList shownQueues() const { return shownQueues_; }
    // The series drawn for a node (null when not shown).
    QLineSeries* rateSeries(const QString& nodeId, bool out) const;
    QLineSeries* fillSeries(const QString& nodeId) const;
    // The forecast line under the queue chart for a proxy (empty when not shown).
    QString forecastText(const QString& nodeId) const;

    // The rolling window (ms): 10 s, 60 s, 5 min, 15 min or 1 h (the combo's choices).
    qint64 windowMs() const noexcept { return windowMs_; }
    void setWindowMs(qint64 ms);
    bool isFollowing() const noexcept { return following_; }
    void setFollowing(bool follow);
    bool isPaused() const noexcept { return paused_; }
    void setPaused(bool paused);
    // Shows [from, to] (ms since the epoch) and stops following, as a user zoom does.
    void setViewRange(qint64 from, qint64 to);
    qint64 viewFrom() const noexcept { return viewFrom_; }
    qint64 viewTo() const noexcept { return viewTo_; }

    // The current tab as an image / the visible data of the current tab as CSV rows of
    // time (ISO 8601, ms), node (or link), metric, value. False when the file cannot be written.
    bool exportPng(const QString& path);
    bool exportCsv(const QString& path);

  public slots:
    // Empty: the Rates tab shows the busiest few; the Queues tab every proxy with a queue.
    void setSelectedNodes(const QStringList& nodeIds);
    // Redraws now from the history (normally throttled to four times a second).
    void refresh();

  protected:
    void showEvent(QShowEvent* event) override;

  private:
    struct RateSeries {
        QLineSeries* in = nullptr;
        QLineSeries* out = nullptr;
    };
    struct QueueSeries {
        QLineSeries* fill = nullptr;
        QLineSeries* dropped = nullptr;
        QLabel* forecast = nullptr;
    };

    void scheduleRefresh();
    void updateRange();
    void refreshRates();
    void refreshQueues();
    void rebuildRateSeries(const QStringList& ids);
    void rebuildQueueSeries(const QStringList& ids);
    QStringList pickRateNodes() const;
    QStringList pickQueueNodes() const;
    QString forecastLine(const NodeHistory& node) const;
    void userRange(qint64 from, qint64 to);
    qint64 limit() const noexcept {
        return paused_ ? pausedAt_ : std::numeric_limits<qint64>::max();
    }
    void exportPngInteractive();
    void exportCsvInteractive();

    MetricHistory* history_ = nullptr;
    QTabWidget* tabs_ = nullptr;
    QComboBox* windowCombo_ = nullptr;
    QToolButton* followButton_ = nullptr;
    QToolButton* pauseButton_ = nullptr;
    QLabel* status_ = nullptr;

    QChart* ratesChart_ = nullptr;
    TimeChartView* ratesView_ = nullptr;
    QDateTimeAxis* ratesX_ = nullptr;
    QValueAxis* ratesY_ = nullptr;
    QHash<QString, RateSeries> rateSeries_;
    QStringList shownRates_;

    QChart* queueChart_ = nullptr;
    TimeChartView* queueView_ = nullptr;
    QDateTimeAxis* queueX_ = nullptr;
    QValueAxis* queueY_ = nullptr;
    QValueAxis* dropY_ = nullptr;
    QWidget* forecastBox_ = nullptr;
    QVBoxLayout* forecastLayout_ = nullptr;
    QHash<QString, QueueSeries> queueSeries_;
    QStringList shownQueues_;

    HeartbeatTimeline* timeline_ = nullptr;

    QStringList selected_;
    QTimer refreshTimer_;
    bool dirty_ = false;
    qint64 windowMs_ = 60000;
    bool following_ = true;
    bool paused_ = false;
    qint64 pausedAt_ = 0;
    qint64 viewFrom_ = 0, viewTo_ = 0;
};

}  // namespace studio
