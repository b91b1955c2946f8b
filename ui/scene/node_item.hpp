// One node of the topology drawn as a card: a header band in the kind's colour, the node's
// name, host and bind endpoints, a row per port (inputs on the left edge, outputs on the right)
// and a footer with the runtime overlay (state, message rates, a proxy's queue fill).
//
// The item holds the node id and display strings derived from the model when the document
// says the node changed; it never edits the model. Dragging snaps to the grid; the scene turns a
// finished drag into one EditorDocument::moveNodes. The runtime overlay is set by the scene from
// RuntimeSource snapshots and is never written back.
//
// GUI thread only.
#pragma once

#include "scene/port_item.hpp"

#include <zmqrpc/runtime.hpp>
#include <zmqrpc/topology.hpp>

#include <QGraphicsItem>
#include <QPainterPath>
#include <QString>
#include <QStringList>

#include <vector>

namespace studio {

class GraphScene;

class NodeItem : public QGraphicsItem {
  public:
    enum { Type = UserType + 1 };

    NodeItem(GraphScene* scene, const QString& id);

    int type() const override { return Type; }
    QRectF boundingRect() const override;
    QPainterPath shape() const override;
    void paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget* widget) override;

    const QString& id() const noexcept { return id_; }
    zmqrpc::NodeKind kind() const noexcept { return kind_; }

    // Re-reads what the card shows from the model (name, host, ports, endpoints, position).
    void sync(const zmqrpc::Node& node, const zmqrpc::Topology& topology);
    // The runtime overlay; null clears it (no runtime, or the node is not in the snapshot).
    void setStatus(const zmqrpc::NodeStatus* status);
    void setProblems(const QStringList& errors, const QStringList& warnings);

    PortItem* port(const QString& name) const;
    const std::vector<PortItem*>& ports() const noexcept { return ports_; }
    // Where a link attaches to `port` (the port circle's centre), in scene coordinates.
    QPointF portScenePos(const QString& name) const;
    ProblemMarker* problemMarker() const noexcept { return marker_; }

    // The overlay as shown (for tests and the status bar).
    bool hasStatus() const noexcept { return hasStatus_; }
    zmqrpc::NodeState state() const noexcept { return state_; }
    QString footerText() const { return footer_; }
    QString queueText() const { return queueText_; }

    // Card height for a node with this many port rows (its position is the top-left corner).
    double height() const noexcept { return height_; }

  protected:
    QVariant itemChange(GraphicsItemChange change, const QVariant& value) override;

  private:
    struct Row {
        QString port;
        QString tag;       // "SUB"
        QString endpoint;  // bind endpoint, elided; empty for connecting ports
        bool output = false;
        QColor color;
    };
    void relayout();
    void updateFooter();
    void updateToolTip();

    GraphScene* graph_;
    QString id_;
    zmqrpc::NodeKind kind_ = zmqrpc::NodeKind::Sampler;
    QString kindName_;
    QString glyph_;
    QString title_;  // elided display name
    QString host_;   // "on site", empty when the node names no host
    QString description_;
    bool hasQueueRow_ = false;
    double queueCapacityProperty_ = 0;
    std::vector<Row> rows_;
    std::vector<PortItem*> ports_;
    ProblemMarker* marker_ = nullptr;
    double height_ = 100;
    double portsTop_ = 0;
    QPainterPath cardPath_;
    QPainterPath headerPath_;
    bool syncing_ = false;

    // runtime overlay
    bool hasStatus_ = false;
    zmqrpc::NodeState state_ = zmqrpc::NodeState::Stopped;
    QString reason_;
    double rateIn_ = 0, rateOut_ = 0;
    bool queueKnown_ = false;
    quint64 queueFill_ = 0, queueCapacity_ = 0, queueDropped_ = 0;
    quint64 queueBytes_ = 0, queueByteLimit_ = 0;  // a durable store's (metrics queue.durable)
    bool queueDurable_ = false;
    QString footer_;
    QString queueText_;
    QString stateText_;
};

}  // namespace studio
