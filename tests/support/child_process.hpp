// Child: one child process running the zmqrpc CLI for the CLI tests (tst_cli, tst_store_kill);
// killed (SIGKILL) and reaped when it goes out of scope, and by the kernel should the test process
// die first. ZMQRPC_CLI is the binary's path (tests/CMakeLists.txt).
#pragma once

#include <QElapsedTimer>
#include <QProcess>
#include <QString>
#include <QStringList>

#include <sys/prctl.h>

#include <csignal>
#include <optional>

namespace testutil {

inline QStringList nonEmptyLines(const QString& text) {
    return text.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
}

class Child {
  public:
    Child() = default;
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() { kill(); }

    void start(const QStringList& args,
               const std::optional<QProcessEnvironment>& env = std::nullopt) {
        startWith({}, args, env);
    }
    // The CLI started through `prefix`, a program and its arguments that run the rest of the
    // command line (e.g. {"ip", "netns", "exec", NAME}: on another host of a HostNetwork, see
    // multihost.hpp). An empty prefix is start().
    void startWith(const QStringList& prefix, const QStringList& args,
                   const std::optional<QProcessEnvironment>& env = std::nullopt) {
        args_ = args;
        if (env) process_.setProcessEnvironment(*env);
        // Should this test process die without running destructors (a crash, the CTest
        // timeout), the kernel kills the child too (PR_SET_PDEATHSIG survives the prefix's exec).
        process_.setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGKILL); });
        if (prefix.isEmpty()) {
            process_.start(QStringLiteral(ZMQRPC_CLI), args);
        } else {
            process_.start(prefix.front(),
                           prefix.mid(1) + QStringList{QStringLiteral(ZMQRPC_CLI)} + args);
        }
        process_.closeWriteChannel();
    }
    bool waitStarted(int ms = 3000) { return process_.waitForStarted(ms); }
    bool running() const { return process_.state() != QProcess::NotRunning; }
    qint64 pid() const { return process_.processId(); }
    bool signal(int sig) const {
        auto pid = process_.processId();
        return pid > 0 && ::kill(static_cast<pid_t>(pid), sig) == 0;
    }
    // SIGKILL, and waits until the process is gone (its ports and files are free then).
    void kill() {
        if (process_.state() == QProcess::NotRunning) return;
        process_.kill();
        process_.waitForFinished(5000);
        drain();
    }

    // Reads whatever is pending on stdout and stderr.
    void drain() {
        out_ += process_.readAllStandardOutput();
        err_ += process_.readAllStandardError();
    }
    // Polls `predicate` (after reading pending output) until it holds, the process ended, or
    // `ms` passed. Returns the last result.
    template <class Predicate>
    bool waitFor(Predicate&& predicate, int ms) {
        QElapsedTimer timer;
        timer.start();
        for (;;) {
            drain();
            if (predicate()) return true;
            if (!running() || timer.elapsed() >= ms) {
                drain();
                return predicate();
            }
            // Both channels are read while waiting; this returns early on stdout data only.
            process_.waitForReadyRead(20);
        }
    }
    // The next complete line of stdout (without its newline), waiting up to `ms`.
    std::optional<QString> nextLine(int ms = 3000) {
        waitFor([this] { return out_.indexOf('\n', consumed_) >= 0; }, ms);
        auto end = out_.indexOf('\n', consumed_);
        if (end < 0) return std::nullopt;
        QString line = QString::fromUtf8(out_.mid(consumed_, end - consumed_));
        consumed_ = end + 1;
        return line;
    }
    // The first line of stdout (a ready line), waiting up to `ms`; nextLine() does not move it.
    std::optional<QString> firstLine(int ms = 3000) {
        waitFor([this] { return out_.contains('\n'); }, ms);
        const auto end = out_.indexOf('\n');
        if (end < 0) return std::nullopt;
        return QString::fromUtf8(out_.left(end));
    }
    // Waits for the end; false (and the child still running) on timeout.
    bool waitFinished(int ms = 3000) {
        bool done = process_.state() == QProcess::NotRunning || process_.waitForFinished(ms);
        drain();
        return done;
    }
    bool normalExit() const {
        return process_.state() == QProcess::NotRunning &&
               process_.exitStatus() == QProcess::NormalExit;
    }
    int exitCode() const { return process_.exitCode(); }
    bool cleanExit() const { return normalExit() && exitCode() == 0; }
    QString out() const { return QString::fromUtf8(out_); }
    QString err() const { return QString::fromUtf8(err_); }
    QStringList outLines() const { return nonEmptyLines(out()); }
    // For failure messages.
    QString describe() const {
        return QStringLiteral("zmqrpc %1\n  exit %2 (%3)\n  stdout: %4\n  stderr: %5")
            .arg(args_.join(QLatin1Char(' ')))
            .arg(process_.exitCode())
            .arg(running() ? QStringLiteral("still running")
                           : (normalExit() ? QStringLiteral("normal") : QStringLiteral("crash")))
            .arg(out(), err());
    }

  private:
    QProcess process_;
    QStringList args_;
    QByteArray out_, err_;
    qsizetype consumed_ = 0;
};

}  // namespace testutil
