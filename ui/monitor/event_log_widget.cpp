#include "monitor/event_log_widget.hpp"

#include "monitor/event_log_model.hpp"
#include "runtime/runtime_source.hpp"

#include "monitor/table_style.hpp"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QKeyEvent>
#include <QKeySequence>
#include <QLabel>
#include <QLineEdit>
#include <QScrollBar>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

namespace studio {

namespace {

// Every kind, in the order of the enum (the kind filter's items).
const std::vector<zmqrpc::EventKind>& allKinds() {
    static const std::vector<zmqrpc::EventKind> kinds = [] {
        std::vector<zmqrpc::EventKind> out;
        for (int i = 0;; ++i) {
            const auto kind = static_cast<zmqrpc::EventKind>(i);
            const auto parsed = zmqrpc::event_kind_from_string(zmqrpc::to_string(kind));
            if (!parsed || *parsed != kind) break;
            out.push_back(kind);
        }
        return out;
    }();
    return kinds;
}

}  // namespace

EventLogWidget::EventLogWidget(RuntimeSource* runtime, QWidget* parent)
    : QWidget(parent), model_(new EventLogModel(this)) {
    nodeCombo_ = new QComboBox(this);
    nodeCombo_->setObjectName(QStringLiteral("eventNodeFilter"));
    nodeCombo_->addItem(tr("All nodes"), QString());
    nodeCombo_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    nodeCombo_->setMinimumContentsLength(10);

    kindCombo_ = new QComboBox(this);
    kindCombo_->setObjectName(QStringLiteral("eventKindFilter"));
    kindCombo_->addItem(tr("All kinds"), -1);
    for (auto kind : allKinds())
        kindCombo_->addItem(QString::fromLatin1(zmqrpc::to_string(kind)), static_cast<int>(kind));

    textFilter_ = new QLineEdit(this);
    textFilter_->setObjectName(QStringLiteral("eventTextFilter"));
    textFilter_->setPlaceholderText(tr("Filter text…"));
    textFilter_->setClearButtonEnabled(true);

    followButton_ = new QToolButton(this);
    followButton_->setObjectName(QStringLiteral("eventFollow"));
    followButton_->setText(tr("Follow"));
    followButton_->setCheckable(true);
    followButton_->setChecked(true);
    followButton_->setToolTip(tr("Keep the newest event in view"));

    pauseButton_ = new QToolButton(this);
    pauseButton_->setObjectName(QStringLiteral("eventPause"));
    pauseButton_->setText(tr("Pause"));
    pauseButton_->setCheckable(true);
    pauseButton_->setToolTip(tr("Hold new events aside until resumed"));

    auto* copyButton = new QToolButton(this);
    copyButton->setObjectName(QStringLiteral("eventCopy"));
    copyButton->setText(tr("Copy"));
    copyButton->setToolTip(tr("Copy the selected rows (Ctrl+C)"));
    auto* clearButton = new QToolButton(this);
    clearButton->setObjectName(QStringLiteral("eventClear"));
    clearButton->setText(tr("Clear"));

    status_ = new QLabel(this);
    status_->setObjectName(QStringLiteral("eventStatus"));

    view_ = new QTableView(this);
    view_->setObjectName(QStringLiteral("eventView"));
    view_->setModel(model_);
    styleLogTable(view_, {{EventLogModel::TimeColumn, 14},
                          {EventLogModel::NodeColumn, 16},
                          {EventLogModel::KindColumn, 20},
                          {EventLogModel::EndpointColumn, 24}});
    view_->setSelectionMode(QAbstractItemView::ExtendedSelection);

    auto* copyAction = new QAction(tr("Copy"), view_);
    copyAction->setShortcut(QKeySequence::Copy);
    copyAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    view_->addAction(copyAction);
    // QTableView answers Ctrl+C itself with the current cell only, and the action's shortcut
    // needs an active window: the filter makes Ctrl+C copy whole rows in every case.
    view_->installEventFilter(this);
    view_->setContextMenuPolicy(Qt::ActionsContextMenu);
    connect(copyAction, &QAction::triggered, this, &EventLogWidget::copySelection);

    auto* bar = new QHBoxLayout;
    bar->setContentsMargins(0, 0, 0, 0);
    bar->addWidget(nodeCombo_);
    bar->addWidget(kindCombo_);
    bar->addWidget(textFilter_, 1);
    bar->addWidget(followButton_);
    bar->addWidget(pauseButton_);
    bar->addWidget(copyButton);
    bar->addWidget(clearButton);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(4);
    layout->addLayout(bar);
    layout->addWidget(view_, 1);
    layout->addWidget(status_);

    connect(model_, &EventLogModel::sourceSeen, this, [this](const QString& source) {
        // Sorted, after "All nodes".
        int at = 1;
        while (at < nodeCombo_->count() &&
               QString::localeAwareCompare(nodeCombo_->itemText(at), source) < 0)
            ++at;
        nodeCombo_->insertItem(at, source, source);
    });
    connect(model_, &EventLogModel::appended, this, [this] {
        updateStatus();
        scrollIfFollowing();
    });
    connect(model_, &QAbstractItemModel::modelReset, this, &EventLogWidget::updateStatus);
    connect(nodeCombo_, &QComboBox::currentIndexChanged, this, &EventLogWidget::applyFilter);
    connect(kindCombo_, &QComboBox::currentIndexChanged, this, &EventLogWidget::applyFilter);
    connect(textFilter_, &QLineEdit::textChanged, this, &EventLogWidget::applyFilter);
    connect(followButton_, &QToolButton::toggled, this, &EventLogWidget::setFollowing);
    connect(pauseButton_, &QToolButton::toggled, this, &EventLogWidget::setPaused);
    connect(copyButton, &QToolButton::clicked, this, &EventLogWidget::copySelection);
    connect(clearButton, &QToolButton::clicked, this, &EventLogWidget::clear);
    // Scrolling up stops following; scrolling back to the bottom resumes it.
    connect(view_->verticalScrollBar(), &QScrollBar::valueChanged, this, [this](int value) {
        if (autoScrolling_) return;
        setFollowing(value >= view_->verticalScrollBar()->maximum());
    });

    if (runtime != nullptr) {
        connect(runtime, &RuntimeSource::eventsArrived, this, &EventLogWidget::addEvents);
    }
    updateStatus();
}

bool EventLogWidget::eventFilter(QObject* watched, QEvent* event) {
    if (watched == view_ && event->type() == QEvent::KeyPress &&
        static_cast<QKeyEvent*>(event)->matches(QKeySequence::Copy)) {
        copySelection();
        return true;
    }
    return QWidget::eventFilter(watched, event);
}

void EventLogWidget::addEvents(const QList<zmqrpc::Event>& events) {
    if (!paused_) {
        model_->append(events);
        return;
    }
    pending_.append(events);
    const auto cap = static_cast<qsizetype>(model_->capacity());
    if (pending_.size() > cap) {
        pendingDropped_ += static_cast<qulonglong>(pending_.size() - cap);
        pending_.erase(pending_.begin(), pending_.begin() + (pending_.size() - cap));
    }
    updateStatus();
}

void EventLogWidget::setPaused(bool paused) {
    if (paused == paused_) return;
    paused_ = paused;
    if (pauseButton_->isChecked() != paused) pauseButton_->setChecked(paused);
    pauseButton_->setText(paused ? tr("Resume") : tr("Pause"));
    if (!paused && !pending_.isEmpty()) {
        QList<zmqrpc::Event> batch;
        batch.swap(pending_);
        model_->append(batch);
    }
    pendingDropped_ = 0;
    updateStatus();
}

void EventLogWidget::setFollowing(bool follow) {
    if (follow == follow_) return;
    follow_ = follow;
    if (followButton_->isChecked() != follow) followButton_->setChecked(follow);
    scrollIfFollowing();
}

void EventLogWidget::scrollIfFollowing() {
    if (!follow_) return;
    autoScrolling_ = true;
    view_->scrollToBottom();
    autoScrolling_ = false;
}

void EventLogWidget::applyFilter() {
    const QString node = nodeCombo_->currentData().toString();
    const int kindValue = kindCombo_->currentData().toInt();
    std::optional<zmqrpc::EventKind> kind;
    if (kindValue >= 0) kind = static_cast<zmqrpc::EventKind>(kindValue);
    model_->setFilter(node, kind, textFilter_->text());
    scrollIfFollowing();
}

void EventLogWidget::copySelection() {
    QList<int> rows;
    for (const auto& index : view_->selectionModel()->selectedRows())
        rows.append(index.row());
    std::sort(rows.begin(), rows.end());
    if (rows.isEmpty()) return;
    QApplication::clipboard()->setText(model_->rowsAsText(rows));
}

void EventLogWidget::clear() {
    pending_.clear();
    pendingDropped_ = 0;
    model_->clear();
    updateStatus();
}

QString EventLogWidget::statusText() const {
    const int shown = model_->rowCount();
    const auto kept = static_cast<qulonglong>(model_->keptRows());
    QString text = static_cast<qulonglong>(shown) == kept
                       ? (shown == 1 ? tr("1 event") : tr("%1 events").arg(shown))
                       : tr("%1 of %2 events").arg(shown).arg(kept);
    if (model_->dropped() > 0) {
        text += QStringLiteral(" · ") +
                tr("%1 older events dropped").arg(static_cast<qulonglong>(model_->dropped()));
    }
    if (paused_) {
        text += QStringLiteral(" · ") + tr("paused, %1 new held").arg(pending_.size());
        if (pendingDropped_ > 0) text += tr(" (%1 dropped)").arg(pendingDropped_);
    }
    return text;
}

void EventLogWidget::updateStatus() {
    status_->setText(statusText());
}

}  // namespace studio
