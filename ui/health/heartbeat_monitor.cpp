#include "health/heartbeat_monitor.hpp"

#include "document/editor_document.hpp"
#include "runtime/runtime_source.hpp"

#include "monitor/table_style.hpp"

#include <QBrush>
#include <QColor>
#include <QFont>
#include <QHBoxLayout>
#include <QHash>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>
#include <chrono>

namespace studio {

namespace {

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

QDateTime toDateTime(std::chrono::system_clock::time_point t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
    return QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(ms.count()));
}

double toSeconds(std::chrono::milliseconds ms) {
    return static_cast<double>(ms.count()) / 1000.0;
}

QString secondsText(double s) {
    return QStringLiteral("%1 s").arg(s, 0, 'f', s < 10 ? 1 : 0);
}

// Light tints that keep dark text readable in any palette; the bold font carries the message
// for those who do not see the colour.
const QColor kDeadTint(0xf6, 0xc6, 0xc6);
const QColor kLateTint(0xff, 0xe2, 0xa8);

}  // namespace

// ---- HeartbeatModel --------------------------------------------------------------------------

HeartbeatModel::HeartbeatModel(EditorDocument* doc, QObject* parent)
    : QAbstractTableModel(parent), doc_(doc) {
    if (doc != nullptr) {
        connect(doc, &EditorDocument::documentReset, this, &HeartbeatModel::rebuild);
        connect(doc, &EditorDocument::linkAdded, this, &HeartbeatModel::onLinkAdded);
        connect(doc, &EditorDocument::linkRemoved, this, &HeartbeatModel::onLinkRemoved);
        connect(doc, &EditorDocument::linkChanged, this, &HeartbeatModel::onLinkChanged);
        connect(doc, &EditorDocument::nodeChanged, this, &HeartbeatModel::onNodeChanged);
        connect(doc, &EditorDocument::nodeRemoved, this, &HeartbeatModel::rebuild);
    }
    rebuild();
}

int HeartbeatModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int HeartbeatModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QString HeartbeatModel::stateText(State state) {
    switch (state) {
        case State::NotRunning:
            return tr("not running");
        case State::Unmonitored:
            return tr("unmonitored");
        case State::Waiting:
            return tr("waiting");
        case State::Alive:
            return tr("alive");
        case State::Late:
            return tr("late");
        case State::Dead:
            return tr("dead");
    }
    return {};
}

QVariant HeartbeatModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
        case LinkColumn:
            return tr("Link");
        case RouteColumn:
            return tr("From → To");
        case StateColumn:
            return tr("State");
        case AgeColumn:
            return tr("Last message");
        case TimeoutColumn:
            return tr("Timeout");
        case RecreatesColumn:
            return tr("Recreated");
        case LastFailureColumn:
            return tr("Last failure");
        default:
            return {};
    }
}

