#include "panels/kind_icons.hpp"

#include <QHash>
#include <QPainter>
#include <QPixmap>
#include <QString>
#include <QSvgRenderer>

// The resources live in the static studio_ui library: make sure they are registered even when
// nothing else in the program has referenced them yet.
static void initStudioResources() {
    static const bool once = [] {
        Q_INIT_RESOURCE(studio);
        return true;
    }();
    (void)once;
}

namespace studio {

QColor kindColor(zmqrpc::NodeKind kind) {
    using zmqrpc::NodeKind;
    switch (kind) {
        case NodeKind::Sampler:
            return QColor(0x2e, 0x9d, 0x57);
        case NodeKind::RpcServer:
            return QColor(0x2f, 0x6f, 0xd0);
        case NodeKind::Sub2Req:
            return QColor(0xe0, 0x7b, 0x20);
        case NodeKind::Sub2Pub:
            return QColor(0x13, 0x9a, 0x9a);
        case NodeKind::Rep2Pub:
            return QColor(0x7b, 0x4f, 0xc9);
        case NodeKind::Rep2Req:
            return QColor(0xc2, 0x3b, 0x3b);
        case NodeKind::BufferedRep2Req:
            return QColor(0xb8, 0x34, 0x8f);
        case NodeKind::Tap:
            return QColor(0xd9, 0xa5, 0x14);
        case NodeKind::External:
            return QColor(0x6b, 0x77, 0x85);
    }
    return QColor(Qt::gray);
}

QIcon kindIcon(zmqrpc::NodeKind kind) {
    // Rendered with QSvgRenderer rather than left to the SVG icon-engine plugin, so the icons
    // show even where that plugin is not deployed.
    static QHash<int, QIcon> cache;
    const int key = static_cast<int>(kind);
    if (auto it = cache.constFind(key); it != cache.constEnd()) return *it;

    initStudioResources();
    QIcon icon;
    QSvgRenderer renderer(
        QStringLiteral(":/studio/icons/%1.svg").arg(QString::fromLatin1(zmqrpc::to_string(kind))));
    for (int size : {16, 20, 24, 32, 48, 64}) {
        QPixmap pixmap(size, size);
        pixmap.fill(Qt::transparent);
        QPainter painter(&pixmap);
        painter.setRenderHint(QPainter::Antialiasing);
        if (renderer.isValid()) {
            renderer.render(&painter, QRectF(0, 0, size, size));
        } else {
            // A missing resource must not make the kind invisible: a plain swatch instead.
            painter.setPen(Qt::NoPen);
            painter.setBrush(kindColor(kind));
            painter.drawRoundedRect(QRectF(1, 1, size - 2, size - 2), size / 5.0, size / 5.0);
        }
        painter.end();
        icon.addPixmap(pixmap);
    }
    cache.insert(key, icon);
    return icon;
}

}  // namespace studio
