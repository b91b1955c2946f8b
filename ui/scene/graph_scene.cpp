#include "scene/graph_scene.hpp"

#include "document/editor_document.hpp"
#include "runtime/runtime_source.hpp"
#include "scene/scene_style.hpp"

#include <zmqrpc/protocol.hpp>

#include <QApplication>
#include <QClipboard>
#include <QGraphicsPathItem>
#include <QGraphicsSceneDragDropEvent>
#include <QGraphicsSceneMouseEvent>
#include <QGraphicsSimpleTextItem>
#include <QImage>
#include <QKeyEvent>
#include <QMimeData>
#include <QPainter>
#include <QSvgGenerator>

#include <cmath>
#include <limits>
#include <optional>

namespace studio {

namespace {

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

double snap(double v) {
    return std::round(v / EditorDocument::kGrid) * EditorDocument::kGrid;
}

// The top-left corner of the nodes of a clipboard fragment (positions as the file writes them:
// [x, y], or {"x": .., "y": ..}).
std::optional<QPointF> fragmentTopLeft(const QByteArray& data) {
    const auto parsed = zmqrpc::parse_json_text(std::string_view(data.constData(), data.size()));
    if (!parsed || !parsed->is_object()) return std::nullopt;
    const auto& json = *parsed;
    auto nodes = json.find("nodes");
    if (nodes == json.end() || !nodes->is_array()) return std::nullopt;
    double x = std::numeric_limits<double>::max(), y = std::numeric_limits<double>::max();
    bool any = false;
    for (const auto& n : *nodes) {
        if (!n.is_object()) continue;
        auto p = n.find("position");
        if (p == n.end()) continue;
        if (p->is_array() && p->size() == 2 && (*p)[0].is_number() && (*p)[1].is_number()) {
            x = std::min(x, (*p)[0].get<double>());
            y = std::min(y, (*p)[1].get<double>());
            any = true;
        } else if (p->is_object() && p->contains("x") && p->contains("y") &&
                   (*p)["x"].is_number() && (*p)["y"].is_number()) {
            x = std::min(x, (*p)["x"].get<double>());
            y = std::min(y, (*p)["y"].get<double>());
            any = true;
        }
    }
    if (!any) return std::nullopt;
    return QPointF(x, y);
}

// The toast: the reason a link was refused, on a rounded label that stays readable at any zoom.
class ToastItem : public QGraphicsItem {
  public:
    ToastItem() {
        setFlag(ItemIgnoresTransformations);
        setZValue(1000);
        setVisible(false);
    }
    void setText(const QString& text) {
        prepareGeometryChange();
        text_ = text;
        const QFontMetricsF m(font());
        const QRectF r = m.boundingRect(QRectF(0, 0, 320, 1000), Qt::TextWordWrap, text_);
        rect_ = QRectF(14, 14, r.width() + 20, r.height() + 12);
        update();
    }
    const QString& text() const { return text_; }
    QRectF boundingRect() const override { return rect_.adjusted(-2, -2, 3, 4); }
    void paint(QPainter* p, const QStyleOptionGraphicsItem*, QWidget*) override {
        p->setRenderHint(QPainter::Antialiasing);
        p->setPen(Qt::NoPen);
        p->setBrush(QColor(0, 0, 0, 40));
        p->drawRoundedRect(rect_.translated(0, 2), 6, 6);
        p->setBrush(QColor(0xfd, 0xec, 0xea));
        p->setPen(QPen(style::errorColor(), 1));
        p->drawRoundedRect(rect_, 6, 6);
        p->setFont(font());
        p->setPen(QColor(0x8a, 0x1c, 0x14));
        p->drawText(rect_.adjusted(10, 6, -10, -6), Qt::TextWordWrap, text_);
    }

