// The durable queue (`zmqrpc proxy ... --store PATH`) at the process level: the real `zmqrpc`
// executable is killed with SIGKILL at random moments while it takes input, restarted on the same
// port and store, and at the end everything it accepted must reach the downstream, in order of
// first arrival. Also: a store file truncated or overwritten with garbage (moved aside, the proxy
// still starts and serves), a small byte limit (482 "store full", nothing accepted lost), and the
// exact accounting across clean restarts (recovered N; received = delivered + dropped + fill).
//
// The proxy is the real CLI process; the clients (REQ), the source (PUB) and the downstream (an
// RpcServer whose `record` function logs what arrives) live in this test process, so that the
// order of arrival is seen directly. The clients and the source run on their own threads; the
// test's thread starts and kills the proxy (QProcess is used by the thread that owns it only).
//
// Loopback only. The ports are fixed (a restarted proxy binds the same one, the downstream binds
// the one the proxy connects to) and taken below the kernel's ephemeral range: a port from that
// range could be handed to another process's connection while the proxy is down, and a
// reconnecting socket can even connect to itself on it when nothing listens there. Every wait is
// bounded; children are killed by their RAII wrapper, threads are stopped and joined by theirs.
//
// The kill delays come from a seeded generator; the seed is printed. ZMQRPC_TEST_SEED=N repeats
// a run's kill schedule (the timing of the machine itself is not repeatable).
#include "child_process.hpp"
#include "testutil.hpp"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>

#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <vector>

#ifndef ZMQRPC_CLI
#error "ZMQRPC_CLI (path of the zmqrpc executable) must be defined"
#endif

using namespace testutil;

namespace {

QString cliPath() {
    return QStringLiteral(ZMQRPC_CLI);
}

// Generous bounds for a slow, busy machine; the runs themselves are short.
constexpr int kStartMs = 10000;       // from start() to the ready line
constexpr int kCountersMs = 5000;     // from SIGUSR1 to the counters line
constexpr int kDrainMs = 30000;       // until a restarted proxy has delivered everything
constexpr int kFinishMs = 5000;       // from SIGTERM to the exit
constexpr int kRequestMs = 250;       // the kill tests' client: a reply takes about a millisecond
constexpr int kSlowRequestMs = 3000;  // the other tests' client: nothing is killed there

// Stops (sets the flag) and joins a worker thread when it goes out of scope, also when a check
// fails half-way.
class Worker {
  public:
    Worker() = default;
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    ~Worker() { join(); }
    template <class F>
    void start(F&& f) {
        thread_ = std::thread(std::forward<F>(f));
    }
    void join() {
        stop = true;
        if (thread_.joinable()) thread_.join();
    }
    std::atomic<bool> stop{false};

  private:
    std::thread thread_;
};

// A loopback port below the ephemeral range (see the file comment) that can be bound now.
std::string fixedTcpEndpoint() {
    int low = 32768;
    if (std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range"); range) range >> low;
    const int top = std::max(low, 2048);
    const int bottom = std::max(1024, top - 10000);
    static std::mt19937 pick{std::random_device{}()};
    static std::set<int> given;  // never the same port twice in one run
    std::uniform_int_distribution<int> port(bottom, top - 1);
    for (int attempt = 0; attempt < 200; ++attempt) {
        const int p = port(pick);
        if (!given.insert(p).second) continue;
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) break;
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as libzmq binds
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(static_cast<std::uint16_t>(p));
        const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                        ::listen(fd, 1) == 0;
        ::close(fd);
        if (ok) return "tcp://127.0.0.1:" + std::to_string(p);
    }
    return freeTcpEndpoint();
}

std::string numbered(int n) {
    return zmqrpc::encode_request("record", {{"n", n}});
}

// One request a client sent: when, and when its 200 came (if it did).
struct SentRequest {
    int n = 0;
    Clock::time_point sent;
    std::optional<Clock::time_point> acked;
};

// ---- What the proxy prints

// The ready line: "zmqrpc proxy KIND: ready; in rep EP; out req EP; store PATH (N message(s)
// recovered)". Returns N, or nullopt when the line is not that.
std::optional<qint64> recoveredOf(const QString& line, const QString& kind) {
    static const QRegularExpression ready(QStringLiteral(
        R"(^zmqrpc proxy (\S+): ready; in (?:rep|sub) \S+; out req \S+; store .+ \(([0-9]+) )"
        R"(message\(s\) recovered\)$)"));
    const auto m = ready.match(line);
    if (!m.hasMatch() || m.captured(1) != kind) return std::nullopt;
    return m.captured(2).toLongLong();
}

// The input endpoint of a ready line ("... ready; in rep EP; ...").
QString inputOf(const QString& line) {
    static const QRegularExpression in(QStringLiteral(R"(; in (?:rep|sub) (\S+);)"));
    const auto m = in.match(line);
    return m.hasMatch() ? m.captured(1) : QString();
}

// The queue part of a counters line (app/cli/common.cpp counters_line).
struct Counters {
    qint64 fill = -1, received = -1, delivered = -1, dropped = -1;
    qint64 recovered = 0;     // 0 when the line does not mention it
    qint64 storedBytes = -1;  // "stored N B"
    QString line;
};

// Every counters line in `err`, oldest first, from complete lines only (the last one may still
// be on its way). The counters text is one write, never split, but with --events the printer's
// thread writes too: an event may stand before it or after it on the same line, as the newlines
// come in separate writes ("... kept in the store PATHproxy: in 30 msgs/...").
std::vector<Counters> countersIn(const QString& err) {
    static const QRegularExpression queue(
        QStringLiteral(R"(proxy: in [0-9]+ msgs/.*; queue ([0-9]+)/[0-9]+ \(high-water [0-9]+\), )"
                       R"(received ([0-9]+), delivered ([0-9]+), dropped ([0-9]+))"
                       R"((?: \(recovered ([0-9]+) from the store\))?)"));
    static const QRegularExpression stored(QStringLiteral(R"(, stored ([0-9]+) B)"));
    std::vector<Counters> out;
    const auto complete = err.left(err.lastIndexOf(QLatin1Char('\n')) + 1);
    for (const auto& line : complete.split(QLatin1Char('\n'), Qt::SkipEmptyParts)) {
        const auto m = queue.match(line);
        if (!m.hasMatch()) continue;
        Counters c;
        c.fill = m.captured(1).toLongLong();
        c.received = m.captured(2).toLongLong();
        c.delivered = m.captured(3).toLongLong();
        c.dropped = m.captured(4).toLongLong();
        if (!m.captured(5).isEmpty()) c.recovered = m.captured(5).toLongLong();
        if (const auto s = stored.match(line); s.hasMatch())
            c.storedBytes = s.captured(1).toLongLong();
        c.line = line;
        out.push_back(std::move(c));
    }
    return out;
}

QString countersText(const Counters& c) {
    return QStringLiteral("fill %1 received %2 delivered %3 dropped %4 recovered %5")
        .arg(c.fill)
        .arg(c.received)
        .arg(c.delivered)
        .arg(c.dropped)
        .arg(c.recovered);
}

bool balanced(const Counters& c) {
    return c.received == c.delivered + c.dropped + c.fill;
}

// Asks the proxy for its counters (SIGUSR1) and returns the line it printed in answer.
std::optional<Counters> readCounters(Child& proxy) {
    const auto before = countersIn(proxy.err()).size();
    if (!proxy.signal(SIGUSR1)) return std::nullopt;
    if (!proxy.waitFor([&] { return countersIn(proxy.err()).size() > before; }, kCountersMs))
        return std::nullopt;
    return countersIn(proxy.err()).back();
}

// Asks (SIGUSR1, every ~20 ms) until the counters satisfy `predicate`; returns the last reading.
template <class Predicate>
std::optional<Counters> waitCounters(Child& proxy, Predicate&& predicate, int ms) {
    QElapsedTimer timer;
    timer.start();
    std::optional<Counters> last;
    for (;;) {
        last = readCounters(proxy);
        if (last && predicate(*last)) return last;
        if (!proxy.running() || timer.elapsed() >= ms) return last;
        std::this_thread::sleep_for(20ms);  // pacing of the question, not a synchronisation
    }
}

// ---- The downstream

// An RpcServer bound to a fixed endpoint whose record(n) logs n, in order of arrival.
struct Downstream {
    std::shared_ptr<CallLog> log = std::make_shared<CallLog>();
    std::unique_ptr<zmqrpc::RpcServer> server;
    explicit Downstream(const std::string& bind) {
        server = std::make_unique<zmqrpc::RpcServer>(repServerOptions(bind, "downstream"),
                                                     standardFunctions(log));
        server->start();
    }
    std::vector<int> numbers() const {
        std::vector<int> out;
        for (const auto& call : log->snapshot())
            out.push_back(call.at("n").get<int>());
        return out;
    }
};

// Over everything that arrived: each number's first arrival comes after the first arrival of
// every smaller number that arrived. Empty when that holds.
QString firstArrivalProblem(const std::vector<int>& seen) {
    std::set<int> first;
    int last = -1;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        const int n = seen[i];
        if (!first.insert(n).second) continue;
        if (n < last) {
            return QStringLiteral("arrival %1: first arrival of %2 after the first arrival of %3")
                .arg(i)
                .arg(n)
                .arg(last);
        }
        last = n;
    }
    return {};
}

