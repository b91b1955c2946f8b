// The event log's rows: every runtime event kept in a bounded ring (oldest dropped and counted),
// with a filter by node, kind and free text (case-insensitive, over every column). Events are
// appended in batches -- one insertion per batch -- so that thousands per second stay cheap.
// Texts are converted once, on arrival; the view asks only for the rows it paints.
//
// GUI thread only.
#pragma once

#include "monitor/ring_table_model.hpp"

#include <zmqrpc/events.hpp>

#include <QList>
#include <QSet>
#include <QString>

#include <optional>
#include <vector>

namespace studio {

struct EventLogRow {
    enum class Tone { Normal, Bad, Late, Good };
    qint64 msecs = 0;  // since the epoch
    QString time;      // local, "HH:mm:ss.zzz"
    QString node;
    zmqrpc::EventKind kind = zmqrpc::EventKind::Error;
    QString kindText;
    QString endpoint;
    QString text;
    Tone tone = Tone::Normal;
};

class EventLogModel : public RingTableModel<EventLogRow> {
    Q_OBJECT

  public:
    enum Column { TimeColumn, NodeColumn, KindColumn, EndpointColumn, TextColumn, ColumnCount };
    static constexpr std::size_t kDefaultCapacity = 10000;

    explicit EventLogModel(QObject* parent = nullptr, std::size_t capacity = kDefaultCapacity);

    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    // Appends one batch (one row insertion for all the rows that pass the filter).
    void append(const QList<zmqrpc::Event>& events);
    void append(const std::vector<zmqrpc::Event>& events);

    // Empty node: every node. No kind: every kind. Text: a case-insensitive substring of any
    // column.
    void setFilter(const QString& node, std::optional<zmqrpc::EventKind> kind, const QString& text);
    // Every source seen so far (for the node filter), in order of appearance.
    const QStringList& sources() const noexcept { return sources_; }

    // The rows as tab-separated lines (time, node, kind, endpoint, text).
    QString rowsAsText(const QList<int>& rows) const;

    static EventLogRow::Tone toneOf(zmqrpc::EventKind kind, const QString& text);
    static EventLogRow makeRow(const zmqrpc::Event& event);

  signals:
    // A batch was appended (rows may have been dropped too).
    void appended();
    void sourceSeen(const QString& source);

  protected:
    bool accepts(const EventLogRow& row) const override;

  private:
    void appendRows(std::vector<EventLogRow> rows);

    QString nodeFilter_;
    std::optional<zmqrpc::EventKind> kindFilter_;
    QString textFilter_;
    QStringList sources_;
    QSet<QString> sourceSet_;
};

}  // namespace studio
