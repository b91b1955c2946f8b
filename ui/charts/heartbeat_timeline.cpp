#include "charts/heartbeat_timeline.hpp"

#include <QDateTime>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QWheelEvent>

#include <algorithm>
#include <array>
#include <cmath>

namespace studio {

namespace {

constexpr int kRowHeight = 24;
constexpr int kRowGap = 8;
constexpr int kLegendHeight = 26;
constexpr int kAxisHeight = 24;
constexpr int kMargin = 10;

// A tick step (ms) that gives six to ten labels over `span`.
qint64 tickStep(qint64 span) {
    static constexpr std::array<qint64, 16> steps = {
        1000,   2000,   5000,   10000,   15000,   30000,   60000,    120000,
        300000, 600000, 900000, 1800000, 3600000, 7200000, 14400000, 86400000};
    for (qint64 s : steps) {
        if (span / s <= 8) return s;
    }
    return steps.back();
}

}  // namespace

HeartbeatTimeline::HeartbeatTimeline(const MetricHistory* history, QWidget* parent)
    : QWidget(parent), history_(history) {
    setObjectName(QStringLiteral("heartbeatTimeline"));
    setAutoFillBackground(true);
    setBackgroundRole(QPalette::Base);
    setMouseTracking(false);
    setToolTip(tr("Heartbeat health of each supervised SUB link. Wheel: zoom, drag: pan."));
}

QColor HeartbeatTimeline::colorOf(LinkPhase phase) {
    switch (phase) {
        case LinkPhase::Alive:
            return QColor(0x3b, 0xa5, 0x5c);
        case LinkPhase::Late:
            return QColor(0xf0, 0xa7, 0x1e);
        case LinkPhase::Dead:
            return QColor(0xd9, 0x3f, 0x3f);
        case LinkPhase::Waiting:
            return QColor(0xb9, 0xdc, 0xc2);
        case LinkPhase::Inactive:
            break;
    }
    return QColor(0xe4, 0xe4, 0xe4);
}

void HeartbeatTimeline::setRange(qint64 from, qint64 to, qint64 limit) {
    from_ = from;
    to_ = std::max(to, from + 1);
    limit_ = limit;
    update();
}

QSize HeartbeatTimeline::sizeHint() const {
    const auto rows = history_ != nullptr ? history_->linkIds().size() : 0;
    return {640, kLegendHeight + kAxisHeight + 2 * kMargin +
                     static_cast<int>(std::max<qsizetype>(rows, 2)) * (kRowHeight + kRowGap)};
}

QSize HeartbeatTimeline::minimumSizeHint() const {
    return {240, 120};
}

QRectF HeartbeatTimeline::plotRect() const {
    // The label column fits the longest link id (within reason).
    const QFontMetrics fm(font());
    int labelW = fm.horizontalAdvance(QStringLiteral("dead · recreated 99×"));
    if (history_ != nullptr) {
        QFont bold = font();
        bold.setBold(true);
        const QFontMetrics bfm(bold);
        for (const auto& id : history_->linkIds())
            labelW = std::max(labelW, bfm.horizontalAdvance(id));
    }
    labelW = std::min(labelW + 16, width() / 3);
    return QRectF(kMargin + labelW, kMargin + kLegendHeight,
                  std::max(10, width() - 2 * kMargin - labelW),
                  std::max(10, height() - 2 * kMargin - kLegendHeight - kAxisHeight));
}

double HeartbeatTimeline::xOf(qint64 t, const QRectF& plot) const {
    return plot.left() +
           static_cast<double>(t - from_) / static_cast<double>(to_ - from_) * plot.width();
}

void HeartbeatTimeline::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing, false);
    const QRectF plot = plotRect();
    const QFontMetrics fm(font());
    const QColor text = palette().color(QPalette::Text);
    const QColor grid = palette().color(QPalette::Mid).lighter(130);

    // Legend, top right of the plot.
    {
        struct Entry {
            LinkPhase phase;
            QString label;
        };
        const std::array<Entry, 4> entries = {{{LinkPhase::Alive, tr("alive")},
                                               {LinkPhase::Late, tr("late")},
                                               {LinkPhase::Dead, tr("dead")},
                                               {LinkPhase::Waiting, tr("waiting")}}};
        double x = plot.left();
        const double y = kMargin + 4;
        for (const auto& e : entries) {
            p.fillRect(QRectF(x, y + 2, 14, 10), colorOf(e.phase));
            p.setPen(text);
            p.drawText(QPointF(x + 19, y + fm.ascent()), e.label);
            x += 19 + fm.horizontalAdvance(e.label) + 16;
        }
        p.setPen(QPen(text, 2));
        p.drawLine(QPointF(x + 6, y), QPointF(x + 6, y + 14));
        p.setPen(text);
        p.drawText(QPointF(x + 14, y + fm.ascent()), tr("socket recreated"));
    }

    // Time grid and axis labels.
    const qint64 span = to_ - from_;
    const qint64 step = tickStep(span);
    const bool withDate = span > 12 * 3600 * 1000LL;
    p.setFont(font());
    for (qint64 t = (from_ / step + 1) * step; t < to_; t += step) {
        const double x = xOf(t, plot);
        p.setPen(QPen(grid, 1, Qt::DotLine));
        p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()));
        p.setPen(text);
        const QString label = QDateTime::fromMSecsSinceEpoch(t).toString(
            withDate ? QStringLiteral("dd hh:mm") : QStringLiteral("hh:mm:ss"));
        const double w = fm.horizontalAdvance(label);
        p.drawText(QPointF(x - w / 2, plot.bottom() + 6 + fm.ascent()), label);
    }
    p.setPen(QPen(grid, 1));
    p.drawLine(plot.bottomLeft(), plot.bottomRight());

    if (history_ == nullptr || history_->linkIds().isEmpty()) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(plot, Qt::AlignCenter | Qt::TextWordWrap,
                   tr("No supervised SUB links yet.\nGive a PUB→SUB link a heartbeat timeout "
                      "and run it to see its health here."));
        return;
    }

    QFont bold = font();
    bold.setBold(true);
    const qint64 visibleTo = limit_ > 0 ? std::min(to_, limit_) : to_;
    double y = plot.top() + kRowGap / 2.0;
    p.setClipping(false);
    for (const auto& id : history_->linkIds()) {
        const LinkHistory* h = history_->link(id);
        if (h == nullptr) continue;
        if (y + kRowHeight > plot.bottom() + 1) break;
        const QRectF row(plot.left(), y, plot.width(), kRowHeight);

        // Label: id, then the current state and the recreations in view.
        p.setPen(text);
        p.setFont(bold);
        const double labelW = plot.left() - kMargin - 10;
        p.drawText(QRectF(kMargin, y - 2, labelW, kRowHeight / 2.0 + 2),
                   Qt::AlignLeft | Qt::AlignVCenter,
                   QFontMetrics(bold).elidedText(id, Qt::ElideMiddle, static_cast<int>(labelW)));
        p.setFont(font());
        const auto marks = std::count_if(h->recreations.begin(), h->recreations.end(),
                                         [&](qint64 t) { return t >= from_ && t <= visibleTo; });
        QString state = QString::fromLatin1(to_string(h->current));
        if (marks > 0) state += tr(" · recreated %1×").arg(marks);
        p.setPen(h->current == LinkPhase::Inactive ? palette().color(QPalette::PlaceholderText)
                                                   : colorOf(h->current).darker(140));
        p.drawText(QRectF(kMargin, y + kRowHeight / 2.0, labelW, kRowHeight / 2.0 + 2),
                   Qt::AlignLeft | Qt::AlignVCenter, state);

        // Track, then the bands clipped to the view.
        p.fillRect(row, palette().color(QPalette::AlternateBase));
        for (const auto& iv : h->intervals) {
            if (iv.end < from_ || iv.start > visibleTo) continue;
            const double x0 = xOf(std::max(iv.start, from_), plot);
            const double x1 = xOf(std::min(iv.end, visibleTo), plot);
            // At least a pixel: a 250 ms "late" in an hour-wide view must still show.
            p.fillRect(QRectF(x0, row.top() + 3, std::max(1.0, x1 - x0), row.height() - 6),
                       colorOf(iv.phase));
        }
        // Recreation ticks: a line across the band with a small triangle above it.
        p.setRenderHint(QPainter::Antialiasing, true);
        for (qint64 t : h->recreations) {
            if (t < from_ || t > visibleTo) continue;
            const double x = xOf(t, plot);
            p.setPen(QPen(QColor(0x22, 0x22, 0x22), 2));
            p.drawLine(QPointF(x, row.top() + 1), QPointF(x, row.bottom() - 1));
            QPainterPath tri;
            tri.moveTo(x - 4, row.top() - 3);
            tri.lineTo(x + 4, row.top() - 3);
            tri.lineTo(x, row.top() + 3);
            tri.closeSubpath();
            p.fillPath(tri, QColor(0x22, 0x22, 0x22));
        }
        p.setRenderHint(QPainter::Antialiasing, false);
        y += kRowHeight + kRowGap;
    }
}

