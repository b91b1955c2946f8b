// The nodes one runner runs (`zmqrpc run FILE --host H --control EP [--metrics EP]`), watched and
// steered from the Studio over the network: a RuntimeSource whose snapshots, tap messages and
// start/stop go through the runner's control endpoint (our own REQ/REP protocol, with the
// runner's credentials), and whose events come from its metrics endpoint when it names one.
//
// A worker thread polls the runner (`snapshot` twice a second, `tap` for its running taps,
// `status` after every (re)connection and deploy); the GUI thread only reads what arrived. A
// runner that neither answered nor published for `staleAfter` (default 3 s) is silent():
// the hub then shows its nodes as unknown. Nothing has to be done to reconnect: a call that
// times out rebuilds the REQ socket (the next poll tries again), and the metrics SUB is
// rebuilt when it hears nothing for the same time.
#pragma once

#include "runtime/runtime_source.hpp"

#include <zmqrpc/security.hpp>

#include <QDateTime>
#include <QHash>
#include <QMetaType>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace studio {

// What one runner answered to a deploy.
struct RunnerDeployReport {
    QString host;
    bool refused = false;  // nothing changed (invalid document, revision conflict, no answer)
    QString message;       // refused: why; else a one-line summary
    QString revision;      // the runner's revision after it (refused: unchanged)
    std::vector<zmqrpc::DeployResult> nodes;
    int failed() const;  // nodes whose change failed
};

class RemoteRuntime : public RuntimeSource {
    Q_OBJECT

  public:
    struct Config {
        QString host;               // the topology's host this runner runs
        zmqrpc::Runner runner;      // its control and metrics endpoints
        zmqrpc::Security security;  // what the Studio presents (server key filled in)
        std::chrono::milliseconds staleAfter{3000};
        std::chrono::milliseconds pollInterval{500};
        std::chrono::milliseconds callTimeout{1500};
    };

    explicit RemoteRuntime(Config config, QObject* parent = nullptr);
    ~RemoteRuntime() override;  // waits for the worker: at most one call timeout

    // Detaches from the runner without waiting: the worker ends on its own once a call in
    // progress returns (the GUI thread never waits on the network). Then delete this object.
    void shutdownLater();

    const QString& host() const noexcept { return config_.host; }
    const zmqrpc::Runner& runner() const noexcept { return config_.runner; }

    // The runner runs its own document: an edit reaches it by deploy(), not here.
    void setTopology(const zmqrpc::Topology&) override {}
    void setSecrets(const zmqrpc::Secrets&) override {}

    void startAll() override;
    void stopAll() override;
    void start(const QStringList& nodeIds) override;
    void stop(const QStringList& nodeIds) override;
    // Sends `topology` to the runner, replacing the revision it last reported; deployFinished
    // tells the result.
    void deploy(const zmqrpc::Topology& topology);

    const zmqrpc::RuntimeSnapshot& snapshot() const override { return snapshot_; }
    bool isBusy() const override { return pending_ > 0; }
    std::vector<zmqrpc::TapMessage> tapMessages(const QString& tapId,
                                                quint64 afterSeq) const override;
    bool runsRemotely(const QString&) const override { return true; }

    // Whether anything was ever heard from the runner.
    bool everHeard() const noexcept { return lastHeard_.isValid(); }
    // Nothing heard (answer or publication) for staleAfter, or never.
    bool silent() const;
    // Milliseconds since the last answer or publication (since the attach when never).
    qint64 silentForMs() const;
    // Why the last call failed ("credentials refused: ...", "timeout ..."); empty after an answer.
    const QString& lastError() const noexcept { return lastError_; }
    // The revision of the document the runner runs, as it last said (empty before).
    const QString& revision() const noexcept { return revision_; }
    // One line for people: "connected, revision 1a2b…", "silent for 5 s: timeout ...".
    QString describe() const;

    // Keeps at most this many messages per tap (oldest dropped).
    static constexpr std::size_t kTapCapacity = 1000;

  signals:
    void deployFinished(const studio::RunnerDeployReport& report);
    // Heard again after being silent, or went silent, or the last error changed.
    void connectionChanged();

  private:
    struct Worker;
    void heard();
    void callFailed(const QString& error);
    void operationDone();
    void request(const char* verb, const QStringList& ids);

    Config config_;
    std::unique_ptr<Worker> worker_;
    zmqrpc::RuntimeSnapshot snapshot_;
    QHash<QString, std::deque<zmqrpc::TapMessage>> taps_;
    QDateTime attached_ = QDateTime::currentDateTimeUtc();
    QDateTime lastHeard_;
    QString lastError_;
    QString revision_;
    bool wasSilent_ = true;
    int pending_ = 0;
};

}  // namespace studio

Q_DECLARE_METATYPE(studio::RunnerDeployReport)
