// The whole deployment as one RuntimeSource: the Studio's own runtime (RuntimeController) for
// the hosts that have no runner, and, once attached (connectRunners), one RemoteRuntime per host
// whose runner the topology names. Snapshots are merged by host, four times a second: each node
// and each link (by the host of its connecting node) comes from the source that runs it, in
// document order.
// A runner that is silent (nothing heard for its staleAfter) turns its host's nodes into
// NodeState::Unknown, "runner 'site' silent for 5 s", with their links inactive; the alert
// rules raise RunnerSilent for it. Events of every source arrive on eventsArrived, plus the
// hub's own (the runner went silent, answered again, a deploy's result).
//
// Start and stop go to the source of each node's host. Attached, the local runtime leaves the
// runner hosts alone (their local nodes stop first), so no node runs twice.
#pragma once

#include "runtime/remote_runtime.hpp"
#include "runtime/runtime_controller.hpp"

#include <QMap>
#include <QTimer>

#include <chrono>
#include <map>
#include <memory>

namespace studio {

class RuntimeHub : public RuntimeSource {
    Q_OBJECT

  public:
    explicit RuntimeHub(QObject* parent = nullptr);
    ~RuntimeHub() override;

    RuntimeController* local() const noexcept { return local_; }

    void setTopology(const zmqrpc::Topology& topology) override;
    void setSecrets(const zmqrpc::Secrets& secrets) override;

    // Attaches to the runner of every host that names one (again: re-reads them). Hosts whose
    // runner's security cannot be resolved (a missing key) are not attached; the failure says
    // which and why. Returns the hosts attached.
    QStringList connectRunners();
    void disconnectRunners();
    bool attached() const noexcept { return attached_; }
    // Hosts with an attached runner, in document order, and one of them.
    QStringList runnerHosts() const;
    RemoteRuntime* runner(const QString& host) const;
    // Sends the current document to every attached runner (deployFinished once per runner).
    // Returns how many deploys were sent.
    int deploy();

    void startAll() override;
    void stopAll() override;
    void start(const QStringList& nodeIds) override;
    void stop(const QStringList& nodeIds) override;

    const zmqrpc::RuntimeSnapshot& snapshot() const override { return merged_; }
    bool isBusy() const override;
    std::vector<zmqrpc::TapMessage> tapMessages(const QString& tapId,
                                                quint64 afterSeq) const override;
    QString nodeAddress(const QString& nodeId) const override;
    bool runsRemotely(const QString& nodeId) const override;

    // How long a runner may say nothing before its nodes show as unknown (default 3 s). Applies
    // to runners attached from then on.
    void setStaleAfter(std::chrono::milliseconds after) { staleAfter_ = after; }

    // The last deploy's report of each host (cleared by the next deploy).
    const QMap<QString, RunnerDeployReport>& deployReports() const noexcept { return reports_; }

  signals:
    void runnersChanged();  // attached, detached, or one's connection state changed
    void deployFinished(const studio::RunnerDeployReport& report);

  private:
    void rebuild();
    void checkSilence();
    void hubEvent(zmqrpc::EventKind kind, const QString& source, const QString& text);
    RuntimeSource* sourceOf(const std::string& nodeId) const;
    QString hostOf(const std::string& nodeId) const;
    std::unique_ptr<RemoteRuntime> attach(const zmqrpc::Host& host, QString* error);

    RuntimeController* local_ = nullptr;
    zmqrpc::Topology topology_;
    zmqrpc::Secrets secrets_;
    bool attached_ = false;
    std::map<QString, std::unique_ptr<RemoteRuntime>> runners_;
    std::map<QString, bool> silent_;  // last silence seen per runner host
    QMap<QString, RunnerDeployReport> reports_;
    int deploysPending_ = 0;
    zmqrpc::RuntimeSnapshot merged_;
    QTimer* tick_ = nullptr;
    std::chrono::milliseconds staleAfter_{3000};
};

}  // namespace studio