QVariant HeartbeatModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= static_cast<int>(rows_.size())) return {};
    const Row& r = rows_[static_cast<std::size_t>(index.row())];
    const bool running = r.state != State::NotRunning;
    if (role == LinkIdRole) return r.linkId;
    if (role == Qt::BackgroundRole) {
        if (r.state == State::Dead) return QBrush(kDeadTint);
        if (r.state == State::Late) return QBrush(kLateTint);
        return {};
    }
    if (role == Qt::ForegroundRole) {
        if (isFailure(r.state)) return QBrush(Qt::black);
        if (!running) return QBrush(QColor(0x80, 0x80, 0x80));
        return {};
    }
    if (role == Qt::FontRole) {
        if (!isFailure(r.state)) return {};
        QFont bold;
        bold.setBold(true);
        return bold;
    }
    if (role == Qt::TextAlignmentRole) {
        switch (index.column()) {
            case AgeColumn:
            case TimeoutColumn:
                return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
            case RecreatesColumn:
                return QVariant::fromValue(Qt::AlignCenter);
            default:
                return {};
        }
    }
    if (role == Qt::ToolTipRole) {
        QString tip = tr("%1: %2").arg(r.linkId, stateText(r.state));
        if (!r.endpoint.empty()) tip += QLatin1Char('\n') + tr("endpoint %1").arg(qs(r.endpoint));
        if (!r.connection.isEmpty())
            tip += QLatin1Char('\n') + tr("connection %1").arg(r.connection);
        return tip;
    }
    auto nodeName = [this](const QString& id) {
        const zmqrpc::Node* n = doc_ ? doc_->topology().find_node(id.toStdString()) : nullptr;
        return n != nullptr ? qs(n->display_name()) : id;
    };
    if (role == SortRole) {
        switch (index.column()) {
            case StateColumn:
                return static_cast<int>(r.state);
            case AgeColumn:
                return running ? r.age : -1.0;
            case TimeoutColumn:
                return running ? r.timeout : r.configuredTimeout;
            case RecreatesColumn:
                return r.recreates;
            case LastFailureColumn:
                return r.lastFailure.isValid() ? r.lastFailure.toMSecsSinceEpoch() : qint64(0);
            default:
                return data(index, Qt::DisplayRole);
        }
    }
    if (role != Qt::DisplayRole) return {};
    switch (index.column()) {
        case LinkColumn:
            return r.linkId;
        case RouteColumn:
            return QStringLiteral("%1 → %2").arg(nodeName(r.fromNode), nodeName(r.toNode));
        case StateColumn:
            return stateText(r.state);
        case AgeColumn:
            return running ? secondsText(r.age) : QStringLiteral("—");
        case TimeoutColumn: {
            const double t = running ? r.timeout : r.configuredTimeout;
            return t > 0 ? secondsText(t) : tr("off");
        }
        case RecreatesColumn:
            return r.recreates;
        case LastFailureColumn:
            return r.lastFailure.isValid()
                       ? r.lastFailure.toLocalTime().toString(QStringLiteral("HH:mm:ss.zzz"))
                       : QString();
        default:
            return {};
    }
}

bool HeartbeatModel::isPubSub(const QString& linkId) const {
    if (!doc_) return false;
    const auto& t = doc_->topology();
    const zmqrpc::Link* link = t.find_link(linkId.toStdString());
    if (link == nullptr) return false;
    const zmqrpc::Node* from = t.find_node(link->from.node);
    if (from == nullptr) return false;
    for (const auto& port : zmqrpc::port_specs(from->kind, from->properties)) {
        if (port.name == link->from.port) return port.socket == zmqrpc::SocketType::Pub;
    }
    return false;
}

HeartbeatModel::Row HeartbeatModel::makeRow(const QString& linkId) const {
    Row r;
    r.linkId = linkId;
    if (const zmqrpc::Link* link = doc_->topology().find_link(linkId.toStdString())) {
        r.fromNode = qs(link->from.node);
        r.toNode = qs(link->to.node);
        r.configuredTimeout = link->heartbeat_timeout;
    }
    return r;
}

void HeartbeatModel::rebuild() {
    // Runtime values survive a rebuild: the failure history of a link is not the document's.
    QHash<QString, Row> old;
    for (auto& r : rows_)
        old.insert(r.linkId, std::move(r));
    beginResetModel();
    rows_.clear();
    if (doc_) {
        for (const auto& link : doc_->topology().links()) {
            const QString id = qs(link.id);
            if (!isPubSub(id)) continue;
            Row r = makeRow(id);
            if (auto it = old.find(id); it != old.end()) {
                r.state = it->state;
                r.endpoint = it->endpoint;
                r.age = it->age;
                r.timeout = it->timeout;
                r.recreates = it->recreates;
                r.connection = it->connection;
                r.lastFailure = it->lastFailure;
            }
            rows_.push_back(std::move(r));
        }
    }
    endResetModel();
}

void HeartbeatModel::onLinkAdded(const QString& id) {
    if (!isPubSub(id) || rowOf(id) >= 0) return;
    const int row = static_cast<int>(rows_.size());
    beginInsertRows({}, row, row);
    rows_.push_back(makeRow(id));
    endInsertRows();
}

void HeartbeatModel::onLinkRemoved(const QString& id) {
    const int row = rowOf(id);
    if (row < 0) return;
    beginRemoveRows({}, row, row);
    rows_.erase(rows_.begin() + row);
    endRemoveRows();
}

