// HostNetwork: N hosts for one multi-host test, each with its own IPv4 address.
//
// Namespaces mode (this process is root, `ip` is there and network namespaces work): one network
// namespace per host ("zr<pid>-<i>"), each with a veth pair whose root end ("zr<pid>-<i>h") is
// enslaved to a bridge "zrb<pid>" in the root namespace. The bridge has 10.77.<k>.1/24, host i
// has 10.77.<k>.<i+2>/24 on its end ("zr<pid>-<i>n") and lo up. k is a /24 that no address or
// route of this machine uses yet, searched from a start derived from the pid, so that two test
// processes (ctest -j2) never share one. The test process reaches every host through the bridge
// and the hosts reach each other (one L2 segment: no forwarding, no sysctl changed). Programs run
// on host i with execPrefix(i) ({"ip", "netns", "exec", NAME}; `ip netns exec` execs, so the
// child's pid is the program's own). cut(i) sets the root end of host i's veth down: the host's
// end loses its carrier, packets in both directions are dropped and established TCP connections
// see nothing at all (no RST, no FIN), exactly as when a host's cable is pulled.
//
// Loopback mode (not root, no `ip`, namespaces refused, or ZMQRPC_TEST_NO_NETNS=1 in the
// environment): distinct loopback addresses 127.<a>.<b>.2, .3, ... (Linux routes all of 127/8 to
// lo); a and b are derived from the pid so that two test processes do not share addresses.
// Every address is checked to be bindable. cut() is not possible without netfilter: it returns
// false and says so, and the caller freezes the host's processes (SIGSTOP) instead.
//
// Everything it creates it removes in its destructor, and on a failed set-up (then it falls back
// to Loopback mode and modeText() says why). It also removes what an earlier test process left
// behind when that process died without its destructor (SIGKILL by a CTest timeout): namespaces
// and bridges of this naming whose pid is no longer alive. Stop the programs running on the
// hosts before it goes out of scope (their namespace's links are gone then). Every `ip` call is
// a QProcess with a bounded wait. Header-only, Qt Core only (QProcess): the CLI tests and the
// Studio tests use it.
#pragma once

#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QProcessEnvironment>
#include <QRegularExpression>
#include <QSet>
#include <QStandardPaths>
#include <QString>
#include <QStringList>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

namespace testutil {

class HostNetwork {
  public:
    enum class Mode { Namespaces, Loopback };

    // Never throws; check ok() and mode().
    explicit HostNetwork(int hosts) : hosts_(hosts) {
        pid_ = static_cast<qint64>(::getpid());
        if (hosts < 1 || hosts > 200) {
            error_ = QStringLiteral("HostNetwork: %1 hosts asked for (1 to 200)").arg(hosts);
            return;
        }
        const QString why = trySetUpNamespaces();
        if (why.isEmpty()) {
            mode_ = Mode::Namespaces;
            return;
        }
        mode_ = Mode::Loopback;
        fallbackReason_ = why;
        setUpLoopback();
    }
    HostNetwork(const HostNetwork&) = delete;
    HostNetwork& operator=(const HostNetwork&) = delete;
    ~HostNetwork() { tearDown(); }

    // False when not even the loopback fallback could be set up; error() says why.
    bool ok() const { return error_.isEmpty(); }
    QString error() const { return error_; }
    Mode mode() const { return mode_; }
    // What ran, for the test's log: "network namespaces zr123-0..zr123-2 (10.77.5.2..10.77.5.4),
    // veth on bridge zrb123" or "loopback addresses 127.1.123.2..127.1.123.4: namespaces
    // unavailable: <why>".
    QString modeText() const {
        if (!ok()) return error_;
        if (mode_ == Mode::Namespaces) {
            return QStringLiteral("network namespaces %1..%2 (%3..%4), veth on bridge %5")
                .arg(nsName(0), nsName(hosts_ - 1), addresses_.front(), addresses_.back(),
                     bridgeName());
        }
        return QStringLiteral("loopback addresses %1..%2: namespaces unavailable: %3")
            .arg(addresses_.front(), addresses_.back(), fallbackReason_);
    }
    // Why Namespaces mode did not run (empty in Namespaces mode).
    QString fallbackReason() const { return fallbackReason_; }
    int size() const { return ok() ? hosts_ : 0; }
    // Host i's IPv4 address, reachable from this process (and from every other host).
    QString address(int i) const { return valid(i) ? addresses_[i] : QString(); }
    // Host i's namespace (Namespaces mode), else empty.
    QString namespaceName(int i) const {
        return mode_ == Mode::Namespaces && valid(i) ? nsName(i) : QString();
    }
    // The argv prefix that runs a program on host i: {"/usr/sbin/ip", "netns", "exec", NAME}, or
    // {} in Loopback mode (every host is this machine).
    QStringList execPrefix(int i) const {
        if (mode_ != Mode::Namespaces || !valid(i)) return {};
        return {ip_, QStringLiteral("netns"), QStringLiteral("exec"), nsName(i)};
    }
    // Starts `program args` on host i in `process` (its environment and modifiers as set).
    void start(QProcess& process, int i, const QString& program, const QStringList& args) const {
        const QStringList prefix = execPrefix(i);
        if (prefix.isEmpty()) {
            process.start(program, args);
        } else {
            process.start(prefix.front(), prefix.mid(1) + QStringList{program} + args);
        }
    }

