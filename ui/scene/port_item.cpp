#include "scene/port_item.hpp"

#include "scene/scene_style.hpp"

#include <QCursor>
#include <QPainter>

namespace studio {

PortItem::PortItem(QString nodeId, QString portName, zmqrpc::SocketType socket, bool output,
                   QGraphicsItem* parent)
    : QGraphicsItem(parent),
      nodeId_(std::move(nodeId)),
      portName_(std::move(portName)),
      socket_(socket),
      output_(output) {
    setAcceptHoverEvents(true);
    setCursor(Qt::CrossCursor);
    setZValue(2);
    setToolTip(QStringLiteral("%1 %2 (%3) — drag to link")
                   .arg(QString::fromLatin1(zmqrpc::to_string(socket)),
                        output ? QStringLiteral("output") : QStringLiteral("input"), portName_));
}

QRectF PortItem::boundingRect() const {
    // Larger than the circle: an easy target, and room for the highlight ring.
    const double r = style::kPortRadius + 5;
    return {-r, -r, 2 * r, 2 * r};
}

QPainterPath PortItem::shape() const {
    QPainterPath p;
    const double r = style::kPortRadius + 4;
    p.addEllipse(QPointF(0, 0), r, r);
    return p;
}

void PortItem::paint(QPainter* painter, const QStyleOptionGraphicsItem*, QWidget*) {
    painter->setRenderHint(QPainter::Antialiasing);
    const QColor c = style::socketColor(socket_);
    double r = style::kPortRadius;
    if (hovered_ || highlight_ == Highlight::Target) r += 1.5;
    if (highlight_ != Highlight::None) {
        QColor ring = c;
        ring.setAlpha(highlight_ == Highlight::Target ? 150 : 80);
        painter->setPen(Qt::NoPen);
        painter->setBrush(ring);
        painter->drawEllipse(QPointF(0, 0), r + 4, r + 4);
    }
    painter->setPen(QPen(Qt::white, 2));
    painter->setBrush(c);
    painter->drawEllipse(QPointF(0, 0), r, r);
}

void PortItem::setHighlight(Highlight highlight) {
    if (highlight_ == highlight) return;
    highlight_ = highlight;
    update();
}

void PortItem::hoverEnterEvent(QGraphicsSceneHoverEvent* event) {
    hovered_ = true;
    update();
    QGraphicsItem::hoverEnterEvent(event);
}

void PortItem::hoverLeaveEvent(QGraphicsSceneHoverEvent* event) {
    hovered_ = false;
    update();
    QGraphicsItem::hoverLeaveEvent(event);
}

// ---------------------------------------------------------------------------------------------

ProblemMarker::ProblemMarker(QGraphicsItem* parent) : QGraphicsItem(parent) {
    setZValue(5);
    setVisible(false);
    setAcceptHoverEvents(true);  // for the tooltip
}

QRectF ProblemMarker::boundingRect() const {
    return {-9, -9, 18, 18};
}

void ProblemMarker::paint(QPainter* painter, const QStyleOptionGraphicsItem*, QWidget*) {
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setPen(QPen(Qt::white, 1.5));
    painter->setBrush(error_ ? style::errorColor() : style::warnColor());
    painter->drawEllipse(QPointF(0, 0), 8, 8);
    painter->setPen(QPen(Qt::white, 2, Qt::SolidLine, Qt::RoundCap));
    painter->drawLine(QPointF(0, -4), QPointF(0, 1));
    painter->drawPoint(QPointF(0, 4.2));
}

void ProblemMarker::setProblems(const QStringList& errors, const QStringList& warnings) {
    if (errors.isEmpty() && warnings.isEmpty()) {
        setVisible(false);
        setToolTip({});
        return;
    }
    error_ = !errors.isEmpty();
    QStringList lines;
    for (const auto& e : errors)
        lines << QStringLiteral("error: ") + e;
    for (const auto& w : warnings)
        lines << QStringLiteral("warning: ") + w;
    setToolTip(lines.join(QLatin1Char('\n')));
    setVisible(true);
    update();
}

}  // namespace studio
