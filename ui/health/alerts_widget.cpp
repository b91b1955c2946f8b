#include "health/alerts_widget.hpp"

#include "document/editor_document.hpp"
#include "runtime/runtime_source.hpp"

#include "monitor/table_style.hpp"

#include <QBrush>
#include <QCheckBox>
#include <QColor>
#include <QDoubleSpinBox>
#include <QFont>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

namespace studio {

namespace {

const QColor kActiveTint(0xf6, 0xc6, 0xc6);

QString subjectText(const Alert& a) {
    return (a.subjectIsLink ? AlertsModel::tr("link %1") : AlertsModel::tr("node %1"))
        .arg(a.subject);
}

}  // namespace

// ---- AlertsModel -----------------------------------------------------------------------------

AlertsModel::AlertsModel(AlertRules* rules, QObject* parent)
    : QAbstractTableModel(parent), rules_(rules) {
    for (const auto& a : rules_->alerts())
        ids_.prepend(a.id);
    connect(rules_, &AlertRules::alertRaised, this, [this](quint64 id) {
        beginInsertRows({}, 0, 0);
        ids_.prepend(id);
        endInsertRows();
    });
    connect(rules_, &AlertRules::alertRemoved, this, [this](quint64 id) {
        const int row = rowOf(id);
        if (row < 0) return;
        beginRemoveRows({}, row, row);
        ids_.removeAt(row);
        endRemoveRows();
    });
    connect(rules_, &AlertRules::alertChanged, this, [this](quint64 id) {
        const int row = rowOf(id);
        if (row >= 0) emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
    });
}

int AlertsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(ids_.size());
}

int AlertsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QString AlertsModel::stateText(const Alert& alert) {
    QString s = alert.active ? tr("active") : tr("cleared");
    if (alert.acknowledged) s += tr(", acknowledged");
    return s;
}

QVariant AlertsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
        case TimeColumn:
            return tr("Time");
        case RuleColumn:
            return tr("Rule");
        case SubjectColumn:
            return tr("Subject");
        case TextColumn:
            return tr("Text");
        case StateColumn:
            return tr("State");
        default:
            return {};
    }
}

QVariant AlertsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= ids_.size()) return {};
    const Alert* a = rules_->alert(ids_.at(index.row()));
    if (a == nullptr) return {};
    switch (role) {
        case AlertIdRole:
            return a->id;
        case Qt::BackgroundRole:
            return a->active && !a->acknowledged ? QVariant(QBrush(kActiveTint)) : QVariant();
        case Qt::ForegroundRole:
            if (a->active && !a->acknowledged) return QBrush(Qt::black);
            return a->active ? QVariant() : QVariant(QBrush(QColor(0x80, 0x80, 0x80)));
        case Qt::FontRole: {
            if (a->acknowledged) return {};
            QFont bold;
            bold.setBold(true);
            return bold;
        }
        case Qt::ToolTipRole:
            return tr("%1 — %2\n%3\nfirst seen %4, last seen %5")
                .arg(alertRuleName(a->rule), subjectText(*a), a->text,
                     a->firstSeen.toLocalTime().toString(QStringLiteral("HH:mm:ss")),
                     a->lastSeen.toLocalTime().toString(QStringLiteral("HH:mm:ss")));
        case Qt::DisplayRole:
            break;
        default:
            return {};
    }
    switch (index.column()) {
        case TimeColumn:
            return a->firstSeen.toLocalTime().toString(QStringLiteral("HH:mm:ss"));
        case RuleColumn:
            return alertRuleName(a->rule);
        case SubjectColumn:
            return subjectText(*a);
        case TextColumn:
            return a->text;
        case StateColumn:
            return stateText(*a);
        default:
            return {};
    }
}

// ---- AlertsWidget ----------------------------------------------------------------------------

