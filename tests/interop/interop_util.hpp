// Helpers for the interop suite: a Python pyzmqrpc-protocol peer (pyzmqrpc_peer.py) run as a child
// process, and a small thread-safe recorder of the calls a C++ RpcServer handled. Test thread only
// (PythonPeer is driven synchronously with QProcess's blocking waits; no event loop needed).
#pragma once

#include <QByteArray>
#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTest>
#include <QThread>

#include <zmqrpc/zmqrpc.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace interop {

// ZMQRPC_PYTHON3 from CMake; the environment variable ZMQRPC_INTEROP_PYTHON overrides it.
inline QString pythonPath() {
    return qEnvironmentVariable("ZMQRPC_INTEROP_PYTHON", QStringLiteral(ZMQRPC_PYTHON3));
}
inline QString peerScript() {
    return QStringLiteral(ZMQRPC_INTEROP_DIR "/pyzmqrpc_peer.py");
}

// Empty when python3 can import pyzmq (and its PLAIN authenticator); else why not.
inline QString pythonZmqProblem() {
    QProcess probe;
    probe.start(pythonPath(),
                {QStringLiteral("-c"),
                 QStringLiteral("import zmq, zmq.auth.thread; print(zmq.zmq_version())")});
    if (!probe.waitForStarted(5000)) return QStringLiteral("cannot start %1").arg(pythonPath());
    if (!probe.waitForFinished(10000)) {
        probe.kill();
        probe.waitForFinished(1000);
        return QStringLiteral("%1 -c 'import zmq' did not finish").arg(pythonPath());
    }
    if (probe.exitStatus() != QProcess::NormalExit || probe.exitCode() != 0)
        return QStringLiteral("%1 cannot import zmq (install python3-zmq): %2")
            .arg(pythonPath(), QString::fromUtf8(probe.readAllStandardError()).trimmed());
    return {};
}

// The exit code of a suite that could not run: CTest's SKIP_RETURN_CODE of the interop tests
// (tests/CMakeLists.txt), so that a missing Python or pyzmq shows as skipped, never as passed.
inline constexpr int kSkipExitCode = 77;

// One run of pyzmqrpc_peer.py. The peer prints one event per line; waitForLine() takes the first
// not-yet-taken line with a given prefix (other lines stay available). The destructor closes the
// peer's stdin (every mode exits on EOF), waits briefly, then kills it.
class PythonPeer {
  public:
    explicit PythonPeer(const QStringList& arguments) {
        process_.setProgram(pythonPath());
        process_.setArguments(QStringList{QStringLiteral("-u"), peerScript()} + arguments);
        process_.setProcessChannelMode(QProcess::SeparateChannels);
        process_.start();
        started_ = process_.waitForStarted(5000);
    }
    ~PythonPeer() {
        if (process_.state() != QProcess::NotRunning) {
            process_.closeWriteChannel();
            if (!process_.waitForFinished(2000)) {
                process_.kill();
                process_.waitForFinished(2000);
            }
        }
    }
    PythonPeer(const PythonPeer&) = delete;
    PythonPeer& operator=(const PythonPeer&) = delete;

    bool started() const { return started_; }

    // Waits (bounded) for a line starting with `prefix`; returns the rest of the line after the
    // prefix and one space, and removes the line from the pending ones.
    std::optional<QString> waitForLine(const QString& prefix, int timeoutMs = 5000) {
        QDeadlineTimer deadline(timeoutMs);
        for (;;) {
            read();
            for (qsizetype i = 0; i < pending_.size(); ++i) {
                if (pending_[i].startsWith(prefix)) {
                    QString rest = pending_[i].mid(prefix.size());
                    if (rest.startsWith(QLatin1Char(' '))) rest.remove(0, 1);
                    pending_.removeAt(i);
                    return rest;
                }
            }
            if (deadline.hasExpired()) return std::nullopt;
            if (process_.state() == QProcess::NotRunning) {
                read();
                if (!hasPending(prefix)) return std::nullopt;
                continue;
            }
            process_.waitForReadyRead(
                static_cast<int>(std::min<qint64>(deadline.remainingTime(), 50)));
        }
    }

