#include "runtime/remote_runtime.hpp"

#include <zmqrpc/context.hpp>
#include <zmqrpc/errors.hpp>
#include <zmqrpc/receiver.hpp>
#include <zmqrpc/rpc_client.hpp>

#include <QMetaObject>
#include <QThread>
#include <QTimer>

#include <exception>
#include <map>
#include <utility>

namespace studio {

namespace {

using zmqrpc::json;

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

json idsJson(const QStringList& ids) {
    json nodes = json::array();
    for (const QString& id : ids)
        nodes.push_back(id.toStdString());
    return json{{"nodes", nodes}};
}

zmqrpc::DeployResult::Outcome outcomeFrom(const std::string& text) {
    if (text == "applied") return zmqrpc::DeployResult::Outcome::Applied;
    if (text == "failed") return zmqrpc::DeployResult::Outcome::Failed;
    return zmqrpc::DeployResult::Outcome::Unchanged;
}

}  // namespace

int RunnerDeployReport::failed() const {
    int n = 0;
    for (const auto& r : nodes)
        n += r.outcome == zmqrpc::DeployResult::Outcome::Failed ? 1 : 0;
    return n;
}

// Everything below `thread` runs on the worker thread, except the metrics receiver's handler
// (its own thread), which only queues to the GUI. The GUI side is reached by functors queued to
// `relay`, a GUI-thread object that lives as long as the worker; they run only while `alive`
// (GUI thread only: the owner clears it as it goes), so a worker that outlives its owner
// (shutdownLater) never touches it.
struct RemoteRuntime::Worker {
    explicit Worker(RemoteRuntime* o, Config c) : owner(o), config(std::move(c)) {
        relay = new QObject;
        context = new QObject;
        pollTimer = new QTimer(context);
        pollTimer->setInterval(static_cast<int>(config.pollInterval.count()));
        QObject::connect(pollTimer, &QTimer::timeout, context, [this] { poll(); });
        context->moveToThread(&thread);
        QObject::connect(&thread, &QThread::finished, context, &QObject::deleteLater);
        thread.setObjectName(QStringLiteral("zmqrpc-runner-") + config.host);
        thread.start();
        post([this] {
            pollTimer->start();
            poll();
        });
    }

    template <class F>
    void post(F&& f) {
        QMetaObject::invokeMethod(context, std::forward<F>(f), Qt::QueuedConnection);
    }
    template <class F>
    void toGui(F&& f) {
        QMetaObject::invokeMethod(
            relay,
            [this, f = std::forward<F>(f)]() mutable {
                if (alive) f();
            },
            Qt::QueuedConnection);
    }
    ~Worker() { relay->deleteLater(); }

    // --- worker thread -------------------------------------------------------------------------

    zmqrpc::RpcClient* ensureClient() {
        if (client) return client.get();
        if (!zmq) zmq = std::make_shared<zmqrpc::Context>();
        zmqrpc::RpcClientOptions options;
        options.name = "runner-" + config.host.toStdString();
        options.context = zmq;
        options.req_connect = {config.runner.control};
        options.security = config.security;
        options.req_timeout = config.callTimeout;
        client = std::make_unique<zmqrpc::RpcClient>(std::move(options));
        return client.get();
    }