    // Cuts host i off the network (Namespaces: its veth's root end down) / restores it. Loopback:
    // false, and `why` says to freeze the process instead.
    bool cut(int i, QString* why = nullptr) { return setLink(i, false, why); }
    bool restore(int i, QString* why = nullptr) { return setLink(i, true, why); }
    bool isCut(int i) const { return valid(i) && cut_[i]; }

  private:
    static constexpr int kIpTimeoutMs = 5000;

    int hosts_;
    qint64 pid_ = 0;
    Mode mode_ = Mode::Loopback;
    QString ip_;
    QString error_, fallbackReason_;
    QStringList addresses_;
    std::vector<bool> cut_;
    // What was made, to remove.
    bool bridgeMade_ = false;
    std::vector<bool> nsMade_, vethMade_;

    // An exclusive flock on a file in /run/lock (or /tmp), waited for at most 10 s.
    class SetUpLock {
      public:
        SetUpLock() {
            for (const char* path :
                 {"/run/lock/zmqrpc-test-hostnetwork.lock", "/tmp/zmqrpc-test-hostnetwork.lock"}) {
                fd_ = ::open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
                if (fd_ >= 0) break;
            }
            if (fd_ < 0) {
                why_ = QStringLiteral("cannot open a lock file in /run/lock or /tmp");
                return;
            }
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
                if (std::chrono::steady_clock::now() >= deadline) {
                    why_ = QStringLiteral("another test held the set-up lock for 10 s");
                    return;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
            held_ = true;
        }
        SetUpLock(const SetUpLock&) = delete;
        SetUpLock& operator=(const SetUpLock&) = delete;
        ~SetUpLock() {
            if (fd_ >= 0) ::close(fd_);  // releases the lock
        }
        bool held() const { return held_; }
        QString why() const { return why_; }

      private:
        int fd_ = -1;
        bool held_ = false;
        QString why_;
    };

    bool valid(int i) const { return ok() && i >= 0 && i < hosts_; }
    QString nsName(int i) const { return QStringLiteral("zr%1-%2").arg(pid_).arg(i); }
    QString hostEnd(int i) const { return QStringLiteral("zr%1-%2h").arg(pid_).arg(i); }
    QString nsEnd(int i) const { return QStringLiteral("zr%1-%2n").arg(pid_).arg(i); }
    QString bridgeName() const { return QStringLiteral("zrb%1").arg(pid_); }

    // Runs `ip ARGS`; empty on success, else the command and what it said.
    QString ip(const QStringList& args, QString* out = nullptr) const {
        QProcess p;
        p.setProcessChannelMode(QProcess::SeparateChannels);
        p.start(ip_, args);
        const QString command = QStringLiteral("`ip %1`").arg(args.join(QLatin1Char(' ')));
        if (!p.waitForStarted(kIpTimeoutMs)) return command + QStringLiteral(" did not start");
        p.closeWriteChannel();
        if (!p.waitForFinished(kIpTimeoutMs)) {
            p.kill();
            p.waitForFinished(1000);
            return command + QStringLiteral(" did not finish within %1 ms").arg(kIpTimeoutMs);
        }
        if (out) *out = QString::fromLocal8Bit(p.readAllStandardOutput());
        if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
            return QStringLiteral("%1 failed (exit %2): %3")
                .arg(command)
                .arg(p.exitCode())
                .arg(QString::fromLocal8Bit(p.readAllStandardError()).trimmed());
        }
        return {};
    }