AlertsWidget::AlertsWidget(RuntimeSource* runtime, QWidget* parent)
    : QWidget(parent), rules_(new AlertRules(this)) {
    rules_->setSettings(AlertSettings::load());
    model_ = new AlertsModel(rules_, this);

    view_ = new QTableView(this);
    view_->setObjectName(QStringLiteral("alertsView"));
    view_->setModel(model_);
    styleLogTable(view_, {{AlertsModel::TimeColumn, 10},
                          {AlertsModel::RuleColumn, 20},
                          {AlertsModel::SubjectColumn, 26},
                          {AlertsModel::TextColumn, 52}});
    view_->setSelectionMode(QAbstractItemView::ExtendedSelection);

    badge_ = new QLabel(this);
    badge_->setObjectName(QStringLiteral("alertBadge"));
    ackButton_ = new QPushButton(tr("Acknowledge"), this);
    ackButton_->setObjectName(QStringLiteral("alertAcknowledge"));
    ackAllButton_ = new QPushButton(tr("Acknowledge all"), this);
    ackAllButton_->setObjectName(QStringLiteral("alertAcknowledgeAll"));
    settingsButton_ = new QToolButton(this);
    settingsButton_->setObjectName(QStringLiteral("alertSettingsToggle"));
    settingsButton_->setText(tr("Thresholds"));
    settingsButton_->setCheckable(true);
    settingsButton_->setToolTip(tr("Show the rules and their thresholds"));

    // The thresholds form: one line per rule, its switch and its threshold.
    settingsBox_ = new QGroupBox(tr("Alert rules"), this);
    settingsBox_->setObjectName(QStringLiteral("alertSettings"));
    missedEnabled_ = new QCheckBox(tr("Missed heartbeats"), settingsBox_);
    missedEnabled_->setObjectName(QStringLiteral("alertMissedEnabled"));
    missedCount_ = new QSpinBox(settingsBox_);
    missedCount_->setObjectName(QStringLiteral("alertMissedCount"));
    missedCount_->setRange(1, 1000);
    missedCount_->setSuffix(tr(" heartbeats"));
    missedCount_->setToolTip(
        tr("Silent for more than this many of the publisher's heartbeat "
           "intervals, or dead (silent for the link's whole timeout)"));
    queueEnabled_ = new QCheckBox(tr("Queue filling"), settingsBox_);
    queueEnabled_->setObjectName(QStringLiteral("alertQueueEnabled"));
    queuePercent_ = new QSpinBox(settingsBox_);
    queuePercent_->setObjectName(QStringLiteral("alertQueuePercent"));
    queuePercent_->setRange(1, 100);
    queuePercent_->setSuffix(tr(" % of capacity"));
    rateEnabled_ = new QCheckBox(tr("No traffic"), settingsBox_);
    rateEnabled_->setObjectName(QStringLiteral("alertRateEnabled"));
    rateSeconds_ = new QDoubleSpinBox(settingsBox_);
    rateSeconds_->setObjectName(QStringLiteral("alertRateSeconds"));
    rateSeconds_->setRange(0.5, 86400);
    rateSeconds_->setDecimals(1);
    rateSeconds_->setSuffix(tr(" s at zero"));
    rateSeconds_->setToolTip(
        tr("A running node's rate (input; output for samplers) at zero "
           "for this long"));
    credentialsEnabled_ = new QCheckBox(tr("Credentials refused"), settingsBox_);
    credentialsEnabled_->setObjectName(QStringLiteral("alertCredentialsEnabled"));
    auto* form = new QFormLayout(settingsBox_);
    form->setFieldGrowthPolicy(QFormLayout::FieldsStayAtSizeHint);
    form->addRow(missedEnabled_, missedCount_);
    form->addRow(queueEnabled_, queuePercent_);
    form->addRow(rateEnabled_, rateSeconds_);
    form->addRow(credentialsEnabled_);
    settingsBox_->setVisible(false);
    showSettings(rules_->settings());

    auto* bar = new QHBoxLayout;
    bar->setContentsMargins(0, 0, 0, 0);
    bar->addWidget(badge_, 1);
    bar->addWidget(settingsButton_);
    bar->addWidget(ackButton_);
    bar->addWidget(ackAllButton_);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(4);
    layout->addLayout(bar);
    layout->addWidget(settingsBox_);
    layout->addWidget(view_, 1);

    connect(ackButton_, &QPushButton::clicked, this, &AlertsWidget::acknowledgeSelected);
    connect(ackAllButton_, &QPushButton::clicked, this, &AlertsWidget::acknowledgeAll);
    connect(settingsButton_, &QToolButton::toggled, settingsBox_, &QWidget::setVisible);
    for (auto* box : {missedEnabled_, queueEnabled_, rateEnabled_, credentialsEnabled_})
        connect(box, &QCheckBox::toggled, this, &AlertsWidget::formChanged);
    connect(missedCount_, &QSpinBox::valueChanged, this, &AlertsWidget::formChanged);
    connect(queuePercent_, &QSpinBox::valueChanged, this, &AlertsWidget::formChanged);
    connect(rateSeconds_, &QDoubleSpinBox::valueChanged, this, &AlertsWidget::formChanged);
    connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &AlertsWidget::updateButtons);

    connect(rules_, &AlertRules::alertRaised, this, [this](quint64 id) {
        if (const Alert* a = rules_->alert(id)) {
            emit alertRaised(QStringLiteral("%1 — %2: %3")
                                 .arg(alertRuleName(a->rule), subjectText(*a), a->text));
        }
        updateBadge();
    });
    connect(rules_, &AlertRules::alertChanged, this, &AlertsWidget::updateBadge);
    connect(rules_, &AlertRules::alertRemoved, this, &AlertsWidget::updateBadge);

    if (runtime != nullptr) {
        connect(runtime, &RuntimeSource::snapshotUpdated, this,
                [this, runtime] { rules_->evaluate(runtime->snapshot()); });
        connect(runtime, &RuntimeSource::eventsArrived, rules_, &AlertRules::addEvents);
    }
    updateBadge();
}