    void ensureMetrics() {
        if (metrics || config.runner.metrics.empty()) return;
        if (!zmq) zmq = std::make_shared<zmqrpc::Context>();
        zmqrpc::ReceiverOptions options;
        options.name = "runner-" + config.host.toStdString() + "-metrics";
        options.context = zmq;
        // The runner publishes a snapshot every second: silent for staleAfter, the SUB is
        // rebuilt (a lost TCP connection that no RST ended is reconnected that way).
        options.sub_connect = {zmqrpc::SubEndpoint(config.runner.metrics, config.staleAfter)};
        options.security = config.security;
        auto* o = owner;
        auto receiver = std::make_unique<zmqrpc::Receiver>(
            std::move(options), [this, o](std::string_view message, zmqrpc::Origin) -> std::string {
                // The receiver's thread: parse here, deliver on the GUI thread.
                json value = json::parse(message, nullptr, false);
                if (!value.is_object()) return {};
                const std::string type = value.value("type", "");
                if (type == "event" && value.contains("event")) {
                    try {
                        zmqrpc::Event event = zmqrpc::event_from_json(value["event"]);
                        toGui([o, event = std::move(event)] {
                            o->heard();
                            emit o->eventsArrived({event});
                        });
                    } catch (const std::exception&) {
                    }
                } else if (type == "snapshot") {
                    toGui([o] { o->heard(); });
                }
                return {};
            });
        try {
            receiver->start();
            metrics = std::move(receiver);
        } catch (const std::exception& e) {
            failed(QStringLiteral("metrics %1: %2").arg(qs(config.runner.metrics), e.what()));
        }
    }

    void failed(const QString& error) {
        toGui([o = owner, error] { o->callFailed(error); });
    }

    // One call; the answer, or null after reporting why it failed.
    std::optional<json> call(const char* verb, const json& parameters,
                             std::chrono::milliseconds timeout) {
        try {
            json answer = ensureClient()->invoke(verb, parameters, timeout);
            toGui([o = owner] { o->heard(); });
            return answer;
        } catch (const zmqrpc::RpcError& e) {
            if (e.kind() == zmqrpc::RpcError::Kind::Status) {
                // The runner answered, and refused: it is alive.
                toGui([o = owner] { o->heard(); });
                throw;
            }
            failed(QString::fromStdString(e.what()));
        } catch (const std::exception& e) {
            failed(QString::fromStdString(e.what()));
        }
        return std::nullopt;
    }

    void poll() {
        ensureMetrics();
        std::optional<json> answer;
        try {
            if (!connected) {
                auto status = call("status", json::object(), config.callTimeout);
                if (!status) return;
                connected = true;
                const QString revision = qs(status->value("revision", ""));
                toGui([o = owner, revision] { o->revision_ = revision; });
            }
            answer = call("snapshot", json::object(), config.callTimeout);
        } catch (const zmqrpc::RpcError& e) {
            failed(QString::fromStdString(e.what()));
            return;
        }
        if (!answer) {
            connected = false;  // ask for the revision again when it answers
            return;
        }
        zmqrpc::RuntimeSnapshot snap;
        try {
            snap = zmqrpc::RuntimeSnapshot::from_json(*answer);
        } catch (const std::exception& e) {
            failed(QStringLiteral("the runner's snapshot does not parse: %1").arg(e.what()));
            return;
        }
        pollTaps(snap);
        toGui([o = owner, snap = std::move(snap)]() mutable {
            o->snapshot_ = std::move(snap);
            emit o->snapshotUpdated();
        });
    }

    void pollTaps(const zmqrpc::RuntimeSnapshot& snap) {
        for (const auto& node : snap.nodes) {
            if (!tapVerb) return;
            if (node.kind != zmqrpc::NodeKind::Tap || node.state != zmqrpc::NodeState::Running)
                continue;
            // A restarted tap numbers from 1 again: read it from the start.
            auto& seen = tapSince[node.id];
            if (seen != node.since) {
                seen = node.since;
                tapSeq[node.id] = 0;
            }
            std::uint64_t& after = tapSeq[node.id];
            std::optional<json> answer;
            try {
                answer = call("tap", json{{"tap", node.id}, {"after", after}}, config.callTimeout);
            } catch (const zmqrpc::RpcError& e) {
                // 451: a runner older than the `tap` verb; do not ask it again.
                if (e.status_code() == 451) tapVerb = false;
                continue;  // else: not a tap there (any more)
            }
            if (!answer || !answer->contains("messages")) continue;
            std::vector<zmqrpc::TapMessage> messages;
            for (const auto& m : (*answer)["messages"]) {
                try {
                    messages.push_back(zmqrpc::TapMessage::from_json(m));
                } catch (const std::exception&) {
                }
            }
            if (messages.empty()) continue;
            after = messages.back().seq;
            toGui([o = owner, id = qs(node.id), messages = std::move(messages)] {
                auto& kept = o->taps_[id];
                if (!kept.empty() && messages.front().seq <= kept.back().seq) kept.clear();
                for (const auto& m : messages)
                    kept.push_back(m);
                while (kept.size() > kTapCapacity)
                    kept.pop_front();
            });
        }
    }

