#include "scene/graph_view.hpp"

#include "document/editor_document.hpp"
#include "scene/graph_scene.hpp"
#include "scene/quick_add.hpp"
#include "scene/scene_style.hpp"

#include <QKeyEvent>
#include <QScrollBar>
#include <QWheelEvent>

#include <cmath>

namespace studio {

GraphView::GraphView(GraphScene* scene, QWidget* parent)
    : QGraphicsView(scene, parent), scene_(scene), popup_(new QuickAddPopup(this)) {
    setRenderHints(QPainter::Antialiasing | QPainter::TextAntialiasing);
    // Only the damaged regions are repainted; the grid is cached and scrolled with the view.
    setViewportUpdateMode(SmartViewportUpdate);
    setCacheMode(CacheBackground);
    setOptimizationFlags(DontAdjustForAntialiasing);
    setDragMode(RubberBandDrag);
    setRubberBandSelectionMode(Qt::IntersectsItemShape);
    setTransformationAnchor(AnchorViewCenter);
    setResizeAnchor(AnchorViewCenter);
    setFocusPolicy(Qt::StrongFocus);
    setAcceptDrops(true);
    setMouseTracking(true);
    setFrameShape(QFrame::NoFrame);

    connect(popup_, &QuickAddPopup::kindChosen, this, [this](const QString& kindText) {
        const auto kind = zmqrpc::node_kind_from_string(kindText.toStdString());
        if (!kind) return;
        const QString id =
            scene_->document()->addNode(*kind, GraphScene::nodePositionFor(quickAddScenePos_));
        if (!id.isEmpty()) scene_->selectOnly({id}, {});
        setFocus();
    });
}

double GraphView::zoom() const {
    return transform().m11();
}

void GraphView::applyZoom(double zoom) {
    zoom = std::clamp(zoom, kMinZoom, kMaxZoom);
    if (std::abs(zoom - this->zoom()) < 1e-9) return;
    setTransform(QTransform::fromScale(zoom, zoom));
    emit zoomChanged(zoom);
}

void GraphView::setZoom(double zoom) {
    const QPointF centre = mapToScene(viewport()->rect().center());
    applyZoom(zoom);
    centerOn(centre);
}

void GraphView::zoomIn() {
    setZoom(zoom() * 1.25);
}
void GraphView::zoomOut() {
    setZoom(zoom() / 1.25);
}
void GraphView::resetZoom() {
    setZoom(1.0);
}

void GraphView::zoomAt(QPoint viewportPos, double factor) {
    // Keep the scene point under the cursor where it is.
    const QPointF anchor = mapToScene(viewportPos);
    applyZoom(zoom() * factor);
    const QPointF moved = mapFromScene(anchor);
    const QPointF delta = moved - QPointF(viewportPos);
    horizontalScrollBar()->setValue(horizontalScrollBar()->value() + qRound(delta.x()));
    verticalScrollBar()->setValue(verticalScrollBar()->value() + qRound(delta.y()));
}

void GraphView::fitToView() {
    QRectF content = scene_->contentRect();
    if (content.isEmpty()) {
        resetZoom();
        centerOn(0, 0);
        return;
    }
    content.adjust(-40, -40, 40, 40);
    const QRectF vp = viewport()->rect();
    const double z = std::min(vp.width() / content.width(), vp.height() / content.height());
    applyZoom(std::min(z, 1.25));
    centerOn(content.center());
}

void GraphView::quickAdd() {
    QPoint pos = viewport()->mapFromGlobal(QCursor::pos());
    if (!viewport()->rect().contains(pos)) pos = viewport()->rect().center();
    quickAdd(pos);
}

void GraphView::quickAdd(QPoint viewportPos) {
    quickAddScenePos_ = mapToScene(viewportPos);
    popup_->open(viewport()->mapToGlobal(viewportPos));
}

void GraphView::wheelEvent(QWheelEvent* event) {
    const double steps = event->angleDelta().y() / 120.0;
    if (steps == 0) {
        QGraphicsView::wheelEvent(event);
        return;
    }
    zoomAt(event->position().toPoint(), std::pow(1.2, steps));
    event->accept();
}

void GraphView::keyPressEvent(QKeyEvent* event) {
    const bool ctrl = event->modifiers().testFlag(Qt::ControlModifier);
    if (ctrl && (event->key() == Qt::Key_Equal || event->key() == Qt::Key_Plus)) {
        zoomIn();
        return;
    }
    if (ctrl && (event->key() == Qt::Key_Minus || event->key() == Qt::Key_Underscore)) {
        zoomOut();
        return;
    }
    if (ctrl && event->key() == Qt::Key_0) {
        resetZoom();
        return;
    }
    if (event->key() == Qt::Key_Space && !event->isAutoRepeat() && !spaceHeld_) {
        // Space+drag pans: the press goes to the view, not to the card under the pointer.
        spaceHeld_ = true;
        setInteractive(false);
        setDragMode(ScrollHandDrag);
        return;
    }
    if (event->key() == Qt::Key_Space) return;
    QGraphicsView::keyPressEvent(event);
}

void GraphView::keyReleaseEvent(QKeyEvent* event) {
    if (event->key() == Qt::Key_Space && !event->isAutoRepeat()) {
        endSpacePan();
        return;
    }
    QGraphicsView::keyReleaseEvent(event);
}

void GraphView::endSpacePan() {
    if (!spaceHeld_) return;
    spaceHeld_ = false;
    setDragMode(RubberBandDrag);
    setInteractive(true);
}

void GraphView::focusOutEvent(QFocusEvent* event) {
    endSpacePan();
    QGraphicsView::focusOutEvent(event);
}

void GraphView::mousePressEvent(QMouseEvent* event) {
    if (event->button() == Qt::MiddleButton) {
        middlePanning_ = true;
        lastPanPos_ = event->position().toPoint();
        viewport()->setCursor(Qt::ClosedHandCursor);
        event->accept();
        return;
    }
    QGraphicsView::mousePressEvent(event);
}

void GraphView::mouseMoveEvent(QMouseEvent* event) {
    if (middlePanning_) {
        const QPoint pos = event->position().toPoint();
        const QPoint delta = pos - lastPanPos_;
        lastPanPos_ = pos;
        horizontalScrollBar()->setValue(horizontalScrollBar()->value() - delta.x());
        verticalScrollBar()->setValue(verticalScrollBar()->value() - delta.y());
        event->accept();
        return;
    }
    QGraphicsView::mouseMoveEvent(event);
}

void GraphView::mouseReleaseEvent(QMouseEvent* event) {
    if (middlePanning_ && event->button() == Qt::MiddleButton) {
        middlePanning_ = false;
        viewport()->unsetCursor();
        event->accept();
        return;
    }
    QGraphicsView::mouseReleaseEvent(event);
}

void GraphView::mouseDoubleClickEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton && itemAt(event->position().toPoint()) == nullptr) {
        quickAdd(event->position().toPoint());
        event->accept();
        return;
    }
    QGraphicsView::mouseDoubleClickEvent(event);
}

