// MetricHistory: what the charts draw, recorded from every RuntimeSnapshot. Per node, a bounded
// ring of samples (time, rates, queue fill/capacity/dropped); per supervised SUB link, its
// heartbeat state as time intervals plus a mark at every socket recreation. Recording goes on
// whatever the charts show (paused, zoomed into the past), and memory is bounded everywhere: the
// rings drop their oldest samples, intervals and marks older than the retention span are dropped,
// and nodes or links gone from the snapshots for longer than that are forgotten.
//
// GUI thread only; holds no widgets and makes no network call (snapshots come from the
// RuntimeSource's signal, or from addSnapshot() in tests).
#pragma once

#include <zmqrpc/runtime.hpp>

#include <QHash>
#include <QObject>
#include <QString>
#include <QStringList>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace studio {

class RuntimeSource;

struct MetricSample {
    qint64 time = 0;  // ms since the epoch (the snapshot's time)
    double rateIn = 0, rateOut = 0;
    std::uint64_t fill = 0, capacity = 0, dropped = 0;
};

struct NodeHistory {
    QString id;
    QString name;
    zmqrpc::NodeKind kind = zmqrpc::NodeKind::Sampler;
    bool hasQueue = false;             // the running component has a queue (every proxy)
    std::deque<MetricSample> samples;  // oldest first, at most MetricHistory::capacity()
};

// What a supervised link's connecting socket reported.
enum class LinkPhase {
    Inactive,  // the connecting node is not running: nothing drawn
    Waiting,   // supervised, running, never heard yet
    Alive,
    Late,
    Dead,
};
const char* to_string(LinkPhase phase) noexcept;  // "inactive", "waiting", "alive", ...

struct PhaseInterval {
    qint64 start = 0, end = 0;  // ms since the epoch
    LinkPhase phase = LinkPhase::Alive;
};

struct LinkHistory {
    QString id;
    QString endpoint;
    qint64 heartbeatTimeoutMs = 0;
    LinkPhase current = LinkPhase::Inactive;
    std::deque<PhaseInterval> intervals;  // oldest first, never overlapping
    std::deque<qint64> recreations;       // times of socket recreations, oldest first
    std::uint64_t lastRecreates = 0;      // the counter seen last (detects increases)
    qint64 lastSeen = 0;
};

// Where a queue is heading, from its fill over the last few seconds.
struct QueueForecast {
    enum class Trend { Unknown, Steady, Filling, Draining, Full, Empty };
    Trend trend = Trend::Unknown;
    double slope = 0;    // messages per second (fill change)
    double seconds = 0;  // Filling: until full; Draining: until empty
    std::uint64_t fill = 0, capacity = 0, dropped = 0;
};

class MetricHistory : public QObject {
    Q_OBJECT

  public:
    // One hour at the controller's 4 samples a second.
    static constexpr std::size_t kDefaultCapacity = 14400;

    explicit MetricHistory(RuntimeSource* runtime, QObject* parent = nullptr,
                           std::size_t capacity = kDefaultCapacity);

    std::size_t capacity() const noexcept { return capacity_; }
    // How long anything is kept (the ring's span at 4 samples a second).
    qint64 retentionMs() const noexcept { return static_cast<qint64>(capacity_) * 250; }

    // Records one snapshot (the controller's snapshotUpdated ends up here).
    void addSnapshot(const zmqrpc::RuntimeSnapshot& snapshot);
    void clear();

    // Node ids in the order of the last snapshot (then the ones no longer reported).
    QStringList nodeIds() const { return nodeOrder_; }
    const NodeHistory* node(const QString& id) const;
    // Supervised links (heartbeat timeout set), in the order of the last snapshot.
    QStringList linkIds() const { return linkOrder_; }
    const LinkHistory* link(const QString& id) const;

    std::size_t sampleCount(const QString& nodeId) const;
    std::size_t totalSamples() const;
    // The time of the newest snapshot recorded (ms since the epoch), 0 before any.
    qint64 latestTime() const noexcept { return latest_; }

    // The samples of a node with from <= time <= to, as [first, last) indices into samples.
    std::pair<std::size_t, std::size_t> range(const NodeHistory& node, qint64 from,
                                              qint64 to) const;

    // The queue's trend over the `windowMs` before `at` (least-squares slope of the fill);
    // `at` = 0: the newest sample.
    QueueForecast forecast(const QString& nodeId, qint64 windowMs = 10000, qint64 at = 0) const;

  signals:
    // After every recorded snapshot.
    void updated();

  private:
    void recordLink(const zmqrpc::LinkStatus& status, qint64 time);
    void forgetStale(qint64 now);

    const std::size_t capacity_;
    QHash<QString, NodeHistory> nodes_;
    QHash<QString, LinkHistory> links_;
    QStringList nodeOrder_, linkOrder_;
    qint64 latest_ = 0;
};

}  // namespace studio