void HeartbeatModel::onLinkChanged(const QString& id) {
    const int row = rowOf(id);
    if (row < 0) return;
    rows_[static_cast<std::size_t>(row)].configuredTimeout = makeRow(id).configuredTimeout;
    emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
}

void HeartbeatModel::onNodeChanged(const QString& id) {
    // A renamed node changes the route text of its links; an external node whose socket
    // changed may change which links are PUB->SUB.
    for (const zmqrpc::Link* link : doc_->topology().links_of(id.toStdString())) {
        const QString linkId = qs(link->id);
        if ((rowOf(linkId) >= 0) != isPubSub(linkId)) {
            rebuild();
            return;
        }
    }
    for (int row = 0; row < static_cast<int>(rows_.size()); ++row) {
        const Row& r = rows_[static_cast<std::size_t>(row)];
        if (r.fromNode == id || r.toNode == id)
            emit dataChanged(index(row, RouteColumn), index(row, RouteColumn));
    }
}

void HeartbeatModel::applySnapshot(const zmqrpc::RuntimeSnapshot& snapshot) {
    using HB = zmqrpc::HeartbeatState;
    QHash<QString, const zmqrpc::LinkStatus*> byId;
    byId.reserve(static_cast<qsizetype>(snapshot.links.size()));
    for (const auto& ls : snapshot.links)
        byId.insert(qs(ls.id), &ls);
    const QDateTime now = toDateTime(snapshot.time);
    int first = -1, last = -1;
    for (int row = 0; row < static_cast<int>(rows_.size()); ++row) {
        Row& r = rows_[static_cast<std::size_t>(row)];
        const zmqrpc::LinkStatus* ls = byId.value(r.linkId, nullptr);
        const State before = r.state;
        const double ageBefore = r.age;
        const quint64 recreatesBefore = r.recreates;
        if (ls == nullptr || !ls->active) {
            r.state = State::NotRunning;
            r.age = 0;
            r.connection.clear();
            if (ls != nullptr) r.endpoint = ls->endpoint;
        } else {
            switch (ls->heartbeat) {
                case HB::Unmonitored:
                    r.state = State::Unmonitored;
                    break;
                case HB::Alive:
                    r.state = ls->ever_heard ? State::Alive : State::Waiting;
                    break;
                case HB::Late:
                    r.state = State::Late;
                    break;
                case HB::Dead:
                    r.state = State::Dead;
                    break;
            }
            r.endpoint = ls->endpoint;
            r.age = toSeconds(ls->last_message_age);
            r.timeout = toSeconds(ls->heartbeat_timeout);
            r.recreates = ls->recreates;
            r.connection = QString::fromLatin1(zmqrpc::to_string(ls->connection));
            // Entering late, or going on to dead, is a failure worth its time stamp.
            if (r.state != before && isFailure(r.state) && now.isValid() &&
                (!r.lastFailure.isValid() || now > r.lastFailure))
                r.lastFailure = now;
        }
        if (r.state != before || r.age != ageBefore || r.recreates != recreatesBefore ||
            r.state != State::NotRunning) {
            if (first < 0) first = row;
            last = row;
        }
    }
    if (first >= 0) emit dataChanged(index(first, 0), index(last, ColumnCount - 1));
}

void HeartbeatModel::addEvents(const QList<zmqrpc::Event>& events) {
    for (const auto& e : events) {
        if (e.kind != zmqrpc::EventKind::HeartbeatLate &&
            e.kind != zmqrpc::EventKind::HeartbeatLost)
            continue;
        const QString source = qs(e.source);
        const QDateTime when = toDateTime(e.time);
        for (int row = 0; row < static_cast<int>(rows_.size()); ++row) {
            Row& r = rows_[static_cast<std::size_t>(row)];
            if (r.toNode != source || r.endpoint != e.endpoint) continue;
            if (r.lastFailure.isValid() && r.lastFailure >= when) continue;
            r.lastFailure = when;
            emit dataChanged(index(row, LastFailureColumn), index(row, LastFailureColumn));
        }
    }
}