    void command(const char* verb, const QStringList& ids) {
        try {
            if (!call(verb, idsJson(ids), config.callTimeout * 4)) {
                // call() said why; say what was not done too.
                failed(QStringLiteral("%1 on runner '%2' not done").arg(verb, config.host));
            }
        } catch (const zmqrpc::RpcError& e) {
            const QString text = QStringLiteral("runner '%1' refused %2: %3")
                                     .arg(config.host, verb, qs(e.status_message()));
            toGui([o = owner, text] { emit o->operationFailed(text); });
        }
        poll();
        toGui([o = owner] { o->operationDone(); });
    }

    void deploy(std::string document, QString revision) {
        RunnerDeployReport report;
        report.host = config.host;
        report.revision = revision;
        json parameters;
        parameters["revision"] = revision.toStdString();
        parameters["topology"] = json::parse(document, nullptr, false);
        try {
            // Restarting changed nodes takes a few milliseconds each; be generous.
            auto answer = call("deploy", parameters, std::chrono::seconds(15));
            if (!answer) {
                report.refused = true;
                report.message = QStringLiteral("no answer from runner '%1'").arg(config.host);
            } else {
                report.revision = qs(answer->value("revision", ""));
                int applied = 0, unchanged = 0;
                for (const auto& n : answer->value("nodes", json::array())) {
                    zmqrpc::DeployResult r;
                    r.node = n.value("node", "");
                    r.outcome = outcomeFrom(n.value("result", ""));
                    r.reason = n.value("reason", "");
                    applied += r.outcome == zmqrpc::DeployResult::Outcome::Applied ? 1 : 0;
                    unchanged += r.outcome == zmqrpc::DeployResult::Outcome::Unchanged ? 1 : 0;
                    report.nodes.push_back(std::move(r));
                }
                report.message = QStringLiteral("%1 applied, %2 failed, %3 unchanged")
                                     .arg(applied)
                                     .arg(report.failed())
                                     .arg(unchanged);
                if (answer->contains("warning"))
                    report.message += QStringLiteral("; ") + qs(answer->value("warning", ""));
            }
        } catch (const zmqrpc::RpcError& e) {
            report.refused = true;
            report.message = qs(e.status_message().empty() ? e.what() : e.status_message());
        }
        // Read the revision again: after a conflict, the next deploy replaces what runs there
        // (the person has seen the conflict in the results).
        connected = false;
        poll();
        toGui([o = owner, report = std::move(report)] {
            if (!report.refused) o->revision_ = report.revision;
            o->operationDone();
            emit o->deployFinished(report);
        });
    }

    void shutdown() {
        pollTimer->stop();
        if (metrics) metrics->stop();
        metrics.reset();
        client.reset();
        zmq.reset();
        QThread::currentThread()->quit();
    }

    RemoteRuntime* const owner;
    const Config config;
    QObject* relay = nullptr;  // GUI thread
    bool alive = true;         // GUI thread only
    QThread thread;
    QObject* context = nullptr;  // lives on `thread`
    QTimer* pollTimer = nullptr;

