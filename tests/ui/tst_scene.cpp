// The editor canvas driven through a real, shown GraphView (offscreen): items built from the
// example document, palette drops, drawing and refusing links with the mouse, dragging nodes
// (one undo step per drag), delete/undo, clipboard, zoom, fit, quick-add, problem markers, the
// runtime overlay of the example really running on loopback, export, and a 1000-node graph.
#include "testutil.hpp"

#include "document/editor_document.hpp"
#include "runtime/runtime_hub.hpp"
#include "scene/graph_scene.hpp"
#include "scene/graph_view.hpp"
#include "scene/quick_add.hpp"
#include "scene/scene_style.hpp"

#include <QDir>
#include <QElapsedTimer>
#include <QLineEdit>
#include <QMimeData>
#include <QScrollBar>
#include <QSignalSpy>
#include <QtTest>

#include <memory>

using namespace studio;
using namespace zmqrpc;
using testutil::kAnyTcp;
using testutil::qs;

namespace {

const QString kExample = QStringLiteral(ZMQRPC_EXAMPLES_DIR "/sampler-to-cloud.json");
constexpr const char* kPassword = "scene-test-password";

QString shotPath(const QString& name) {
    return QStringLiteral(ZMQRPC_SCREENSHOT_DIR "/") + name;
}

// A document, its scene and a shown view of 1200x760.
struct Canvas {
    EditorDocument doc;
    std::unique_ptr<RuntimeController> runtime;
    std::unique_ptr<GraphScene> scene;
    std::unique_ptr<GraphView> view;

    explicit Canvas(bool withRuntime = false) {
        QString error;
        if (!doc.load(kExample, &error)) qFatal("cannot load the example: %s", qPrintable(error));
        if (withRuntime) runtime = std::make_unique<RuntimeController>();
        scene = std::make_unique<GraphScene>(&doc, runtime.get());
        view = std::make_unique<GraphView>(scene.get());
        view->resize(1200, 760);
        view->show();
        if (!QTest::qWaitForWindowExposed(view.get())) qFatal("view not exposed");
        view->fitToView();
    }
    ~Canvas() {
        view.reset();
        scene.reset();
        runtime.reset();  // stops every node, bounded
    }
    QWidget* vp() const { return view->viewport(); }
    QPoint at(QPointF scenePos) const { return view->mapFromScene(scenePos); }
    QPoint portAt(const QString& node, const QString& port) const {
        return at(scene->nodeItem(node)->portScenePos(port));
    }
    int undoCount() { return doc.undoStack()->count(); }

    // A left-button drag on the viewport in a few steps, as a hand would do it.
    void drag(QPoint from, QPoint to) {
        QTest::mousePress(vp(), Qt::LeftButton, {}, from);
        const int steps = 6;
        for (int i = 1; i <= steps; ++i) {
            const QPoint p = from + (to - from) * i / steps;
            QTest::mouseMove(vp(), p);
        }
        QTest::mouseRelease(vp(), Qt::LeftButton, {}, to);
    }
};

bool hasLink(const Topology& t, const std::string& from, const std::string& to) {
    for (const auto& l : t.links()) {
        if (l.from.str() == from && l.to.str() == to) return true;
    }
    return false;
}

int countKind(const Topology& t, NodeKind kind) {
    int n = 0;
    for (const auto& node : t.nodes())
        n += node.kind == kind ? 1 : 0;
    return n;
}

}  // namespace