// Over everything that arrived, across clients: a request acknowledged before another one was
// sent was committed before that one was even taken, so its first arrival must come first.
// `requests` holds every request sent, by number. Empty when that holds (and every arrival was
// sent).
QString happenedBeforeProblem(const std::vector<int>& seen,
                              const std::map<int, SentRequest>& requests) {
    std::set<int> first;
    std::optional<Clock::time_point> latestSent;  // of the first arrivals so far
    int latestN = -1;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        const int n = seen[i];
        if (!first.insert(n).second) continue;
        const auto it = requests.find(n);
        if (it == requests.end()) return QStringLiteral("%1 arrived but was never sent").arg(n);
        const SentRequest& r = it->second;
        if (r.acked && latestSent && *r.acked < *latestSent) {
            return QStringLiteral(
                       "arrival %1: first arrival of %2 after that of %3, which was sent %4 us "
                       "after %2 was acknowledged")
                .arg(i)
                .arg(n)
                .arg(latestN)
                .arg(std::chrono::duration_cast<std::chrono::microseconds>(*latestSent - *r.acked)
                         .count());
        }
        if (!latestSent || r.sent > *latestSent) {
            latestSent = r.sent;
            latestN = n;
        }
    }
    return {};
}

std::size_t distinctCount(const std::vector<int>& seen) {
    return std::set<int>(seen.begin(), seen.end()).size();
}

// The numbers of `wanted` that are not in `seen` (at most a few, for the failure message).
QString missingOf(const std::vector<int>& wanted, const std::vector<int>& seen) {
    const std::set<int> have(seen.begin(), seen.end());
    QStringList missing;
    int count = 0;
    for (int n : wanted) {
        if (have.count(n)) continue;
        if (++count <= 20) missing << QString::number(n);
    }
    if (count == 0) return {};
    return QStringLiteral("%1 missing: %2%3")
        .arg(count)
        .arg(missing.join(QLatin1Char(' ')))
        .arg(count > 20 ? QStringLiteral(" ...") : QString());
}

unsigned testSeed() {
    if (const char* env = std::getenv("ZMQRPC_TEST_SEED"); env && *env)
        return static_cast<unsigned>(std::strtoul(env, nullptr, 10));
    return std::random_device{}();
}

// ---- The kill tests' clients

// What the test's thread tells the clients.
struct Board {
    std::atomic<bool> up{false};  // a proxy printed its ready line (cleared after its kill)
    std::atomic<int> kills{0};    // proxies killed and reaped so far
    std::atomic<bool> stop{false};
    // When not 0: the pid of the proxy that the next client to get a 200 kills (SIGKILL) at
    // once. The test's thread reaps it, so the pid cannot be reused before.
    std::atomic<qint64> killOnAck{0};
};

