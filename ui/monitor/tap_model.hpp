// The tap view's rows: messages seen on a PUB endpoint (or kept by a tap node), in a bounded ring
// with a substring filter. Heartbeat rows are shown grey with a heart. Appended in batches.
//
// GUI thread only.
#pragma once

#include "monitor/ring_table_model.hpp"

#include <QString>

#include <string_view>
#include <vector>

namespace studio {

struct TapRow {
    qint64 msecs = 0;  // since the epoch
    QString time;      // local, "HH:mm:ss.zzz"
    qulonglong size = 0;
    QString preview;  // single line, at most kPreviewChars characters
    QString endpoint;
    bool heartbeat = false;
};

class TapModel : public RingTableModel<TapRow> {
    Q_OBJECT

  public:
    enum Column { TimeColumn, SizeColumn, MessageColumn, EndpointColumn, ColumnCount };
    static constexpr std::size_t kDefaultCapacity = 2000;
    static constexpr int kPreviewChars = 200;

    explicit TapModel(QObject* parent = nullptr, std::size_t capacity = kDefaultCapacity);

    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    void append(std::vector<TapRow> rows) { appendRows(std::move(rows)); }
    // A case-insensitive substring of the message (heartbeats match "heartbeat").
    void setFilter(const QString& text);

    // The single-line preview of a message: its first kPreviewChars characters, line breaks and
    // tabs shown as spaces, with "…" when cut.
    static QString previewOf(std::string_view message);
    static QString timeText(qint64 msecs);

  protected:
    bool accepts(const TapRow& row) const override;

  private:
    QString filter_;
};

}  // namespace studio
