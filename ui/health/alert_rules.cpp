#include "health/alert_rules.hpp"

#include <QSettings>

#include <algorithm>
#include <chrono>

namespace studio {

namespace {

QDateTime toDateTime(std::chrono::system_clock::time_point t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
    return QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(ms.count()));
}

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

QString seconds(double s) {
    return QString::number(s, 'f', s < 10 ? 1 : 0) + QStringLiteral(" s");
}

// The heartbeat interval a publisher promises, in seconds; 0 when unknown (externals, proxies
// that only pass upstream heartbeats on).
double publisherInterval(const zmqrpc::Node& node) {
    switch (node.kind) {
        case zmqrpc::NodeKind::Sampler:
        case zmqrpc::NodeKind::Sub2Pub:
        case zmqrpc::NodeKind::Rep2Pub: {
            const auto value = node.property("heartbeat_interval");
            return value.is_number() ? value.get<double>() : 0.0;
        }
        default:
            return 0.0;
    }
}

QString key(const QString& node, const std::string& endpoint) {
    return node + QLatin1Char('\n') + qs(endpoint);
}

}  // namespace

QString alertRuleName(AlertRule rule) {
    switch (rule) {
        case AlertRule::MissedHeartbeats:
            return AlertRules::tr("Missed heartbeats");
        case AlertRule::QueueAbove:
            return AlertRules::tr("Queue filling");
        case AlertRule::RateZero:
            return AlertRules::tr("No traffic");
        case AlertRule::CredentialsRefused:
            return AlertRules::tr("Credentials refused");
        case AlertRule::RunnerSilent:
            return AlertRules::tr("Runner silent");
    }
    return {};
}

AlertSettings AlertSettings::load() {
    QSettings s;
    AlertSettings a;
    a.missedHeartbeatsEnabled =
        s.value(QStringLiteral("alerts/missedHeartbeatsEnabled"), a.missedHeartbeatsEnabled)
            .toBool();
    a.missedHeartbeats =
        std::max(1, s.value(QStringLiteral("alerts/missedHeartbeats"), a.missedHeartbeats).toInt());
    a.queueEnabled = s.value(QStringLiteral("alerts/queueEnabled"), a.queueEnabled).toBool();
    a.queuePercent =
        std::clamp(s.value(QStringLiteral("alerts/queuePercent"), a.queuePercent).toInt(), 1, 100);
    a.rateZeroEnabled =
        s.value(QStringLiteral("alerts/rateZeroEnabled"), a.rateZeroEnabled).toBool();
    a.rateZeroSeconds = std::max(
        0.1, s.value(QStringLiteral("alerts/rateZeroSeconds"), a.rateZeroSeconds).toDouble());
    a.credentialsEnabled =
        s.value(QStringLiteral("alerts/credentialsEnabled"), a.credentialsEnabled).toBool();
    return a;
}

void AlertSettings::save() const {
    QSettings s;
    s.setValue(QStringLiteral("alerts/missedHeartbeatsEnabled"), missedHeartbeatsEnabled);
    s.setValue(QStringLiteral("alerts/missedHeartbeats"), missedHeartbeats);
    s.setValue(QStringLiteral("alerts/queueEnabled"), queueEnabled);
    s.setValue(QStringLiteral("alerts/queuePercent"), queuePercent);
    s.setValue(QStringLiteral("alerts/rateZeroEnabled"), rateZeroEnabled);
    s.setValue(QStringLiteral("alerts/rateZeroSeconds"), rateZeroSeconds);
    s.setValue(QStringLiteral("alerts/credentialsEnabled"), credentialsEnabled);
}

AlertRules::AlertRules(QObject* parent) : QObject(parent) {}

void AlertRules::setSettings(const AlertSettings& settings) {
    settings_ = settings;
}

void AlertRules::setTopology(const zmqrpc::Topology& topology) {
    links_.clear();
    for (const auto& link : topology.links()) {
        const zmqrpc::Node* from = topology.find_node(link.from.node);
        LinkInfo info;
        info.pubSub = false;
        info.publisherInterval = 0;
        if (from != nullptr) {
            for (const auto& port : zmqrpc::port_specs(from->kind, from->properties)) {
                if (port.name == link.from.port)
                    info.pubSub = port.socket == zmqrpc::SocketType::Pub;
            }
            if (info.pubSub) info.publisherInterval = publisherInterval(*from);
        }
        // SUB and REQ connect: the connector is the SUB end of a PUB->SUB link and the REQ end
        // of a REQ->REP one.
        info.connector = qs(info.pubSub ? link.to.node : link.from.node);
        info.peer = qs(info.pubSub ? link.from.node : link.to.node);
        links_.insert(qs(link.id), info);
    }
}