// One of `count` clients of a BufferedRep2Req, each on its own thread. Client `id` sends
// record(n) for n = id, id + count, id + 2 * count, ... one at a time, and notes which got 200.
// It sends only while the test says a proxy is up, never sends a number twice, and never sends
// its next number while the last one could still reach a proxy:
//
//   A request that timed out has an unknown fate: the proxy may have committed it and died before
//   it answered (then it is delivered although the client never got 200), or it may still sit,
//   unread, in a live proxy that is slow. In that second case, sending the next number on a new
//   connection could let the proxy read it first (a REP reads its connections fair-queued), an
//   inversion the client caused, not the proxy. So after a timeout the client drops its Sender
//   (linger 0: the number cannot leave this process any more), reads the kill count k, and waits
//   until the proxy instance alive then (the (k+1)-th to start, or one still starting) is killed
//   too: kills > k. The test's thread kills at once when every client waits. Then no live proxy
//   holds an older number of this client, and the proxies see each client's numbers in
//   increasing order: that is what makes the order assertion per client sound. Between clients
//   only what happened before is ordered: a 200 seen before another request was sent.
class Client {
  public:
    Client(std::string endpoint, Board& board, int id, int count)
        : endpoint_(std::move(endpoint)), board_(board), id_(id), count_(count) {}

    void run() {
        std::optional<zmqrpc::Sender> sender;
        for (int n = id_;; n += count_) {
            if (!waitUntil([&] { return board_.up.load() || board_.stop.load(); }, 30000ms)) {
                fail("no proxy up for 30 s");
                return;
            }
            if (board_.stop) return;
            if (!sender) {
                sender.emplace(
                    reqSenderOptions({endpoint_}, std::chrono::milliseconds(kRequestMs), "client"));
            }
            {
                // Taken before the request goes out: no earlier than the proxy could see it.
                std::lock_guard lock(mutex_);
                sent_.push_back({n, Clock::now(), std::nullopt});
            }
            ++sentCount;
            try {
                const auto reply = zmqrpc::decode_response(
                    sender->request(numbered(n), std::chrono::milliseconds(kRequestMs)));
                if (reply.status_code == zmqrpc::status::kOk) {
                    if (const auto pid = board_.killOnAck.exchange(0); pid > 0)
                        ::kill(static_cast<pid_t>(pid), SIGKILL);
                    // Taken after the 200 came: no earlier than the proxy committed.
                    const auto now = Clock::now();
                    std::lock_guard lock(mutex_);
                    sent_.back().acked = now;
                    acked_.push_back(n);
                    ++ackedCount;
                } else {
                    // Answered, so not pending anywhere: refused (not expected here).
                    ++refused;
                }
            } catch (const zmqrpc::RpcError&) {
                ++timeouts;
                sender.reset();
                const int k = board_.kills.load();
                waitingForKill = true;
                const bool killed = waitUntil(
                    [&] { return board_.kills.load() > k || board_.stop.load(); }, 30000ms, 1ms);
                waitingForKill = false;
                if (!killed) {
                    fail("waited 30 s for the kill after a timeout");
                    return;
                }
            }
        }
    }

    int id() const { return id_; }
    std::vector<int> acked() const {
        std::lock_guard lock(mutex_);
        return acked_;
    }
    std::vector<SentRequest> sent() const {
        std::lock_guard lock(mutex_);
        return sent_;
    }
    QString failure() const {
        std::lock_guard lock(mutex_);
        return failure_;
    }

    // Read by the test's thread.
    std::atomic<bool> waitingForKill{false};
    std::atomic<int> ackedCount{0};
    std::atomic<int> sentCount{0};
    std::atomic<int> timeouts{0};
    std::atomic<int> refused{0};

  private:
    void fail(const char* why) {
        std::lock_guard lock(mutex_);
        failure_ = QString::fromLatin1(why);
    }

    std::string endpoint_;
    Board& board_;
    int id_, count_;
    mutable std::mutex mutex_;
    std::vector<SentRequest> sent_;
    std::vector<int> acked_;
    QString failure_;
};

// The clients of one test, with their threads (stopped and joined when it goes out of scope).
class Clients {
  public:
    Clients(const std::string& endpoint, int count) {
        for (int id = 0; id < count; ++id)
            clients_.push_back(std::make_unique<Client>(endpoint, board, id, count));
        for (auto& c : clients_)
            threads_.emplace_back([client = c.get()] { client->run(); });
    }
    Clients(const Clients&) = delete;
    Clients& operator=(const Clients&) = delete;
    ~Clients() { join(); }
    void join() {
        board.stop = true;
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }
    template <class F>
    int sum(F&& f) const {
        int n = 0;
        for (const auto& c : clients_)
            n += f(*c);
        return n;
    }
    int acked() const {
        return sum([](const Client& c) { return c.ackedCount.load(); });
    }
    int sent() const {
        return sum([](const Client& c) { return c.sentCount.load(); });
    }
    int timeouts() const {
        return sum([](const Client& c) { return c.timeouts.load(); });
    }
    int refused() const {
        return sum([](const Client& c) { return c.refused.load(); });
    }
    bool allWaiting() const {
        return std::all_of(clients_.begin(), clients_.end(),
                           [](const auto& c) { return c->waitingForKill.load(); });
    }
    QString failure() const {
        for (const auto& c : clients_)
            if (!c->failure().isEmpty()) return c->failure();
        return {};
    }
    const std::vector<std::unique_ptr<Client>>& all() const { return clients_; }

    Board board;

  private:
    std::vector<std::unique_ptr<Client>> clients_;
    std::vector<std::thread> threads_;
};

// ---- The Sub2Req test's source

// Publishes record(n) for n = 0, 1, 2, ..., four about every millisecond, on its own thread,
// whether or not anyone subscribes (a PUB drops what no one subscribed to).
class Source {
  public:
    explicit Source(std::string bind) : bind_(std::move(bind)) {}
    void run(const std::atomic<bool>& stop) {
        try {
            zmqrpc::Sender pub(pubSenderOptions(bind_, "source"));
            for (int n = 0; !stop;) {
                for (int i = 0; i < 4; ++i, ++n)
                    pub.publish(numbered(n));
                published = n;
                std::this_thread::sleep_for(1ms);  // the rate of the source
            }
        } catch (const std::exception& e) {
            std::lock_guard lock(mutex_);
            failure_ = QString::fromUtf8(e.what());
        }
    }
    QString failure() const {
        std::lock_guard lock(mutex_);
        return failure_;
    }
    std::atomic<int> published{0};

