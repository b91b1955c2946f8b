// One link drawn as a cubic curve from an output port to an input port, with an arrowhead at
// the input (the direction data travels: PUB -> SUB, REQ -> REP). PUB->SUB links are dashed,
// REQ->REP solid. The runtime overlay colours it by heartbeat health and connection state; a
// label shows the heartbeat timeout when one is set.
//
// Holds the link id and its two port references; the scene moves its ends when a node moves.
//
// GUI thread only.
#pragma once

#include "scene/port_item.hpp"

#include <zmqrpc/metrics.hpp>
#include <zmqrpc/runtime.hpp>
#include <zmqrpc/topology.hpp>

#include <QGraphicsItem>
#include <QPainterPath>
#include <QString>

namespace studio {

class LinkItem : public QGraphicsItem {
  public:
    enum { Type = UserType + 3 };

    explicit LinkItem(const QString& id);

    int type() const override { return Type; }
    QRectF boundingRect() const override;
    QPainterPath shape() const override;
    void paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget* widget) override;

    const QString& id() const noexcept { return id_; }
    const QString& fromNode() const noexcept { return fromNode_; }
    const QString& fromPort() const noexcept { return fromPort_; }
    const QString& toNode() const noexcept { return toNode_; }
    const QString& toPort() const noexcept { return toPort_; }

    // Re-reads the link from the model (ends, kind, heartbeat timeout).
    void sync(const zmqrpc::Link& link, const zmqrpc::Topology& topology);
    // Moves the ends (scene coordinates of the two ports).
    void setEnds(QPointF start, QPointF end);
    // The runtime overlay; null clears it.
    void setStatus(const zmqrpc::LinkStatus* status);
    void setProblems(const QStringList& errors, const QStringList& warnings);
    // Why the link's security was refused (a CredentialsRefused event's text), shown while the
    // link is in that state.
    void setRefusal(const QString& text);
    const QString& refusal() const noexcept { return refusal_; }
    const QString& endpoint() const noexcept { return endpoint_; }
    bool isRefused() const noexcept {
        return hasStatus_ && active_ && connection_ == zmqrpc::ConnectionState::CredentialsRefused;
    }
    // Both ends use CURVE: the link is encrypted (labelled "CURVE").
    bool isCurve() const noexcept { return curve_; }
    const QString& label() const noexcept { return label_; }
    ProblemMarker* problemMarker() const noexcept { return marker_; }

    bool isPubSub() const noexcept { return pubSub_; }
    bool hasStatus() const noexcept { return hasStatus_; }
    // The colour the overlay draws with (for tests).
    QColor currentColor() const;
    bool showsLock() const noexcept;

    // The curve between two ports, as the draft line and the link use it.
    static QPainterPath curve(QPointF start, QPointF end);

  protected:
    void hoverEnterEvent(QGraphicsSceneHoverEvent* event) override;
    void hoverLeaveEvent(QGraphicsSceneHoverEvent* event) override;
    QVariant itemChange(GraphicsItemChange change, const QVariant& value) override;

  private:
    void rebuild();
    void updateToolTip();

    QString id_;
    QString fromNode_, fromPort_, toNode_, toPort_;
    bool pubSub_ = true;
    double heartbeatTimeout_ = 0;
    QString label_;
    QPointF start_, end_;
    QPainterPath path_;
    QPainterPath shape_;
    QPolygonF arrow_;
    QPointF mid_;
    QRectF bounds_;
    bool hovered_ = false;
    ProblemMarker* marker_ = nullptr;

    bool hasStatus_ = false;
    bool active_ = false;
    zmqrpc::ConnectionState connection_ = zmqrpc::ConnectionState::Idle;
    zmqrpc::HeartbeatState heartbeat_ = zmqrpc::HeartbeatState::Unmonitored;
    std::uint64_t messages_ = 0;
    QString endpoint_;
    QString refusal_;
    bool curve_ = false;
};

}  // namespace studio