    std::shared_ptr<zmqrpc::Context> zmq;
    std::unique_ptr<zmqrpc::RpcClient> client;
    std::unique_ptr<zmqrpc::Receiver> metrics;
    std::map<std::string, std::uint64_t> tapSeq;  // the last seq read, per tap
    std::map<std::string, std::chrono::system_clock::time_point> tapSince;
    bool connected = false;  // `status` answered since the last failed call
    bool tapVerb = true;     // the runner knows `tap`
};

RemoteRuntime::RemoteRuntime(Config config, QObject* parent)
    : RuntimeSource(parent), config_(std::move(config)) {
    qRegisterMetaType<studio::RunnerDeployReport>();
    worker_ = std::make_unique<Worker>(this, config_);
}

RemoteRuntime::~RemoteRuntime() {
    if (!worker_) return;  // shutdownLater() took care of it
    worker_->alive = false;
    worker_->post([w = worker_.get()] { w->shutdown(); });
    worker_->thread.wait();
}

void RemoteRuntime::shutdownLater() {
    if (!worker_) return;
    Worker* w = worker_.release();
    w->alive = false;
    // The thread ends once the call in progress (if any) returns; the worker is deleted on the
    // GUI thread then. Its functors check `alive`, so nothing reaches this object any more.
    QObject::connect(
        &w->thread, &QThread::finished, w->relay,
        [w] {
            w->thread.wait();
            delete w;
        },
        Qt::QueuedConnection);
    w->post([w] { w->shutdown(); });
}

void RemoteRuntime::request(const char* verb, const QStringList& ids) {
    if (++pending_ == 1) emit busyChanged(true);
    worker_->post([w = worker_.get(), verb, ids] { w->command(verb, ids); });
}

void RemoteRuntime::startAll() {
    request("start", {});
}

void RemoteRuntime::stopAll() {
    request("stop", {});
}

void RemoteRuntime::start(const QStringList& nodeIds) {
    request("start", nodeIds);
}

void RemoteRuntime::stop(const QStringList& nodeIds) {
    request("stop", nodeIds);
}

void RemoteRuntime::deploy(const zmqrpc::Topology& topology) {
    if (++pending_ == 1) emit busyChanged(true);
    worker_->post([w = worker_.get(), text = zmqrpc::save_topology(topology),
                   revision = revision_]() mutable { w->deploy(std::move(text), revision); });
}

void RemoteRuntime::operationDone() {
    if (--pending_ == 0) emit busyChanged(false);
}

std::vector<zmqrpc::TapMessage> RemoteRuntime::tapMessages(const QString& tapId,
                                                           quint64 afterSeq) const {
    std::vector<zmqrpc::TapMessage> out;
    auto it = taps_.constFind(tapId);
    if (it == taps_.constEnd()) return out;
    for (const auto& m : *it) {
        if (m.seq > afterSeq) out.push_back(m);
    }
    return out;
}

void RemoteRuntime::heard() {
    lastHeard_ = QDateTime::currentDateTimeUtc();
    const bool changed = wasSilent_ || !lastError_.isEmpty();
    wasSilent_ = false;
    lastError_.clear();
    if (changed) emit connectionChanged();
}

void RemoteRuntime::callFailed(const QString& error) {
    const bool changed = error != lastError_;
    lastError_ = error;
    if (changed) emit connectionChanged();
}

bool RemoteRuntime::silent() const {
    return !lastHeard_.isValid() || silentForMs() >= config_.staleAfter.count();
}

qint64 RemoteRuntime::silentForMs() const {
    const QDateTime since = lastHeard_.isValid() ? lastHeard_ : attached_;
    return since.msecsTo(QDateTime::currentDateTimeUtc());
}

QString RemoteRuntime::describe() const {
    if (!everHeard()) {
        return lastError_.isEmpty() ? QStringLiteral("connecting to %1")
                                          .arg(QString::fromStdString(config_.runner.control))
                                    : QStringLiteral("not answering: %1").arg(lastError_);
    }
    if (silent()) {
        QString text = QStringLiteral("silent for %1 s").arg(silentForMs() / 1000);
        if (!lastError_.isEmpty()) text += QStringLiteral(": ") + lastError_;
        return text;
    }
    QString text = QStringLiteral("connected");
    if (!revision_.isEmpty()) text += QStringLiteral(", revision ") + revision_;
    return text;
}

}  // namespace studio
