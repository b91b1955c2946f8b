// The palette: every node kind with its icon, name and one-line description, filtered by a
// search field. Entries are dragged onto the scene (mime kMimeType, payload the kind string) or
// added with a double-click / Enter (addRequested). It holds no document state.
//
// GUI thread only.
#pragma once

#include <zmqrpc/topology.hpp>

#include <QWidget>

#include <optional>

class QLineEdit;
class QListWidget;
class QListWidgetItem;
class QMimeData;

namespace studio {

class PaletteWidget : public QWidget {
    Q_OBJECT

  public:
    // The drag payload is the kind string ("sampler", "sub2req", ...), as zmqrpc::to_string().
    static constexpr const char* kMimeType = "application/x-zmqrpc-node-kind";

    explicit PaletteWidget(QWidget* parent = nullptr);

    // What a drag of `kind` carries (the scene's drop handler reads the same format). The
    // caller owns the result.
    static QMimeData* mimeDataFor(zmqrpc::NodeKind kind);
    // The kind a drop carries, if it is a palette drag.
    static std::optional<zmqrpc::NodeKind> kindFromMimeData(const QMimeData* mime);

    QLineEdit* searchField() const { return search_; }
    QListWidget* listWidget() const { return list_; }
    // The kinds currently shown (after filtering), top to bottom.
    QList<zmqrpc::NodeKind> visibleKinds() const;

  signals:
    void addRequested(zmqrpc::NodeKind kind);

  private:
    void applyFilter(const QString& text);
    void activateItem(QListWidgetItem* item);

    QLineEdit* search_ = nullptr;
    QListWidget* list_ = nullptr;
};

}  // namespace studio
