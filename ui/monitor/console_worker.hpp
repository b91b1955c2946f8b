// The console's background work, so that the GUI thread never makes a ZeroMQ call:
//   CallWorker     lives on the console's call thread; owns the zmqrpc::RpcClient (created
//                  there, reused while the target and its security stay the same) and runs
//                  single calls and "repeat N at rate R" (cancellable between calls).
//   PublishWorker  lives on the console's publish thread; owns the Sender whose PUB is bound
//                  for as long as the console exists (Publish and Heartbeat go out on it).
//   describeServer() runs `_describe` with a client of its own, on whatever thread calls it
//                  (the console runs it with QtConcurrent).
// Results come back as queued signals carrying plain values.
#pragma once

#include <zmqrpc/security.hpp>

#include <QList>
#include <QMetaType>
#include <QObject>
#include <QString>
#include <QStringList>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

namespace zmqrpc {
class RpcClient;
class Sender;
}  // namespace zmqrpc

namespace studio {

struct ConsoleCall {
    QString endpoint;
    zmqrpc::Security security;  // PLAIN, or CURVE with the server key
    QString function;
    QString parameters;  // a JSON object, as text
    std::chrono::milliseconds timeout{5000};
};

struct ConsoleCallResult {
    enum class Outcome { Ok, Timeout, Unreachable, CredentialsRefused, Status, Protocol, Other };
    Outcome outcome = Outcome::Other;
    int status = 0;          // the server's status_code when it answered
    QString statusText;      // the server's status_message when it answered
    QString response;        // pretty-printed response_message (200) or whole reply (others)
    QString error;           // for humans: "timeout after 5.0 s", "server status 451: ...", ...
    double roundTripMs = 0;  // request sent to reply received (or to the failure)
    bool ok() const noexcept { return outcome == Outcome::Ok; }
};

struct RepeatSummary {
    int requested = 0;
    int ok = 0;
    int failed = 0;
    bool cancelled = false;
    double elapsedMs = 0;
    std::vector<double> latenciesMs;  // of every answered call, in order
    QString firstError;
};

struct FunctionDoc {
    QString name;
    QStringList parameters;
    QString help;
};

struct DescribeResult {
    bool ok = false;
    QString error;  // when !ok: "server status 451: ...", "timeout after 2.0 s", ...
    QList<FunctionDoc> functions;
};

// Asks `endpoint` for `_describe` (blocking, up to `timeout`). Any thread.
DescribeResult describeServer(const QString& endpoint, const zmqrpc::Security& security,
                              std::chrono::milliseconds timeout);

// "timeout after 5.0 s", "unreachable", ... for an outcome (exposed for tests and tooltips).
QString describeSeconds(std::chrono::milliseconds timeout);

class CallWorker : public QObject {
    Q_OBJECT

  public:
    CallWorker();
    ~CallWorker() override;

    // One call; answers with callFinished().
    void call(const ConsoleCall& call);
    // `count` calls, `rate` per second (0: back to back); answers with repeatProgress() now and
    // then and repeatFinished() at the end. Stops early when *cancel becomes true.
    void repeat(const ConsoleCall& call, int count, double rate,
                std::shared_ptr<std::atomic<bool>> cancel);

  signals:
    void callFinished(const studio::ConsoleCallResult& result);
    void repeatProgress(int done, int total);
    void repeatFinished(const studio::RepeatSummary& summary);

  private:
    ConsoleCallResult invoke(const ConsoleCall& call);
    zmqrpc::RpcClient& clientFor(const ConsoleCall& call);

    std::unique_ptr<zmqrpc::RpcClient> client_;
    QString clientKey_;  // endpoint and security the client was made for (memory only)
};

class PublishWorker : public QObject {
    Q_OBJECT

  public:
    PublishWorker();
    ~PublishWorker() override;

    // Closes the PUB (if any) and binds a new one; answers with bound() or bindFailed().
    void bind(const QString& endpoint);
    void publish(const QString& function, const QString& parameters);
    void heartbeat();

  signals:
    // The address a SUB connects to ("tcp://127.0.0.1:40321").
    void bound(const QString& connectAddress);
    void bindFailed(const QString& error);
    // After each publish/heartbeat: what was sent, or why not.
    void sent(const QString& what, bool ok);

  private:
    std::unique_ptr<zmqrpc::Sender> sender_;
};

}  // namespace studio

Q_DECLARE_METATYPE(studio::ConsoleCallResult)
Q_DECLARE_METATYPE(studio::RepeatSummary)
