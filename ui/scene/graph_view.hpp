// The editor canvas's view: zoom (wheel around the cursor, Ctrl+= / Ctrl+- / Ctrl+0, bounded to
// 0.1x..4x), pan (middle-button drag, Space+drag, scroll bars), rubber-band selection, fit to
// the content, a grid background, and the quick-add popup (Tab/Ctrl+Space from the main window,
// or a double-click on empty canvas).
//
// GUI thread only. Shows a GraphScene it does not own.
#pragma once

#include <QGraphicsView>
#include <QPointF>

namespace studio {

class GraphScene;
class QuickAddPopup;

class GraphView : public QGraphicsView {
    Q_OBJECT

  public:
    static constexpr double kMinZoom = 0.1;
    static constexpr double kMaxZoom = 4.0;

    explicit GraphView(GraphScene* scene, QWidget* parent = nullptr);

    GraphScene* graphScene() const noexcept { return scene_; }

    double zoom() const;
    // Sets the zoom (clamped) keeping the viewport's centre in place.
    void setZoom(double zoom);
    void zoomIn();
    void zoomOut();
    void resetZoom();
    // Shows every node and link with a margin (never zooming in past 1.25x).
    void fitToView();

    // Opens the quick-add popup at the cursor (at the viewport's centre when the cursor is not
    // over it); the chosen kind is added where the popup opened.
    void quickAdd();
    void quickAdd(QPoint viewportPos);
    QuickAddPopup* quickAddPopup() const noexcept { return popup_; }

  signals:
    void zoomChanged(double zoom);

  protected:
    void wheelEvent(QWheelEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void keyReleaseEvent(QKeyEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void focusOutEvent(QFocusEvent* event) override;
    void drawBackground(QPainter* painter, const QRectF& rect) override;

  private:
    void zoomAt(QPoint viewportPos, double factor);
    void applyZoom(double zoom);
    void endSpacePan();

    GraphScene* scene_;
    QuickAddPopup* popup_;
    QPointF quickAddScenePos_;
    bool middlePanning_ = false;
    QPoint lastPanPos_;
    bool spaceHeld_ = false;
};

}  // namespace studio