void AlertRules::addEvents(const QList<zmqrpc::Event>& events) {
    for (const auto& e : events) {
        if (e.kind != zmqrpc::EventKind::CredentialsRefused) continue;
        const QString source = qs(e.source);
        QString subject = linkByEndpoint_.value(key(source, e.endpoint));
        Refusal r;
        r.link = !subject.isEmpty();
        if (!r.link) subject = source;
        r.last = toDateTime(e.time);
        r.text = e.endpoint.empty()
                     ? tr("credentials refused: %1").arg(qs(e.text))
                     : tr("credentials refused at %1: %2").arg(qs(e.endpoint), qs(e.text));
        refusals_.insert(subject, r);
    }
}

void AlertRules::evaluate(const zmqrpc::RuntimeSnapshot& snapshot) {
    const QDateTime now = toDateTime(snapshot.time);
    std::vector<Hit> hits;
    collect(snapshot, now, hits);
    apply(hits, now);
}

void AlertRules::collect(const zmqrpc::RuntimeSnapshot& snapshot, const QDateTime& now,
                         std::vector<Hit>& hits) {
    using zmqrpc::HeartbeatState;
    auto hit = [&hits](AlertRule rule, const QString& subject, bool link, const QString& text) {
        for (const auto& h : hits) {
            if (h.rule == rule && h.subject == subject) return;
        }
        hits.push_back({rule, subject, link, text});
    };

    linkByEndpoint_.clear();
    for (const auto& ls : snapshot.links) {
        const QString id = qs(ls.id);
        const auto info = links_.constFind(id);
        if (info != links_.constEnd() && !ls.endpoint.empty()) {
            linkByEndpoint_.insert(key(info->connector, ls.endpoint), id);
            linkByEndpoint_.insert(key(info->peer, ls.endpoint), id);
        }
        if (!ls.active) continue;
        const double age = static_cast<double>(ls.last_message_age.count()) / 1000.0;
        if (settings_.missedHeartbeatsEnabled && ls.heartbeat != HeartbeatState::Unmonitored) {
            const double interval = info != links_.constEnd() ? info->publisherInterval : 0.0;
            const double timeout = static_cast<double>(ls.heartbeat_timeout.count()) / 1000.0;
            if (ls.heartbeat == HeartbeatState::Dead) {
                hit(AlertRule::MissedHeartbeats, id, true,
                    tr("dead: nothing heard for %1 (timeout %2), socket recreated %3 time(s)")
                        .arg(seconds(age), seconds(timeout))
                        .arg(ls.recreates));
            } else if (interval > 0 && age > settings_.missedHeartbeats * interval) {
                hit(AlertRule::MissedHeartbeats, id, true,
                    tr("nothing heard for %1: %2 heartbeats of %3 missed")
                        .arg(seconds(age))
                        .arg(static_cast<int>(age / interval))
                        .arg(seconds(interval)));
            }
        }
        if (settings_.credentialsEnabled &&
            ls.connection == zmqrpc::ConnectionState::CredentialsRefused) {
            hit(AlertRule::CredentialsRefused, id, true,
                tr("credentials refused at %1").arg(qs(ls.endpoint)));
        }
    }

    // One alert per host whose runner is silent (every node of it is Unknown, with the same
    // reason).
    for (const auto& node : snapshot.nodes) {
        if (node.state == zmqrpc::NodeState::Unknown && !node.host.empty())
            hit(AlertRule::RunnerSilent, qs(node.host), false, qs(node.reason));
    }

    QHash<QString, QDateTime> zeroSince;
    for (const auto& node : snapshot.nodes) {
        if (node.state != zmqrpc::NodeState::Running) continue;
        const QString id = qs(node.id);
        const auto& q = node.metrics.queue;
        if (settings_.queueEnabled && node.metrics.has_queue && q.capacity > 0 &&
            q.fill * 100 > static_cast<std::uint64_t>(settings_.queuePercent) * q.capacity) {
            hit(AlertRule::QueueAbove, id, false,
                tr("queue holds %1 of %2 (%3 %), above %4 %")
                    .arg(q.fill)
                    .arg(q.capacity)
                    .arg(q.fill * 100 / q.capacity)
                    .arg(settings_.queuePercent));
        }
        if (node.kind == zmqrpc::NodeKind::External) continue;
        const bool out = node.kind == zmqrpc::NodeKind::Sampler;
        const double rate = out ? node.rate_out : node.rate_in;
        if (rate > 0) continue;
        // A run of zeros starts when first seen, or when the node started, whichever is later.
        QDateTime since = zeroSince_.value(id, now);
        const QDateTime started = toDateTime(node.since);
        if (started.isValid() && started > since) since = started;
        zeroSince.insert(id, since);
        const double zeroFor = static_cast<double>(since.msecsTo(now)) / 1000.0;
        if (settings_.rateZeroEnabled && zeroFor >= settings_.rateZeroSeconds) {
            hit(AlertRule::RateZero, id, false,
                out ? tr("sent nothing for %1").arg(seconds(zeroFor))
                    : tr("received nothing for %1").arg(seconds(zeroFor)));
        }
    }
    zeroSince_.swap(zeroSince);

    for (auto it = refusals_.begin(); it != refusals_.end();) {
        const double ago = static_cast<double>(it->last.msecsTo(now)) / 1000.0;
        if (ago > kEventHoldSeconds) {
            it = refusals_.erase(it);
            continue;
        }
        if (settings_.credentialsEnabled)
            hit(AlertRule::CredentialsRefused, it.key(), it->link, it->text);
        ++it;
    }
}

