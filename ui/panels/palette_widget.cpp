#include "panels/palette_widget.hpp"

#include "panels/kind_icons.hpp"

#include <QApplication>
#include <QKeyEvent>
#include <QLineEdit>
#include <QListWidget>
#include <QMimeData>
#include <QPainter>
#include <QStyledItemDelegate>
#include <QVBoxLayout>

namespace studio {

namespace {

constexpr int kKindRole = Qt::UserRole + 1;
constexpr int kDescriptionRole = Qt::UserRole + 2;
constexpr int kIconSize = 32;

// The list: a drag carries the palette's own mime type, not QListWidget's internal one.
class PaletteList : public QListWidget {
  public:
    using QListWidget::QListWidget;

  protected:
    QStringList mimeTypes() const override {
        return {QString::fromLatin1(PaletteWidget::kMimeType)};
    }
    QMimeData* mimeData(const QList<QListWidgetItem*>& items) const override {
        if (items.isEmpty()) return nullptr;
        const auto kind = static_cast<zmqrpc::NodeKind>(items.first()->data(kKindRole).toInt());
        return PaletteWidget::mimeDataFor(kind);
    }
    Qt::DropActions supportedDropActions() const override { return Qt::CopyAction; }
};

// Two lines per kind: the name in bold, the description below it in a quieter colour.
class PaletteDelegate : public QStyledItemDelegate {
  public:
    using QStyledItemDelegate::QStyledItemDelegate;

    void paint(QPainter* painter, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override {
        QStyleOptionViewItem opt = option;
        initStyleOption(&opt, index);
        const QWidget* widget = opt.widget;
        QStyle* style = widget ? widget->style() : QApplication::style();
        // Background and selection only; the content is drawn below.
        opt.text.clear();
        opt.icon = QIcon();
        style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, widget);

        const QRect r = option.rect.adjusted(6, 4, -6, -4);
        const QIcon icon = index.data(Qt::DecorationRole).value<QIcon>();
        const QRect iconRect(r.left(), r.top() + (r.height() - kIconSize) / 2, kIconSize,
                             kIconSize);
        icon.paint(painter, iconRect);

        const bool selected = option.state & QStyle::State_Selected;
        const QPalette::ColorGroup group =
            option.state & QStyle::State_Enabled ? QPalette::Normal : QPalette::Disabled;
        QColor textColor =
            option.palette.color(group, selected ? QPalette::HighlightedText : QPalette::Text);
        QColor quiet = textColor;
        quiet.setAlphaF(0.65f);

        const QRect textRect = r.adjusted(kIconSize + 10, 0, 0, 0);
        QFont bold = option.font;
        bold.setBold(true);
        const QFontMetrics boldMetrics(bold);
        painter->save();
        painter->setFont(bold);
        painter->setPen(textColor);
        const QRect nameRect(textRect.left(), textRect.top(), textRect.width(),
                             boldMetrics.height());
        painter->drawText(nameRect, Qt::AlignLeft | Qt::AlignVCenter,
                          boldMetrics.elidedText(index.data(Qt::DisplayRole).toString(),
                                                 Qt::ElideRight, nameRect.width()));
        QFont small = option.font;
        small.setPointSizeF(small.pointSizeF() * 0.9);
        painter->setFont(small);
        painter->setPen(quiet);
        const QFontMetrics smallMetrics(small);
        const QRect descRect(textRect.left(), nameRect.bottom() + 2, textRect.width(),
                             textRect.bottom() - nameRect.bottom() - 2);
        // Wrapped to the lines that fit; the tooltip has the whole text.
        const QString description = index.data(kDescriptionRole).toString();
        const int lines = qMax(1, descRect.height() / smallMetrics.lineSpacing());
        QString shown;
        QString rest = description;
        for (int i = 0; i < lines && !rest.isEmpty(); ++i) {
            if (i == lines - 1 || smallMetrics.horizontalAdvance(rest) <= descRect.width()) {
                shown += smallMetrics.elidedText(rest, Qt::ElideRight, descRect.width());
                break;
            }
            auto cut = rest.size();
            while (cut > 0 && smallMetrics.horizontalAdvance(rest.left(cut)) > descRect.width()) {
                const auto space = rest.lastIndexOf(QLatin1Char(' '), cut - 1);
                cut = space > 0 ? space : cut - 1;
            }
            if (cut <= 0) cut = 1;
            shown += rest.left(cut).trimmed() + QLatin1Char('\n');
            rest = rest.mid(cut).trimmed();
        }
        painter->drawText(descRect, Qt::AlignLeft | Qt::AlignTop, shown);
        painter->restore();
    }

    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex&) const override {
        QFont small = option.font;
        small.setPointSizeF(small.pointSizeF() * 0.9);
        QFont bold = option.font;
        bold.setBold(true);
        const int height =
            QFontMetrics(bold).height() + 2 + 2 * QFontMetrics(small).lineSpacing() + 8;
        return {220, qMax(height, kIconSize + 8)};
    }
};

}  // namespace

