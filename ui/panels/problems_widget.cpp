#include "panels/problems_widget.hpp"

#include "document/editor_document.hpp"

#include <QHeaderView>
#include <QLabel>
#include <QStyle>
#include <QTimer>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace studio {

namespace {

constexpr int kNodeRole = Qt::UserRole + 1;
constexpr int kLinkRole = Qt::UserRole + 2;

QString qs(const std::string& text) {
    return QString::fromStdString(text);
}

}  // namespace

ProblemsWidget::ProblemsWidget(EditorDocument* doc, QWidget* parent) : QWidget(parent), doc_(doc) {
    setObjectName(QStringLiteral("problems"));
    header_ = new QLabel(this);
    header_->setObjectName(QStringLiteral("problemsSummary"));
    header_->setContentsMargins(4, 2, 4, 2);

    tree_ = new QTreeWidget(this);
    tree_->setObjectName(QStringLiteral("problemsList"));
    tree_->setColumnCount(4);
    tree_->setHeaderLabels({tr("Severity"), tr("Item"), tr("Property"), tr("Problem")});
    tree_->setRootIsDecorated(false);
    tree_->setUniformRowHeights(true);
    tree_->setAlternatingRowColors(true);
    tree_->setSelectionMode(QAbstractItemView::SingleSelection);
    tree_->setAllColumnsShowFocus(true);
    tree_->setWordWrap(false);
    tree_->setTextElideMode(Qt::ElideRight);
    QHeaderView* header = tree_->header();
    header->setStretchLastSection(true);
    header->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    header->setSectionResizeMode(1, QHeaderView::Interactive);
    header->setSectionResizeMode(2, QHeaderView::Interactive);
    tree_->setColumnWidth(1, 180);
    tree_->setColumnWidth(2, 140);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addWidget(header_);
    layout->addWidget(tree_, 1);

    // QAbstractItemView::activated covers double-click and Enter, once each.
    connect(tree_, &QTreeWidget::itemActivated, this, [this](QTreeWidgetItem* item) {
        if (item == nullptr) return;
        emit activated(item->data(0, kNodeRole).toString(), item->data(0, kLinkRole).toString());
    });
    connect(doc_, &EditorDocument::problemsChanged, this, &ProblemsWidget::rebuild);
    // problemsChanged alone is not enough: the list follows every change, once per burst.
    connect(doc_, &EditorDocument::documentReset, this, &ProblemsWidget::scheduleRebuild);
    for (auto signal :
         {&EditorDocument::nodeAdded, &EditorDocument::nodeRemoved, &EditorDocument::nodeChanged,
          &EditorDocument::linkAdded, &EditorDocument::linkRemoved, &EditorDocument::linkChanged}) {
        connect(doc_, signal, this, &ProblemsWidget::scheduleRebuild);
    }
    rebuild();
}

void ProblemsWidget::scheduleRebuild() {
    if (rebuildQueued_) return;
    rebuildQueued_ = true;
    QTimer::singleShot(0, this, [this] {
        rebuildQueued_ = false;
        rebuild();
    });
}

QString ProblemsWidget::summaryText() const {
    if (errors_ == 0 && warnings_ == 0) return tr("No problems");
    QStringList parts;
    if (errors_ > 0) parts << (errors_ == 1 ? tr("1 error") : tr("%1 errors").arg(errors_));
    if (warnings_ > 0) {
        parts << (warnings_ == 1 ? tr("1 warning") : tr("%1 warnings").arg(warnings_));
    }
    return parts.join(QStringLiteral(", "));
}

void ProblemsWidget::rebuild() {
    // Keep the selected row across a rebuild when the same problem is still there.
    QString selectedKey;
    if (QTreeWidgetItem* current = tree_->currentItem()) {
        for (int c = 0; c < tree_->columnCount(); ++c)
            selectedKey += current->text(c) + QLatin1Char('\x1f');
    }
    tree_->clear();
    const QIcon errorIcon = style()->standardIcon(QStyle::SP_MessageBoxCritical);
    const QIcon warningIcon = style()->standardIcon(QStyle::SP_MessageBoxWarning);
    int errors = 0;
    int warnings = 0;
    QTreeWidgetItem* reselect = nullptr;
    for (const zmqrpc::Problem& p : doc_->problems()) {
        const bool error = p.severity == zmqrpc::Severity::Error;
        (error ? errors : warnings)++;
        QString item;
        if (!p.node.empty()) {
            item = tr("node '%1'").arg(qs(p.node));
        } else if (!p.link.empty()) {
            item = tr("link '%1'").arg(qs(p.link));
        } else {
            item = tr("document");
        }
        auto* row = new QTreeWidgetItem(
            tree_, {error ? tr("error") : tr("warning"), item, qs(p.property), qs(p.text)});
        row->setIcon(0, error ? errorIcon : warningIcon);
        row->setData(0, kNodeRole, qs(p.node));
        row->setData(0, kLinkRole, qs(p.link));
        row->setToolTip(3, qs(p.str()));
        row->setToolTip(1, item);
        QString key;
        for (int c = 0; c < tree_->columnCount(); ++c)
            key += row->text(c) + QLatin1Char('\x1f');
        if (reselect == nullptr && !selectedKey.isEmpty() && key == selectedKey) reselect = row;
    }
    if (reselect != nullptr) tree_->setCurrentItem(reselect);
    const bool changed = errors != errors_ || warnings != warnings_;
    errors_ = errors;
    warnings_ = warnings;
    const QString color = errors_ > 0     ? QStringLiteral("#c62828")
                          : warnings_ > 0 ? QStringLiteral("#b26a00")
                                          : QStringLiteral("#2e7d32");
    header_->setText(QStringLiteral("<b style='color:%1'>%2</b>").arg(color, summaryText()));
    if (changed) emit countsChanged(errors_, warnings_);
}

}  // namespace studio