  private:
    static const QFont& font() {
        static const QFont f = [] {
            QFont font(QStringLiteral("DejaVu Sans"));
            font.setPointSizeF(8.5);
            return font;
        }();
        return f;
    }
    QString text_;
    QRectF rect_;
};

}  // namespace

GraphScene::GraphScene(EditorDocument* doc, RuntimeSource* runtime, QObject* parent)
    : QGraphicsScene(parent), doc_(doc), runtime_(runtime) {
    // Nodes are mostly static: a BSP tree makes hit tests and exposed-area lookups cheap on a
    // thousand cards.
    setItemIndexMethod(BspTreeIndex);

    connect(doc_, &EditorDocument::nodeAdded, this, [this](const QString& id) {
        addNodeItem(id);
        applyProblems();
        updateSceneRect();
    });
    connect(doc_, &EditorDocument::nodeRemoved, this, &GraphScene::removeNodeItem);
    connect(doc_, &EditorDocument::nodeChanged, this, &GraphScene::syncNodeItem);
    connect(doc_, &EditorDocument::linkAdded, this, &GraphScene::addLinkItem);
    connect(doc_, &EditorDocument::linkRemoved, this, &GraphScene::removeLinkItem);
    connect(doc_, &EditorDocument::linkChanged, this, &GraphScene::syncLinkItem);
    connect(doc_, &EditorDocument::documentReset, this, &GraphScene::rebuild);
    connect(doc_, &EditorDocument::problemsChanged, this, &GraphScene::applyProblems);
    if (runtime_ != nullptr)
        connect(runtime_, &RuntimeSource::snapshotUpdated, this, &GraphScene::onSnapshot);
    if (runtime_ != nullptr)
        connect(runtime_, &RuntimeSource::eventsArrived, this, &GraphScene::applyEvents);

    connect(this, &QGraphicsScene::selectionChanged, this, [this] {
        if (!bulkSelect_) emit selectionIdsChanged();
    });

    auto* toast = new ToastItem;
    toast_ = toast;
    addItem(toast_);
    toastTimer_.setSingleShot(true);
    toastTimer_.setInterval(3000);
    connect(&toastTimer_, &QTimer::timeout, this, [this] { toast_->setVisible(false); });

    rebuild();
}

GraphScene::~GraphScene() = default;

// ---- building items from the document -----------------------------------------------------

void GraphScene::rebuild() {
    cancelLinkDraft();
    bulkSelect_ = true;
    for (auto* l : std::as_const(links_))
        delete l;
    for (auto* n : std::as_const(nodes_))
        delete n;
    links_.clear();
    linksByNode_.clear();
    nodes_.clear();
    bulkSelect_ = false;

    const auto& t = doc_->topology();
    nodes_.reserve(static_cast<qsizetype>(t.nodes().size()));
    for (const auto& n : t.nodes())
        addNodeItem(qs(n.id));
    for (const auto& l : t.links())
        addLinkItem(qs(l.id));
    applyProblems();
    if (runtime_ != nullptr) applySnapshot(runtime_->snapshot());
    setSceneRect(contentRect().adjusted(-2000, -2000, 2000, 2000));
    emit selectionIdsChanged();
}

void GraphScene::addNodeItem(const QString& id) {
    const auto* node = doc_->topology().find_node(id.toStdString());
    if (node == nullptr || nodes_.contains(id)) return;
    auto* item = new NodeItem(this, id);
    item->sync(*node, doc_->topology());
    addItem(item);
    nodes_.insert(id, item);
}

void GraphScene::removeNodeItem(const QString& id) {
    NodeItem* item = nodes_.take(id);
    if (item == nullptr) return;
    if (draftNode_ == id) cancelLinkDraft();
    // Links that went with the node (the document may say so before or after).
    const auto attached = linksByNode_.values(id);
    for (auto* l : attached) {
        if (doc_->topology().find_link(l->id().toStdString()) == nullptr) removeLinkItem(l->id());
    }
    delete item;
}

void GraphScene::syncNodeItem(const QString& id) {
    NodeItem* item = nodes_.value(id);
    const auto* node = doc_->topology().find_node(id.toStdString());
    if (item == nullptr || node == nullptr) return;
    item->sync(*node, doc_->topology());
    for (auto* l : linksByNode_.values(id)) {
        // A node's security decides whether its links are encrypted.
        if (const auto* link = doc_->topology().find_link(l->id().toStdString()))
            l->sync(*link, doc_->topology());
        updateLinkEnds(l);
    }
}

void GraphScene::addLinkItem(const QString& id) {
    const auto* link = doc_->topology().find_link(id.toStdString());
    if (link == nullptr || links_.contains(id)) return;
    auto* item = new LinkItem(id);
    item->sync(*link, doc_->topology());
    addItem(item);
    links_.insert(id, item);
    linksByNode_.insert(item->fromNode(), item);
    linksByNode_.insert(item->toNode(), item);
    updateLinkEnds(item);
}

void GraphScene::removeLinkItem(const QString& id) {
    LinkItem* item = links_.take(id);
    if (item == nullptr) return;
    linksByNode_.remove(item->fromNode(), item);
    linksByNode_.remove(item->toNode(), item);
    delete item;
}

void GraphScene::syncLinkItem(const QString& id) {
    LinkItem* item = links_.value(id);
    const auto* link = doc_->topology().find_link(id.toStdString());
    if (item == nullptr || link == nullptr) return;
    linksByNode_.remove(item->fromNode(), item);
    linksByNode_.remove(item->toNode(), item);
    item->sync(*link, doc_->topology());
    linksByNode_.insert(item->fromNode(), item);
    linksByNode_.insert(item->toNode(), item);
    updateLinkEnds(item);
}

void GraphScene::updateLinkEnds(LinkItem* link) {
    const NodeItem* from = nodes_.value(link->fromNode());
    const NodeItem* to = nodes_.value(link->toNode());
    if (from == nullptr || to == nullptr) return;
    link->setEnds(from->portScenePos(link->fromPort()), to->portScenePos(link->toPort()));
}

void GraphScene::nodeItemMoved(const QString& id) {
    for (auto it = linksByNode_.constFind(id); it != linksByNode_.cend() && it.key() == id; ++it)
        updateLinkEnds(it.value());
}

void GraphScene::applyProblems() {
    QHash<QString, QPair<QStringList, QStringList>> byNode, byLink;
    for (const auto& p : doc_->problems()) {
        const bool error = p.severity == zmqrpc::Severity::Error;
        QString text = qs(p.text);
        if (!p.property.empty()) text = qs(p.property) + QStringLiteral(": ") + text;
        if (!p.link.empty()) {
            auto& entry = byLink[qs(p.link)];
            (error ? entry.first : entry.second) << text;
        } else if (!p.node.empty()) {
            auto& entry = byNode[qs(p.node)];
            (error ? entry.first : entry.second) << text;
        }
    }
    for (auto it = nodes_.cbegin(); it != nodes_.cend(); ++it) {
        const auto entry = byNode.value(it.key());
        it.value()->setProblems(entry.first, entry.second);
    }
    for (auto it = links_.cbegin(); it != links_.cend(); ++it) {
        const auto entry = byLink.value(it.key());
        it.value()->setProblems(entry.first, entry.second);
    }
}

void GraphScene::updateSceneRect() {
    // Grows only: a shrinking scene rect would make the view jump under the user.
    setSceneRect(sceneRect().united(contentRect().adjusted(-2000, -2000, 2000, 2000)));
}

QRectF GraphScene::contentRect() const {
    QRectF r;
    for (const auto* n : nodes_)
        r = r.united(n->sceneBoundingRect());
    for (const auto* l : links_)
        r = r.united(l->sceneBoundingRect());
    return r;
}

// ---- runtime overlay -----------------------------------------------------------------------

void GraphScene::onSnapshot() {
    if (runtime_ != nullptr) applySnapshot(runtime_->snapshot());
}

void GraphScene::applySnapshot(const zmqrpc::RuntimeSnapshot& snapshot) {
    QSet<QString> seen;
    for (const auto& status : snapshot.nodes) {
        const QString id = qs(status.id);
        if (NodeItem* item = nodes_.value(id)) {
            item->setStatus(&status);
            seen.insert(id);
        }
    }
    for (auto it = nodes_.cbegin(); it != nodes_.cend(); ++it) {
        if (!seen.contains(it.key())) it.value()->setStatus(nullptr);
    }
    seen.clear();
    for (const auto& status : snapshot.links) {
        const QString id = qs(status.id);
        if (LinkItem* item = links_.value(id)) {
            item->setStatus(&status);
            seen.insert(id);
        }
    }
    for (auto it = links_.cbegin(); it != links_.cend(); ++it) {
        if (!seen.contains(it.key())) it.value()->setStatus(nullptr);
    }
}

void GraphScene::applyEvents(const QList<zmqrpc::Event>& events) {
    for (const auto& e : events) {
        if (e.kind != zmqrpc::EventKind::CredentialsRefused) continue;
        const QString source = qs(e.source);
        const QString endpoint = qs(e.endpoint);
        QList<LinkItem*> touching = linksByNode_.values(source);
        QList<LinkItem*> exact;
        for (LinkItem* l : touching) {
            if (!endpoint.isEmpty() && l->endpoint() == endpoint) exact << l;
        }
        if (exact.isEmpty()) {
            // A server reports its bind endpoint (tcp://*:5555), not the address its clients
            // connect to: the refused links of that node.
            for (LinkItem* l : touching) {
                if (l->isRefused() || touching.size() == 1) exact << l;
            }
        }
        for (LinkItem* l : exact)
            l->setRefusal(qs(e.text));
    }
}

// ---- selection and clipboard ---------------------------------------------------------------

NodeItem* GraphScene::nodeItem(const QString& id) const {
    return nodes_.value(id);
}
LinkItem* GraphScene::linkItem(const QString& id) const {
    return links_.value(id);
}

QStringList GraphScene::selectedNodeIds() const {
    QStringList ids;
    for (auto* item : selectedItems()) {
        if (auto* n = qgraphicsitem_cast<NodeItem*>(item)) ids << n->id();
    }
    return ids;
}

QStringList GraphScene::selectedLinkIds() const {
    QStringList ids;
    for (auto* item : selectedItems()) {
        if (auto* l = qgraphicsitem_cast<LinkItem*>(item)) ids << l->id();
    }
    return ids;
}

void GraphScene::selectOnly(const QStringList& nodeIds, const QStringList& linkIds) {
    const QStringList beforeNodes = selectedNodeIds(), beforeLinks = selectedLinkIds();
    bulkSelect_ = true;
    clearSelection();
    for (const auto& id : nodeIds) {
        if (auto* n = nodes_.value(id)) n->setSelected(true);
    }
    for (const auto& id : linkIds) {
        if (auto* l = links_.value(id)) l->setSelected(true);
    }
    bulkSelect_ = false;
    if (selectedNodeIds() != beforeNodes || selectedLinkIds() != beforeLinks)
        emit selectionIdsChanged();
}

void GraphScene::deleteSelection() {
    const QStringList nodes = selectedNodeIds(), links = selectedLinkIds();
    if (nodes.isEmpty() && links.isEmpty()) return;
    doc_->removeItems(nodes, links);
}

void GraphScene::copySelection() {
    const QStringList nodes = selectedNodeIds();
    if (nodes.isEmpty()) return;
    const QByteArray data = doc_->copy(nodes);
    auto* mime = new QMimeData;
    mime->setData(QString::fromLatin1(kFragmentMime), data);
    mime->setText(QString::fromUtf8(data));
    QApplication::clipboard()->setMimeData(mime);
}

void GraphScene::pasteAt(QPointF scenePos) {
    const QMimeData* mime = QApplication::clipboard()->mimeData();
    if (mime == nullptr || !mime->hasFormat(QString::fromLatin1(kFragmentMime))) return;
    const QByteArray data = mime->data(QString::fromLatin1(kFragmentMime));
    QPointF offset(2 * EditorDocument::kGrid, 2 * EditorDocument::kGrid);
    if (auto topLeft = fragmentTopLeft(data)) {
        // The document snaps each pasted position, so the offset itself stays exact.
        offset = scenePos - *topLeft;
    }
    const QStringList ids = doc_->paste(data, offset);
    if (!ids.isEmpty()) selectOnly(ids, {});
}

void GraphScene::duplicateSelection() {
    const QStringList nodes = selectedNodeIds();
    if (nodes.isEmpty()) return;
    const QStringList ids = doc_->duplicate(nodes);
    if (!ids.isEmpty()) selectOnly(ids, {});
}

QPointF GraphScene::nodePositionFor(QPointF scenePos) {
    return {snap(scenePos.x() - style::kCardWidth / 2),
            snap(scenePos.y() - style::kHeaderHeight / 2)};
}

// ---- gestures ------------------------------------------------------------------------------

PortItem* GraphScene::portAt(QPointF scenePos) const {
    for (auto* item : items(scenePos, Qt::IntersectsItemShape, Qt::DescendingOrder)) {
        if (auto* p = qgraphicsitem_cast<PortItem*>(item)) return p;
    }
    return nullptr;
}

void GraphScene::mousePressEvent(QGraphicsSceneMouseEvent* event) {
    if (event->button() == Qt::LeftButton) {
        if (PortItem* port = portAt(event->scenePos())) {
            beginLinkDraft(port);
            updateLinkDraft(event->scenePos());
            event->accept();
            return;
        }
    }
    QGraphicsScene::mousePressEvent(event);
}

void GraphScene::mouseMoveEvent(QGraphicsSceneMouseEvent* event) {
    if (draft_ != nullptr) {
        updateLinkDraft(event->scenePos());
        event->accept();
        return;
    }
    QGraphicsScene::mouseMoveEvent(event);
}

void GraphScene::mouseReleaseEvent(QGraphicsSceneMouseEvent* event) {
    if (draft_ != nullptr) {
        if (event->button() == Qt::LeftButton) finishLinkDraft(event->scenePos());
        event->accept();
        return;
    }
    const bool wasDrag = event->button() == Qt::LeftButton &&
                         qgraphicsitem_cast<NodeItem*>(mouseGrabberItem()) != nullptr;
    QGraphicsScene::mouseReleaseEvent(event);
    if (wasDrag) commitMoves();
}

void GraphScene::commitMoves() {
    // One drag, one undo step: every selected card that is not where the document has it.
    QHash<QString, QPointF> from, to;
    for (auto* item : selectedItems()) {
        auto* n = qgraphicsitem_cast<NodeItem*>(item);
        if (n == nullptr) continue;
        const auto* node = doc_->topology().find_node(n->id().toStdString());
        if (node == nullptr) continue;
        const QPointF was(node->position.x, node->position.y);
        if (n->pos() != was) {
            from.insert(n->id(), was);
            to.insert(n->id(), n->pos());
        }
    }
    if (from.isEmpty()) return;
    doc_->moveNodes(from, to);
    updateSceneRect();
}

void GraphScene::beginLinkDraft(PortItem* port) {
    cancelLinkDraft();
    draftNode_ = port->nodeId();
    draftPort_ = port->portName();
    draftOutput_ = port->isOutput();
    draft_ = new QGraphicsPathItem;
    QPen pen(style::socketColor(port->socket()), 2, Qt::DashLine, Qt::RoundCap);
    draft_->setPen(pen);
    draft_->setZValue(50);
    addItem(draft_);

    // Show where this port can go.
    const zmqrpc::PortRef start = port->ref();
    const auto& t = doc_->topology();
    for (auto* node : std::as_const(nodes_)) {
        if (node->id() == draftNode_) continue;
        for (auto* p : node->ports()) {
            if (p->isOutput() == draftOutput_) continue;
            const bool ok = draftOutput_ ? !t.can_link(start, p->ref()).has_value()
                                         : !t.can_link(p->ref(), start).has_value();
            if (ok) p->setHighlight(PortItem::Highlight::Compatible);
        }
    }
}

void GraphScene::updateLinkDraft(QPointF scenePos) {
    const NodeItem* node = nodes_.value(draftNode_);
    if (draft_ == nullptr || node == nullptr) return;
    const QPointF portPos = node->portScenePos(draftPort_);
    PortItem* target = portAt(scenePos);
    if (target != nullptr && target->highlight() == PortItem::Highlight::None) target = nullptr;
    if (target != draftTarget_) {
        if (draftTarget_ != nullptr) draftTarget_->setHighlight(PortItem::Highlight::Compatible);
        draftTarget_ = target;
        if (draftTarget_ != nullptr) draftTarget_->setHighlight(PortItem::Highlight::Target);
    }
    const QPointF end = draftTarget_ != nullptr ? draftTarget_->scenePos() : scenePos;
    draft_->setPath(draftOutput_ ? LinkItem::curve(portPos, end) : LinkItem::curve(end, portPos));
}

void GraphScene::finishLinkDraft(QPointF scenePos) {
    PortItem* target = portAt(scenePos);
    if (target == nullptr) {
        // Released on a card rather than exactly on a port: take its first port that fits, or
        // else one of the other direction, so that the user hears why it does not fit.
        for (auto* item : items(scenePos, Qt::IntersectsItemShape, Qt::DescendingOrder)) {
            auto* node = qgraphicsitem_cast<NodeItem*>(item);
            if (node == nullptr) continue;
            if (node->id() != draftNode_) {
                for (auto* p : node->ports()) {
                    if (p->highlight() != PortItem::Highlight::None) {
                        target = p;
                        break;
                    }
                }
                for (auto* p : node->ports()) {
                    if (target == nullptr && p->isOutput() != draftOutput_) target = p;
                }
            }
            break;
        }
    }
    const zmqrpc::PortRef start{draftNode_.toStdString(), draftPort_.toStdString()};
    const bool startOutput = draftOutput_;
    cancelLinkDraft();
    if (target == nullptr) return;  // dropped on empty canvas: nothing to do
    if (target->nodeId().toStdString() == start.node &&
        target->portName().toStdString() == start.port)
        return;

    zmqrpc::PortRef from = start, to = target->ref();
    if (!startOutput && target->isOutput()) std::swap(from, to);
    QString reason;
    const QString id = doc_->addLink(from, to, &reason);
    if (id.isEmpty()) {
        if (reason.isEmpty()) reason = QStringLiteral("these ports cannot be linked");
        showToast(reason, scenePos);
        emit linkRefused(reason, scenePos);
    } else {
        selectOnly({}, {id});
    }
}

void GraphScene::cancelLinkDraft() {
    if (draft_ == nullptr) return;
    delete draft_;
    draft_ = nullptr;
    draftTarget_ = nullptr;
    draftNode_.clear();
    draftPort_.clear();
    for (auto* node : std::as_const(nodes_)) {
        for (auto* p : node->ports())
            p->setHighlight(PortItem::Highlight::None);
    }
}

void GraphScene::showToast(const QString& text, QPointF scenePos) {
    auto* toast = static_cast<ToastItem*>(toast_);
    toast->setText(text);
    toast->setPos(scenePos);
    toast->setVisible(true);
    toastTimer_.start();
}

QString GraphScene::toastText() const {
    return toast_->isVisible() ? static_cast<ToastItem*>(toast_)->text() : QString();
}

void GraphScene::keyPressEvent(QKeyEvent* event) {
    if (focusItem() == nullptr) {
        if (event->key() == Qt::Key_Escape && draft_ != nullptr) {
            cancelLinkDraft();
            event->accept();
            return;
        }
        if (event->matches(QKeySequence::Delete) || event->key() == Qt::Key_Backspace) {
            deleteSelection();
            event->accept();
            return;
        }
    }
    QGraphicsScene::keyPressEvent(event);
}

// ---- palette drops -------------------------------------------------------------------------

void GraphScene::dragEnterEvent(QGraphicsSceneDragDropEvent* event) {
    if (event->mimeData()->hasFormat(QString::fromLatin1(kNodeKindMime))) {
        event->acceptProposedAction();
        return;
    }
    QGraphicsScene::dragEnterEvent(event);
}

void GraphScene::dragMoveEvent(QGraphicsSceneDragDropEvent* event) {
    if (event->mimeData()->hasFormat(QString::fromLatin1(kNodeKindMime))) {
        event->acceptProposedAction();
        return;
    }
    QGraphicsScene::dragMoveEvent(event);
}

void GraphScene::dragLeaveEvent(QGraphicsSceneDragDropEvent* event) {
    QGraphicsScene::dragLeaveEvent(event);
}

void GraphScene::dropEvent(QGraphicsSceneDragDropEvent* event) {
    const QString format = QString::fromLatin1(kNodeKindMime);
    if (!event->mimeData()->hasFormat(format)) {
        QGraphicsScene::dropEvent(event);
        return;
    }
    const QByteArray kindText = event->mimeData()->data(format).trimmed();
    const auto kind = zmqrpc::node_kind_from_string(
        std::string_view(kindText.constData(), static_cast<std::size_t>(kindText.size())));
    if (!kind) {
        event->ignore();
        return;
    }
    const QString id = doc_->addNode(*kind, nodePositionFor(event->scenePos()));
    event->acceptProposedAction();
    if (!id.isEmpty()) selectOnly({id}, {});
}

// ---- export --------------------------------------------------------------------------------

namespace {
// Exports show the drawing as it is, without selection or transient items; and without the
// pixmap caches, so that an SVG gets vectors.
struct ExportGuard {
    GraphScene* scene;
    QList<QGraphicsItem*> selected;
    QList<QGraphicsItem*> hidden;
    QList<QGraphicsItem*> uncached;
    explicit ExportGuard(GraphScene* s, QGraphicsItem* toast) : scene(s) {
        selected = s->selectedItems();
        for (auto* i : selected)
            i->setSelected(false);
        if (toast->isVisible()) {
            toast->setVisible(false);
            hidden << toast;
        }
        for (auto* i : s->items()) {
            if (i->cacheMode() != QGraphicsItem::NoCache) {
                i->setCacheMode(QGraphicsItem::NoCache);
                uncached << i;
            }
        }
    }
    ~ExportGuard() {
        for (auto* i : uncached)
            i->setCacheMode(QGraphicsItem::DeviceCoordinateCache);
        for (auto* i : hidden)
            i->setVisible(true);
        for (auto* i : selected)
            i->setSelected(true);
    }
};
}  // namespace

bool GraphScene::renderToPng(const QString& path, double scale) {
    const QRectF source = contentRect().adjusted(-40, -40, 40, 40);
    if (source.isEmpty()) return false;
    bulkSelect_ = true;
    QImage image;
    {
        ExportGuard guard(this, toast_);
        image = QImage((source.size() * scale).toSize(), QImage::Format_ARGB32_Premultiplied);
        image.fill(Qt::white);
        QPainter painter(&image);
        painter.setRenderHints(QPainter::Antialiasing | QPainter::TextAntialiasing |
                               QPainter::SmoothPixmapTransform);
        render(&painter, QRectF(QPointF(0, 0), source.size() * scale), source);
    }
    bulkSelect_ = false;
    return image.save(path, "PNG");
}

bool GraphScene::renderToSvg(const QString& path) {
    const QRectF source = contentRect().adjusted(-40, -40, 40, 40);
    if (source.isEmpty()) return false;
    bulkSelect_ = true;
    QSvgGenerator generator;
    generator.setFileName(path);
    generator.setSize(source.size().toSize());
    generator.setViewBox(QRectF(QPointF(0, 0), source.size()));
    generator.setTitle(QString::fromStdString(doc_->topology().name()));
    generator.setDescription(QStringLiteral("zmqrpc topology"));
    bool ok = false;
    {
        ExportGuard guard(this, toast_);
        QPainter painter;
        if (painter.begin(&generator)) {
            painter.fillRect(QRectF(QPointF(0, 0), source.size()), Qt::white);
            render(&painter, QRectF(QPointF(0, 0), source.size()), source);
            ok = painter.end();
        }
    }
    bulkSelect_ = false;
    return ok;
}

}  // namespace studio
