// Small child items of the canvas: a node's port (the circle a link starts or ends at) and the
// problem marker shown on nodes and links. Both hold names, never model data.
//
// GUI thread only.
#pragma once

#include <zmqrpc/topology.hpp>

#include <QGraphicsItem>
#include <QString>

namespace studio {

class PortItem : public QGraphicsItem {
  public:
    enum { Type = UserType + 2 };
    // How the port looks while a link is drawn: normal, a valid target, or the one under the
    // pointer.
    enum class Highlight { None, Compatible, Target };

    PortItem(QString nodeId, QString portName, zmqrpc::SocketType socket, bool output,
             QGraphicsItem* parent);

    int type() const override { return Type; }
    QRectF boundingRect() const override;
    QPainterPath shape() const override;
    void paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget* widget) override;

    const QString& nodeId() const noexcept { return nodeId_; }
    const QString& portName() const noexcept { return portName_; }
    zmqrpc::SocketType socket() const noexcept { return socket_; }
    bool isOutput() const noexcept { return output_; }
    zmqrpc::PortRef ref() const { return {nodeId_.toStdString(), portName_.toStdString()}; }

    Highlight highlight() const noexcept { return highlight_; }
    void setHighlight(Highlight highlight);

  protected:
    void hoverEnterEvent(QGraphicsSceneHoverEvent* event) override;
    void hoverLeaveEvent(QGraphicsSceneHoverEvent* event) override;

  private:
    QString nodeId_;
    QString portName_;
    zmqrpc::SocketType socket_;
    bool output_;
    bool hovered_ = false;
    Highlight highlight_ = Highlight::None;
};

// A red (error) or amber (warning) round "!" with the problems as its tooltip; hidden when
// there is none.
class ProblemMarker : public QGraphicsItem {
  public:
    enum { Type = UserType + 4 };
    explicit ProblemMarker(QGraphicsItem* parent);

    int type() const override { return Type; }
    QRectF boundingRect() const override;
    void paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget* widget) override;

    // Shows the marker for these problems (errors win the colour), or hides it when empty.
    void setProblems(const QStringList& errors, const QStringList& warnings);
    bool isError() const noexcept { return error_; }

  private:
    bool error_ = false;
};

}  // namespace studio