void AlertsWidget::setDocument(EditorDocument* doc) {
    if (doc_) disconnect(doc_, nullptr, this, nullptr);
    doc_ = doc;
    if (doc != nullptr) {
        for (auto signal : {&EditorDocument::linkAdded, &EditorDocument::linkRemoved,
                            &EditorDocument::linkChanged, &EditorDocument::nodeChanged,
                            &EditorDocument::nodeRemoved})
            connect(doc, signal, this, &AlertsWidget::updateTopology);
        connect(doc, &EditorDocument::documentReset, this, &AlertsWidget::updateTopology);
    }
    updateTopology();
}

void AlertsWidget::updateTopology() {
    rules_->setTopology(doc_ ? doc_->topology() : zmqrpc::Topology());
}

int AlertsWidget::unacknowledgedCount() const {
    return rules_->unacknowledgedCount();
}

QString AlertsWidget::badgeText() const {
    const int n = unacknowledgedCount();
    if (n == 0) return tr("No alerts");
    return n == 1 ? tr("1 alert") : tr("%1 alerts").arg(n);
}

void AlertsWidget::updateBadge() {
    const int n = unacknowledgedCount();
    badge_->setText(badgeText());
    // The badge carries the colour only while something waits for a human.
    badge_->setStyleSheet(n > 0 ? QStringLiteral("QLabel { color: #b00020; font-weight: bold; }")
                                : QString());
    updateButtons();
    if (n != lastCount_) {
        lastCount_ = n;
        emit countChanged(n);
    }
}

void AlertsWidget::updateButtons() {
    bool selectedUnacked = false;
    for (const auto& index : view_->selectionModel()->selectedRows()) {
        const Alert* a = rules_->alert(model_->alertIdAt(index.row()));
        if (a != nullptr && !a->acknowledged) selectedUnacked = true;
    }
    ackButton_->setEnabled(selectedUnacked);
    ackAllButton_->setEnabled(unacknowledgedCount() > 0);
}

void AlertsWidget::acknowledgeSelected() {
    QList<quint64> ids;
    for (const auto& index : view_->selectionModel()->selectedRows())
        ids.append(model_->alertIdAt(index.row()));
    for (quint64 id : ids)
        rules_->acknowledge(id);
    updateBadge();
}

void AlertsWidget::acknowledgeAll() {
    rules_->acknowledgeAll();
    updateBadge();
}

void AlertsWidget::setSettings(const AlertSettings& settings) {
    rules_->setSettings(settings);
    settings.save();
    showSettings(settings);
}

void AlertsWidget::showSettings(const AlertSettings& s) {
    updatingForm_ = true;
    missedEnabled_->setChecked(s.missedHeartbeatsEnabled);
    missedCount_->setValue(s.missedHeartbeats);
    queueEnabled_->setChecked(s.queueEnabled);
    queuePercent_->setValue(s.queuePercent);
    rateEnabled_->setChecked(s.rateZeroEnabled);
    rateSeconds_->setValue(s.rateZeroSeconds);
    credentialsEnabled_->setChecked(s.credentialsEnabled);
    missedCount_->setEnabled(s.missedHeartbeatsEnabled);
    queuePercent_->setEnabled(s.queueEnabled);
    rateSeconds_->setEnabled(s.rateZeroEnabled);
    updatingForm_ = false;
}

void AlertsWidget::formChanged() {
    if (updatingForm_) return;
    AlertSettings s;
    s.missedHeartbeatsEnabled = missedEnabled_->isChecked();
    s.missedHeartbeats = missedCount_->value();
    s.queueEnabled = queueEnabled_->isChecked();
    s.queuePercent = queuePercent_->value();
    s.rateZeroEnabled = rateEnabled_->isChecked();
    s.rateZeroSeconds = rateSeconds_->value();
    s.credentialsEnabled = credentialsEnabled_->isChecked();
    setSettings(s);
}

}  // namespace studio
