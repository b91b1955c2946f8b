#include "scene/node_item.hpp"

#include "document/editor_document.hpp"
#include "scene/graph_scene.hpp"
#include "scene/scene_style.hpp"

#include <QFontMetricsF>
#include <QPainter>
#include <QStyleOptionGraphicsItem>

#include <algorithm>
#include <cmath>

namespace studio {

namespace {

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

QString rateText(double perSecond) {
    if (perSecond >= 10000) return QStringLiteral("%1k/s").arg(perSecond / 1000.0, 0, 'f', 1);
    return QStringLiteral("%1/s").arg(perSecond, 0, 'f', 1);
}

QString countText(quint64 n) {
    if (n >= 1000000) return QStringLiteral("%1M").arg(static_cast<double>(n) / 1e6, 0, 'f', 1);
    if (n >= 10000) return QStringLiteral("%1k").arg(static_cast<double>(n) / 1e3, 0, 'f', 0);
    return QString::number(n);
}

QString bytesText(quint64 n) {
    if (n >= (quint64{1} << 30))
        return QStringLiteral("%1 GiB").arg(static_cast<double>(n) / double(1 << 30), 0, 'f', 1);
    if (n >= (quint64{1} << 20))
        return QStringLiteral("%1 MiB").arg(static_cast<double>(n) / double(1 << 20), 0, 'f', 1);
    if (n >= 1024) return QStringLiteral("%1 KiB").arg(static_cast<double>(n) / 1024.0, 0, 'f', 0);
    return QStringLiteral("%1 B").arg(n);
}

double snap(double v) {
    return std::round(v / EditorDocument::kGrid) * EditorDocument::kGrid;
}

constexpr double kTitleTop = style::kHeaderHeight;
constexpr double kRowsGap = 4;

}  // namespace

NodeItem::NodeItem(GraphScene* scene, const QString& id) : graph_(scene), id_(id) {
    setFlags(ItemIsMovable | ItemIsSelectable | ItemSendsGeometryChanges);
    // The card is drawn once per zoom level and then blitted: panning a large graph costs
    // pixmap copies, not text layout. Runtime updates invalidate it explicitly.
    setCacheMode(DeviceCoordinateCache);
    setZValue(1);
    marker_ = new ProblemMarker(this);
    marker_->setPos(style::kCardWidth - 2, 2);
}

QRectF NodeItem::boundingRect() const {
    // Room for the shadow, the selection outline and the port circles on both edges.
    const double m = style::kPortRadius + 3;
    return QRectF(0, 0, style::kCardWidth, height_).adjusted(-m, -4, m, 6);
}

QPainterPath NodeItem::shape() const {
    return cardPath_;
}

PortItem* NodeItem::port(const QString& name) const {
    for (auto* p : ports_) {
        if (p->portName() == name) return p;
    }
    return nullptr;
}

QPointF NodeItem::portScenePos(const QString& name) const {
    if (const auto* p = port(name)) return p->scenePos();
    return mapToScene(QPointF(style::kCardWidth / 2, height_ / 2));
}

void NodeItem::sync(const zmqrpc::Node& node, const zmqrpc::Topology& topology) {
    kind_ = node.kind;
    kindName_ = QString::fromLatin1(zmqrpc::display_name(node.kind));
    glyph_ = style::kindGlyph(node.kind);
    description_ = QString::fromLatin1(zmqrpc::description(node.kind));
    host_ = qs(node.host);

    const QFontMetricsF titleMetrics(style::titleFont());
    const QFontMetricsF smallMetrics(style::smallFont());
    double titleWidth = style::kCardWidth - 2 * style::kPad;
    if (!host_.isEmpty()) titleWidth -= smallMetrics.horizontalAdvance(host_) + 14;
    title_ = titleMetrics.elidedText(qs(node.display_name()), Qt::ElideRight, titleWidth);

    // Port rows: inputs first, then outputs, one row each, so endpoints never collide.
    const auto specs = zmqrpc::port_specs(node.kind, node.properties);
    std::vector<const zmqrpc::PortSpec*> ordered;
    for (const auto& s : specs)
        if (!s.output) ordered.push_back(&s);
    for (const auto& s : specs)
        if (s.output) ordered.push_back(&s);

    const QFontMetricsF portMetrics(style::portFont());
    const QFontMetricsF monoMetrics(style::monoFont());
    rows_.clear();
    for (const auto* s : ordered) {
        Row row;
        row.port = qs(s->name);
        row.tag = QString::fromLatin1(zmqrpc::to_string(s->socket));
        row.output = s->output;
        row.color = style::socketColor(s->socket);
        if (s->binds) {
            std::string endpoint = topology.bind_endpoint({node.id, s->name});
            const double room =
                style::kCardWidth - 2 * style::kPad - portMetrics.horizontalAdvance(row.tag) - 8;
            row.endpoint = endpoint.empty()
                               ? QStringLiteral("(no endpoint)")
                               : monoMetrics.elidedText(qs(endpoint), Qt::ElideMiddle, room);
        }
        rows_.push_back(std::move(row));
    }

    // Port items follow the rows; rebuilt only when the set of ports changed (an external
    // node's socket), so that a link drag in progress keeps its items otherwise.
    bool same = ports_.size() == ordered.size();
    for (std::size_t i = 0; same && i < ordered.size(); ++i) {
        same = ports_[i]->portName() == qs(ordered[i]->name) &&
               ports_[i]->socket() == ordered[i]->socket;
    }
    if (!same) {
        for (auto* p : ports_)
            delete p;
        ports_.clear();
        for (const auto* s : ordered)
            ports_.push_back(new PortItem(id_, qs(s->name), s->socket, s->output, this));
    }

    hasQueueRow_ = zmqrpc::find_property_spec(node.kind, "queue_capacity") != nullptr;
    const auto cap = node.property("queue_capacity");
    queueCapacityProperty_ = cap.is_number() ? cap.get<double>() : 0;

    relayout();
    updateFooter();
    updateToolTip();

    const QPointF pos(node.position.x, node.position.y);
    if (this->pos() != pos) {
        syncing_ = true;
        setPos(pos);
        syncing_ = false;
    }
    update();
}

void NodeItem::relayout() {
    portsTop_ = kTitleTop + style::kTitleHeight + 2;
    double h = portsTop_ + kRowsGap + static_cast<double>(rows_.size()) * style::kPortRowHeight +
               kRowsGap + style::kFooterHeight;
    if (hasQueueRow_) h += style::kQueueRowHeight;
    h += 4;
    if (h != height_) {
        prepareGeometryChange();
        height_ = h;
    }
    for (std::size_t i = 0; i < ports_.size(); ++i) {
        const double y =
            portsTop_ + kRowsGap + (static_cast<double>(i) + 0.5) * style::kPortRowHeight;
        ports_[i]->setPos(ports_[i]->isOutput() ? style::kCardWidth : 0, y);
    }
    cardPath_ = QPainterPath();
    cardPath_.addRoundedRect(QRectF(0, 0, style::kCardWidth, height_), style::kRadius,
                             style::kRadius);
    QPainterPath top;
    top.addRect(QRectF(0, 0, style::kCardWidth, style::kHeaderHeight));
    headerPath_ = cardPath_.intersected(top);
}

void NodeItem::setStatus(const zmqrpc::NodeStatus* status) {
    if (status == nullptr) {
        if (!hasStatus_) return;
        hasStatus_ = false;
        setOpacity(1.0);
        updateFooter();
        updateToolTip();
        update();
        return;
    }
    const bool changed = !hasStatus_ || state_ != status->state || reason_ != qs(status->reason) ||
                         rateIn_ != status->rate_in || rateOut_ != status->rate_out ||
                         queueKnown_ != status->metrics.has_queue ||
                         queueFill_ != status->metrics.queue.fill ||
                         queueCapacity_ != status->metrics.queue.capacity ||
                         queueDropped_ != status->metrics.queue.dropped ||
                         queueBytes_ != status->metrics.queue.fill_bytes ||
                         queueDurable_ != status->metrics.queue.durable;
    if (!changed) return;  // a snapshot every 250 ms: repaint only what moved
    hasStatus_ = true;
    state_ = status->state;
    reason_ = qs(status->reason);
    rateIn_ = status->rate_in;
    rateOut_ = status->rate_out;
    queueKnown_ = status->metrics.has_queue;
    queueFill_ = status->metrics.queue.fill;
    queueCapacity_ = status->metrics.queue.capacity;
    queueDropped_ = status->metrics.queue.dropped;
    queueBytes_ = status->metrics.queue.fill_bytes;
    queueByteLimit_ = status->metrics.queue.store_limit_bytes;
    queueDurable_ = status->metrics.queue.durable;
    setOpacity(state_ == zmqrpc::NodeState::Remote || state_ == zmqrpc::NodeState::Unknown ? 0.6
                                                                                           : 1.0);
    updateFooter();
    updateToolTip();
    update();
}

void NodeItem::setProblems(const QStringList& errors, const QStringList& warnings) {
    marker_->setProblems(errors, warnings);
}

void NodeItem::updateFooter() {
    using zmqrpc::NodeState;
    stateText_.clear();
    if (!hasStatus_) {
        footer_ = id_;
    } else {
        stateText_ = QString::fromLatin1(zmqrpc::to_string(state_));
        switch (state_) {
            case NodeState::Running: {
                // Only the sides the node has: a sampler has no input, a tap no output.
                const bool inputs =
                    std::any_of(rows_.begin(), rows_.end(), [](const Row& r) { return !r.output; });
                const bool outputs =
                    std::any_of(rows_.begin(), rows_.end(), [](const Row& r) { return r.output; });
                QStringList parts;
                if (inputs || !outputs) parts << QStringLiteral("in ") + rateText(rateIn_);
                if (outputs || !inputs) parts << QStringLiteral("out ") + rateText(rateOut_);
                footer_ = parts.join(QStringLiteral(" \u00B7 "));
                break;
            }
            case NodeState::Failed:
                footer_ = reason_;
                break;
            case NodeState::External:
                footer_ = reason_.isEmpty() ? QStringLiteral("runs elsewhere") : reason_;
                break;
            case NodeState::Remote:
                footer_ = QStringLiteral("runs on another host");
                break;
            case NodeState::Starting:
                footer_ = QStringLiteral("starting\u2026");
                break;
            case NodeState::Waiting:  // the reason reads "until 'x' binds (...)"
                footer_ = QStringLiteral("waiting ") + reason_;
                break;
            case NodeState::Stopping:
                footer_ = QStringLiteral("stopping\u2026");
                break;
            case NodeState::Stopped:
                footer_ = reason_.isEmpty() ? QStringLiteral("stopped") : reason_;
                break;
            case NodeState::Unknown:  // "runner 'site' silent for 5 s"
                footer_ = reason_.isEmpty() ? QStringLiteral("unknown: runner silent")
                                            : QStringLiteral("unknown: ") + reason_;
                break;
        }
    }
    const QFontMetricsF m(style::smallFont());
    footer_ = m.elidedText(footer_, Qt::ElideRight, style::kCardWidth - 2 * style::kPad);

    if (hasQueueRow_) {
        if (hasStatus_ && queueKnown_ && state_ == NodeState::Running) {
            queueText_ =
                QStringLiteral("%1 / %2").arg(countText(queueFill_), countText(queueCapacity_));
            // A store on disk: what it holds in bytes, against its limit.
            if (queueDurable_)
                queueText_ += QStringLiteral(" \u00B7 %1 on disk").arg(bytesText(queueBytes_));
            if (queueDropped_ > 0)
                queueText_ += QStringLiteral(" \u00B7 %1 dropped").arg(countText(queueDropped_));
        } else {
            queueText_ =
                QStringLiteral("queue \u2014 / %1")
                    .arg(countText(static_cast<quint64>(std::max(0.0, queueCapacityProperty_))));
        }
    }
}

void NodeItem::updateToolTip() {
    QString tip = QStringLiteral("<b>%1</b> (%2)<br>%3").arg(title_, kindName_, description_);
    if (hasStatus_) {
        tip += QStringLiteral("<br>state: %1").arg(stateText_);
        if (!reason_.isEmpty()) {
            tip += QStringLiteral("<br>%1").arg(
                (state_ == zmqrpc::NodeState::Failed    ? QStringLiteral("failed: ")
                 : state_ == zmqrpc::NodeState::Waiting ? QStringLiteral("waiting ")
                 : state_ == zmqrpc::NodeState::Unknown ? QStringLiteral("unknown: ")
                                                        : QString()) +
                reason_.toHtmlEscaped());
        }
    }
    setToolTip(tip);
}

void NodeItem::paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget*) {
    using zmqrpc::NodeState;
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setRenderHint(QPainter::TextAntialiasing);
    const double w = style::kCardWidth;
    const double lod = option->levelOfDetailFromTransform(painter->worldTransform());

    // Shadow, card, header band.
    painter->setPen(Qt::NoPen);
    painter->setBrush(QColor(0, 0, 0, 22));
    painter->drawRoundedRect(QRectF(1, 2.5, w, height_), style::kRadius, style::kRadius);
    painter->setBrush(style::cardFill());
    painter->drawPath(cardPath_);
    const QColor kindColor = style::kindColor(kind_);
    painter->setBrush(kindColor);
    painter->drawPath(headerPath_);

    // Border: selection wins, then the runtime state.
    QPen border(style::cardBorder(), 1);
    if (hasStatus_) {
        border = QPen(style::stateColor(state_), 2);
        if (state_ == NodeState::External) border.setStyle(Qt::DashLine);
    }
    if (isSelected()) border = QPen(style::selection(), 2.5);

    if (lod < 0.35) {
        // Far out text is unreadable: a tinted card in the kind's colour is what identifies it.
        painter->setBrush(QColor::fromRgbF(0.65f + 0.35f * kindColor.redF(),
                                           0.65f + 0.35f * kindColor.greenF(),
                                           0.65f + 0.35f * kindColor.blueF()));
        painter->setPen(Qt::NoPen);
        painter->drawPath(cardPath_);
        painter->setBrush(kindColor);
        painter->drawPath(headerPath_);
        border.setWidthF(border.widthF() * 2);
        painter->setBrush(Qt::NoBrush);
        painter->setPen(border);
        painter->drawPath(cardPath_);
        return;
    }
    painter->setBrush(Qt::NoBrush);
    painter->setPen(border);
    painter->drawPath(cardPath_);

    // Header: glyph, kind, state pill.
    painter->setPen(Qt::white);
    painter->setFont(style::titleFont());
    painter->drawText(QRectF(6, 0, 18, style::kHeaderHeight), Qt::AlignCenter, glyph_);
    painter->setFont(style::headerFont());
    painter->drawText(QRectF(26, 0, w - 100, style::kHeaderHeight),
                      Qt::AlignVCenter | Qt::AlignLeft, kindName_.toUpper());
    if (hasStatus_) {
        const QFontMetricsF m(style::headerFont());
        const double tw = m.horizontalAdvance(stateText_);
        const QRectF pill(w - tw - 26, 5, tw + 20, style::kHeaderHeight - 10);
        painter->setPen(Qt::NoPen);
        painter->setBrush(QColor(255, 255, 255, 235));
        painter->drawRoundedRect(pill, pill.height() / 2, pill.height() / 2);
        painter->setBrush(style::stateColor(state_));
        painter->drawEllipse(QPointF(pill.left() + 7.5, pill.center().y()), 3, 3);
        painter->setPen(style::stateColor(state_).darker(125));
        painter->drawText(pill.adjusted(13, 0, -4, 0), Qt::AlignCenter, stateText_);
    }

    // Title and host.
    const QRectF titleRect(style::kPad, kTitleTop, w - 2 * style::kPad, style::kTitleHeight);
    painter->setPen(style::textPrimary());
    painter->setFont(style::titleFont());
    painter->drawText(titleRect, Qt::AlignVCenter | Qt::AlignLeft, title_);
    if (!host_.isEmpty()) {
        painter->setFont(style::smallFont());
        const QFontMetricsF m(style::smallFont());
        const double hw = m.horizontalAdvance(host_) + 10;
        const QRectF pill(w - style::kPad - hw, kTitleTop + 4, hw, style::kTitleHeight - 8);
        painter->setPen(Qt::NoPen);
        painter->setBrush(QColor(0xee, 0xf0, 0xf3));
        painter->drawRoundedRect(pill, 3, 3);
        painter->setPen(style::textSecondary());
        painter->drawText(pill, Qt::AlignCenter, host_);
    }

    painter->setPen(QPen(style::divider(), 1));
    painter->drawLine(QPointF(1, portsTop_), QPointF(w - 1, portsTop_));

    // Port rows: tag next to the edge the port sits on, endpoint beside it.
    const QFontMetricsF portMetrics(style::portFont());
    for (std::size_t i = 0; i < rows_.size(); ++i) {
        const Row& row = rows_[i];
        const double top = portsTop_ + kRowsGap + static_cast<double>(i) * style::kPortRowHeight;
        const QRectF r(12, top, w - 24, style::kPortRowHeight);
        const double tagWidth = portMetrics.horizontalAdvance(row.tag);
        painter->setFont(style::portFont());
        painter->setPen(row.color);
        painter->drawText(r, Qt::AlignVCenter | (row.output ? Qt::AlignRight : Qt::AlignLeft),
                          row.tag);
        if (!row.endpoint.isEmpty()) {
            painter->setFont(style::monoFont());
            painter->setPen(style::textSecondary());
            const QRectF er = row.output ? r.adjusted(0, 0, -(tagWidth + 6), 0)
                                         : r.adjusted(tagWidth + 6, 0, 0, 0);
            painter->drawText(er, Qt::AlignVCenter | (row.output ? Qt::AlignRight : Qt::AlignLeft),
                              row.endpoint);
        }
    }

    // Footer: rates (running), the reason (failed), the id (no runtime).
    double y =
        portsTop_ + kRowsGap + static_cast<double>(rows_.size()) * style::kPortRowHeight + kRowsGap;
    painter->setPen(QPen(style::divider(), 1));
    painter->drawLine(QPointF(1, y), QPointF(w - 1, y));
    QColor footerColor = style::textSecondary();
    if (hasStatus_ && state_ == NodeState::Failed) footerColor = style::errorColor();
    if (hasStatus_ && state_ == NodeState::Running) footerColor = style::textPrimary();
    painter->setPen(footerColor);
    painter->setFont(hasStatus_ ? style::smallFont() : style::monoFont());
    painter->drawText(QRectF(style::kPad, y, w - 2 * style::kPad, style::kFooterHeight),
                      Qt::AlignVCenter | Qt::AlignLeft, footer_);
    y += style::kFooterHeight;

    if (hasQueueRow_) {
        const QRectF bar(style::kPad, y + 4, 64, 7);
        painter->setPen(Qt::NoPen);
        painter->setBrush(QColor(0xe6, 0xe8, 0xec));
        painter->drawRoundedRect(bar, 3.5, 3.5);
        if (hasStatus_ && queueKnown_ && queueCapacity_ > 0 && queueFill_ > 0) {
            double ratio = static_cast<double>(queueFill_) / static_cast<double>(queueCapacity_);
            // A store is as full as the fuller of its two limits, messages and bytes.
            if (queueDurable_ && queueByteLimit_ > 0) {
                ratio = std::max(
                    ratio, static_cast<double>(queueBytes_) / static_cast<double>(queueByteLimit_));
            }
            ratio = std::min(1.0, ratio);
            const QColor fillColor = ratio > 0.9   ? style::errorColor()
                                     : ratio > 0.5 ? style::warnColor()
                                                   : style::okColor();
            painter->setBrush(fillColor);
            painter->drawRoundedRect(
                QRectF(bar.left(), bar.top(), std::max(bar.height(), bar.width() * ratio),
                       bar.height()),
                3.5, 3.5);
        }
        painter->setPen(queueDropped_ > 0 && hasStatus_ ? style::errorColor()
                                                        : style::textSecondary());
        painter->setFont(style::smallFont());
        painter->drawText(QRectF(bar.right() + 8, y, w - bar.right() - 8 - style::kPad,
                                 style::kQueueRowHeight - 1),
                          Qt::AlignVCenter | Qt::AlignLeft, queueText_);
    }
}

QVariant NodeItem::itemChange(GraphicsItemChange change, const QVariant& value) {
    if (change == ItemPositionChange && !syncing_) {
        // Dragging snaps to the grid; positions set from the model are taken as they are.
        const QPointF p = value.toPointF();
        return QPointF(snap(p.x()), snap(p.y()));
    }
    if (change == ItemPositionHasChanged && graph_ != nullptr) graph_->nodeItemMoved(id_);
    return QGraphicsItem::itemChange(change, value);
}

}  // namespace studio
