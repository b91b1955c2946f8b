#include "monitor/tap_model.hpp"

#include <QColor>
#include <QDateTime>
#include <QLocale>

#include <algorithm>

namespace studio {

TapModel::TapModel(QObject* parent, std::size_t capacity)
    : RingTableModel<TapRow>(capacity, parent) {}

int TapModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QString TapModel::timeText(qint64 msecs) {
    return QDateTime::fromMSecsSinceEpoch(msecs).toString(QStringLiteral("HH:mm:ss.zzz"));
}

QString TapModel::previewOf(std::string_view message) {
    // Decode a little more than needed (UTF-8 characters take up to four bytes), then cut.
    const std::size_t bytes = std::min<std::size_t>(message.size(), kPreviewChars * 4);
    QString text = QString::fromUtf8(message.data(), static_cast<qsizetype>(bytes));
    bool cut = bytes < message.size();
    if (text.size() > kPreviewChars) {
        text.truncate(kPreviewChars);
        cut = true;
    }
    for (QChar& c : text) {
        if (c == QLatin1Char('\n') || c == QLatin1Char('\r') || c == QLatin1Char('\t'))
            c = QLatin1Char(' ');
    }
    if (cut) text += QChar(0x2026);
    return text;
}

void TapModel::setFilter(const QString& text) {
    if (text == filter_) return;
    filter_ = text;
    refilter();
}

bool TapModel::accepts(const TapRow& row) const {
    if (filter_.isEmpty()) return true;
    if (row.heartbeat) return QStringLiteral("heartbeat").contains(filter_, Qt::CaseInsensitive);
    return row.preview.contains(filter_, Qt::CaseInsensitive);
}

QVariant TapModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount()) return {};
    const TapRow& row = rowAt(index.row());
    switch (role) {
        case Qt::DisplayRole:
            switch (index.column()) {
                case TimeColumn:
                    return row.time;
                case SizeColumn:
                    return QLocale().formattedDataSize(static_cast<qint64>(row.size), 1,
                                                       QLocale::DataSizeTraditionalFormat);
                case MessageColumn:
                    return row.heartbeat ? QStringLiteral("\u2665 heartbeat") : row.preview;
                case EndpointColumn:
                    return row.endpoint;
                default:
                    return {};
            }
        case Qt::ToolTipRole:
            if (index.column() == MessageColumn && !row.heartbeat) return row.preview;
            if (index.column() == SizeColumn) return tr("%1 bytes").arg(row.size);
            return {};
        case Qt::ForegroundRole:
            if (row.heartbeat) return QColor(128, 128, 128);
            return {};
        case Qt::TextAlignmentRole:
            if (index.column() == SizeColumn)
                return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
            return {};
        case Qt::UserRole:  // for tests and delegates: is this a heartbeat row
            return row.heartbeat;
        default:
            return {};
    }
}

QVariant TapModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
        case TimeColumn:
            return tr("Time");
        case SizeColumn:
            return tr("Size");
        case MessageColumn:
            return tr("Message");
        case EndpointColumn:
            return tr("Endpoint");
        default:
            return {};
    }
}

}  // namespace studio