  private:
    std::string bind_;
    mutable std::mutex mutex_;
    QString failure_;
};

// Starts a proxy and waits for its ready line; returns the recovered count it shows.
std::optional<qint64> startStoreProxy(Child& proxy, const QString& kind, const QStringList& args) {
    proxy.start(QStringList{"proxy", kind} + args);
    const auto line = proxy.firstLine(kStartMs);
    if (!line) return std::nullopt;
    return recoveredOf(*line, kind);
}

// Sends record(n) for each n in [from, from + count) and returns the replies.
std::vector<zmqrpc::Response> sendNumbers(const std::string& endpoint, int from, int count) {
    zmqrpc::Sender client(
        reqSenderOptions({endpoint}, std::chrono::milliseconds(kSlowRequestMs), "client"));
    std::vector<zmqrpc::Response> replies;
    for (int n = from; n < from + count; ++n)
        replies.push_back(zmqrpc::decode_response(client.request(numbered(n))));
    return replies;
}

int okCount(const std::vector<zmqrpc::Response>& replies) {
    return static_cast<int>(std::count_if(replies.begin(), replies.end(), [](const auto& r) {
        return r.status_code == zmqrpc::status::kOk;
    }));
}

// SIGTERM, a clean exit, and the counters line it printed at the exit.
std::optional<Counters> stopProxy(Child& proxy) {
    if (!proxy.signal(SIGTERM) || !proxy.waitFinished(kFinishMs) || !proxy.cleanExit())
        return std::nullopt;
    const auto all = countersIn(proxy.err());
    if (all.empty()) return std::nullopt;
    return all.back();
}

}  // namespace