PaletteWidget::PaletteWidget(QWidget* parent) : QWidget(parent) {
    search_ = new QLineEdit(this);
    search_->setPlaceholderText(tr("Search node kinds"));
    search_->setClearButtonEnabled(true);
    search_->setObjectName(QStringLiteral("paletteSearch"));

    list_ = new PaletteList(this);
    list_->setObjectName(QStringLiteral("paletteList"));
    list_->setItemDelegate(new PaletteDelegate(list_));
    list_->setIconSize(QSize(kIconSize, kIconSize));
    list_->setDragEnabled(true);
    list_->setDragDropMode(QAbstractItemView::DragOnly);
    list_->setDefaultDropAction(Qt::CopyAction);
    list_->setSelectionMode(QAbstractItemView::SingleSelection);
    list_->setUniformItemSizes(true);
    list_->setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);

    for (zmqrpc::NodeKind kind : zmqrpc::all_node_kinds()) {
        auto* item = new QListWidgetItem(kindIcon(kind),
                                         QString::fromUtf8(zmqrpc::display_name(kind)), list_);
        const QString description = QString::fromUtf8(zmqrpc::description(kind));
        item->setData(kKindRole, static_cast<int>(kind));
        item->setData(kDescriptionRole, description);
        item->setToolTip(QStringLiteral("<b>%1</b> <i>(%2)</i><br>%3")
                             .arg(item->text().toHtmlEscaped(),
                                  QString::fromLatin1(zmqrpc::to_string(kind)),
                                  description.toHtmlEscaped()));
        item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemIsDragEnabled);
    }
    list_->setCurrentRow(0);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(4);
    layout->addWidget(search_);
    layout->addWidget(list_, 1);

    connect(search_, &QLineEdit::textChanged, this, &PaletteWidget::applyFilter);
    // Enter in the search field adds the entry the filter left on top.
    connect(search_, &QLineEdit::returnPressed, this, [this] {
        QListWidgetItem* item = list_->currentItem();
        if (item == nullptr || item->isHidden()) return;
        activateItem(item);
    });
    // QAbstractItemView::activated covers double-click and Enter (once each).
    connect(list_, &QListWidget::itemActivated, this, &PaletteWidget::activateItem);
    setFocusProxy(search_);
}

QMimeData* PaletteWidget::mimeDataFor(zmqrpc::NodeKind kind) {
    auto* mime = new QMimeData;
    mime->setData(QString::fromLatin1(kMimeType), QByteArray(zmqrpc::to_string(kind)));
    return mime;
}

std::optional<zmqrpc::NodeKind> PaletteWidget::kindFromMimeData(const QMimeData* mime) {
    if (mime == nullptr || !mime->hasFormat(QString::fromLatin1(kMimeType))) return std::nullopt;
    const QByteArray data = mime->data(QString::fromLatin1(kMimeType));
    return zmqrpc::node_kind_from_string(
        std::string_view(data.constData(), static_cast<std::size_t>(data.size())));
}

QList<zmqrpc::NodeKind> PaletteWidget::visibleKinds() const {
    QList<zmqrpc::NodeKind> kinds;
    for (int row = 0; row < list_->count(); ++row) {
        const QListWidgetItem* item = list_->item(row);
        if (!item->isHidden())
            kinds << static_cast<zmqrpc::NodeKind>(item->data(kKindRole).toInt());
    }
    return kinds;
}

void PaletteWidget::applyFilter(const QString& text) {
    const QString needle = text.trimmed();
    QListWidgetItem* firstVisible = nullptr;
    for (int row = 0; row < list_->count(); ++row) {
        QListWidgetItem* item = list_->item(row);
        const auto kind = static_cast<zmqrpc::NodeKind>(item->data(kKindRole).toInt());
        const bool match =
            needle.isEmpty() || item->text().contains(needle, Qt::CaseInsensitive) ||
            QString::fromLatin1(zmqrpc::to_string(kind)).contains(needle, Qt::CaseInsensitive) ||
            item->data(kDescriptionRole).toString().contains(needle, Qt::CaseInsensitive);
        item->setHidden(!match);
        if (match && firstVisible == nullptr) firstVisible = item;
    }
    QListWidgetItem* current = list_->currentItem();
    if (current == nullptr || current->isHidden()) list_->setCurrentItem(firstVisible);
}

void PaletteWidget::activateItem(QListWidgetItem* item) {
    if (item == nullptr) return;
    emit addRequested(static_cast<zmqrpc::NodeKind>(item->data(kKindRole).toInt()));
}

}  // namespace studio