    static bool pidAlive(qint64 pid) {
        return QFileInfo::exists(QStringLiteral("/proc/%1").arg(pid));
    }

    // Namespaces and bridges "zr<pid>-<i>" / "zrb<pid>" of test processes that are gone.
    void removeLeftovers() const {
        QString out;
        if (ip({QStringLiteral("netns"), QStringLiteral("list")}, &out).isEmpty()) {
            static const QRegularExpression ns(QStringLiteral(R"(^zr([0-9]+)-[0-9]+\b)"),
                                               QRegularExpression::MultilineOption);
            for (auto it = ns.globalMatch(out); it.hasNext();) {
                const auto m = it.next();
                if (m.captured(1).toLongLong() != pid_ && !pidAlive(m.captured(1).toLongLong()))
                    ip({QStringLiteral("netns"), QStringLiteral("del"), m.captured(0)});
            }
        }
        out.clear();
        if (ip({QStringLiteral("-o"), QStringLiteral("link"), QStringLiteral("show")}, &out)
                .isEmpty()) {
            static const QRegularExpression link(
                QStringLiteral(R"(^[0-9]+: (zrb([0-9]+)|zr([0-9]+)-[0-9]+h)[@:])"),
                QRegularExpression::MultilineOption);
            for (auto it = link.globalMatch(out); it.hasNext();) {
                const auto m = it.next();
                const qint64 owner =
                    (m.captured(2).isEmpty() ? m.captured(3) : m.captured(2)).toLongLong();
                if (owner != pid_ && !pidAlive(owner))
                    ip({QStringLiteral("link"), QStringLiteral("del"), m.captured(1)});
            }
        }
    }

    // A /24 of 10.77.0.0/16 that no address or route uses, searched from one derived from the
    // pid; -1 if none.
    int freeSubnet() const {
        QString addrs, routes;
        if (!ip({QStringLiteral("-4"), QStringLiteral("-o"), QStringLiteral("addr")}, &addrs)
                 .isEmpty() ||
            !ip({QStringLiteral("-4"), QStringLiteral("route"), QStringLiteral("show"),
                 QStringLiteral("table"), QStringLiteral("all")},
                &routes)
                 .isEmpty())
            return -1;
        const QString used = addrs + QLatin1Char('\n') + routes;
        const int first = static_cast<int>(pid_ % 250) + 1;
        for (int n = 0; n < 250; ++n) {
            const int k = (first - 1 + n) % 250 + 1;
            if (!used.contains(QStringLiteral("10.77.%1.").arg(k))) return k;
        }
        return -1;
    }

    // Empty when Namespaces mode is set up; else why not (and nothing of it is left).
    QString trySetUpNamespaces() {
        const QString no =
            QProcessEnvironment::systemEnvironment().value(QStringLiteral("ZMQRPC_TEST_NO_NETNS"));
        if (!no.isEmpty() && no != QLatin1String("0"))
            return QStringLiteral("ZMQRPC_TEST_NO_NETNS=%1 in the environment").arg(no);
        if (::geteuid() != 0) return QStringLiteral("not root (uid %1)").arg(::geteuid());
        ip_ = QStandardPaths::findExecutable(QStringLiteral("ip"));
        if (ip_.isEmpty())
            ip_ = QStandardPaths::findExecutable(
                QStringLiteral("ip"), {QStringLiteral("/usr/sbin"), QStringLiteral("/sbin")});
        if (ip_.isEmpty()) return QStringLiteral("no `ip` command (iproute2) on PATH");
        // One set-up at a time on this machine: two test processes would otherwise both find the
        // same /24 free before either has taken it.
        SetUpLock lock;
        if (!lock.held()) return lock.why();
        removeLeftovers();
        const int k = freeSubnet();
        if (k < 0) return QStringLiteral("no free /24 in 10.77.0.0/16 (or `ip addr` failed)");
        nsMade_.assign(hosts_, false);
        vethMade_.assign(hosts_, false);
        cut_.assign(hosts_, false);
        auto fail = [this](const QString& why) {
            tearDown();
            addresses_.clear();
            return why;
        };
        const QString br = bridgeName();
        QString why =
            ip({"link", "add", br, "type", "bridge", "stp_state", "0", "forward_delay", "0"});
        if (!why.isEmpty()) return fail(why);
        bridgeMade_ = true;
        const QString prefix = QStringLiteral("10.77.%1.").arg(k);
        for (const QStringList& args : {QStringList{"addr", "add", prefix + "1/24", "dev", br},
                                        QStringList{"link", "set", br, "up"}}) {
            why = ip(args);
            if (!why.isEmpty()) return fail(why);
        }
        for (int i = 0; i < hosts_; ++i) {
            const QString ns = nsName(i);
            why = ip({"netns", "add", ns});
            if (!why.isEmpty()) return fail(why);
            nsMade_[i] = true;
            why = ip({"link", "add", hostEnd(i), "type", "veth", "peer", "name", nsEnd(i)});
            if (!why.isEmpty()) return fail(why);
            vethMade_[i] = true;
            const QString address = prefix + QString::number(i + 2);
            for (const QStringList& args :
                 {QStringList{"link", "set", hostEnd(i), "master", br},
                  QStringList{"link", "set", hostEnd(i), "up"},
                  QStringList{"link", "set", nsEnd(i), "netns", ns},
                  QStringList{"-n", ns, "addr", "add", address + "/24", "dev", nsEnd(i)},
                  QStringList{"-n", ns, "link", "set", nsEnd(i), "up"},
                  QStringList{"-n", ns, "link", "set", "lo", "up"}}) {
                why = ip(args);
                if (!why.isEmpty()) return fail(why);
            }
            addresses_ << address;
        }
        // Programs must run in it: `ip netns exec` is what the tests use.
        QString out;
        why = ip({"netns", "exec", nsName(0), ip_, "-4", "-o", "addr", "show", "dev", nsEnd(0)},
                 &out);
        if (!why.isEmpty()) return fail(why);
        if (!out.contains(addresses_.front() + QLatin1Char('/')))
            return fail(QStringLiteral("`ip netns exec %1` does not see %2")
                            .arg(nsName(0), addresses_.front()));
        return {};
    }