class TestStoreKill : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() { QVERIFY2(QFileInfo(cliPath()).isExecutable(), qPrintable(cliPath())); }

    // BufferedRep2Req answers 200 only once the message is committed to the store. Twelve
    // clients send numbered requests, each one at a time, while the proxy is killed (SIGKILL) at
    // random moments (every other kill: right after some client got a 200) and restarted on the
    // same port and store.
    //
    // Phase 1, the downstream down (nothing is delivered, so nothing leaves the store): at every
    // restart the store must hold at least every number acknowledged before the kill (the
    // recovered count on the ready line >= the 200s seen; a proxy that answered before it
    // committed fails here when a kill falls between the two), at least what the previous start
    // recovered, and no more than was sent. Phase 2, the downstream up: kills while deliveries
    // are in flight (duplicates: at least once). Then a last start drains the store.
    //
    // At the end: every acknowledged number arrived at least once, whatever arrived was sent, for
    // each client the first arrivals of its numbers are increasing (its numbers reach the proxies
    // in order, see Client; the proxy must keep that order through the store and across kills),
    // and across clients a request acknowledged before another was sent arrived first (see
    // happenedBeforeProblem). Numbers that timed out may or may not arrive.
    //
    // Would it catch a proxy that answers 200 before it commits? Only a kill that falls after a
    // client got such a 200 and before the commit wrote the WAL shows it: a window of
    // microseconds, often none (the commit can finish before the 200 has crossed the loopback).
    // Many clients make the proxy take several requests per wake-up (one commit for all, the
    // replies before it), which widens the window. Measured with that change made to the proxy
    // (the 200 sent in on_rep instead of after the commit): 11 of 12 runs failed, at a restart of
    // phase 1 or with a number missing at the end; with one client, about 3 in 5. --fsync always
    // narrows the window (the kill lands in the fsync, after the WAL write), so half the starts
    // use interval, the default.
    void bufferedRep2ReqSurvivesKills() {
        const unsigned seed = testSeed();
        qInfo("seed %u (ZMQRPC_TEST_SEED=%u repeats the kill schedule)", seed, seed);
        std::mt19937 rng(seed);
        std::uniform_int_distribution<int> trafficMs(20, 300);

        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string in = fixedTcpEndpoint();
        const std::string down = fixedTcpEndpoint();
        const QStringList args{"--in-rep",         qs(in),
                               "--out-req",        qs(down),
                               "--store",          dir.filePath(QStringLiteral("q.db")),
                               "--window",         "64",
                               "--queue",          "1000000",
                               "--req-timeout",    "3",
                               "--retry-interval", "0.05"};
        // Every --fsync policy: a kill must lose nothing with any of them.
        const QString kPolicies[] = {QStringLiteral("interval"), QStringLiteral("off"),
                                     QStringLiteral("interval"), QStringLiteral("always")};
        int killsWith[4] = {0, 0, 0, 0};  // kills with traffic, by start policy

        constexpr int kClients = 12;
        Clients clients(in, kClients);
        Board& board = clients.board;

        constexpr int kPhase1Kills = 20, kPhase2Kills = 6, kMaxCycles = 200;
        int trafficKills = 0, idleKills = 0;
        qint64 lastRecovered = 0;
        int ackedBeforeStart = 0, sentBeforeStart = 0;
        qint64 recoveredAtPhase2 = -1;
        std::unique_ptr<Downstream> downstream;
        std::unique_ptr<Child> proxy;
        for (int cycle = 0; trafficKills < kPhase1Kills + kPhase2Kills; ++cycle) {
            QVERIFY2(cycle < kMaxCycles,
                     qPrintable(QStringLiteral("%1 kills with traffic in %2 starts; clients: %3")
                                    .arg(trafficKills)
                                    .arg(cycle)
                                    .arg(clients.failure())));
            const bool phase2 = trafficKills >= kPhase1Kills;
            if (phase2 && !downstream) downstream = std::make_unique<Downstream>(down);

            proxy = std::make_unique<Child>();
            const int policy = trafficKills % 4;
            const auto recovered = startStoreProxy(
                *proxy, "buffered-rep2req", args + QStringList{"--fsync", kPolicies[policy]});
            QVERIFY2(recovered, qPrintable(proxy->describe()));
            const QString where = QStringLiteral(
                                      "start %1 (after %2 kills): recovered %3, %4 "
                                      "acknowledged and %5 sent before it")
                                      .arg(cycle + 1)
                                      .arg(board.kills.load())
                                      .arg(*recovered)
                                      .arg(ackedBeforeStart)
                                      .arg(sentBeforeStart);
            if (!downstream) {
                // Nothing was delivered yet: the store holds every committed number.
                QVERIFY2(*recovered >= ackedBeforeStart, qPrintable(where));
                QVERIFY2(*recovered >= lastRecovered, qPrintable(where));
                QVERIFY2(*recovered <= sentBeforeStart, qPrintable(where));
            } else if (recoveredAtPhase2 < 0) {
                recoveredAtPhase2 = *recovered;
            }
            lastRecovered = *recovered;
            const int ackedAtStart = clients.acked();
            board.up = true;

            // Traffic: the first 200 from this instance, then a random while of it. Unless every
            // client waits for this instance to die (see Client): then it is killed idle.
            const bool traffic =
                waitUntil([&] { return clients.acked() > ackedAtStart || clients.allWaiting(); },
                          10000ms, 1ms);
            QVERIFY2(traffic, qPrintable(QStringLiteral("no 200 in 10 s (%1 refused): %2")
                                             .arg(clients.refused())
                                             .arg(proxy->describe())));
            if (!clients.allWaiting()) {
                std::this_thread::sleep_for(std::chrono::milliseconds(trafficMs(rng)));
                // Every other kill comes from the client that gets the next 200, right after it:
                // where a 200 that came before its commit would be lost.
                if (trafficKills % 2 == 1) {
                    board.killOnAck = proxy->pid();
                    proxy->waitFinished(1000);
                    board.killOnAck = 0;
                }
                ++trafficKills;
                ++killsWith[policy];
            } else {
                ++idleKills;
            }
            // Killed at once (unless a client did), whatever the clients are doing; only then
            // are they told.
            proxy->kill();
            board.up = false;
            QVERIFY2(!proxy->running(), qPrintable(proxy->describe()));
            // Every 200 seen so far came from a proxy that is dead now.
            ackedBeforeStart = clients.acked();
            sentBeforeStart = clients.sent();
            ++board.kills;
            QVERIFY2(clients.failure().isEmpty(), qPrintable(clients.failure()));
        }
        clients.join();
        QVERIFY2(clients.failure().isEmpty(), qPrintable(clients.failure()));
        QCOMPARE(clients.refused(), 0);

        // The last start: the store drains into the downstream.
        proxy = std::make_unique<Child>();
        const auto recovered = startStoreProxy(*proxy, "buffered-rep2req", args);
        QVERIFY2(recovered, qPrintable(proxy->describe()));
        const auto drained = waitCounters(
            *proxy, [](const Counters& c) { return c.fill == 0; }, kDrainMs);
        QVERIFY2(drained && drained->fill == 0, qPrintable(proxy->describe()));
        const auto atExit = stopProxy(*proxy);
        QVERIFY2(atExit, qPrintable(proxy->describe()));
        QVERIFY2(balanced(*atExit) && atExit->fill == 0 && atExit->dropped == 0 &&
                     atExit->received == *recovered,
                 qPrintable(countersText(*atExit)));

        const auto seen = downstream->numbers();
        std::size_t acked = 0;
        std::map<int, SentRequest> requests;
        for (const auto& client : clients.all()) {
            const int id = client->id();
            std::vector<int> mine;
            std::copy_if(seen.begin(), seen.end(), std::back_inserter(mine),
                         [&](int n) { return n % kClients == id; });
            const auto ok = client->acked();
            acked += ok.size();
            const QString missing = missingOf(ok, mine);
            QVERIFY2(missing.isEmpty(),
                     qPrintable(QStringLiteral("client %1: acknowledged but never delivered: %2")
                                    .arg(id)
                                    .arg(missing)));
            const QString order = firstArrivalProblem(mine);
            QVERIFY2(order.isEmpty(),
                     qPrintable(QStringLiteral("client %1: %2").arg(id).arg(order)));
            for (const auto& r : client->sent())
                requests.emplace(r.n, r);
        }
        QVERIFY(acked > 0);
        const QString before = happenedBeforeProblem(seen, requests);
        QVERIFY2(before.isEmpty(), qPrintable(before));

        const auto distinct = distinctCount(seen);
        qInfo(
            "buffered-rep2req: %d kills with traffic (%d + %d with the downstream up; --fsync "
            "interval %d, off %d, always %d), %d idle kills; %d clients sent %d, %zu "
            "acknowledged, %d timed out; %lld in the store when the downstream came up; %zu "
            "arrivals, %zu distinct (%zu not acknowledged), %zu duplicates",
            trafficKills, kPhase1Kills, trafficKills - kPhase1Kills, killsWith[0] + killsWith[2],
            killsWith[1], killsWith[3], idleKills, kClients, clients.sent(), acked,
            clients.timeouts(), recoveredAtPhase2, seen.size(), distinct,
            distinct - std::min(distinct, acked), seen.size() - distinct);
    }

    // Sub2Req with a store: accepted means received and committed, and nobody is answered, so
    // the test cannot know what was committed at a kill. What it can assert soundly (the
    // downstream is down during the kills, so nothing is acknowledged and rows only ever get
    // added to the store):
    //
    //   1. Each start recovers at least what the previous one did (a kill loses no committed
    //      row).
    //   2. Each start recovers at least R - X - B, where R and X are received and dropped of the
    //      counters the killed proxy printed (SIGUSR1) a moment before its kill, and B = 256.
    //      R - X counts every message the proxy took off its socket and did not refuse, the
    //      recovered ones included. "received" is counted when a message is taken, before it is
    //      committed; the commit follows at the end of that same wake-up, which reads at most
    //      256 messages (kBatch, core/src/net/sockets.cpp). So at the moment of the reading at
    //      most B were taken and not yet committed, and what was committed then is still in the
    //      store at the kill. "R - X <= recovered" without B would be racy. (Messages taken
    //      after the reading only add to the store: no upper bound is asserted.)
    //   3. After the last start: exactly the recovered count of distinct numbers arrives (each
    //      number is published once, reaches at most one subscription, and is stored at most
    //      once; only stored messages are delivered), every number that arrives was published,
    //      and the first arrivals are increasing (the source publishes in order and one SUB
    //      receives in order; the proxy must keep it).
    void sub2ReqSurvivesKills() {
        const unsigned seed = testSeed() + 1;
        qInfo("seed %u", seed);
        std::mt19937 rng(seed);
        std::uniform_int_distribution<int> trafficMs(20, 300);
        constexpr qint64 kOneWakeUp = 256;

        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string pub = fixedTcpEndpoint();
        const std::string down = fixedTcpEndpoint();
        const QStringList args{"--in-sub",
                               qs(pub),
                               "--out-req",
                               qs(down),
                               "--store",
                               dir.filePath(QStringLiteral("q.db")),
                               "--window",
                               "64",
                               "--heartbeat-timeout",
                               "0",
                               "--req-timeout",
                               "3",
                               "--retry-interval",
                               "0.05"};

        Source source(pub);
        Worker sourceThread;
        sourceThread.start([&] { source.run(sourceThread.stop); });

        constexpr int kKills = 20;
        qint64 lastRecovered = 0;
        std::optional<Counters> beforeKill;
        // recovered - (R - X): below 0 only by what a reading saw taken and not yet committed.
        qint64 smallestMargin = std::numeric_limits<qint64>::max();
        const QString kPolicies[] = {QStringLiteral("interval"), QStringLiteral("off"),
                                     QStringLiteral("always")};
        std::unique_ptr<Child> proxy;
        for (int kill = 0; kill < kKills; ++kill) {
            proxy = std::make_unique<Child>();
            const auto recovered = startStoreProxy(
                *proxy, "sub2req", args + QStringList{"--fsync", kPolicies[kill % 3]});
            QVERIFY2(recovered, qPrintable(proxy->describe()));
            if (beforeKill) {
                const QString where =
                    QStringLiteral("start after kill %1: recovered %2, before the kill: %3")
                        .arg(kill)
                        .arg(*recovered)
                        .arg(countersText(*beforeKill));
                QVERIFY2(*recovered >= lastRecovered, qPrintable(where));
                const qint64 margin = *recovered - (beforeKill->received - beforeKill->dropped);
                QVERIFY2(margin >= -kOneWakeUp, qPrintable(where));
                smallestMargin = std::min(smallestMargin, margin);
            }
            lastRecovered = *recovered;

            // Traffic: something received beyond what was recovered, then a random while of it.
            const auto receiving = waitCounters(
                *proxy, [&](const Counters& c) { return c.received > *recovered; }, 10000);
            QVERIFY2(receiving && receiving->received > *recovered, qPrintable(proxy->describe()));
            std::this_thread::sleep_for(std::chrono::milliseconds(trafficMs(rng)));
            beforeKill = readCounters(*proxy);
            QVERIFY2(beforeKill, qPrintable(proxy->describe()));
            QCOMPARE(beforeKill->delivered, qint64{0});
            QCOMPARE(beforeKill->dropped, qint64{0});
            proxy->kill();
            QVERIFY2(!proxy->running(), qPrintable(proxy->describe()));
        }
        sourceThread.join();
        QVERIFY2(source.failure().isEmpty(), qPrintable(source.failure()));
        const int published = source.published;

        Downstream downstream(down);
        proxy = std::make_unique<Child>();
        const auto recovered = startStoreProxy(*proxy, "sub2req", args);
        QVERIFY2(recovered, qPrintable(proxy->describe()));
        QVERIFY2(*recovered >= lastRecovered, qPrintable(proxy->describe()));
        const qint64 margin = *recovered - (beforeKill->received - beforeKill->dropped);
        QVERIFY2(margin >= -kOneWakeUp, qPrintable(countersText(*beforeKill)));
        smallestMargin = std::min(smallestMargin, margin);
        const auto drained = waitCounters(
            *proxy, [](const Counters& c) { return c.fill == 0; }, kDrainMs);
        QVERIFY2(drained && drained->fill == 0, qPrintable(proxy->describe()));
        const auto atExit = stopProxy(*proxy);
        QVERIFY2(atExit, qPrintable(proxy->describe()));
        // Nothing was published during the last run: it received what it recovered.
        QVERIFY2(balanced(*atExit) && atExit->received == *recovered && atExit->dropped == 0 &&
                     atExit->delivered == *recovered,
                 qPrintable(countersText(*atExit)));

        const auto seen = downstream.numbers();
        const auto distinct = distinctCount(seen);
        QCOMPARE(qint64(distinct), *recovered);
        const QString order = firstArrivalProblem(seen);
        QVERIFY2(order.isEmpty(), qPrintable(order));
        QVERIFY(
            std::all_of(seen.begin(), seen.end(), [&](int n) { return n >= 0 && n < published; }));
        QVERIFY(distinct > 0);
        qInfo(
            "sub2req: %d kills; %d published, %lld stored and delivered (%zu arrivals, %zu "
            "duplicates); the store after a kill held at least %lld more than the counters "
            "before it had taken (asserted: at least -%lld)",
            kKills, published, *recovered, seen.size(), seen.size() - distinct, smallestMargin,
            kOneWakeUp);
    }

    // A store file that was cut to half its size, or overwritten with random bytes: the proxy
    // still starts (ready line), says store-error "... moved aside to ..." (--events), keeps the
    // bad file beside, and serves: a new request gets 200 and is delivered.
    void damagedStoreIsMovedAside_data() {
        QTest::addColumn<bool>("garbage");
        QTest::newRow("truncated") << false;
        QTest::newRow("garbage") << true;
    }
    void damagedStoreIsMovedAside() {
        QFETCH(bool, garbage);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(QStringLiteral("q.db"));
        const std::string down = fixedTcpEndpoint();
        const QStringList args{"--in-rep",  QStringLiteral("tcp://127.0.0.1:*"),
                               "--out-req", qs(down),
                               "--store",   path,
                               "--events",  "--retry-interval",
                               "0.05"};
        constexpr int kRows = 300;
        {
            Child proxy;
            const auto recovered = startStoreProxy(proxy, "buffered-rep2req", args);
            QVERIFY2(recovered && *recovered == 0, qPrintable(proxy.describe()));
            const std::string in = inputOf(*proxy.firstLine(0)).toStdString();
            QCOMPARE(okCount(sendNumbers(in, 0, kRows)), kRows);
            const auto atExit = stopProxy(proxy);
            QVERIFY2(atExit && atExit->fill == kRows, qPrintable(proxy.describe()));
            QVERIFY2(proxy.err().contains(QStringLiteral("kept in the store")),
                     qPrintable(proxy.describe()));
        }
        QFile file(path);
        const qint64 size = file.size();
        QVERIFY2(size > 4096, qPrintable(QString::number(size)));
        QVERIFY2(!QFileInfo::exists(path + QStringLiteral("-wal")), "WAL left after a clean stop");
        if (garbage) {
            std::mt19937 rng(testSeed());
            QByteArray bytes(size, Qt::Uninitialized);
            for (auto& b : bytes)
                b = static_cast<char>(rng() & 0xff);
            QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
            QCOMPARE(file.write(bytes), size);
            file.close();
        } else {
            QVERIFY(file.resize(size / 2));
        }

        Child proxy;
        const auto recovered = startStoreProxy(proxy, "buffered-rep2req", args);
        QVERIFY2(recovered, qPrintable(proxy.describe()));
        QVERIFY2(*recovered == 0, qPrintable(proxy.describe()));
        static const QRegularExpression movedAside(
            QStringLiteral(R"(store-error: .*moved aside to \S+q\.db\.corrupt-.*)"));
        QVERIFY2(proxy.waitFor([&] { return proxy.err().contains(movedAside); }, kCountersMs),
                 qPrintable(proxy.describe()));
        qInfo("%s", qPrintable(movedAside.match(proxy.err()).captured(0)));
        const auto aside = QDir(dir.path()).entryList({QStringLiteral("q.db.corrupt-*")});
        QVERIFY2(!aside.isEmpty(), qPrintable(QDir(dir.path()).entryList().join(' ')));

        const std::string in = inputOf(*proxy.firstLine(0)).toStdString();
        const auto replies = sendNumbers(in, 1000, 1);
        QCOMPARE(replies.front().status_code, zmqrpc::status::kOk);
        Downstream downstream(down);
        QVERIFY2(waitUntil([&] { return downstream.log->size() >= 1; }, 10000ms),
                 qPrintable(proxy.describe()));
        QCOMPARE(downstream.numbers().front(), 1000);
        const auto drained = waitCounters(
            proxy, [](const Counters& c) { return c.fill == 0; }, kDrainMs);
        QVERIFY2(drained && drained->fill == 0, qPrintable(proxy.describe()));
        QCOMPARE(downstream.numbers(), std::vector<int>{1000});
        const auto atExit = stopProxy(proxy);
        QVERIFY2(atExit && balanced(*atExit), qPrintable(proxy.describe()));
    }

    // --store-max-bytes 2000: requests beyond it get 482 "store full" and a queue-full event;
    // the proxy keeps answering; everything that got 200 is delivered, in order, once the
    // downstream comes; then there is room again.
    void byteLimitRefusesAndLosesNothing() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string down = fixedTcpEndpoint();
        Child proxy;
        const auto recovered =
            startStoreProxy(proxy, "buffered-rep2req",
                            {"--in-rep", QStringLiteral("tcp://127.0.0.1:*"), "--out-req", qs(down),
                             "--store", dir.filePath(QStringLiteral("q.db")), "--store-max-bytes",
                             "2000", "--events", "--retry-interval", "0.05"});
        QVERIFY2(recovered && *recovered == 0, qPrintable(proxy.describe()));
        const std::string in = inputOf(*proxy.firstLine(0)).toStdString();

        constexpr int kCount = 100;  // about 45 bytes each: about 44 fit
        const auto replies = sendNumbers(in, 0, kCount);
        std::vector<int> accepted;
        int refused = 0;
        for (int n = 0; n < kCount; ++n) {
            const auto& r = replies[static_cast<std::size_t>(n)];
            if (r.status_code == zmqrpc::status::kOk) {
                // Once full, nothing is accepted until the downstream takes something.
                QVERIFY2(refused == 0, qPrintable(QStringLiteral("200 for %1 after a 482").arg(n)));
                accepted.push_back(n);
                continue;
            }
            ++refused;
            QCOMPARE(r.status_code, zmqrpc::status::kProxyFailed);
            QVERIFY2(r.status_message.find("store full") != std::string::npos,
                     r.status_message.c_str());
        }
        QVERIFY2(!accepted.empty() && refused > 0,
                 qPrintable(
                     QStringLiteral("%1 accepted, %2 refused").arg(accepted.size()).arg(refused)));
        QVERIFY2(proxy.waitFor(
                     [&] {
                         return proxy.err().contains(
                             QRegularExpression(QStringLiteral(R"(queue-full: .*store full)")));
                     },
                     kCountersMs),
                 qPrintable(proxy.describe()));
        QVERIFY(proxy.running());
        auto full = readCounters(proxy);
        QVERIFY2(full, qPrintable(proxy.describe()));
        QVERIFY2(full->fill == qint64(accepted.size()) && full->dropped == refused &&
                     full->storedBytes > 0 && full->storedBytes <= 2000 && balanced(*full),
                 qPrintable(full->line));

        Downstream downstream(down);
        const auto drained = waitCounters(
            proxy, [](const Counters& c) { return c.fill == 0; }, kDrainMs);
        QVERIFY2(drained && drained->fill == 0, qPrintable(proxy.describe()));
        const auto seen = downstream.numbers();
        QVERIFY2(missingOf(accepted, seen).isEmpty(), qPrintable(missingOf(accepted, seen)));
        QCOMPARE(qint64(distinctCount(seen)), qint64(accepted.size()));
        const QString order = firstArrivalProblem(seen);
        QVERIFY2(order.isEmpty(), qPrintable(order));

        // Room again: accepted and delivered.
        QCOMPARE(okCount(sendNumbers(in, kCount, 5)), 5);
        QVERIFY(waitUntil(
            [&] { return distinctCount(downstream.numbers()) == accepted.size() + 5; }, 10000ms));
        const auto atExit = stopProxy(proxy);
        QVERIFY2(atExit, qPrintable(proxy.describe()));
        QVERIFY2(balanced(*atExit) && atExit->dropped == refused && atExit->received == kCount + 5,
                 qPrintable(atExit->line));
    }

    // Clean restarts (SIGTERM, start again): the ready line and the counters say "recovered N",
    // and received = delivered + dropped + fill holds in every run, exactly.
    void accountingAcrossRestarts() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string down = fixedTcpEndpoint();
        const QStringList base{
            "--in-rep", QStringLiteral("tcp://127.0.0.1:*"),  "--out-req", qs(down),
            "--store",  dir.filePath(QStringLiteral("q.db")), "--events",  "--retry-interval",
            "0.05"};
        auto startOn = [&](Child& proxy, const QStringList& extra) -> std::string {
            const auto recovered = startStoreProxy(proxy, "buffered-rep2req", base + extra);
            if (!recovered) return {};
            return inputOf(*proxy.firstLine(0)).toStdString();
        };
        auto recoveredOn = [](Child& proxy) {
            return recoveredOf(*proxy.firstLine(0), QStringLiteral("buffered-rep2req"));
        };

        // Run 1: 30 accepted, the downstream down.
        qint64 storedAfter30 = 0;
        {
            Child proxy;
            const std::string in = startOn(proxy, {});
            QVERIFY2(!in.empty(), qPrintable(proxy.describe()));
            QCOMPARE(*recoveredOn(proxy), qint64{0});
            QCOMPARE(okCount(sendNumbers(in, 0, 30)), 30);
            const auto atExit = stopProxy(proxy);
            QVERIFY2(atExit, qPrintable(proxy.describe()));
            QVERIFY2(atExit->received == 30 && atExit->delivered == 0 && atExit->dropped == 0 &&
                         atExit->fill == 30 && atExit->recovered == 0 && balanced(*atExit),
                     qPrintable(atExit->line));
            storedAfter30 = atExit->storedBytes;
            QVERIFY2(storedAfter30 > 0, qPrintable(atExit->line));
        }
        // Run 2: 30 recovered; a byte limit with room for 5 more of the next 10 (numbers 30..39,
        // all the same size): 5 accepted, 5 refused.
        const auto messageSize = static_cast<qint64>(numbered(30).size());
        {
            Child proxy;
            const std::string in = startOn(
                proxy, {"--store-max-bytes", QString::number(storedAfter30 + 5 * messageSize)});
            QVERIFY2(!in.empty(), qPrintable(proxy.describe()));
            QCOMPARE(*recoveredOn(proxy), qint64{30});
            const auto now = readCounters(proxy);
            QVERIFY2(now && now->recovered == 30 && now->received == 30 && now->fill == 30 &&
                         balanced(*now),
                     qPrintable(proxy.describe()));
            const auto replies = sendNumbers(in, 30, 10);
            QCOMPARE(okCount(replies), 5);
            for (int i = 0; i < 10; ++i) {
                QCOMPARE(replies[static_cast<std::size_t>(i)].status_code,
                         i < 5 ? zmqrpc::status::kOk : zmqrpc::status::kProxyFailed);
            }
            const auto atExit = stopProxy(proxy);
            QVERIFY2(atExit, qPrintable(proxy.describe()));
            QVERIFY2(atExit->received == 40 && atExit->delivered == 0 && atExit->dropped == 5 &&
                         atExit->fill == 35 && atExit->recovered == 30 && balanced(*atExit),
                     qPrintable(atExit->line));
        }
        // Run 3: 35 recovered, the downstream up: all delivered, in order.
        {
            Downstream downstream(down);
            Child proxy;
            const std::string in = startOn(proxy, {});
            QVERIFY2(!in.empty(), qPrintable(proxy.describe()));
            QCOMPARE(*recoveredOn(proxy), qint64{35});
            const auto drained = waitCounters(
                proxy, [](const Counters& c) { return c.fill == 0; }, kDrainMs);
            QVERIFY2(drained && drained->fill == 0, qPrintable(proxy.describe()));
            const auto atExit = stopProxy(proxy);
            QVERIFY2(atExit, qPrintable(proxy.describe()));
            QVERIFY2(atExit->received == 35 && atExit->delivered == 35 && atExit->dropped == 0 &&
                         atExit->fill == 0 && atExit->recovered == 35 && balanced(*atExit),
                     qPrintable(atExit->line));
            std::vector<int> expected(35);
            for (int i = 0; i < 35; ++i)
                expected[static_cast<std::size_t>(i)] = i;
            const auto seen = downstream.numbers();
            QVERIFY2(missingOf(expected, seen).isEmpty(), qPrintable(missingOf(expected, seen)));
            QCOMPARE(qint64(distinctCount(seen)), qint64{35});
            const QString order = firstArrivalProblem(seen);
            QVERIFY2(order.isEmpty(), qPrintable(order));
        }
        // Run 4: nothing left.
        {
            Child proxy;
            const std::string in = startOn(proxy, {});
            QVERIFY2(!in.empty(), qPrintable(proxy.describe()));
            QCOMPARE(*recoveredOn(proxy), qint64{0});
            const auto atExit = stopProxy(proxy);
            QVERIFY2(atExit, qPrintable(proxy.describe()));
            QVERIFY2(atExit->received == 0 && atExit->fill == 0 && atExit->recovered == 0 &&
                         !atExit->line.contains(QStringLiteral("recovered")),
                     qPrintable(atExit->line));
        }
    }
};

QTEST_GUILESS_MAIN(TestStoreKill)
#include "tst_store_kill.moc"
