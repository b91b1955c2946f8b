// The Studio's own nodes (a RuntimeSource): its bridge to zmqrpc::Runtime. The Runtime lives on a
// worker thread owned by this object: start/stop and topology updates are queued to it and never
// block the GUI thread; the worker samples a RuntimeSnapshot every 250 ms and drains the event
// stream, and both arrive on the GUI thread as signals. Runtime state is an overlay on the
// document, never part of it (and never undoable).
//
// Lives on the GUI thread; its worker is private.
//
// The Runtime is created on the first start. New passwords (setSecrets) apply to the nodes that
// start after them; running nodes keep theirs. events() is the controller's own bus (the worker
// republishes every event into it), so subscriptions taken before the first start keep
// receiving.
#pragma once

#include "runtime/runtime_source.hpp"

#include <memory>
#include <vector>

namespace studio {

class RuntimeController : public RuntimeSource {
    Q_OBJECT

  public:
    explicit RuntimeController(QObject* parent = nullptr);
    ~RuntimeController() override;  // stops every node (bounded, under a second)

    // The document to run. Running nodes keep running with the configuration they started
    // with; others pick the new one up when they start. A document with errors is kept aside:
    // starting is refused (operationFailed) until it is valid again.
    void setTopology(const zmqrpc::Topology& topology) override;
    // Passwords for the credentials the nodes name (keychain entries, credentials file).
    void setSecrets(const zmqrpc::Secrets& secrets) override;
    // Hosts whose nodes a runner runs: this runtime leaves them alone (their running nodes
    // stop; they show as Remote and starting them is refused).
    void setExcludedHosts(const QStringList& hosts);

    void startAll() override;
    void stopAll() override;
    void start(const QStringList& nodeIds) override;
    void stop(const QStringList& nodeIds) override;

    const zmqrpc::RuntimeSnapshot& snapshot() const override { return snapshot_; }
    bool isBusy() const override { return pending_ > 0; }
    std::vector<zmqrpc::TapMessage> tapMessages(const QString& tapId,
                                                quint64 afterSeq) const override;
    // The bus every node's events go to (for widgets that subscribe on their own).
    std::shared_ptr<zmqrpc::EventBus> events() const;

  private:
    struct Worker;
    void operationDone();
    std::unique_ptr<Worker> worker_;
    zmqrpc::RuntimeSnapshot snapshot_;
    int pending_ = 0;
};

}  // namespace studio