int HeartbeatModel::rowOf(const QString& linkId) const {
    for (std::size_t i = 0; i < rows_.size(); ++i) {
        if (rows_[i].linkId == linkId) return static_cast<int>(i);
    }
    return -1;
}

QString HeartbeatModel::linkIdAt(int row) const {
    return rows_.at(static_cast<std::size_t>(row)).linkId;
}

HeartbeatModel::State HeartbeatModel::stateAt(int row) const {
    return rows_.at(static_cast<std::size_t>(row)).state;
}

quint64 HeartbeatModel::recreatesAt(int row) const {
    return rows_.at(static_cast<std::size_t>(row)).recreates;
}

QDateTime HeartbeatModel::lastFailureAt(int row) const {
    return rows_.at(static_cast<std::size_t>(row)).lastFailure;
}

// ---- HeartbeatMonitorWidget ------------------------------------------------------------------

HeartbeatMonitorWidget::HeartbeatMonitorWidget(EditorDocument* doc, RuntimeSource* runtime,
                                               QWidget* parent)
    : QWidget(parent), model_(new HeartbeatModel(doc, this)) {
    proxy_ = new QSortFilterProxyModel(this);
    proxy_->setSourceModel(model_);
    proxy_->setSortRole(HeartbeatModel::SortRole);
    proxy_->setDynamicSortFilter(true);

    view_ = new QTableView(this);
    view_->setObjectName(QStringLiteral("heartbeatView"));
    view_->setModel(proxy_);
    styleLogTable(view_, {{HeartbeatModel::LinkColumn, 20},
                          {HeartbeatModel::RouteColumn, 28},
                          {HeartbeatModel::StateColumn, 12},
                          {HeartbeatModel::AgeColumn, 12},
                          {HeartbeatModel::TimeoutColumn, 9},
                          {HeartbeatModel::RecreatesColumn, 10}});
    view_->setSelectionMode(QAbstractItemView::SingleSelection);
    view_->setSortingEnabled(true);
    view_->sortByColumn(-1, Qt::AscendingOrder);  // document order until a header is clicked

    summary_ = new QLabel(this);
    summary_->setObjectName(QStringLiteral("heartbeatSummary"));

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(4);
    layout->addWidget(view_, 1);
    layout->addWidget(summary_);

    connect(view_, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        if (index.isValid()) emit linkActivated(index.data(HeartbeatModel::LinkIdRole).toString());
    });
    connect(model_, &QAbstractItemModel::modelReset, this, &HeartbeatMonitorWidget::updateSummary);
    connect(model_, &QAbstractItemModel::rowsInserted, this,
            &HeartbeatMonitorWidget::updateSummary);
    connect(model_, &QAbstractItemModel::rowsRemoved, this, &HeartbeatMonitorWidget::updateSummary);
    if (runtime != nullptr) {
        connect(runtime, &RuntimeSource::snapshotUpdated, this, [this, runtime] {
            model_->applySnapshot(runtime->snapshot());
            updateSummary();
        });
        connect(runtime, &RuntimeSource::eventsArrived, model_, &HeartbeatModel::addEvents);
        model_->applySnapshot(runtime->snapshot());
    }
    updateSummary();
}

QString HeartbeatMonitorWidget::summaryText() const {
    const int n = model_->rowCount();
    if (n == 0) return tr("No PUB→SUB links");
    int counts[6] = {0, 0, 0, 0, 0, 0};
    for (int row = 0; row < n; ++row)
        ++counts[static_cast<int>(model_->stateAt(row))];
    QStringList parts{n == 1 ? tr("1 link") : tr("%1 links").arg(n)};
    using S = HeartbeatModel::State;
    for (S s : {S::Alive, S::Waiting, S::Late, S::Dead, S::Unmonitored, S::NotRunning}) {
        const int c = counts[static_cast<int>(s)];
        if (c > 0) parts << QStringLiteral("%1 %2").arg(c).arg(HeartbeatModel::stateText(s));
    }
    return parts.join(QStringLiteral(" · "));
}

void HeartbeatMonitorWidget::updateSummary() {
    summary_->setText(summaryText());
}

}  // namespace studio
