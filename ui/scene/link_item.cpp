#include "scene/link_item.hpp"

#include "scene/scene_style.hpp"

#include <zmqrpc/secrets.hpp>

#include <QFontMetricsF>
#include <QPainter>
#include <QPainterPathStroker>
#include <QStyleOptionGraphicsItem>

#include <cmath>

namespace studio {

namespace {
QString qs(const std::string& s) {
    return QString::fromStdString(s);
}
constexpr double kArrowLength = 11;
constexpr double kArrowWidth = 5.5;
}  // namespace

LinkItem::LinkItem(const QString& id) : id_(id) {
    setFlags(ItemIsSelectable);
    setAcceptHoverEvents(true);
    setZValue(0);
    marker_ = new ProblemMarker(this);
}

QPainterPath LinkItem::curve(QPointF start, QPointF end) {
    // Horizontal tangents at both ports; the bow grows with the distance, and a link that goes
    // backwards (right to left) loops out instead of cutting through the cards.
    const double dx = end.x() - start.x();
    const double bow = std::max(50.0, std::abs(dx) * 0.5) + (dx < 0 ? 40.0 : 0.0);
    QPainterPath p(start);
    p.cubicTo(start + QPointF(bow, 0), end - QPointF(bow, 0), end);
    return p;
}

void LinkItem::sync(const zmqrpc::Link& link, const zmqrpc::Topology& topology) {
    fromNode_ = qs(link.from.node);
    fromPort_ = qs(link.from.port);
    toNode_ = qs(link.to.node);
    toPort_ = qs(link.to.port);
    pubSub_ = true;
    if (const auto* n = topology.find_node(link.from.node)) {
        for (const auto& p : zmqrpc::port_specs(n->kind, n->properties)) {
            if (p.name == link.from.port) pubSub_ = p.socket == zmqrpc::SocketType::Pub;
        }
    }
    heartbeatTimeout_ = link.heartbeat_timeout;
    // Encrypted when both ends use CURVE (validation reports ends that differ).
    const auto mechanism = [&topology](const zmqrpc::PortRef& end) {
        const auto* n = topology.find_node(end.node);
        if (n == nullptr) return zmqrpc::Security::Mechanism::None;
        try {
            return zmqrpc::SecurityRef::from_json(
                       n->property(zmqrpc::security_property(n->kind, end.port)))
                .mechanism();
        } catch (const std::exception&) {
            return zmqrpc::Security::Mechanism::None;
        }
    };
    curve_ = mechanism(link.from) == zmqrpc::Security::Mechanism::Curve &&
             mechanism(link.to) == zmqrpc::Security::Mechanism::Curve;
    QStringList label;
    if (curve_) label << QStringLiteral("CURVE");
    if (heartbeatTimeout_ > 0)
        label << QStringLiteral("\u2665 %1 s").arg(heartbeatTimeout_, 0, 'g', 4);
    label_ = label.join(QStringLiteral(" \u00b7 "));
    rebuild();
    updateToolTip();
}

void LinkItem::setEnds(QPointF start, QPointF end) {
    if (start == start_ && end == end_ && !path_.isEmpty()) return;
    start_ = start;
    end_ = end;
    rebuild();
}

void LinkItem::rebuild() {
    prepareGeometryChange();
    // The curve stops at the arrow's base so that the line does not poke through its tip.
    const QPainterPath full = curve(start_, end_);
    const double angle = full.angleAtPercent(1.0) * M_PI / 180.0;
    const QPointF dir(std::cos(angle), -std::sin(angle));
    const QPointF normal(-dir.y(), dir.x());
    const QPointF tip = end_ - dir * (style::kPortRadius + 1);
    const QPointF base = tip - dir * kArrowLength;
    arrow_ = QPolygonF({tip, base + normal * kArrowWidth, base - normal * kArrowWidth});
    path_ = curve(start_, base);
    mid_ = full.pointAtPercent(0.5);

    QPainterPathStroker stroker;
    stroker.setWidth(12);
    shape_ = stroker.createStroke(full);
    bounds_ = shape_.boundingRect().united(arrow_.boundingRect());
    // Label above the middle, badges on it.
    bounds_ = bounds_.united(QRectF(mid_ - QPointF(40, 26), QSizeF(80, 48)));
    marker_->setPos(mid_ + QPointF(0, 16));
    update();
}

QRectF LinkItem::boundingRect() const {
    return bounds_;
}
QPainterPath LinkItem::shape() const {
    return shape_;
}

QColor LinkItem::currentColor() const {
    using zmqrpc::ConnectionState;
    using zmqrpc::HeartbeatState;
    if (hasStatus_ && active_) {
        if (connection_ == ConnectionState::CredentialsRefused ||
            connection_ == ConnectionState::HandshakeFailed)
            return style::errorColor();
        if (pubSub_ && heartbeat_ == HeartbeatState::Dead) return style::errorColor();
        if (pubSub_ && heartbeat_ == HeartbeatState::Late) return style::warnColor();
        if (connection_ == ConnectionState::Connecting ||
            connection_ == ConnectionState::Disconnected || connection_ == ConnectionState::Idle)
            return style::idleLinkColor();
        if (pubSub_ && heartbeat_ == HeartbeatState::Alive) return style::okColor();
    }
    return pubSub_ ? style::socketColor(zmqrpc::SocketType::Pub)
                   : style::socketColor(zmqrpc::SocketType::Req);
}

bool LinkItem::showsLock() const noexcept {
    return hasStatus_ && active_ && connection_ == zmqrpc::ConnectionState::CredentialsRefused;
}

void LinkItem::paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget*) {
    using zmqrpc::ConnectionState;
    painter->setRenderHint(QPainter::Antialiasing);
    const QColor color = currentColor();
    double width = 2.0;
    if (hovered_) width = 3.0;
    if (isSelected()) width = 3.5;

    if (isSelected() || hovered_) {
        QColor halo = isSelected() ? style::selection() : color;
        halo.setAlpha(isSelected() ? 70 : 45);
        painter->setPen(QPen(halo, width + 6, Qt::SolidLine, Qt::RoundCap));
        painter->drawPath(path_);
    }

    QPen pen(color, width, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin);
    if (hasStatus_ && active_ && connection_ == ConnectionState::Connecting) {
        pen.setStyle(Qt::DotLine);
    } else if (pubSub_) {
        pen.setDashPattern({5, 3});
    }
    painter->setPen(pen);
    painter->setBrush(Qt::NoBrush);
    painter->drawPath(path_);
    painter->setPen(Qt::NoPen);
    painter->setBrush(color);
    painter->drawPolygon(arrow_);

    const double lod = option->levelOfDetailFromTransform(painter->worldTransform());
    if (lod < 0.4) return;

    if (!label_.isEmpty()) {
        painter->setFont(style::smallFont());
        const QFontMetricsF m(style::smallFont());
        const QRectF r(mid_.x() - m.horizontalAdvance(label_) / 2 - 5, mid_.y() - 22,
                       m.horizontalAdvance(label_) + 10, 14);
        painter->setPen(Qt::NoPen);
        painter->setBrush(QColor(255, 255, 255, 225));
        painter->drawRoundedRect(r, 7, 7);
        painter->setPen(color.darker(115));
        painter->drawText(r, Qt::AlignCenter, label_);
    }

    if (hasStatus_ && active_ &&
        (connection_ == ConnectionState::CredentialsRefused ||
         connection_ == ConnectionState::HandshakeFailed)) {
        // A red badge on the middle; a padlock when the credentials were refused.
        painter->setPen(QPen(Qt::white, 1.5));
        painter->setBrush(style::errorColor());
        painter->drawEllipse(mid_, 9, 9);
        painter->setPen(QPen(Qt::white, 1.6));
        painter->setBrush(Qt::NoBrush);
        if (connection_ == ConnectionState::CredentialsRefused) {
            painter->drawArc(QRectF(mid_.x() - 3, mid_.y() - 6.5, 6, 7), 0, 180 * 16);
            painter->setPen(Qt::NoPen);
            painter->setBrush(Qt::white);
            painter->drawRoundedRect(QRectF(mid_.x() - 4.5, mid_.y() - 2.5, 9, 7), 1.5, 1.5);
        } else {
            painter->drawLine(mid_ + QPointF(-3.5, -3.5), mid_ + QPointF(3.5, 3.5));
            painter->drawLine(mid_ + QPointF(-3.5, 3.5), mid_ + QPointF(3.5, -3.5));
        }
    }
}

