#include "monitor/event_log_model.hpp"

#include <QBrush>
#include <QColor>
#include <QDateTime>

#include <chrono>

namespace studio {

using zmqrpc::EventKind;

EventLogModel::EventLogModel(QObject* parent, std::size_t capacity)
    : RingTableModel<EventLogRow>(capacity, parent) {}

int EventLogModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

EventLogRow::Tone EventLogModel::toneOf(EventKind kind, const QString& text) {
    switch (kind) {
        case EventKind::HeartbeatLost:
        case EventKind::CredentialsRefused:
        case EventKind::HandshakeFailed:
        case EventKind::RequestFailed:
        case EventKind::StoreError:
        case EventKind::Error:
            return EventLogRow::Tone::Bad;
        case EventKind::StateChanged:
            return text.startsWith(QLatin1String("failed")) ? EventLogRow::Tone::Bad
                                                            : EventLogRow::Tone::Normal;
        case EventKind::HeartbeatLate:
        case EventKind::QueueFull:
        case EventKind::BadMessage:
            return EventLogRow::Tone::Late;
        case EventKind::HeartbeatRecovered:
        case EventKind::QueueDrained:
            return EventLogRow::Tone::Good;
        default:
            return EventLogRow::Tone::Normal;
    }
}

EventLogRow EventLogModel::makeRow(const zmqrpc::Event& event) {
    EventLogRow row;
    row.msecs = std::chrono::duration_cast<std::chrono::milliseconds>(event.time.time_since_epoch())
                    .count();
    row.time = QDateTime::fromMSecsSinceEpoch(row.msecs).toString(QStringLiteral("HH:mm:ss.zzz"));
    row.node = QString::fromStdString(event.source);
    row.kind = event.kind;
    row.kindText = QString::fromLatin1(zmqrpc::to_string(event.kind));
    row.endpoint = QString::fromStdString(event.endpoint);
    row.text = QString::fromStdString(event.text);
    row.tone = toneOf(event.kind, row.text);
    return row;
}

void EventLogModel::append(const QList<zmqrpc::Event>& events) {
    std::vector<EventLogRow> rows;
    rows.reserve(static_cast<std::size_t>(events.size()));
    for (const auto& e : events)
        rows.push_back(makeRow(e));
    appendRows(std::move(rows));
}

void EventLogModel::append(const std::vector<zmqrpc::Event>& events) {
    std::vector<EventLogRow> rows;
    rows.reserve(events.size());
    for (const auto& e : events)
        rows.push_back(makeRow(e));
    appendRows(std::move(rows));
}

void EventLogModel::appendRows(std::vector<EventLogRow> rows) {
    if (rows.empty()) return;
    QStringList fresh;
    for (const auto& r : rows) {
        if (!r.node.isEmpty() && !sourceSet_.contains(r.node)) {
            sourceSet_.insert(r.node);
            sources_.append(r.node);
            fresh.append(r.node);
        }
    }
    RingTableModel<EventLogRow>::appendRows(std::move(rows));
    for (const auto& s : fresh)
        emit sourceSeen(s);
    emit appended();
}

void EventLogModel::setFilter(const QString& node, std::optional<EventKind> kind,
                              const QString& text) {
    if (node == nodeFilter_ && kind == kindFilter_ && text == textFilter_) return;
    nodeFilter_ = node;
    kindFilter_ = kind;
    textFilter_ = text;
    refilter();
}

bool EventLogModel::accepts(const EventLogRow& row) const {
    if (!nodeFilter_.isEmpty() && row.node != nodeFilter_) return false;
    if (kindFilter_ && row.kind != *kindFilter_) return false;
    if (textFilter_.isEmpty()) return true;
    for (const QString* field : {&row.time, &row.node, &row.kindText, &row.endpoint, &row.text}) {
        if (field->contains(textFilter_, Qt::CaseInsensitive)) return true;
    }
    return false;
}

QVariant EventLogModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount()) return {};
    const EventLogRow& row = rowAt(index.row());
    switch (role) {
        case Qt::DisplayRole:
            switch (index.column()) {
                case TimeColumn:
                    return row.time;
                case NodeColumn:
                    return row.node;
                case KindColumn:
                    return row.kindText;
                case EndpointColumn:
                    return row.endpoint;
                case TextColumn:
                    return row.text;
                default:
                    return {};
            }
        case Qt::ToolTipRole:
            if (index.column() == TimeColumn) {
                return QDateTime::fromMSecsSinceEpoch(row.msecs).toString(Qt::ISODateWithMs);
            }
            if (index.column() == TextColumn) return row.text;
            return {};
        case Qt::BackgroundRole:
            // Translucent tints read on light and dark palettes alike.
            switch (row.tone) {
                case EventLogRow::Tone::Bad:
                    return QBrush(QColor(230, 60, 50, 70));
                case EventLogRow::Tone::Late:
                    return QBrush(QColor(245, 170, 20, 80));
                case EventLogRow::Tone::Good:
                    return QBrush(QColor(60, 180, 75, 70));
                default:
                    return {};
            }
        default:
            return {};
    }
}

QVariant EventLogModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
        case TimeColumn:
            return tr("Time");
        case NodeColumn:
            return tr("Node");
        case KindColumn:
            return tr("Kind");
        case EndpointColumn:
            return tr("Endpoint");
        case TextColumn:
            return tr("Text");
        default:
            return {};
    }
}

QString EventLogModel::rowsAsText(const QList<int>& rowList) const {
    QStringList lines;
    for (int r : rowList) {
        if (r < 0 || r >= rowCount()) continue;
        const EventLogRow& row = rowAt(r);
        lines.append(QStringList{row.time, row.node, row.kindText, row.endpoint, row.text}.join(
            QLatin1Char('\t')));
    }
    return lines.join(QLatin1Char('\n'));
}

}  // namespace studio
