// HeartbeatTimeline: one row per supervised SUB link, a band coloured by its heartbeat state over
// the visible time range (alive green, late amber, dead red, waiting pale), and a tick at every
// socket recreation. Painted directly from MetricHistory's intervals: a row costs a handful of
// rectangles however long the history, which keeps an hour-wide view as fast as a minute.
//
// The wheel zooms around the cursor and a drag pans; both only *ask* (rangeRequested): the
// ChartsWidget owns the visible range and gives it back with setRange().
//
// GUI thread only. Reads the history it is given (not owned).
#pragma once

#include "charts/metric_history.hpp"

#include <QColor>
#include <QWidget>

namespace studio {

class HeartbeatTimeline : public QWidget {
    Q_OBJECT

  public:
    explicit HeartbeatTimeline(const MetricHistory* history, QWidget* parent = nullptr);

    // The visible range, ms since the epoch; `limit` hides what was recorded after it (Pause).
    void setRange(qint64 from, qint64 to, qint64 limit);
    qint64 rangeFrom() const noexcept { return from_; }
    qint64 rangeTo() const noexcept { return to_; }

    static QColor colorOf(LinkPhase phase);

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

  signals:
    void rangeRequested(qint64 from, qint64 to);

  protected:
    void paintEvent(QPaintEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;

  private:
    QRectF plotRect() const;
    double xOf(qint64 t, const QRectF& plot) const;

    const MetricHistory* history_;
    qint64 from_ = 0, to_ = 0, limit_ = 0;
    bool dragging_ = false;
    double dragX_ = 0;
    qint64 dragFrom_ = 0, dragTo_ = 0;
};

}  // namespace studio
