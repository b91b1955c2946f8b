#include "scene/quick_add.hpp"

#include "scene/scene_style.hpp"

#include <zmqrpc/topology.hpp>

#include <QKeyEvent>
#include <QLineEdit>
#include <QListWidget>
#include <QPainter>
#include <QVBoxLayout>

#include <algorithm>

namespace studio {

namespace {
constexpr int kKindRole = Qt::UserRole + 1;

QIcon kindIcon(zmqrpc::NodeKind kind) {
    QPixmap pm(16, 16);
    pm.fill(Qt::transparent);
    QPainter p(&pm);
    p.setRenderHint(QPainter::Antialiasing);
    p.setPen(Qt::NoPen);
    p.setBrush(style::kindColor(kind));
    p.drawRoundedRect(QRectF(1, 1, 14, 14), 3, 3);
    p.setPen(Qt::white);
    QFont f = style::titleFont();
    f.setPointSizeF(8);
    p.setFont(f);
    p.drawText(QRectF(1, 1, 14, 14), Qt::AlignCenter, style::kindGlyph(kind));
    return QIcon(pm);
}
}  // namespace

QuickAddPopup::QuickAddPopup(QWidget* parent)
    : QFrame(parent, Qt::Popup), edit_(new QLineEdit(this)), list_(new QListWidget(this)) {
    setFrameShape(QFrame::StyledPanel);
    setAttribute(Qt::WA_DeleteOnClose, false);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(4);
    edit_->setPlaceholderText(tr("Add node\u2026"));
    edit_->setClearButtonEnabled(true);
    layout->addWidget(edit_);
    layout->addWidget(list_);
    list_->setUniformItemSizes(true);
    list_->setFocusPolicy(Qt::NoFocus);
    for (auto kind : zmqrpc::all_node_kinds()) {
        auto* item = new QListWidgetItem(kindIcon(kind),
                                         QStringLiteral("%1  \u2014 %2")
                                             .arg(QString::fromLatin1(zmqrpc::display_name(kind)),
                                                  QString::fromLatin1(zmqrpc::to_string(kind))));
        item->setData(kKindRole, QString::fromLatin1(zmqrpc::to_string(kind)));
        item->setToolTip(QString::fromLatin1(zmqrpc::description(kind)));
        list_->addItem(item);
    }
    setFixedWidth(280);
    connect(edit_, &QLineEdit::textChanged, this, &QuickAddPopup::applyFilter);
    connect(list_, &QListWidget::itemActivated, this, [this] { accept(); });
    connect(list_, &QListWidget::itemClicked, this, [this] { accept(); });
    edit_->installEventFilter(this);
    applyFilter({});
}

void QuickAddPopup::open(QPoint globalPos) {
    edit_->clear();
    applyFilter({});
    move(globalPos);
    show();
    raise();
    activateWindow();
    edit_->setFocus(Qt::PopupFocusReason);
}

QStringList QuickAddPopup::visibleKinds() const {
    QStringList out;
    for (int i = 0; i < list_->count(); ++i) {
        if (!list_->item(i)->isHidden()) out << list_->item(i)->data(kKindRole).toString();
    }
    return out;
}

void QuickAddPopup::applyFilter(const QString& text) {
    const QString needle = text.trimmed();
    QListWidgetItem* first = nullptr;
    for (int i = 0; i < list_->count(); ++i) {
        auto* item = list_->item(i);
        const auto kind =
            zmqrpc::node_kind_from_string(item->data(kKindRole).toString().toStdString());
        const QString name = kind ? QString::fromLatin1(zmqrpc::display_name(*kind)) : QString();
        const bool match = needle.isEmpty() || name.contains(needle, Qt::CaseInsensitive) ||
                           item->data(kKindRole).toString().contains(needle, Qt::CaseInsensitive);
        item->setHidden(!match);
        if (match && first == nullptr) first = item;
    }
    list_->setCurrentItem(first);
    // As tall as what is left, so that the popup shrinks while typing.
    int visible = 0;
    for (int i = 0; i < list_->count(); ++i)
        visible += list_->item(i)->isHidden() ? 0 : 1;
    list_->setFixedHeight(std::max(1, visible) * list_->sizeHintForRow(0) +
                          2 * list_->frameWidth() + 2);
    adjustSize();
}

void QuickAddPopup::accept() {
    QListWidgetItem* item = list_->currentItem();
    if (item == nullptr || item->isHidden()) return;
    const QString kind = item->data(kKindRole).toString();
    hide();
    emit kindChosen(kind);
}

bool QuickAddPopup::eventFilter(QObject* watched, QEvent* event) {
    if (watched == edit_ && event->type() == QEvent::KeyPress) {
        auto* key = static_cast<QKeyEvent*>(event);
        switch (key->key()) {
            case Qt::Key_Return:
            case Qt::Key_Enter:
                accept();
                return true;
            case Qt::Key_Escape:
                hide();
                return true;
            case Qt::Key_Down:
            case Qt::Key_Up: {
                // Move through the visible rows only.
                const int step = key->key() == Qt::Key_Down ? 1 : -1;
                for (int i = list_->currentRow() + step; i >= 0 && i < list_->count(); i += step) {
                    if (!list_->item(i)->isHidden()) {
                        list_->setCurrentRow(i);
                        break;
                    }
                }
                return true;
            }
            default:
                break;
        }
    }
    return QFrame::eventFilter(watched, event);
}

}  // namespace studio