void AlertRules::apply(const std::vector<Hit>& hits, const QDateTime& now) {
    std::vector<bool> seen(alerts_.size(), false);
    std::vector<quint64> raised, changed;
    for (const auto& h : hits) {
        auto it = std::find_if(alerts_.begin(), alerts_.end(), [&h](const Alert& a) {
            return a.rule == h.rule && a.subject == h.subject;
        });
        if (it != alerts_.end()) {
            seen[static_cast<std::size_t>(it - alerts_.begin())] = true;
            it->text = h.text;
            it->lastSeen = now;
            it->active = true;
            changed.push_back(it->id);
            continue;
        }
        Alert a;
        a.id = nextId_++;
        a.rule = h.rule;
        a.subject = h.subject;
        a.subjectIsLink = h.link;
        a.text = h.text;
        a.firstSeen = a.lastSeen = now;
        alerts_.push_back(a);
        seen.push_back(true);
        raised.push_back(a.id);
    }
    std::vector<quint64> removed;
    for (std::size_t i = seen.size(); i-- > 0;) {
        if (seen[i]) continue;
        Alert& a = alerts_[i];
        if (!a.active) continue;
        a.active = false;
        if (a.acknowledged) {
            removed.push_back(a.id);
            alerts_.erase(alerts_.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
            changed.push_back(a.id);
        }
    }
    for (quint64 id : removed)
        emit alertRemoved(id);
    for (quint64 id : changed)
        emit alertChanged(id);
    for (quint64 id : raised)
        emit alertRaised(id);
}

int AlertRules::indexOf(quint64 id) const {
    for (std::size_t i = 0; i < alerts_.size(); ++i) {
        if (alerts_[i].id == id) return static_cast<int>(i);
    }
    return -1;
}

const Alert* AlertRules::alert(quint64 id) const {
    const int i = indexOf(id);
    return i < 0 ? nullptr : &alerts_[static_cast<std::size_t>(i)];
}

bool AlertRules::acknowledge(quint64 id) {
    const int i = indexOf(id);
    if (i < 0) return false;
    Alert& a = alerts_[static_cast<std::size_t>(i)];
    if (a.acknowledged) return true;
    a.acknowledged = true;
    if (!a.active) {
        alerts_.erase(alerts_.begin() + i);
        emit alertRemoved(id);
    } else {
        emit alertChanged(id);
    }
    return true;
}

void AlertRules::acknowledgeAll() {
    std::vector<quint64> ids;
    for (const auto& a : alerts_) {
        if (!a.acknowledged) ids.push_back(a.id);
    }
    for (quint64 id : ids)
        acknowledge(id);
}

int AlertRules::unacknowledgedCount() const {
    return static_cast<int>(std::count_if(alerts_.begin(), alerts_.end(),
                                          [](const Alert& a) { return !a.acknowledged; }));
}

int AlertRules::activeCount() const {
    return static_cast<int>(
        std::count_if(alerts_.begin(), alerts_.end(), [](const Alert& a) { return a.active; }));
}

}  // namespace studio
