#include "runtime/runtime_controller.hpp"

#include <zmqrpc/context.hpp>

#include <QMetaObject>
#include <QMetaType>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <chrono>
#include <exception>
#include <mutex>
#include <set>
#include <string>
#include <utility>

namespace studio {

namespace {

using namespace std::chrono_literals;

constexpr auto kSampleInterval = 250ms;  // the canvas overlay is refreshed four times a second
constexpr auto kDrainInterval = 100ms;   // events reach the console within a tenth of a second
constexpr std::size_t kEventCapacity = 10000;

std::vector<std::string> toStd(const QStringList& ids) {
    std::vector<std::string> out;
    out.reserve(static_cast<std::size_t>(ids.size()));
    for (const QString& id : ids)
        out.push_back(id.toStdString());
    return out;
}

bool sameSecrets(const zmqrpc::Secrets& a, const zmqrpc::Secrets& b) {
    return a.file_entries == b.file_entries && a.known == b.known &&
           a.use_environment == b.use_environment;
}

}  // namespace

// Everything below `thread` is touched on the worker thread only, except where noted. The GUI
// thread talks to it by queueing functors to `context` (which lives on the worker thread); the
// worker answers by queueing functors to the controller (which lives on the GUI thread). A
// functor queued to an object is dropped if that object is destroyed first, and the destructor
// joins the thread before the controller goes, so neither side ever runs against a dead one.
struct RuntimeController::Worker {
    explicit Worker(RuntimeController* owner) : controller(owner) {
        context = new QObject;
        sampleTimer = new QTimer(context);
        sampleTimer->setInterval(kSampleInterval);
        drainTimer = new QTimer(context);
        drainTimer->setInterval(kDrainInterval);
        QObject::connect(sampleTimer, &QTimer::timeout, context, [this] { sample(); });
        QObject::connect(drainTimer, &QTimer::timeout, context, [this] { drain(); });
        context->moveToThread(&thread);
        // Deferred deletes of a thread's objects run as it finishes: the timers die on their
        // own thread.
        QObject::connect(&thread, &QThread::finished, context, &QObject::deleteLater);
        thread.setObjectName(QStringLiteral("zmqrpc-runtime"));
        thread.start();
    }

    template <class F>
    void post(F&& f) {
        QMetaObject::invokeMethod(context, std::forward<F>(f), Qt::QueuedConnection);
    }
    template <class F>
    void toGui(F&& f) {
        QMetaObject::invokeMethod(controller, std::forward<F>(f), Qt::QueuedConnection);
    }

    // --- worker thread -------------------------------------------------------------------------

    void fail(const QString& message) {
        toGui([c = controller, message] { emit c->operationFailed(message); });
    }

    // The Runtime for the current topology and secrets, created on first use.
    zmqrpc::Runtime* ensureRuntime() {
        if (runtime) return runtime.get();
        if (!zmqContext) zmqContext = std::make_shared<zmqrpc::Context>();
        zmqrpc::RuntimeOptions options;
        options.context = zmqContext;
        options.secrets = secrets;
        options.sample_interval = kSampleInterval;
        options.exclude_hosts = excludedHosts;
        auto created = std::make_shared<zmqrpc::Runtime>(topology, std::move(options));
        subscription = created->subscribe(kEventCapacity);
        {
            std::lock_guard lock(runtimeMutex);
            runtime = std::move(created);
        }
        sampleTimer->start();
        drainTimer->start();
        return runtime.get();
    }

    void destroyRuntime() {
        sampleTimer->stop();
        drainTimer->stop();
        std::shared_ptr<zmqrpc::Runtime> old;
        {
            std::lock_guard lock(runtimeMutex);
            old = std::move(runtime);
        }
        if (old) old->stop_all();
        subscription.reset();
        old.reset();  // stops its background thread
    }

    void setTopology(zmqrpc::Topology t) {
        topology = std::move(t);
        if (!runtime) return;
        try {
            runtime->update_topology(topology);
        } catch (const std::exception& e) {
            fail(QString::fromStdString(e.what()));
        }
        sample();  // removed nodes leave the overlay now, not in a quarter second
    }

    void setSecrets(zmqrpc::Secrets s) {
        if (sameSecrets(s, secrets)) return;
        secrets = std::move(s);
        if (runtime) runtime->set_secrets(secrets);  // for the nodes that start next
    }

    void setExcludedHosts(std::set<std::string> hosts) {
        if (hosts == excludedHosts) return;
        excludedHosts = std::move(hosts);
        if (!runtime) return;
        try {
            runtime->set_excluded_hosts(excludedHosts);
        } catch (const std::exception& e) {
            fail(QString::fromStdString(e.what()));
        }
        sample();
    }

    enum class Op { Start, Stop, StartAll, StopAll };

    void run(Op op, const std::vector<std::string>& ids) {
        try {
            if (op == Op::Start || op == Op::StartAll) {
                zmqrpc::Runtime* r = ensureRuntime();
                if (op == Op::StartAll)
                    r->start_all();
                else
                    r->start(ids);
            } else if (runtime) {
                if (op == Op::StopAll)
                    runtime->stop_all();
                else
                    runtime->stop(ids);
            }
        } catch (const std::exception& e) {
            fail(QString::fromStdString(e.what()));
        }
        sample();
        toGui([c = controller] { c->operationDone(); });
    }

