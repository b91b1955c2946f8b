// The heartbeat monitor: one row per PUB->SUB link of the document with what the connecting SUB
// socket sees — state (alive, late, dead, waiting for the first message, unmonitored, not
// running), age of the last message, heartbeat timeout, how often the socket was recreated and
// when the link last failed (went late or dead: from the state transitions seen in snapshots and
// from HeartbeatLate/HeartbeatLost events). Failing rows are tinted (amber late, red dead) and
// bold.
//
// HeartbeatModel holds one row per link id; document edits insert, remove or reset rows, while a
// snapshot only changes values (one dataChanged per snapshot), so views neither flicker nor lose
// their selection or sort. GUI thread only. The document and controller are not owned.
#pragma once

#include <zmqrpc/events.hpp>
#include <zmqrpc/runtime.hpp>

#include <QAbstractTableModel>
#include <QDateTime>
#include <QList>
#include <QPointer>
#include <QString>
#include <QWidget>

#include <vector>

class QLabel;
class QSortFilterProxyModel;
class QTableView;

namespace studio {

class EditorDocument;
class RuntimeSource;

class HeartbeatModel : public QAbstractTableModel {
    Q_OBJECT

  public:
    enum Column {
        LinkColumn,
        RouteColumn,  // from → to
        StateColumn,
        AgeColumn,
        TimeoutColumn,
        RecreatesColumn,
        LastFailureColumn,
        ColumnCount
    };
    enum class State { NotRunning, Unmonitored, Waiting, Alive, Late, Dead };
    // Numbers for sorting (ages, counts, times) and the link id of a row.
    static constexpr int SortRole = Qt::UserRole + 1;
    static constexpr int LinkIdRole = Qt::UserRole + 2;

    explicit HeartbeatModel(EditorDocument* doc, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    // Runtime overlay: values only, never rows.
    void applySnapshot(const zmqrpc::RuntimeSnapshot& snapshot);
    void addEvents(const QList<zmqrpc::Event>& events);

    int rowOf(const QString& linkId) const;  // -1 when not listed
    QString linkIdAt(int row) const;
    State stateAt(int row) const;
    quint64 recreatesAt(int row) const;
    QDateTime lastFailureAt(int row) const;
    static QString stateText(State state);
    static bool isFailure(State state) { return state == State::Late || state == State::Dead; }

  private:
    struct Row {
        QString linkId;
        QString fromNode, toNode;
        double configuredTimeout = 0;  // seconds, from the document
        // From the last snapshot:
        State state = State::NotRunning;
        std::string endpoint;
        double age = 0, timeout = 0;
        quint64 recreates = 0;
        QString connection;
        QDateTime lastFailure;
    };
    bool isPubSub(const QString& linkId) const;
    Row makeRow(const QString& linkId) const;
    void rebuild();
    void onLinkAdded(const QString& id);
    void onLinkRemoved(const QString& id);
    void onLinkChanged(const QString& id);
    void onNodeChanged(const QString& id);

    QPointer<EditorDocument> doc_;
    std::vector<Row> rows_;
};

class HeartbeatMonitorWidget : public QWidget {
    Q_OBJECT

  public:
    HeartbeatMonitorWidget(EditorDocument* doc, RuntimeSource* runtime, QWidget* parent = nullptr);

    HeartbeatModel* model() const noexcept { return model_; }
    QTableView* view() const noexcept { return view_; }
    // "3 links · 2 alive · 1 dead"
    QString summaryText() const;

  signals:
    // A row was double-clicked (the main window selects the link on the canvas).
    void linkActivated(const QString& linkId);

  private:
    void updateSummary();

    HeartbeatModel* model_ = nullptr;
    QSortFilterProxyModel* proxy_ = nullptr;
    QTableView* view_ = nullptr;
    QLabel* summary_ = nullptr;
};

}  // namespace studio
