// The Studio's alert rules: turns runtime snapshots and events into alerts a human should see.
// No widgets: AlertsWidget shows what this raises, tests drive it directly.
//
//   MissedHeartbeats  a running SUB link missed N heartbeats: it is Dead (silent for its whole
//                     heartbeat timeout), or it has been silent for more than N times its
//                     publisher's heartbeat interval (the sampler's or proxy's
//                     `heartbeat_interval`; when that is unknown, e.g. an external publisher or a
//                     proxy that only passes heartbeats on, Dead alone counts). Default N = 3.
//   QueueAbove        a running proxy's queue holds more than P % of its capacity (default 80).
//   RateZero          a running node's rate has been zero for T seconds (default 10): input rate
//                     for taps, proxies and servers, output rate for samplers.
//   CredentialsRefused a link's connection ended in refused credentials, or a CredentialsRefused
//                     event came in (it keeps the alert active for kEventHoldSeconds).
//   RunnerSilent      the runner of a host has not answered or published for its stale time:
//                     its nodes are unknown (subject: the host name). Always on.
//
// One alert per rule and subject (a node or link id) at a time. An alert stays listed until it
// is acknowledged, even after its condition clears ("cleared"); an acknowledged alert leaves the
// list once its condition has cleared too. A condition that comes back while its alert is still
// listed re-activates that alert; one that comes back after it left the list raises a new one.
//
// GUI thread only (it lives beside the RuntimeSource that feeds it). Owns its alerts.
#pragma once

#include <zmqrpc/events.hpp>
#include <zmqrpc/runtime.hpp>
#include <zmqrpc/topology.hpp>

#include <QDateTime>
#include <QHash>
#include <QList>
#include <QObject>
#include <QString>

#include <vector>

namespace studio {

// The rules' thresholds, persisted in QSettings under "alerts/".
struct AlertSettings {
    bool missedHeartbeatsEnabled = true;
    int missedHeartbeats = 3;  // N
    bool queueEnabled = true;
    int queuePercent = 80;  // P
    bool rateZeroEnabled = true;
    double rateZeroSeconds = 10;  // T
    bool credentialsEnabled = true;

    static AlertSettings load();  // defaults for what is not stored
    void save() const;
    bool operator==(const AlertSettings&) const = default;
};

enum class AlertRule { MissedHeartbeats, QueueAbove, RateZero, CredentialsRefused, RunnerSilent };
QString alertRuleName(AlertRule rule);  // "Missed heartbeats", ...

struct Alert {
    quint64 id = 0;  // 1, 2, ... never reused
    AlertRule rule = AlertRule::MissedHeartbeats;
    QString subject;  // node or link id
    bool subjectIsLink = false;
    QString text;  // what is wrong, last evaluated
    QDateTime firstSeen, lastSeen;
    bool active = true;  // the condition still holds
    bool acknowledged = false;
};

class AlertRules : public QObject {
    Q_OBJECT

  public:
    // A CredentialsRefused event keeps its alert active this long after it (the link's own
    // connection state, when it tells, keeps it active longer).
    static constexpr double kEventHoldSeconds = 5.0;

    explicit AlertRules(QObject* parent = nullptr);

    const AlertSettings& settings() const noexcept { return settings_; }
    // Applies new thresholds from the next evaluation on (does not persist them).
    void setSettings(const AlertSettings& settings);

    // What the rules need of the document: publishers' heartbeat intervals, which node connects
    // each link. Call again after edits.
    void setTopology(const zmqrpc::Topology& topology);

    // Evaluates every rule against a snapshot (the RuntimeSource's, every 250 ms).
    void evaluate(const zmqrpc::RuntimeSnapshot& snapshot);
    // Events between snapshots: CredentialsRefused ones count until the next evaluations.
    void addEvents(const QList<zmqrpc::Event>& events);

    // Listed alerts, oldest first.
    const std::vector<Alert>& alerts() const noexcept { return alerts_; }
    const Alert* alert(quint64 id) const;
    // Acknowledges one; a cleared one leaves the list. False when there is no such alert.
    bool acknowledge(quint64 id);
    void acknowledgeAll();
    int unacknowledgedCount() const;
    int activeCount() const;

  signals:
    // A new alert (appended to alerts()).
    void alertRaised(quint64 id);
    // An alert changed (active, text, last seen, acknowledged).
    void alertChanged(quint64 id);
    // An alert left the list (already removed from alerts()).
    void alertRemoved(quint64 id);

  private:
    struct LinkInfo {
        QString connector;         // the node whose socket connects (SUB or REQ side)
        QString peer;              // the other end
        double publisherInterval;  // seconds; 0 when unknown or not a PUB->SUB link
        bool pubSub = false;
    };
    struct Hit {
        AlertRule rule;
        QString subject;
        bool link;
        QString text;
    };
    void collect(const zmqrpc::RuntimeSnapshot& snapshot, const QDateTime& now,
                 std::vector<Hit>& hits);
    void apply(const std::vector<Hit>& hits, const QDateTime& now);
    int indexOf(quint64 id) const;

    AlertSettings settings_;
    QHash<QString, LinkInfo> links_;
    std::vector<Alert> alerts_;
    quint64 nextId_ = 1;
    // RateZero: when each running node's rate was first seen at zero (this run of zeros).
    QHash<QString, QDateTime> zeroSince_;
    // CredentialsRefused events: subject -> (is a link, time of the last event, text).
    struct Refusal {
        bool link = false;
        QDateTime last;
        QString text;
    };
    QHash<QString, Refusal> refusals_;
    // Link endpoints of the last snapshot, to map events to links: connector node + endpoint.
    QHash<QString, QString> linkByEndpoint_;  // "node\nendpoint" -> link id
};

}  // namespace studio