class TstScene : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() { QVERIFY(QDir().mkpath(QStringLiteral(ZMQRPC_SCREENSHOT_DIR))); }

    void buildsOneItemPerNodeAndLink() {
        Canvas c;
        const auto& t = c.doc.topology();
        QCOMPARE(c.scene->nodeItemCount(), static_cast<int>(t.nodes().size()));
        QCOMPARE(c.scene->linkItemCount(), static_cast<int>(t.links().size()));
        for (const auto& n : t.nodes()) {
            NodeItem* item = c.scene->nodeItem(qs(n.id));
            QVERIFY(item != nullptr);
            QCOMPARE(item->pos(), QPointF(n.position.x, n.position.y));
        }
        for (const auto& l : t.links()) {
            LinkItem* item = c.scene->linkItem(qs(l.id));
            QVERIFY(item != nullptr);
            // The curve runs from the output port to the input port.
            const QPainterPath p = item->shape();
            QVERIFY(p.contains(c.scene->nodeItem(qs(l.from.node))->portScenePos(qs(l.from.port))));
        }
        // Inputs on the left edge, outputs on the right.
        NodeItem* proxy = c.scene->nodeItem(QStringLiteral("site-proxy"));
        QCOMPARE(proxy->port(QStringLiteral("sub"))->pos().x(), 0.0);
        QCOMPARE(proxy->port(QStringLiteral("req"))->pos().x(), style::kCardWidth);
        QVERIFY(c.scene->linkItem(QStringLiteral("uplink"))->isPubSub() == false);
        QVERIFY(c.scene->linkItem(QStringLiteral("bridge-to-tap"))->isPubSub());
        QTest::qWait(50);
        QVERIFY(c.view->grab().save(shotPath(QStringLiteral("scene-example.png"))));
    }

    void paletteDropAddsNode() {
        Canvas c;
        const int before = c.scene->nodeItemCount();
        QSignalSpy selection(c.scene.get(), &GraphScene::selectionIdsChanged);
        QMimeData mime;
        mime.setData(QString::fromLatin1(GraphScene::kNodeKindMime), "sub2req");
        const QPoint pos = c.at(QPointF(300, 300));
        QDragEnterEvent enter(pos, Qt::CopyAction, &mime, Qt::LeftButton, {});
        QApplication::sendEvent(c.vp(), &enter);
        QVERIFY(enter.isAccepted());
        QDragMoveEvent move(pos, Qt::CopyAction, &mime, Qt::LeftButton, {});
        QApplication::sendEvent(c.vp(), &move);
        QVERIFY(move.isAccepted());
        QDropEvent drop(pos, Qt::CopyAction, &mime, Qt::LeftButton, {});
        QApplication::sendEvent(c.vp(), &drop);
        QCOMPARE(c.scene->nodeItemCount(), before + 1);
        QCOMPARE(countKind(c.doc.topology(), NodeKind::Sub2Req), 2);
        const QStringList selected = c.scene->selectedNodeIds();
        QCOMPARE(selected.size(), 1);
        const Node* added = c.doc.topology().find_node(selected.front().toStdString());
        QVERIFY(added != nullptr);
        QCOMPARE(added->kind, NodeKind::Sub2Req);
        const QPointF expected = GraphScene::nodePositionFor(c.view->mapToScene(pos));
        QCOMPARE(QPointF(added->position.x, added->position.y), expected);
        QVERIFY(selection.count() >= 1);
        // Undo removes it again.
        c.doc.undoStack()->undo();
        QCOMPARE(c.scene->nodeItemCount(), before);
    }

    void dragBetweenPortsCreatesLink() {
        Canvas c;
        const int before = c.scene->linkItemCount();
        c.drag(c.portAt("sampler-1", "pub"), c.portAt("cloud-tap", "sub"));
        QCOMPARE(c.scene->linkItemCount(), before + 1);
        QVERIFY(hasLink(c.doc.topology(), "sampler-1.pub", "cloud-tap.sub"));
        c.doc.undoStack()->undo();
        QCOMPARE(c.scene->linkItemCount(), before);

        // From an input to an output works too: the link still goes output -> input.
        c.drag(c.portAt("cloud-tap", "sub"), c.portAt("sampler-2", "pub"));
        QCOMPARE(c.scene->linkItemCount(), before + 1);
        QVERIFY(hasLink(c.doc.topology(), "sampler-2.pub", "cloud-tap.sub"));
        c.doc.undoStack()->undo();
        c.doc.undoStack()->redo();
        QCOMPARE(c.scene->linkItemCount(), before + 1);

        // While dragging, compatible ports are highlighted and the others not.
        QTest::mousePress(c.vp(), Qt::LeftButton, {}, c.portAt("sampler-3", "pub"));
        QTest::mouseMove(c.vp(), c.at(QPointF(700, 300)));
        QCOMPARE(c.scene->nodeItem("cloud-tap")->port("sub")->highlight(),
                 PortItem::Highlight::Compatible);
        QCOMPARE(c.scene->nodeItem("cloud-bridge")->port("rep")->highlight(),
                 PortItem::Highlight::None);
        QTest::mouseRelease(c.vp(), Qt::LeftButton, {}, c.at(QPointF(700, 300)));
        QCOMPARE(c.scene->nodeItem("cloud-tap")->port("sub")->highlight(),
                 PortItem::Highlight::None);
        QCOMPARE(c.scene->linkItemCount(), before + 1);  // released on empty canvas: nothing
    }

    void incompatibleLinkIsRefused() {
        Canvas c;
        const int before = c.scene->linkItemCount();
        const int undo = c.undoCount();
        QSignalSpy refused(c.scene.get(), &GraphScene::linkRefused);
        c.drag(c.portAt("sampler-1", "pub"), c.portAt("cloud-bridge", "rep"));
        QCOMPARE(c.scene->linkItemCount(), before);
        QCOMPARE(c.undoCount(), undo);
        QCOMPARE(refused.count(), 1);
        const QString reason = refused.front().at(0).toString();
        QVERIFY2(reason.contains(QStringLiteral("SUB")), qPrintable(reason));
        QCOMPARE(c.scene->toastText(), reason);
        QTest::qWait(50);
        QVERIFY(c.view->grab().save(shotPath(QStringLiteral("scene-link-refused.png"))));
        QTRY_VERIFY_WITH_TIMEOUT(c.scene->toastText().isEmpty(), 5000);  // gone after ~3 s
    }

    void draggingNodeMovesOnGridInOneUndoStep() {
        Canvas c;
        c.view->resetZoom();
        NodeItem* node = c.scene->nodeItem("sampler-2");
        c.view->centerOn(node->sceneBoundingRect().center());
        QCOMPARE(node->pos(), QPointF(0, 0));
        const int undo = c.undoCount();
        const QPoint grab = c.at(node->mapToScene(QPointF(60, 34)));  // on the title
        c.drag(grab, grab + QPoint(97, 43));
        QCOMPARE(node->pos(), QPointF(100, 40));
        const Node* model = c.doc.topology().find_node("sampler-2");
        QCOMPARE(QPointF(model->position.x, model->position.y), QPointF(100, 40));
        QCOMPARE(c.undoCount(), undo + 1);
        // The links followed.
        LinkItem* link = c.scene->linkItem("sampler-2-to-proxy");
        QVERIFY(link->shape().contains(node->portScenePos("pub")));

        // A second drag is a second step, not merged into the first.
        const QPoint grab2 = c.at(node->mapToScene(QPointF(60, 34)));
        c.drag(grab2, grab2 + QPoint(0, 61));
        QCOMPARE(node->pos(), QPointF(100, 100));
        QCOMPARE(c.undoCount(), undo + 2);

        c.doc.undoStack()->undo();
        QCOMPARE(node->pos(), QPointF(100, 40));
        c.doc.undoStack()->undo();
        QCOMPARE(node->pos(), QPointF(0, 0));
        QVERIFY(link->shape().contains(node->portScenePos("pub")));

        // Several selected nodes move together, still one step.
        c.scene->selectOnly({"sampler-1", "sampler-2"}, {});
        const QPoint grab3 = c.at(node->mapToScene(QPointF(60, 34)));
        c.drag(grab3, grab3 + QPoint(-40, 0));
        QCOMPARE(c.undoCount(), undo + 1);  // the two undone steps were dropped by the push
        QCOMPARE(c.scene->nodeItem("sampler-1")->pos(), QPointF(-40, -160));  // snapped
        QCOMPARE(node->pos(), QPointF(-40, 0));
        c.doc.undoStack()->undo();
        QCOMPARE(c.scene->nodeItem("sampler-1")->pos(), QPointF(0, -150));
    }

    void deleteSelectionAndUndo() {
        Canvas c;
        c.scene->selectOnly({"site-proxy"}, {});
        c.view->setFocus();
        QTest::keyClick(c.view.get(), Qt::Key_Delete);
        QVERIFY(c.scene->nodeItem("site-proxy") == nullptr);
        QCOMPARE(c.scene->linkItemCount(), 1);  // only bridge-to-tap is left
        QVERIFY(c.scene->linkItem("uplink") == nullptr);
        c.doc.undoStack()->undo();
        QVERIFY(c.scene->nodeItem("site-proxy") != nullptr);
        QCOMPARE(c.scene->linkItemCount(), 5);
        QVERIFY(c.scene->linkItem("uplink") != nullptr);
        c.doc.undoStack()->redo();
        QCOMPARE(c.scene->linkItemCount(), 1);
        c.doc.undoStack()->undo();

        // A link alone.
        c.scene->selectOnly({}, {"uplink"});
        QCOMPARE(c.scene->selectedLinkIds(), QStringList{"uplink"});
        c.scene->deleteSelection();
        QVERIFY(c.scene->linkItem("uplink") == nullptr);
        QCOMPARE(c.scene->nodeItemCount(), 6);
        c.doc.undoStack()->undo();
        QVERIFY(c.scene->linkItem("uplink") != nullptr);
    }

    void copyPasteDuplicate() {
        Canvas c;
        QStringList original;
        for (const auto& n : c.doc.topology().nodes())
            original << qs(n.id);
        c.scene->selectOnly({"sampler-1", "site-proxy"}, {});
        c.scene->copySelection();
        c.scene->pasteAt(QPointF(0, 400));
        const QStringList pasted = c.scene->selectedNodeIds();
        QCOMPARE(pasted.size(), 2);
        for (const auto& id : pasted) {
            QVERIFY2(!original.contains(id), qPrintable(id));
            QVERIFY(c.scene->nodeItem(id) != nullptr);
        }
        QCOMPARE(c.scene->nodeItemCount(), 8);
        QCOMPARE(c.scene->linkItemCount(), 6);  // the link between the two came along
        // The fragment's top-left node landed at the paste position.
        double top = 1e9;
        for (const auto& id : pasted)
            top = std::min(top, c.scene->nodeItem(id)->pos().y());
        QCOMPARE(top, 400.0);

        c.scene->duplicateSelection();
        const QStringList duplicated = c.scene->selectedNodeIds();
        QCOMPARE(duplicated.size(), 2);
        for (const auto& id : duplicated)
            QVERIFY(!original.contains(id) && !pasted.contains(id));
        QCOMPARE(c.scene->nodeItemCount(), 10);
        c.doc.undoStack()->undo();
        c.doc.undoStack()->undo();
        QCOMPARE(c.scene->nodeItemCount(), 6);
    }

    void zoomWheelAndKeys() {
        Canvas c;
        c.view->resetZoom();
        QCOMPARE(c.view->zoom(), 1.0);
        const QPoint cursor(400, 300);
        const QPointF under = c.view->mapToScene(cursor);
        QWheelEvent wheel(QPointF(cursor), QPointF(c.vp()->mapToGlobal(cursor)), QPoint(),
                          QPoint(0, 120), Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
        QApplication::sendEvent(c.vp(), &wheel);
        QVERIFY(c.view->zoom() > 1.1);
        // The point under the cursor stayed there.
        const QPointF after = c.view->mapToScene(cursor);
        QVERIFY2(QLineF(under, after).length() < 2.0,
                 qPrintable(QStringLiteral("%1,%2").arg(after.x()).arg(after.y())));
        for (int i = 0; i < 30; ++i)
            QApplication::sendEvent(c.vp(), &wheel);
        QCOMPARE(c.view->zoom(), GraphView::kMaxZoom);
        QWheelEvent back(QPointF(cursor), QPointF(c.vp()->mapToGlobal(cursor)), QPoint(),
                         QPoint(0, -120), Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
        for (int i = 0; i < 60; ++i)
            QApplication::sendEvent(c.vp(), &back);
        QCOMPARE(c.view->zoom(), GraphView::kMinZoom);

        c.view->setFocus();
        QTest::keyClick(c.view.get(), Qt::Key_0, Qt::ControlModifier);
        QCOMPARE(c.view->zoom(), 1.0);
        QTest::keyClick(c.view.get(), Qt::Key_Equal, Qt::ControlModifier);
        QVERIFY(c.view->zoom() > 1.0);
        QTest::keyClick(c.view.get(), Qt::Key_Minus, Qt::ControlModifier);
        QTest::keyClick(c.view.get(), Qt::Key_Minus, Qt::ControlModifier);
        QVERIFY(c.view->zoom() < 1.0);

        // Middle-button drag pans.
        c.view->resetZoom();
        const int h = c.view->horizontalScrollBar()->value();
        QTest::mousePress(c.vp(), Qt::MiddleButton, {}, QPoint(500, 300));
        QTest::mouseMove(c.vp(), QPoint(400, 300));
        QTest::mouseRelease(c.vp(), Qt::MiddleButton, {}, QPoint(400, 300));
        QCOMPARE(c.view->horizontalScrollBar()->value(), h + 100);

        // Space+drag pans too, even when it starts on a card (which stays where it is).
        NodeItem* proxy = c.scene->nodeItem("site-proxy");
        const QPoint onCard = c.at(proxy->mapToScene(QPointF(100, 34)));
        const int v = c.view->verticalScrollBar()->value();
        QTest::keyPress(c.view.get(), Qt::Key_Space);
        c.drag(onCard, onCard + QPoint(0, -80));
        QTest::keyRelease(c.view.get(), Qt::Key_Space);
        QCOMPARE(proxy->pos(), QPointF(300, 0));
        QCOMPARE(c.view->verticalScrollBar()->value(), v + 80);
        // And afterwards a drag on a card moves it again.
        const QPoint onCard2 = c.at(proxy->mapToScene(QPointF(100, 34)));
        c.drag(onCard2, onCard2 + QPoint(40, 0));
        QCOMPARE(proxy->pos(), QPointF(340, 0));
    }

    void rubberBandSelects() {
        Canvas c;
        QSignalSpy changed(c.scene.get(), &GraphScene::selectionIdsChanged);
        // From empty canvas above-left of the samplers to below-right of them.
        const QPoint from = c.at(QPointF(-40, -200));
        const QPoint to = c.at(QPointF(220, 260));
        c.drag(from, to);
        QStringList selected = c.scene->selectedNodeIds();
        selected.sort();
        QCOMPARE(selected, (QStringList{"sampler-1", "sampler-2", "sampler-3"}));
        QVERIFY(changed.count() >= 1);
        // A click on empty canvas clears it.
        QTest::mouseClick(c.vp(), Qt::LeftButton, {}, c.at(QPointF(-200, 600)));
        QVERIFY(c.scene->selectedNodeIds().isEmpty());
    }

    void fitToViewShowsEverything() {
        Canvas c;
        c.doc.addNode(NodeKind::Tap, QPointF(3000, 2000));
        c.doc.addNode(NodeKind::Sampler, QPointF(-1500, -900));
        c.view->resetZoom();
        c.view->fitToView();
        const QRect shown = c.view->mapFromScene(c.scene->contentRect()).boundingRect();
        QVERIFY2(c.vp()->rect().contains(shown), qPrintable(QStringLiteral("%1 %2 %3 %4")
                                                                .arg(shown.x())
                                                                .arg(shown.y())
                                                                .arg(shown.width())
                                                                .arg(shown.height())));
        QVERIFY(c.view->zoom() >= GraphView::kMinZoom && c.view->zoom() < 1.0);
    }

    void quickAddAddsTypedKind() {
        Canvas c;
        const int before = countKind(c.doc.topology(), NodeKind::Sub2Req);
        c.view->quickAdd(QPoint(300, 500));
        QuickAddPopup* popup = c.view->quickAddPopup();
        QVERIFY(popup->isVisible());
        QTest::keyClicks(popup->lineEdit(), QStringLiteral("sub2"));
        QCOMPARE(popup->visibleKinds(), (QStringList{"sub2req", "sub2pub"}));
        QTest::qWait(20);
        QVERIFY(popup->grab().save(shotPath(QStringLiteral("scene-quick-add.png"))));
        QTest::keyClick(popup->lineEdit(), Qt::Key_Return);
        QVERIFY(!popup->isVisible());
        QCOMPARE(countKind(c.doc.topology(), NodeKind::Sub2Req), before + 1);
        const QString id = c.scene->selectedNodeIds().value(0);
        const Node* added = c.doc.topology().find_node(id.toStdString());
        QVERIFY(added != nullptr && added->kind == NodeKind::Sub2Req);
        QCOMPARE(QPointF(added->position.x, added->position.y),
                 GraphScene::nodePositionFor(c.view->mapToScene(QPoint(300, 500))));

        // Display names match too ("buffered" finds the buffered proxy); Esc closes.
        c.view->quickAdd(QPoint(300, 500));
        QTest::keyClicks(popup->lineEdit(), QStringLiteral("TAP"));
        QCOMPARE(popup->visibleKinds(), QStringList{"tap"});
        QTest::keyClick(popup->lineEdit(), Qt::Key_Escape);
        QVERIFY(!popup->isVisible());
        QCOMPARE(countKind(c.doc.topology(), NodeKind::Tap), 1);

        // A double-click on empty canvas opens it as well.
        const QPoint empty = c.at(QPointF(300, 600));
        QTest::mouseDClick(c.vp(), Qt::LeftButton, {}, empty);
        QVERIFY(popup->isVisible());
        popup->hide();
    }

    void problemsAreMarked() {
        Canvas c;
        NodeItem* proxy = c.scene->nodeItem("site-proxy");
        QVERIFY(!proxy->problemMarker()->isVisible());
        QVERIFY(c.doc.setProperty("site-proxy", "queue_capacity", 0));
        // Problems are revalidated once per burst of edits, on the next event loop turn.
        QTRY_VERIFY_WITH_TIMEOUT(proxy->problemMarker()->isVisible(), 2000);
        QVERIFY(proxy->problemMarker()->isError());
        QVERIFY2(proxy->problemMarker()->toolTip().contains("queue_capacity"),
                 qPrintable(proxy->problemMarker()->toolTip()));
        QVERIFY(!c.scene->nodeItem("sampler-1")->problemMarker()->isVisible());
        QTest::qWait(50);
        QVERIFY(c.view->grab().save(shotPath(QStringLiteral("scene-problem.png"))));
        c.doc.undoStack()->undo();
        QTRY_VERIFY_WITH_TIMEOUT(!proxy->problemMarker()->isVisible(), 2000);
    }

    void overlayFromSnapshot() {
        // States and link health fed directly (a remote runtime's snapshot arrives this way).
        Canvas c;
        RuntimeSnapshot snap;
        auto node = [&](const char* id, NodeState state, const char* reason = "") {
            NodeStatus s;
            s.id = id;
            s.state = state;
            s.reason = reason;
            if (state == NodeState::Running) {
                s.rate_in = 12.3;
                s.rate_out = 4.5;
            }
            snap.nodes.push_back(s);
        };
        node("sampler-1", NodeState::Running);
        node("sampler-2", NodeState::Starting);
        node("sampler-3", NodeState::Failed, "address in use: tcp://*:5603");
        node("site-proxy", NodeState::Running);
        snap.nodes.back().metrics.has_queue = true;
        snap.nodes.back().metrics.queue.capacity = 100;
        snap.nodes.back().metrics.queue.fill = 70;
        snap.nodes.back().metrics.queue.dropped = 3;
        node("cloud-bridge", NodeState::Remote);
        node("cloud-tap", NodeState::Waiting,
             "until 'cloud-bridge' binds (link 'bridge-to-tap'): it chooses its port when it "
             "binds");
        auto link = [&](const char* id, ConnectionState cs, HeartbeatState hb) {
            LinkStatus l;
            l.id = id;
            l.active = true;
            l.connection = cs;
            l.heartbeat = hb;
            snap.links.push_back(l);
        };
        link("sampler-1-to-proxy", ConnectionState::Connected, HeartbeatState::Alive);
        link("sampler-2-to-proxy", ConnectionState::Connected, HeartbeatState::Late);
        link("sampler-3-to-proxy", ConnectionState::Connecting, HeartbeatState::Dead);
        link("uplink", ConnectionState::CredentialsRefused, HeartbeatState::Unmonitored);
        c.scene->applySnapshot(snap);

        QCOMPARE(c.scene->nodeItem("sampler-1")->state(), NodeState::Running);
        QCOMPARE(c.scene->nodeItem("site-proxy")->footerText(),
                 QStringLiteral("in 12.3/s \u00B7 out 4.5/s"));
        QCOMPARE(c.scene->nodeItem("sampler-1")->footerText(), QStringLiteral("out 4.5/s"));
        QCOMPARE(c.scene->nodeItem("site-proxy")->queueText(),
                 QStringLiteral("70 / 100 \u00B7 3 dropped"));
        QVERIFY(c.scene->nodeItem("sampler-3")->toolTip().contains("address in use"));
        QVERIFY2(c.scene->nodeItem("cloud-tap")
                     ->footerText()
                     .startsWith(QStringLiteral("waiting until 'cloud-bridge' binds")),
                 qPrintable(c.scene->nodeItem("cloud-tap")->footerText()));
        QVERIFY(
            c.scene->nodeItem("cloud-tap")
                ->toolTip()
                .contains(
                    "state: waiting<br>waiting until 'cloud-bridge' binds (link 'bridge-to-tap')"));
        QCOMPARE(c.scene->linkItem("sampler-1-to-proxy")->currentColor(), style::okColor());
        QCOMPARE(c.scene->linkItem("sampler-2-to-proxy")->currentColor(), style::warnColor());
        QCOMPARE(c.scene->linkItem("sampler-3-to-proxy")->currentColor(), style::errorColor());
        LinkItem* uplink = c.scene->linkItem("uplink");
        QVERIFY(uplink->showsLock());
        // The example's uplink is CURVE (labelled so): its key was refused...
        QVERIFY(uplink->isCurve());
        QVERIFY(uplink->label().startsWith(QStringLiteral("CURVE")));
        QVERIFY(!c.scene->linkItem("sampler-1-to-proxy")->isCurve());
        QVERIFY2(uplink->toolTip().contains("credentials refused: the CURVE key was refused"),
                 qPrintable(uplink->toolTip()));
        // ... and the refusal's event says why.
        zmqrpc::Event refusal;
        refusal.kind = zmqrpc::EventKind::CredentialsRefused;
        refusal.source = "site-proxy";
        refusal.endpoint = "tcp://127.0.0.1:5610";
        refusal.text =
            "the server closed the CURVE handshake: is the server key X the public key "
            "of the server bound at tcp://127.0.0.1:5610?";
        c.scene->applyEvents({refusal});
        QVERIFY2(uplink->toolTip().contains(QStringLiteral("credentials refused: ") +
                                            QString::fromStdString(refusal.text)),
                 qPrintable(uplink->toolTip()));
        QVERIFY(c.scene->linkItem("sampler-1-to-proxy")->refusal().isEmpty());
        QTest::qWait(50);
        QVERIFY(c.view->grab().save(shotPath(QStringLiteral("scene-overlay-states.png"))));

        // A durable store (issue 13): its bytes on disk are shown too.
        for (auto& n : snap.nodes) {
            if (n.id != "site-proxy") continue;
            n.metrics.queue.durable = true;
            n.metrics.queue.fill_bytes = 3u << 20;
            n.metrics.queue.store_limit_bytes = 4u << 20;
        }
        c.scene->applySnapshot(snap);
        QCOMPARE(c.scene->nodeItem("site-proxy")->queueText(),
                 QStringLiteral("70 / 100 \u00B7 3.0 MiB on disk \u00B7 3 dropped"));

        // An empty snapshot clears the overlay.
        c.scene->applySnapshot({});
        QVERIFY(!c.scene->nodeItem("sampler-1")->hasStatus());
        QVERIFY(!uplink->showsLock());
    }

    void runtimeOverlayOfRunningExample() {
        Canvas c(true);
        Secrets secrets;
        secrets.use_environment = false;
        Topology t = testutil::localised(c.doc.topology(), &secrets, kPassword);
        c.doc.reset(t, kExample, false);
        QCOMPARE(c.scene->nodeItemCount(), 6);
        c.runtime->setSecrets(secrets);
        c.runtime->setTopology(c.doc.topology());
        c.runtime->startAll();
        const auto allRunning = [&] {
            for (const auto& n : c.doc.topology().nodes()) {
                if (c.scene->nodeItem(qs(n.id))->state() != NodeState::Running) return false;
            }
            return true;
        };
        QTRY_VERIFY_WITH_TIMEOUT(allRunning(), 10000);
        // Rates appear at the tap (data crossed the proxy and the REQ/REP bridge) and every
        // supervised link is alive.
        QTRY_VERIFY_WITH_TIMEOUT(c.runtime->snapshot().node("cloud-tap") &&
                                     c.runtime->snapshot().node("cloud-tap")->rate_in > 0 &&
                                     c.runtime->snapshot().node("sampler-1")->rate_out > 0,
                                 10000);
        QTRY_VERIFY_WITH_TIMEOUT(
            c.scene->linkItem("sampler-1-to-proxy")->currentColor() == style::okColor() &&
                c.scene->linkItem("bridge-to-tap")->currentColor() == style::okColor(),
            10000);
        QTRY_VERIFY_WITH_TIMEOUT(
            c.scene->nodeItem("cloud-tap")->footerText().startsWith("in ") &&
                !c.scene->nodeItem("cloud-tap")->footerText().startsWith("in 0.0/s"),
            10000);
        QVERIFY(c.scene->nodeItem("sampler-1")->footerText().contains("out "));
        QTest::qWait(300);
        QVERIFY(c.view->grab().save(shotPath(QStringLiteral("scene-running.png"))));
        c.runtime->stopAll();
        QTRY_VERIFY_WITH_TIMEOUT(c.scene->nodeItem("sampler-1")->state() == NodeState::Stopped,
                                 5000);
    }

    void exportsPngAndSvg() {
        Canvas c;
        c.scene->selectOnly({"site-proxy"}, {});
        const QString png = shotPath(QStringLiteral("export-sampler-to-cloud.png"));
        const QString svg = shotPath(QStringLiteral("export-sampler-to-cloud.svg"));
        QVERIFY(c.scene->renderToPng(png));
        QVERIFY(c.scene->renderToSvg(svg));
        QImage image(png);
        QVERIFY(!image.isNull());
        QVERIFY(image.width() > 1000);
        QCOMPARE(image.pixelColor(2, 2), QColor(Qt::white));
        QFile f(svg);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray text = f.readAll();
        QVERIFY(text.contains("<svg"));
        QVERIFY(text.contains("Cloud bridge"));                           // text, not a pixmap
        QCOMPARE(c.scene->selectedNodeIds(), QStringList{"site-proxy"});  // restored
    }

    void thousandNodesOpenAndPan() {
        Topology t;
        for (int i = 0; i < 500; ++i) {
            Node s;
            s.id = "s" + std::to_string(i);
            s.kind = NodeKind::Sampler;
            s.position = {static_cast<double>((i % 20) * 640), static_cast<double>((i / 20) * 180)};
            s.properties["bind"] = "tcp://*:" + std::to_string(20000 + i);
            t.add_node(s);
            Node tap;
            tap.id = "t" + std::to_string(i);
            tap.kind = NodeKind::Tap;
            tap.position = {s.position.x + 320, s.position.y};
            t.add_node(tap);
            Link l;
            l.from = {s.id, "pub"};
            l.to = {tap.id, "sub"};
            l.heartbeat_timeout = 5;
            t.add_link(l);
        }
        EditorDocument doc;
        GraphScene scene(&doc, nullptr);
        GraphView view(&scene);
        view.resize(1200, 760);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));

        QElapsedTimer timer;
        timer.start();
        doc.reset(t, {}, false);
        view.fitToView();
        view.viewport()->repaint();
        const qint64 openMs = timer.elapsed();
        QCOMPARE(scene.nodeItemCount(), 1000);
        QCOMPARE(scene.linkItemCount(), 500);
        QVERIFY(view.grab().save(shotPath(QStringLiteral("scene-thousand-fit.png"))));

        // Pan at 1:1 across the graph: each frame repaints the viewport.
        view.resetZoom();
        view.centerOn(0, 0);
        view.viewport()->repaint();
        timer.restart();
        const int frames = 40;
        for (int i = 0; i < frames; ++i) {
            view.horizontalScrollBar()->setValue(view.horizontalScrollBar()->value() + 60);
            view.verticalScrollBar()->setValue(view.verticalScrollBar()->value() + 25);
            view.viewport()->repaint();
        }
        const double frameMs = static_cast<double>(timer.elapsed()) / frames;
        // Zoomed out (the whole graph on screen).
        view.fitToView();
        view.viewport()->repaint();
        timer.restart();
        for (int i = 0; i < 10; ++i) {
            view.horizontalScrollBar()->setValue(view.horizontalScrollBar()->value() + 40);
            view.viewport()->repaint();
        }
        const double farFrameMs = static_cast<double>(timer.elapsed()) / 10;
        qInfo("1000 nodes: open %lld ms, pan %.1f ms/frame at 1:1, %.1f ms/frame fitted", openMs,
              frameMs, farFrameMs);
        QVERIFY2(openMs < 8000, qPrintable(QString::number(openMs)));
        QVERIFY2(frameMs < 100, qPrintable(QString::number(frameMs)));
        QVERIFY2(farFrameMs < 400, qPrintable(QString::number(farFrameMs)));
    }
};

QTEST_MAIN(TstScene)
#include "tst_scene.moc"
