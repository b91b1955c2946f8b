// What the Studio's widgets watch and steer: a source of runtime state (snapshots, events, tap
// messages) that can start and stop nodes. Three implementations:
//
//   RuntimeController  the nodes this Studio runs itself (a zmqrpc::Runtime on a worker thread)
//   RemoteRuntime      the nodes one runner runs (`zmqrpc run --control`), over the network
//   RuntimeHub         the whole deployment: the local runtime for hosts without a runner and
//                      one RemoteRuntime per host that has one, merged by host
//
// The widgets (scene, inspector, console, event log, tap, heartbeat monitor, alerts, charts,
// metric history) take a RuntimeSource and never know which one it is. Every method runs on the
// GUI thread and returns at once: none waits on the network.
#pragma once

#include <zmqrpc/events.hpp>
#include <zmqrpc/runtime.hpp>
#include <zmqrpc/secrets.hpp>
#include <zmqrpc/topology.hpp>

#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>

#include <vector>

namespace studio {

class RuntimeSource : public QObject {
    Q_OBJECT

  public:
    using QObject::QObject;

    // The document being edited (the source takes what concerns it).
    virtual void setTopology(const zmqrpc::Topology& topology) = 0;
    // Passwords and keys for the security the document names.
    virtual void setSecrets(const zmqrpc::Secrets& secrets) = 0;

    virtual void startAll() = 0;
    virtual void stopAll() = 0;
    virtual void start(const QStringList& nodeIds) = 0;
    virtual void stop(const QStringList& nodeIds) = 0;

    // The last snapshot (empty before the first).
    virtual const zmqrpc::RuntimeSnapshot& snapshot() const = 0;
    // True while a start/stop (or deploy) is being carried out.
    virtual bool isBusy() const = 0;
    // A tap node's kept messages newer than `afterSeq`, from memory (no network).
    virtual std::vector<zmqrpc::TapMessage> tapMessages(const QString& tapId,
                                                        quint64 afterSeq) const = 0;
    // The address other processes of this machine reach a node's bound sockets at: the host's
    // address for a node another machine runs, 127.0.0.1 for one that runs here.
    virtual QString nodeAddress(const QString& nodeId) const;

    // Whether a runner on another machine runs the node (edits reach it by a deploy; they are
    // not refused while it runs).
    virtual bool runsRemotely(const QString& nodeId) const;

    // Whether a node is running or starting (a local one's properties are then read-only).
    bool isActive(const QString& nodeId) const;

  signals:
    void snapshotUpdated();
    void eventsArrived(const QList<zmqrpc::Event>& events);
    void operationFailed(const QString& message);
    void busyChanged(bool busy);
};

}  // namespace studio

Q_DECLARE_METATYPE(zmqrpc::Event)