    // Reads whatever arrived within `ms` without waiting for anything in particular.
    void drain(int ms) {
        QDeadlineTimer deadline(ms);
        while (!deadline.hasExpired()) {
            if (process_.state() == QProcess::NotRunning) {
                QThread::msleep(
                    static_cast<unsigned long>(std::min<qint64>(deadline.remainingTime(), 20)));
            } else {
                process_.waitForReadyRead(
                    static_cast<int>(std::min<qint64>(deadline.remainingTime(), 50)));
            }
            read();
        }
        read();
    }

    // Every line seen so far (taken or not) starting with prefix.
    int countSeen(const QString& prefix) {
        read();
        int n = 0;
        for (const QString& line : all_)
            if (line.startsWith(prefix)) ++n;
        return n;
    }

    void write(const QByteArray& data) {
        process_.write(data);
        process_.waitForBytesWritten(1000);
    }
    void closeStdin() { process_.closeWriteChannel(); }

    // Waits (bounded) for the process to end; returns its exit code, or -1 if it did not end.
    int waitForExit(int timeoutMs = 5000) {
        if (process_.state() != QProcess::NotRunning && !process_.waitForFinished(timeoutMs)) {
            read();
            return -1;
        }
        read();
        return process_.exitStatus() == QProcess::NormalExit ? process_.exitCode() : -2;
    }

    // Everything the peer printed, for failure messages.
    QString diagnostics() {
        read();
        stderr_ += QString::fromUtf8(process_.readAllStandardError());
        return QStringLiteral("peer %1\n--- stdout:\n%2\n--- stderr:\n%3")
            .arg(process_.arguments().mid(1).join(QLatin1Char(' ')), all_.join(QLatin1Char('\n')),
                 stderr_);
    }
    QByteArray diag() { return diagnostics().toUtf8(); }

  private:
    bool hasPending(const QString& prefix) const {
        for (const QString& line : pending_)
            if (line.startsWith(prefix)) return true;
        return false;
    }
    // Takes what the child wrote. QProcess only moves data from the pipe into its buffer inside
    // a waitFor*() call (or an event loop), so poll the pipe without blocking first.
    void read() {
        for (int i = 0; i < 100 && process_.state() == QProcess::Running; ++i) {
            if (!process_.waitForReadyRead(0)) break;
        }
        buffer_ += process_.readAllStandardOutput();
        stderr_ += QString::fromUtf8(process_.readAllStandardError());
        qsizetype newline;
        while ((newline = buffer_.indexOf('\n')) >= 0) {
            QString line = QString::fromUtf8(buffer_.left(newline)).trimmed();
            buffer_.remove(0, newline + 1);
            all_ << line;
            pending_ << line;
        }
    }

    QProcess process_;
    bool started_ = false;
    QByteArray buffer_;
    QStringList all_;
    QStringList pending_;
    QString stderr_;
};

// Calls recorded by a C++ RpcServer's functions (they run on the server's thread).
class CallLog {
  public:
    void add(std::string function, zmqrpc::json parameters) {
        std::lock_guard lock(mutex_);
        calls_.push_back({std::move(function), std::move(parameters)});
        cv_.notify_all();
    }
    // Waits (bounded) until at least n calls were recorded.
    bool waitFor(std::size_t n, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return calls_.size() >= n; });
    }
    std::vector<std::pair<std::string, zmqrpc::json>> calls() const {
        std::lock_guard lock(mutex_);
        return calls_;
    }
    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return calls_.size();
    }

  private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::pair<std::string, zmqrpc::json>> calls_;
};

// Polls `condition` until it holds or `timeout` passes.
inline bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= end) return false;
        QThread::msleep(20);
    }
    return true;
}

}  // namespace interop

// main() of an interop suite: runs it, or, when Python cannot run the peer, says why and exits
// with kSkipExitCode before any test runs.
#define ZMQRPC_INTEROP_MAIN(TestClass)                                                         \
    int main(int argc, char** argv) {                                                          \
        QCoreApplication app(argc, argv);                                                      \
        if (const QString problem = interop::pythonZmqProblem(); !problem.isEmpty()) {         \
            std::fprintf(stderr, "SKIP: Python peer unavailable, interop suite not run: %s\n", \
                         qPrintable(problem));                                                 \
            return interop::kSkipExitCode;                                                     \
        }                                                                                      \
        TestClass test;                                                                        \
        QTEST_SET_MAIN_SOURCE_PATH                                                             \
        return QTest::qExec(&test, argc, argv);                                                \
    }