void LinkItem::setStatus(const zmqrpc::LinkStatus* status) {
    if (status == nullptr) {
        if (!hasStatus_) return;
        hasStatus_ = false;
        updateToolTip();
        update();
        return;
    }
    const bool changed = !hasStatus_ || active_ != status->active ||
                         connection_ != status->connection || heartbeat_ != status->heartbeat ||
                         messages_ != status->messages;
    if (!changed) return;
    hasStatus_ = true;
    active_ = status->active;
    connection_ = status->connection;
    heartbeat_ = status->heartbeat;
    messages_ = status->messages;
    endpoint_ = qs(status->endpoint);
    updateToolTip();
    update();
}

void LinkItem::setRefusal(const QString& text) {
    if (text == refusal_) return;
    refusal_ = text;
    updateToolTip();
}

void LinkItem::setProblems(const QStringList& errors, const QStringList& warnings) {
    marker_->setProblems(errors, warnings);
}

void LinkItem::updateToolTip() {
    using zmqrpc::ConnectionState;
    QStringList lines;
    lines << QStringLiteral("%1.%2 \u2192 %3.%4 (%5)")
                 .arg(fromNode_, fromPort_, toNode_, toPort_,
                      pubSub_ ? QStringLiteral("PUB\u2192SUB") : QStringLiteral("REQ\u2192REP"));
    if (heartbeatTimeout_ > 0)
        lines << QStringLiteral("heartbeat timeout: %1 s").arg(heartbeatTimeout_);
    if (hasStatus_ && active_) {
        if (connection_ == ConnectionState::CredentialsRefused) {
            QString why = refusal_;
            if (why.isEmpty()) {
                why = curve_ ? QStringLiteral("the CURVE key was refused")
                             : QStringLiteral("wrong user or password");
            }
            lines.prepend(QStringLiteral("credentials refused: %1").arg(why));
        } else if (connection_ == ConnectionState::HandshakeFailed) {
            lines.prepend(QStringLiteral("handshake failed"));
        } else {
            lines << QStringLiteral("connection: %1")
                         .arg(QString::fromLatin1(zmqrpc::to_string(connection_)));
        }
        if (pubSub_ && heartbeat_ != zmqrpc::HeartbeatState::Unmonitored) {
            lines << QStringLiteral("heartbeat: %1")
                         .arg(QString::fromLatin1(zmqrpc::to_string(heartbeat_)));
        }
        if (!endpoint_.isEmpty()) lines << QStringLiteral("endpoint: %1").arg(endpoint_);
        lines << QStringLiteral("messages: %1").arg(messages_);
    }
    setToolTip(lines.join(QLatin1Char('\n')));
}

void LinkItem::hoverEnterEvent(QGraphicsSceneHoverEvent* event) {
    hovered_ = true;
    update();
    QGraphicsItem::hoverEnterEvent(event);
}

void LinkItem::hoverLeaveEvent(QGraphicsSceneHoverEvent* event) {
    hovered_ = false;
    update();
    QGraphicsItem::hoverLeaveEvent(event);
}

QVariant LinkItem::itemChange(GraphicsItemChange change, const QVariant& value) {
    if (change == ItemSelectedHasChanged) update();
    return QGraphicsItem::itemChange(change, value);
}

}  // namespace studio
