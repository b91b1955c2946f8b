#include "charts/metric_history.hpp"

#include "runtime/runtime_source.hpp"

#include <algorithm>
#include <chrono>

namespace studio {

namespace {

// Two snapshots further apart than this leave a gap in a link's timeline instead of one band
// spanning time nobody watched (the runtime stopped, the machine slept).
constexpr qint64 kMaxGapMs = 3000;

qint64 toMs(std::chrono::system_clock::time_point time) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

LinkPhase phaseOf(const zmqrpc::LinkStatus& status) {
    if (!status.active) return LinkPhase::Inactive;
    switch (status.heartbeat) {
        case zmqrpc::HeartbeatState::Unmonitored:
            return LinkPhase::Inactive;
        case zmqrpc::HeartbeatState::Alive:
            return status.ever_heard ? LinkPhase::Alive : LinkPhase::Waiting;
        case zmqrpc::HeartbeatState::Late:
            return LinkPhase::Late;
        case zmqrpc::HeartbeatState::Dead:
            return LinkPhase::Dead;
    }
    return LinkPhase::Inactive;
}

}  // namespace

const char* to_string(LinkPhase phase) noexcept {
    switch (phase) {
        case LinkPhase::Inactive:
            return "inactive";
        case LinkPhase::Waiting:
            return "waiting";
        case LinkPhase::Alive:
            return "alive";
        case LinkPhase::Late:
            return "late";
        case LinkPhase::Dead:
            return "dead";
    }
    return "inactive";
}

MetricHistory::MetricHistory(RuntimeSource* runtime, QObject* parent, std::size_t capacity)
    : QObject(parent), capacity_(std::max<std::size_t>(capacity, 2)) {
    if (runtime != nullptr) {
        connect(runtime, &RuntimeSource::snapshotUpdated, this,
                [this, runtime] { addSnapshot(runtime->snapshot()); });
    }
}

void MetricHistory::addSnapshot(const zmqrpc::RuntimeSnapshot& snapshot) {
    const qint64 t = toMs(snapshot.time);
    // A snapshot older than the newest one (a clock step back) would break the rings' order.
    if (t < latest_) return;
    latest_ = t;

    QStringList order;
    order.reserve(static_cast<qsizetype>(snapshot.nodes.size()));
    for (const auto& n : snapshot.nodes) {
        const QString id = QString::fromStdString(n.id);
        order.append(id);
        NodeHistory& h = nodes_[id];
        h.id = id;
        h.name = QString::fromStdString(n.name);
        h.kind = n.kind;
        if (n.metrics.has_queue) h.hasQueue = true;
        MetricSample s;
        s.time = t;
        s.rateIn = n.rate_in;
        s.rateOut = n.rate_out;
        if (n.metrics.has_queue) {
            s.fill = n.metrics.queue.fill;
            s.capacity = n.metrics.queue.capacity;
            s.dropped = n.metrics.queue.dropped;
        } else if (!h.samples.empty()) {
            // Stopped: keep the capacity so the percentage stays meaningful.
            s.capacity = h.samples.back().capacity;
        }
        h.samples.push_back(s);
        while (h.samples.size() > capacity_)
            h.samples.pop_front();
    }
    // Nodes no longer reported stay (their history is still worth seeing) until stale.
    for (const auto& id : nodeOrder_) {
        if (!order.contains(id)) order.append(id);
    }
    nodeOrder_ = order;

    QStringList links;
    for (const auto& l : snapshot.links) {
        if (l.heartbeat_timeout.count() <= 0) continue;  // REQ links and unsupervised SUBs
        links.append(QString::fromStdString(l.id));
        recordLink(l, t);
    }
    for (const auto& id : linkOrder_) {
        if (!links.contains(id)) links.append(id);
    }
    linkOrder_ = links;

    forgetStale(t);
    emit updated();
}

void MetricHistory::recordLink(const zmqrpc::LinkStatus& status, qint64 time) {
    const QString id = QString::fromStdString(status.id);
    LinkHistory& h = links_[id];
    const bool fresh = h.id.isEmpty();
    h.id = id;
    h.endpoint = QString::fromStdString(status.endpoint);
    h.heartbeatTimeoutMs = status.heartbeat_timeout.count();
    const qint64 previous = h.lastSeen;
    h.lastSeen = time;

    // Recreations: the counter restarts at zero with a new instance of the node.
    if (!fresh && status.active && status.recreates > h.lastRecreates) {
        // More than a handful between two snapshots is one burst: a few marks say it.
        const auto count = std::min<std::uint64_t>(status.recreates - h.lastRecreates, 4);
        for (std::uint64_t i = 0; i < count; ++i)
            h.recreations.push_back(time);
    }
    h.lastRecreates = status.active ? status.recreates : 0;
    while (h.recreations.size() > capacity_)
        h.recreations.pop_front();

    const LinkPhase phase = phaseOf(status);
    h.current = phase;
    if (phase == LinkPhase::Inactive) return;  // a gap in the timeline
    const bool contiguous =
        !h.intervals.empty() && h.intervals.back().end == previous && time - previous <= kMaxGapMs;
    if (contiguous && h.intervals.back().phase == phase) {
        h.intervals.back().end = time;
    } else {
        // A new band starts where the previous one ended, so the row has no seams.
        const qint64 start = contiguous ? previous : time;
        h.intervals.push_back({start, time, phase});
    }
    while (h.intervals.size() > capacity_)
        h.intervals.pop_front();
}

void MetricHistory::forgetStale(qint64 now) {
    const qint64 horizon = now - retentionMs();
    for (auto it = links_.begin(); it != links_.end();) {
        LinkHistory& h = it.value();
        while (!h.intervals.empty() && h.intervals.front().end < horizon)
            h.intervals.pop_front();
        while (!h.recreations.empty() && h.recreations.front() < horizon)
            h.recreations.pop_front();
        if (h.lastSeen < horizon) {
            linkOrder_.removeAll(it.key());
            it = links_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = nodes_.begin(); it != nodes_.end();) {
        const auto& s = it.value().samples;
        if (s.empty() || s.back().time < horizon) {
            nodeOrder_.removeAll(it.key());
            it = nodes_.erase(it);
        } else {
            ++it;
        }
    }
}

void MetricHistory::clear() {
    nodes_.clear();
    links_.clear();
    nodeOrder_.clear();
    linkOrder_.clear();
    latest_ = 0;
    emit updated();
}

const NodeHistory* MetricHistory::node(const QString& id) const {
    auto it = nodes_.constFind(id);
    return it == nodes_.constEnd() ? nullptr : &it.value();
}

const LinkHistory* MetricHistory::link(const QString& id) const {
    auto it = links_.constFind(id);
    return it == links_.constEnd() ? nullptr : &it.value();
}

std::size_t MetricHistory::sampleCount(const QString& nodeId) const {
    const NodeHistory* h = node(nodeId);
    return h == nullptr ? 0 : h->samples.size();
}

std::size_t MetricHistory::totalSamples() const {
    std::size_t n = 0;
    for (const auto& h : nodes_)
        n += h.samples.size();
    return n;
}

std::pair<std::size_t, std::size_t> MetricHistory::range(const NodeHistory& node, qint64 from,
                                                         qint64 to) const {
    const auto& s = node.samples;
    auto first = std::lower_bound(s.begin(), s.end(), from,
                                  [](const MetricSample& m, qint64 t) { return m.time < t; });
    auto last = std::upper_bound(first, s.end(), to,
                                 [](qint64 t, const MetricSample& m) { return t < m.time; });
    return {static_cast<std::size_t>(first - s.begin()),
            static_cast<std::size_t>(last - s.begin())};
}

QueueForecast MetricHistory::forecast(const QString& nodeId, qint64 windowMs, qint64 at) const {
    QueueForecast f;
    const NodeHistory* h = node(nodeId);
    if (h == nullptr || h->samples.empty()) return f;
    const qint64 end = at > 0 ? at : h->samples.back().time;
    const auto [first, last] = range(*h, end - windowMs, end);
    if (last <= first) return f;
    const MetricSample& now = h->samples[last - 1];
    f.fill = now.fill;
    f.capacity = now.capacity;
    f.dropped = now.dropped;
    if (now.capacity > 0 && now.fill >= now.capacity) {
        f.trend = QueueForecast::Trend::Full;
        return f;
    }
    // Fewer than two seconds of samples give a slope that is mostly noise.
    if (last - first < 3 || now.time - h->samples[first].time < 2000) return f;

    // Least squares over the window: robust against the one-sample jitter of a busy queue.
    const double t0 = static_cast<double>(h->samples[first].time);
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    const auto n = static_cast<double>(last - first);
    for (std::size_t i = first; i < last; ++i) {
        const double x = (static_cast<double>(h->samples[i].time) - t0) / 1000.0;
        const auto y = static_cast<double>(h->samples[i].fill);
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    const double den = n * sxx - sx * sx;
    if (den <= 0) return f;
    f.slope = (n * sxy - sx * sy) / den;

    // Below a tenth of a message a second (or 0.1 % of the capacity) it is standing still.
    const double threshold = std::max(0.1, static_cast<double>(now.capacity) * 0.001);
    if (f.slope > threshold && now.capacity > now.fill) {
        f.trend = QueueForecast::Trend::Filling;
        f.seconds = static_cast<double>(now.capacity - now.fill) / f.slope;
    } else if (f.slope < -threshold && now.fill > 0) {
        f.trend = QueueForecast::Trend::Draining;
        f.seconds = static_cast<double>(now.fill) / -f.slope;
    } else {
        f.trend = now.fill == 0 ? QueueForecast::Trend::Empty : QueueForecast::Trend::Steady;
    }
    return f;
}

}  // namespace studio
