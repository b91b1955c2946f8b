// The alerts dock: what AlertRules raised, newest first (time, rule, subject, text, state), with
// Acknowledge / Acknowledge all, a count badge and a small form for the rules' thresholds
// (persisted in QSettings "alerts/..."). New alerts are announced with alertRaised(text), which
// the main window turns into a tray notification or a status-bar message.
//
// AlertsModel lists alert ids and reads the alerts from the rules, so each rule change is one
// row insert, remove or dataChanged — never a reset. GUI thread only. Owns its rules; the
// controller and document are not owned.
#pragma once

#include "health/alert_rules.hpp"

#include <QAbstractTableModel>
#include <QList>
#include <QPointer>
#include <QWidget>

class QCheckBox;
class QDoubleSpinBox;
class QGroupBox;
class QLabel;
class QPushButton;
class QSpinBox;
class QTableView;
class QToolButton;

namespace studio {

class EditorDocument;
class RuntimeSource;

class AlertsModel : public QAbstractTableModel {
    Q_OBJECT

  public:
    enum Column { TimeColumn, RuleColumn, SubjectColumn, TextColumn, StateColumn, ColumnCount };
    static constexpr int AlertIdRole = Qt::UserRole + 1;

    explicit AlertsModel(AlertRules* rules, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    quint64 alertIdAt(int row) const { return ids_.at(row); }
    int rowOf(quint64 id) const { return static_cast<int>(ids_.indexOf(id)); }
    static QString stateText(const Alert& alert);  // "active", "cleared, acknowledged", ...

  private:
    AlertRules* rules_;
    QList<quint64> ids_;  // newest first
};

class AlertsWidget : public QWidget {
    Q_OBJECT

  public:
    explicit AlertsWidget(RuntimeSource* runtime, QWidget* parent = nullptr);

    // The document being run: the missed-heartbeats rule reads the publishers' heartbeat
    // intervals from it. Without one, a link counts as missing heartbeats once it is dead.
    void setDocument(EditorDocument* doc);

    AlertRules* rules() const noexcept { return rules_; }
    AlertsModel* model() const noexcept { return model_; }
    QTableView* view() const noexcept { return view_; }

    int unacknowledgedCount() const;
    // "No alerts", "1 alert", "3 alerts" (unacknowledged ones).
    QString badgeText() const;

    // Acknowledges the selected alerts / every alert.
    void acknowledgeSelected();
    void acknowledgeAll();

    // Applies and persists new thresholds (the form follows).
    void setSettings(const AlertSettings& settings);

  signals:
    // A new alert: "Missed heartbeats — link a-to-b: dead: ...".
    void alertRaised(const QString& text);
    // The badge changed (unacknowledged count).
    void countChanged(int unacknowledged);

  private:
    void updateTopology();
    void updateBadge();
    void updateButtons();
    void formChanged();
    void showSettings(const AlertSettings& settings);

    AlertRules* rules_ = nullptr;
    AlertsModel* model_ = nullptr;
    QPointer<EditorDocument> doc_;
    QTableView* view_ = nullptr;
    QLabel* badge_ = nullptr;
    QPushButton* ackButton_ = nullptr;
    QPushButton* ackAllButton_ = nullptr;
    QToolButton* settingsButton_ = nullptr;
    QGroupBox* settingsBox_ = nullptr;
    QCheckBox* missedEnabled_ = nullptr;
    QSpinBox* missedCount_ = nullptr;
    QCheckBox* queueEnabled_ = nullptr;
    QSpinBox* queuePercent_ = nullptr;
    QCheckBox* rateEnabled_ = nullptr;
    QDoubleSpinBox* rateSeconds_ = nullptr;
    QCheckBox* credentialsEnabled_ = nullptr;
    bool updatingForm_ = false;
    int lastCount_ = -1;
};

}  // namespace studio