    void sample() {
        if (!runtime) return;
        toGui([c = controller, snap = runtime->snapshot()]() mutable {
            c->snapshot_ = std::move(snap);
            emit c->snapshotUpdated();
        });
    }

    void drain() {
        if (!subscription) return;
        auto events = subscription->drain();
        if (events.empty()) return;
        QList<zmqrpc::Event> batch;
        batch.reserve(static_cast<qsizetype>(events.size()));
        for (auto& event : events) {
            bus->publish(event);
            batch.push_back(std::move(event));
        }
        toGui([c = controller, batch = std::move(batch)] { emit c->eventsArrived(batch); });
    }

    void shutdown() {
        destroyRuntime();
        zmqContext.reset();
        QThread::currentThread()->quit();
    }

    RuntimeController* const controller;
    QThread thread;
    QObject* context = nullptr;  // lives on `thread`; deleted as it finishes
    QTimer* sampleTimer = nullptr;
    QTimer* drainTimer = nullptr;

    zmqrpc::Topology topology;  // the last valid one
    zmqrpc::Secrets secrets;
    std::set<std::string> excludedHosts;  // hosts a runner runs
    std::shared_ptr<zmqrpc::Context> zmqContext;
    std::shared_ptr<zmqrpc::EventSubscription> subscription;

    // Any thread: written on the worker thread under the mutex, read by tapMessages().
    mutable std::mutex runtimeMutex;
    std::shared_ptr<zmqrpc::Runtime> runtime;
    // Stable across Runtime re-creations (widgets may subscribe before the first start).
    const std::shared_ptr<zmqrpc::EventBus> bus = std::make_shared<zmqrpc::EventBus>();

    // --- GUI thread ----------------------------------------------------------------------------

    // Queues a start or stop; refuses a start while the topology has errors.
    void request(Op op, const QStringList& ids) {
        const bool starting = op == Op::Start || op == Op::StartAll;
        if (starting && !topologyError.isEmpty()) {
            emit controller->operationFailed(QStringLiteral("the topology has errors: ") +
                                             topologyError);
            return;
        }
        if (++controller->pending_ == 1) emit controller->busyChanged(true);
        post([this, op, stdIds = toStd(ids)] { run(op, stdIds); });
    }

    QString topologyError;  // the first error of the topology kept aside; empty when valid
};

RuntimeController::RuntimeController(QObject* parent)
    : RuntimeSource(parent), worker_(std::make_unique<Worker>(this)) {
    qRegisterMetaType<zmqrpc::Event>();
    qRegisterMetaType<QList<zmqrpc::Event>>();
}

RuntimeController::~RuntimeController() {
    worker_->post([w = worker_.get()] { w->shutdown(); });
    worker_->thread.wait();
}

void RuntimeController::setTopology(const zmqrpc::Topology& topology) {
    const auto problems = zmqrpc::validate(topology);
    if (zmqrpc::has_errors(problems)) {
        // Errors come first; the first one is named, the others counted.
        int errors = 0;
        for (const auto& p : problems)
            errors += p.severity == zmqrpc::Severity::Error ? 1 : 0;
        std::string first = problems.front().str();
        const std::string prefix = std::string(zmqrpc::to_string(zmqrpc::Severity::Error)) + ": ";
        if (first.rfind(prefix, 0) == 0) first.erase(0, prefix.size());
        worker_->topologyError = QString::fromStdString(first);
        if (errors > 1) worker_->topologyError += QStringLiteral(" (and %1 more)").arg(errors - 1);
        return;
    }
    worker_->topologyError.clear();
    worker_->post([w = worker_.get(), t = topology]() mutable { w->setTopology(std::move(t)); });
}

void RuntimeController::setSecrets(const zmqrpc::Secrets& secrets) {
    worker_->post([w = worker_.get(), s = secrets]() mutable { w->setSecrets(std::move(s)); });
}

void RuntimeController::setExcludedHosts(const QStringList& hosts) {
    std::set<std::string> set;
    for (const QString& h : hosts)
        set.insert(h.toStdString());
    worker_->post([w = worker_.get(), set = std::move(set)]() mutable {
        w->setExcludedHosts(std::move(set));
    });
}

void RuntimeController::startAll() {
    worker_->request(Worker::Op::StartAll, {});
}

void RuntimeController::stopAll() {
    worker_->request(Worker::Op::StopAll, {});
}

void RuntimeController::start(const QStringList& nodeIds) {
    worker_->request(Worker::Op::Start, nodeIds);
}

void RuntimeController::stop(const QStringList& nodeIds) {
    worker_->request(Worker::Op::Stop, nodeIds);
}

void RuntimeController::operationDone() {
    if (--pending_ == 0) emit busyChanged(false);
}

std::vector<zmqrpc::TapMessage> RuntimeController::tapMessages(const QString& tapId,
                                                               quint64 afterSeq) const {
    std::shared_ptr<zmqrpc::Runtime> runtime;
    {
        std::lock_guard lock(worker_->runtimeMutex);
        runtime = worker_->runtime;
    }
    if (!runtime) return {};
    try {
        return runtime->tap_messages(tapId.toStdString(), afterSeq);
    } catch (const std::exception&) {
        return {};  // not a tap (any more): nothing to show
    }
}

std::shared_ptr<zmqrpc::EventBus> RuntimeController::events() const {
    return worker_->bus;
}

}  // namespace studio
