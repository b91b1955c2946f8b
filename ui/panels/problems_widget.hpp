// The problems list: every problem of the document (EditorDocument::problems(), i.e.
// zmqrpc::validate()), with its severity, the item concerned, the property and the text, and a
// count in the header. Activating a row (double-click, Enter) emits `activated` with the item's
// ids so the main window can select it. It keeps no state of its own beyond the rows.
//
// GUI thread only.
#pragma once

#include <QString>
#include <QWidget>

class QLabel;
class QTreeWidget;
class QTreeWidgetItem;

namespace studio {

class EditorDocument;

class ProblemsWidget : public QWidget {
    Q_OBJECT

  public:
    explicit ProblemsWidget(EditorDocument* doc, QWidget* parent = nullptr);

    QTreeWidget* treeWidget() const { return tree_; }
    // "2 errors, 1 warning" / "No problems".
    QString summaryText() const;
    int errorCount() const noexcept { return errors_; }
    int warningCount() const noexcept { return warnings_; }

  signals:
    // A problem row was activated: the node or the link it concerns (one of them may be empty;
    // both are empty for document-wide problems).
    void activated(const QString& nodeId, const QString& linkId);
    // The counts changed (for a status-bar badge or the dock title).
    void countsChanged(int errors, int warnings);

  private:
    void rebuild();
    void scheduleRebuild();

    EditorDocument* doc_;
    QLabel* header_ = nullptr;
    QTreeWidget* tree_ = nullptr;
    int errors_ = 0;
    int warnings_ = 0;
    bool rebuildQueued_ = false;
};

}  // namespace studio