    static bool bindable(const QString& address) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) return false;
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = 0;
        const bool parsed = ::inet_pton(AF_INET, address.toLatin1().constData(), &sa.sin_addr) == 1;
        const bool bound =
            parsed && ::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
        ::close(fd);
        return bound;
    }

    void setUpLoopback() {
        addresses_.clear();
        cut_.assign(hosts_, false);
        // 127.<a>.<b>.x from the pid: a in 1..100, b in 0..249.
        const int a = static_cast<int>((pid_ / 250) % 100) + 1;
        const int b = static_cast<int>(pid_ % 250);
        for (int i = 0; i < hosts_; ++i) {
            const QString address = QStringLiteral("127.%1.%2.%3").arg(a).arg(b).arg(i + 2);
            if (!bindable(address)) {
                error_ = QStringLiteral(
                             "HostNetwork: namespaces unavailable (%1) and the loopback address "
                             "%2 cannot be bound")
                             .arg(fallbackReason_, address);
                addresses_.clear();
                return;
            }
            addresses_ << address;
        }
    }

    bool setLink(int i, bool up, QString* why) {
        auto say = [why](const QString& text) {
            if (why) *why = text;
        };
        if (!valid(i)) {
            say(QStringLiteral("no host %1").arg(i));
            return false;
        }
        if (mode_ != Mode::Namespaces) {
            say(
                QStringLiteral("loopback addresses cannot be cut without netfilter: freeze the "
                               "host's processes (SIGSTOP) instead"));
            return false;
        }
        const QString failed =
            ip({"link", "set", hostEnd(i), up ? QStringLiteral("up") : QStringLiteral("down")});
        if (!failed.isEmpty()) {
            say(failed);
            return false;
        }
        cut_[i] = !up;
        say(QStringLiteral("%1 (host %2's veth root end) set %3")
                .arg(hostEnd(i), addresses_.value(i), up ? "up" : "down"));
        return true;
    }

    void tearDown() {
        if (ip_.isEmpty()) return;
        // Deleting one end of a veth deletes the pair, in whichever namespace the other end is.
        for (std::size_t i = 0; i < vethMade_.size(); ++i) {
            if (vethMade_[i]) ip({"link", "del", hostEnd(static_cast<int>(i))});
            vethMade_[i] = false;
        }
        for (std::size_t i = 0; i < nsMade_.size(); ++i) {
            if (nsMade_[i]) ip({"netns", "del", nsName(static_cast<int>(i))});
            nsMade_[i] = false;
        }
        if (bridgeMade_) ip({"link", "del", bridgeName()});
        bridgeMade_ = false;
    }
};

}  // namespace testutil
