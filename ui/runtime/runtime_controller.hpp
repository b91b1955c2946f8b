// The Studio's bridge to zmqrpc::Runtime. The Runtime lives on a worker thread owned by this
// object: start/stop and topology updates are queued to it and never block the GUI thread; the
// worker samples a RuntimeSnapshot every 250 ms and drains the event stream, and both arrive on
// the GUI thread as signals. Runtime state is an overlay on the document, never part of it (and
// never undoable).
//
// Lives on the GUI thread; its worker is private.
//
// The Runtime is created on the first start. New passwords (setSecrets) apply to the nodes that
// start after them; running nodes keep theirs. events() is the controller's own bus (the worker
// republishes every event into it), so subscriptions taken before the first start keep
// receiving.
#pragma once

#include <zmqrpc/events.hpp>
#include <zmqrpc/runtime.hpp>
#include <zmqrpc/topology.hpp>

#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>

#include <memory>
#include <vector>

namespace studio {

class RuntimeController : public QObject {
    Q_OBJECT

  public:
    explicit RuntimeController(QObject* parent = nullptr);
    ~RuntimeController() override;  // stops every node (bounded, under a second)

    // The document to run. Running nodes keep running with the configuration they started
    // with; others pick the new one up when they start. A document with errors is kept aside:
    // starting is refused (operationFailed) until it is valid again.
    void setTopology(const zmqrpc::Topology& topology);
    // Passwords for the credentials the nodes name (keychain entries, credentials file).
    void setSecrets(const zmqrpc::Secrets& secrets);

    void startAll();
    void stopAll();
    void start(const QStringList& nodeIds);
    void stop(const QStringList& nodeIds);

    // The last snapshot received (empty before the first).
    const zmqrpc::RuntimeSnapshot& snapshot() const noexcept { return snapshot_; }
    // Whether a node is running or starting (its properties are then read-only).
    bool isActive(const QString& nodeId) const;
    // True while a start/stop is being carried out.
    bool isBusy() const noexcept { return pending_ > 0; }

    // A tap node's kept messages newer than `afterSeq` (reads memory only; no network).
    std::vector<zmqrpc::TapMessage> tapMessages(const QString& tapId, quint64 afterSeq) const;
    // The bus every node's events go to (for widgets that subscribe on their own).
    std::shared_ptr<zmqrpc::EventBus> events() const;

  signals:
    void snapshotUpdated();
    void eventsArrived(const QList<zmqrpc::Event>& events);
    void operationFailed(const QString& message);
    void busyChanged(bool busy);

  private:
    struct Worker;
    void operationDone();
    std::unique_ptr<Worker> worker_;
    zmqrpc::RuntimeSnapshot snapshot_;
    int pending_ = 0;
};

}  // namespace studio

Q_DECLARE_METATYPE(zmqrpc::Event)
