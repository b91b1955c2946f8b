#include "runtime/runtime_hub.hpp"

#include <zmqrpc/errors.hpp>

#include <chrono>
#include <exception>

namespace studio {

namespace {

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

constexpr int kTickMs = 250;  // silence is noticed within a quarter second

}  // namespace

RuntimeHub::RuntimeHub(QObject* parent)
    : RuntimeSource(parent), local_(new RuntimeController(this)), tick_(new QTimer(this)) {
    // Without runners the local snapshots pass through as they come (four a second);
    // attached, the hub's own tick merges every source four times a second.
    connect(local_, &RuntimeSource::snapshotUpdated, this, [this] {
        if (runners_.empty()) rebuild();
    });
    connect(local_, &RuntimeSource::eventsArrived, this, &RuntimeSource::eventsArrived);
    connect(local_, &RuntimeSource::operationFailed, this, &RuntimeSource::operationFailed);
    connect(local_, &RuntimeSource::busyChanged, this, [this] { emit busyChanged(isBusy()); });
    tick_->setInterval(kTickMs);
    connect(tick_, &QTimer::timeout, this, &RuntimeHub::checkSilence);
}

RuntimeHub::~RuntimeHub() {
    runners_.clear();  // each joins its worker (bounded by one call timeout)
}

void RuntimeHub::setTopology(const zmqrpc::Topology& topology) {
    topology_ = topology;
    local_->setTopology(topology);
    if (attached_) {
        // A runner added, removed or changed in the Hosts table: attach to what the document
        // says now. Unchanged runners keep their connection.
        bool changed = false;
        std::map<QString, const zmqrpc::Host*> wanted;
        for (const auto& h : topology_.hosts()) {
            if (!h.runner.empty()) wanted[qs(h.name)] = &h;
        }
        for (auto it = runners_.begin(); it != runners_.end();) {
            auto w = wanted.find(it->first);
            if (w == wanted.end() || !(w->second->runner == it->second->runner())) {
                it->second->shutdownLater();
                it = runners_.erase(it);
                changed = true;
            } else {
                ++it;
            }
        }
        for (const auto& [name, host] : wanted) {
            if (runners_.count(name) != 0) continue;
            QString error;
            if (auto remote = attach(*host, &error)) {
                runners_[name] = std::move(remote);
            } else {
                emit operationFailed(error);
            }
            changed = true;
        }
        if (changed) {
            local_->setExcludedHosts(runnerHosts());
            emit runnersChanged();
        }
    }
    rebuild();
}

void RuntimeHub::setSecrets(const zmqrpc::Secrets& secrets) {
    secrets_ = secrets;
    local_->setSecrets(secrets);
}

std::unique_ptr<RemoteRuntime> RuntimeHub::attach(const zmqrpc::Host& host, QString* error) {
    RemoteRuntime::Config config;
    config.host = qs(host.name);
    config.runner = host.runner;
    config.staleAfter = staleAfter_;
    try {
        config.security = secrets_.resolve(host.runner.security);
        if (auto* curve = config.security.curve()) {
            curve->server_key = host.runner.server_key;
        }
    } catch (const std::exception& e) {
        *error = QStringLiteral("runner '%1': %2").arg(config.host, e.what());
        return nullptr;
    }
    auto remote = std::make_unique<RemoteRuntime>(std::move(config));
    RemoteRuntime* r = remote.get();
    connect(r, &RuntimeSource::eventsArrived, this, &RuntimeSource::eventsArrived);
    connect(r, &RuntimeSource::operationFailed, this, &RuntimeSource::operationFailed);
    connect(r, &RuntimeSource::busyChanged, this, [this] { emit busyChanged(isBusy()); });
    connect(r, &RemoteRuntime::connectionChanged, this, &RuntimeHub::checkSilence);
    connect(r, &RemoteRuntime::deployFinished, this, [this](const RunnerDeployReport& report) {
        reports_[report.host] = report;
        QString text =
            report.refused
                ? QStringLiteral("deploy refused: ") + report.message
                : QStringLiteral("deployed revision %1: %2").arg(report.revision, report.message);
        hubEvent(report.refused || report.failed() > 0 ? zmqrpc::EventKind::Error
                                                       : zmqrpc::EventKind::Control,
                 QStringLiteral("runner:") + report.host, text);
        for (const auto& n : report.nodes) {
            if (n.outcome == zmqrpc::DeployResult::Outcome::Failed) {
                hubEvent(zmqrpc::EventKind::Error, qs(n.node),
                         QStringLiteral("deploy failed: ") + qs(n.reason));
            }
        }
        rebuild();
        emit deployFinished(report);
    });
    return remote;
}

QStringList RuntimeHub::connectRunners() {
    disconnectRunners();
    attached_ = true;
    QStringList errors;
    for (const auto& h : topology_.hosts()) {
        if (h.runner.empty()) continue;
        QString error;
        if (auto remote = attach(h, &error)) {
            runners_[qs(h.name)] = std::move(remote);
        } else {
            errors << error;
        }
    }
    for (const QString& e : errors)
        emit operationFailed(e);
    local_->setExcludedHosts(runnerHosts());
    silent_.clear();
    tick_->start();
    emit runnersChanged();
    rebuild();
    return runnerHosts();
}

void RuntimeHub::disconnectRunners() {
    const bool was = attached_ || !runners_.empty();
    attached_ = false;
    tick_->stop();
    for (auto& [host, remote] : runners_)
        remote->shutdownLater();
    runners_.clear();
    silent_.clear();
    reports_.clear();
    local_->setExcludedHosts({});
    if (was) {
        emit runnersChanged();
        rebuild();
    }
}

QStringList RuntimeHub::runnerHosts() const {
    QStringList out;
    for (const auto& h : topology_.hosts()) {
        if (runners_.count(qs(h.name)) != 0) out << qs(h.name);
    }
    return out;
}

RemoteRuntime* RuntimeHub::runner(const QString& host) const {
    auto it = runners_.find(host);
    return it == runners_.end() ? nullptr : it->second.get();
}

int RuntimeHub::deploy() {
    const auto problems = zmqrpc::validate(topology_);
    if (zmqrpc::has_errors(problems)) {
        emit operationFailed(QStringLiteral("not deployed: the topology has errors: ") +
                             qs(problems.front().str()));
        return 0;
    }
    reports_.clear();
    for (auto& [host, remote] : runners_)
        remote->deploy(topology_);
    return static_cast<int>(runners_.size());
}

QString RuntimeHub::hostOf(const std::string& nodeId) const {
    const zmqrpc::Node* node = topology_.find_node(nodeId);
    return node == nullptr ? QString() : qs(topology_.node_host(*node));
}

RuntimeSource* RuntimeHub::sourceOf(const std::string& nodeId) const {
    RemoteRuntime* r = runner(hostOf(nodeId));
    return r != nullptr ? static_cast<RuntimeSource*>(r) : local_;
}

void RuntimeHub::startAll() {
    local_->startAll();
    for (auto& [host, remote] : runners_)
        remote->startAll();
}

void RuntimeHub::stopAll() {
    local_->stopAll();
    for (auto& [host, remote] : runners_)
        remote->stopAll();
}

void RuntimeHub::start(const QStringList& nodeIds) {
    std::map<RuntimeSource*, QStringList> by;
    for (const QString& id : nodeIds)
        by[sourceOf(id.toStdString())] << id;
    for (auto& [source, ids] : by)
        source->start(ids);
}

void RuntimeHub::stop(const QStringList& nodeIds) {
    std::map<RuntimeSource*, QStringList> by;
    for (const QString& id : nodeIds)
        by[sourceOf(id.toStdString())] << id;
    for (auto& [source, ids] : by)
        source->stop(ids);
}

bool RuntimeHub::isBusy() const {
    if (local_->isBusy()) return true;
    for (const auto& [host, remote] : runners_) {
        if (remote->isBusy()) return true;
    }
    return false;
}

std::vector<zmqrpc::TapMessage> RuntimeHub::tapMessages(const QString& tapId,
                                                        quint64 afterSeq) const {
    return sourceOf(tapId.toStdString())->tapMessages(tapId, afterSeq);
}

QString RuntimeHub::nodeAddress(const QString& nodeId) const {
    const zmqrpc::Node* node = topology_.find_node(nodeId.toStdString());
    if (node == nullptr) return RuntimeSource::nodeAddress(nodeId);
    const std::string host = topology_.node_host(*node);
    // A node a runner runs is reached at its host's address, as other hosts reach it.
    if (runners_.count(qs(host)) != 0) return qs(topology_.host_address(host));
    return RuntimeSource::nodeAddress(nodeId);
}

bool RuntimeHub::runsRemotely(const QString& nodeId) const {
    return runner(hostOf(nodeId.toStdString())) != nullptr;
}

void RuntimeHub::hubEvent(zmqrpc::EventKind kind, const QString& source, const QString& text) {
    zmqrpc::Event event;
    event.time = std::chrono::system_clock::now();
    event.kind = kind;
    event.source = source.toStdString();
    event.text = text.toStdString();
    emit eventsArrived({event});
}

void RuntimeHub::checkSilence() {
    bool changed = false;
    for (const auto& [host, remote] : runners_) {
        const bool silent = remote->silent();
        auto it = silent_.find(host);
        const bool known = it != silent_.end();
        if (known && it->second == silent) continue;
        if (silent && (known || remote->silentForMs() >= staleAfter_.count())) {
            hubEvent(zmqrpc::EventKind::Error, QStringLiteral("runner:") + host,
                     QStringLiteral("runner '%1' silent for %2 s%3")
                         .arg(host)
                         .arg(remote->silentForMs() / 1000)
                         .arg(remote->lastError().isEmpty()
                                  ? QString()
                                  : QStringLiteral(": ") + remote->lastError()));
            silent_[host] = true;
            changed = true;
        } else if (!silent) {
            if (known) {
                hubEvent(zmqrpc::EventKind::Control, QStringLiteral("runner:") + host,
                         QStringLiteral("runner '%1' answers again").arg(host));
            }
            silent_[host] = false;
            changed = true;
        }
    }
    if (changed) emit runnersChanged();
    rebuild();
}

void RuntimeHub::rebuild() {
    if (runners_.empty()) {
        merged_ = local_->snapshot();
        emit snapshotUpdated();
        return;
    }
    const zmqrpc::RuntimeSnapshot& mine = local_->snapshot();
    zmqrpc::RuntimeSnapshot merged;
    merged.time = std::chrono::system_clock::now();
    const auto now = merged.time;
    for (const auto& node : topology_.nodes()) {
        const QString host = qs(topology_.node_host(node));
        const RemoteRuntime* remote = runner(host);
        if (remote == nullptr) {
            if (const auto* s = mine.node(node.id)) merged.nodes.push_back(*s);
            continue;
        }
        const zmqrpc::NodeStatus* theirs = remote->snapshot().node(node.id);
        if (!remote->silent() && theirs != nullptr) {
            merged.nodes.push_back(*theirs);
            // The last deploy could not apply this node's change: say so on the node.
            auto report = reports_.constFind(host);
            if (report != reports_.constEnd() && theirs->state != zmqrpc::NodeState::Running) {
                for (const auto& r : report->nodes) {
                    if (r.node == node.id && r.outcome == zmqrpc::DeployResult::Outcome::Failed)
                        merged.nodes.back().reason = "deploy failed: " + r.reason;
                }
            }
            continue;
        }
        // Silent, never heard, or the runner runs a document without this node.
        zmqrpc::NodeStatus unknown;
        unknown.id = node.id;
        unknown.name = node.display_name();
        unknown.kind = node.kind;
        unknown.host = host.toStdString();
        unknown.state = zmqrpc::NodeState::Unknown;
        unknown.since = now;
        if (remote->silent()) {
            QString why = remote->everHeard()
                              ? QStringLiteral("runner '%1' silent for %2 s")
                                    .arg(host)
                                    .arg(remote->silentForMs() / 1000)
                              : QStringLiteral("runner '%1' has not answered yet").arg(host);
            if (!remote->lastError().isEmpty()) why += QStringLiteral(": ") + remote->lastError();
            unknown.reason = why.toStdString();
        } else {
            // Not unknown: the runner answers, and runs a document without it.
            unknown.state = zmqrpc::NodeState::Stopped;
            unknown.reason = "runner '" + host.toStdString() +
                             "' does not run this node: deploy the document to it";
        }
        merged.nodes.push_back(std::move(unknown));
    }
    for (const auto& link : topology_.links()) {
        const zmqrpc::PortRef& connecting =
            topology_.bind_endpoint(link.to).empty() ? link.to : link.from;
        const RemoteRuntime* remote = runner(hostOf(connecting.node));
        if (remote == nullptr) {
            if (const auto* s = mine.link(link.id)) merged.links.push_back(*s);
            continue;
        }
        const zmqrpc::LinkStatus* theirs = remote->snapshot().link(link.id);
        if (theirs == nullptr) continue;
        zmqrpc::LinkStatus status = *theirs;
        if (remote->silent()) {
            // What it said last is not what holds now.
            status.active = false;
            status.connection = zmqrpc::ConnectionState::Idle;
        }
        merged.links.push_back(std::move(status));
    }
    merged_ = std::move(merged);
    emit snapshotUpdated();
}

}  // namespace studio