void GraphView::drawBackground(QPainter* painter, const QRectF& rect) {
    painter->fillRect(rect, style::canvasBackground());
    const double z = zoom();
    if (z < 0.3) return;  // far out the grid is noise, and many lines

    const double grid = EditorDocument::kGrid;
    const int every = z < 0.7 ? 5 : 1;  // only the major lines when zoomed out
    const double step = grid * every;
    const auto first = [&](double v) { return static_cast<long>(std::floor(v / step)); };
    QVarLengthArray<QLineF, 256> minor, major;
    for (long i = first(rect.left()); static_cast<double>(i) * step <= rect.right(); ++i) {
        const double x = static_cast<double>(i) * step;
        ((i * every) % 5 == 0 ? major : minor).append(QLineF(x, rect.top(), x, rect.bottom()));
    }
    for (long i = first(rect.top()); static_cast<double>(i) * step <= rect.bottom(); ++i) {
        const double y = static_cast<double>(i) * step;
        ((i * every) % 5 == 0 ? major : minor).append(QLineF(rect.left(), y, rect.right(), y));
    }
    painter->setRenderHint(QPainter::Antialiasing, false);
    QPen pen(style::gridMinor(), 0);
    pen.setCosmetic(true);
    if (!minor.isEmpty()) {
        painter->setPen(pen);
        painter->drawLines(minor.constData(), static_cast<int>(minor.size()));
    }
    pen.setColor(style::gridMajor());
    painter->setPen(pen);
    painter->drawLines(major.constData(), static_cast<int>(major.size()));
}

}  // namespace studio