void HeartbeatTimeline::wheelEvent(QWheelEvent* event) {
    const QRectF plot = plotRect();
    const double steps = event->angleDelta().y() / 120.0;
    if (steps == 0 || plot.width() <= 0) return;
    const double factor = std::pow(0.8, steps);  // wheel up: zoom in
    const double fx = std::clamp((event->position().x() - plot.left()) / plot.width(), 0.0, 1.0);
    const auto span = static_cast<double>(to_ - from_);
    const double anchor = static_cast<double>(from_) + fx * span;
    const double newSpan = std::max(1000.0, span * factor);
    const auto from = static_cast<qint64>(anchor - fx * newSpan);
    emit rangeRequested(from, from + static_cast<qint64>(newSpan));
    event->accept();
}

void HeartbeatTimeline::mousePressEvent(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton) return QWidget::mousePressEvent(event);
    dragging_ = true;
    dragX_ = event->position().x();
    dragFrom_ = from_;
    dragTo_ = to_;
    setCursor(Qt::ClosedHandCursor);
}

void HeartbeatTimeline::mouseMoveEvent(QMouseEvent* event) {
    if (!dragging_) return QWidget::mouseMoveEvent(event);
    const QRectF plot = plotRect();
    const double dx = event->position().x() - dragX_;
    const auto shift =
        static_cast<qint64>(dx / plot.width() * static_cast<double>(dragTo_ - dragFrom_));
    if (shift != 0) emit rangeRequested(dragFrom_ - shift, dragTo_ - shift);
}

void HeartbeatTimeline::mouseReleaseEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton && dragging_) {
        dragging_ = false;
        unsetCursor();
    }
    QWidget::mouseReleaseEvent(event);
}

}  // namespace studio
