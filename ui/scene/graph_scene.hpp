// The editor canvas's scene: builds a NodeItem per node and a LinkItem per link of an
// EditorDocument, keeps id -> item maps, and changes items only when the document says
// something changed (so undo and redo are just more signals). User gestures become document
// edits: a finished node drag is one moveNodes, a port-to-port drag asks addLink (a refusal
// shows the reason near the pointer), a palette drop calls addNode. The runtime overlay comes
// from RuntimeSource snapshots and never touches the document.
//
// GUI thread only. Does not own the document or the runtime controller.
#pragma once

#include "scene/link_item.hpp"
#include "scene/node_item.hpp"

#include <zmqrpc/runtime.hpp>
#include <zmqrpc/topology.hpp>

#include <QGraphicsScene>
#include <QHash>
#include <QPointer>
#include <QString>
#include <QStringList>
#include <QTimer>

class QGraphicsPathItem;
class QGraphicsSimpleTextItem;

namespace studio {

class EditorDocument;
class RuntimeSource;

class GraphScene : public QGraphicsScene {
    Q_OBJECT

  public:
    // Mime types: the clipboard fragment (EditorDocument::copy) and a palette drag (the kind
    // string, "sub2req").
    static constexpr const char* kFragmentMime = "application/x-zmqrpc-fragment";
    static constexpr const char* kNodeKindMime = "application/x-zmqrpc-node-kind";

    GraphScene(EditorDocument* doc, RuntimeSource* runtime, QObject* parent = nullptr);
    ~GraphScene() override;

    EditorDocument* document() const noexcept { return doc_; }

    QStringList selectedNodeIds() const;
    QStringList selectedLinkIds() const;
    void selectOnly(const QStringList& nodeIds, const QStringList& linkIds);
    void deleteSelection();
    void copySelection();
    // Pastes the clipboard's fragment with its top-left node at `scenePos` (snapped).
    void pasteAt(QPointF scenePos);
    void duplicateSelection();

    NodeItem* nodeItem(const QString& id) const;
    LinkItem* linkItem(const QString& id) const;
    int nodeItemCount() const { return static_cast<int>(nodes_.size()); }
    int linkItemCount() const { return static_cast<int>(links_.size()); }

    // Where a new node dropped or quick-added at `scenePos` goes: the card's header centred
    // under the pointer, snapped to the grid.
    static QPointF nodePositionFor(QPointF scenePos);

    // Applies a runtime snapshot to the items (also used for a remote runtime's snapshots).
    void applySnapshot(const zmqrpc::RuntimeSnapshot& snapshot);
    // CredentialsRefused events: their text goes onto the link they concern (by the node that
    // reported it and the endpoint), which shows it while the link is refused.
    void applyEvents(const QList<zmqrpc::Event>& events);

    // Bounding rectangle of the nodes and links (no grid, no transient items).
    QRectF contentRect() const;
    // Renders every node and link with a margin on white; false when the file cannot be written.
    bool renderToPng(const QString& path, double scale = 2.0);
    bool renderToSvg(const QString& path);

    // Called by NodeItem while it moves: its links follow.
    void nodeItemMoved(const QString& id);

    // The reason shown after a refused link, while it is shown (for tests).
    QString toastText() const;

  signals:
    void selectionIdsChanged();
    void linkRefused(const QString& reason, QPointF scenePos);

  protected:
    void mousePressEvent(QGraphicsSceneMouseEvent* event) override;
    void mouseMoveEvent(QGraphicsSceneMouseEvent* event) override;
    void mouseReleaseEvent(QGraphicsSceneMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void dragEnterEvent(QGraphicsSceneDragDropEvent* event) override;
    void dragMoveEvent(QGraphicsSceneDragDropEvent* event) override;
    void dragLeaveEvent(QGraphicsSceneDragDropEvent* event) override;
    void dropEvent(QGraphicsSceneDragDropEvent* event) override;

  private:
    void rebuild();
    void addNodeItem(const QString& id);
    void removeNodeItem(const QString& id);
    void syncNodeItem(const QString& id);
    void addLinkItem(const QString& id);
    void removeLinkItem(const QString& id);
    void syncLinkItem(const QString& id);
    void updateLinkEnds(LinkItem* link);
    void applyProblems();
    void updateSceneRect();
    void onSnapshot();

    PortItem* portAt(QPointF scenePos) const;
    void beginLinkDraft(PortItem* port);
    void updateLinkDraft(QPointF scenePos);
    void finishLinkDraft(QPointF scenePos);
    void cancelLinkDraft();
    void showToast(const QString& text, QPointF scenePos);
    void commitMoves();

    EditorDocument* doc_;
    QPointer<RuntimeSource> runtime_;
    QHash<QString, NodeItem*> nodes_;
    QHash<QString, LinkItem*> links_;
    QMultiHash<QString, LinkItem*> linksByNode_;
    bool bulkSelect_ = false;

    // Link drawing
    QString draftNode_, draftPort_;
    bool draftOutput_ = false;
    QGraphicsPathItem* draft_ = nullptr;
    PortItem* draftTarget_ = nullptr;

    QGraphicsSimpleTextItem* toastText_ = nullptr;
    QGraphicsItem* toast_ = nullptr;
    QTimer toastTimer_;
};

}  // namespace studio
