// Pipelined delivery and the durable store of the *2Req proxies (issue 13), over real sockets:
// the window (N requests in flight per endpoint, 1 as pyzmqrpc), the wire a REP sees behind the
// DEALER ([id, "", request]), replies matched by id (a reply to no request in flight is discarded
// and counted), resends after a timeout on a fresh socket and after a lost connection (through
// the test relay), round-robin over the endpoints that are up with statistics per endpoint,
// Rep2Req passing each reply to the client that asked, and the store: recovery across a restart
// with the balance intact, a byte limit that refuses cleanly, a bad file moved aside.
//
// The downstream is either our RpcServer or a raw ROUTER that the test drives frame by frame (it
// sees exactly what a REP would, plus the routing id), so that replies can be held, reordered or
// forged.
#include "tcp_relay.hpp"
#include "testutil.hpp"

#include <zmq.hpp>

#include <QTemporaryDir>

#include <sys/mount.h>

#include <cstring>
#include <fstream>
#include <set>
#include <thread>

using namespace testutil;
using namespace zmqrpc;

namespace {

struct ServerFixture {
    std::shared_ptr<CallLog> log = std::make_shared<CallLog>();
    std::unique_ptr<RpcServer> server;
    explicit ServerFixture(std::string bind = kAnyTcp) {
        server =
            std::make_unique<RpcServer>(repServerOptions(std::move(bind)), standardFunctions(log));
        server->start();
    }
    std::string endpoint() const { return server->rep_endpoint(); }
};

// A downstream the test answers by hand: a ROUTER, which sees [routing id, id, "", request].
struct RawDownstream {
    zmq::context_t context{1};
    zmq::socket_t router{context, zmq::socket_type::router};
    std::string endpoint;
    RawDownstream() {
        router.set(zmq::sockopt::linger, 0);
        router.bind(kAnyTcp);
        endpoint = router.get(zmq::sockopt::last_endpoint);
    }
    struct Request {
        std::string routing;
        std::string id;
        std::string body;
        std::size_t frames = 0;
        bool delimited = false;
    };
    std::optional<Request> next(std::chrono::milliseconds timeout) {
        router.set(zmq::sockopt::rcvtimeo, static_cast<int>(timeout.count()));
        std::vector<zmq::message_t> frames;
        zmq::message_t frame;
        if (!router.recv(frame)) return std::nullopt;
        frames.push_back(std::move(frame));
        while (frames.back().more()) {
            zmq::message_t part;
            (void)router.recv(part);
            frames.push_back(std::move(part));
        }
        Request r;
        r.frames = frames.size();
        r.routing = frames[0].to_string();
        if (frames.size() == 4) {
            r.id = frames[1].to_string();
            r.delimited = frames[2].size() == 0;
            r.body = frames[3].to_string();
        }
        return r;
    }
    void answer(const std::string& routing, const std::string& id, const std::string& reply) {
        router.send(zmq::buffer(routing), zmq::send_flags::sndmore);
        router.send(zmq::buffer(id), zmq::send_flags::sndmore);
        router.send(zmq::message_t(), zmq::send_flags::sndmore);
        router.send(zmq::buffer(reply), zmq::send_flags::none);
    }
    void answer(const Request& r) { answer(r.routing, r.id, encode_response(200, "OK")); }
};

ProxyOptions bufferedOptions(const std::string& downstream, std::size_t window) {
    ProxyOptions options;
    options.name = "buffered";
    options.input.rep_bind = kAnyTcp;
    options.output.req_connect = {downstream};
    options.output.req_timeout = 2000ms;
    options.retry_interval = 20ms;
    options.window = window;
    return options;
}

bool balanced(const QueueSnapshot& q) {
    return q.delivered + q.dropped + q.fill == q.received;
}

QString queueText(const QueueSnapshot& q) {
    return QStringLiteral(
               "fill %1 received %2 delivered %3 dropped %4 recovered %5 in flight %6 "
               "redelivered %7 stale %8")
        .arg(q.fill)
        .arg(q.received)
        .arg(q.delivered)
        .arg(q.dropped)
        .arg(q.recovered)
        .arg(q.in_flight)
        .arg(q.redelivered)
        .arg(q.stale_replies);
}

std::string numbered(int n) {
    return encode_request("record", {{"n", n}});
}

// Sends numbered messages 0..count-1 to a BufferedRep2Req; returns how many got 200.
int sendNumbered(const std::string& endpoint, int from, int count) {
    Sender client(reqSenderOptions({endpoint}, 3000ms, "client"));
    int ok = 0;
    for (int i = from; i < from + count; ++i) {
        if (decode_response(client.request(numbered(i))).status_code == 200) ++ok;
    }
    return ok;
}

// The numbers a CallLog of record() calls holds, in order of arrival.
std::vector<int> numbersOf(const CallLog& log) {
    std::vector<int> out;
    for (const auto& call : log.snapshot())
        out.push_back(call.at("n").get<int>());
    return out;
}

// Every number of [0, count) arrived, and in order of first arrival.
QString orderProblem(const std::vector<int>& seen, int count) {
    std::set<int> first;
    int expected = 0;
    for (const int& n : seen) {
        if (first.count(n)) continue;
        if (n != expected) {
            QString around;
            const auto at = static_cast<std::ptrdiff_t>(&n - seen.data());
            for (auto k = std::max<std::ptrdiff_t>(0, at - 12);
                 k < std::min<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(seen.size()), at + 12);
                 ++k)
                around += QString::number(seen[static_cast<std::size_t>(k)]) + ' ';
            return QStringLiteral("first arrival of %1 where %2 was due (arrivals around it: %3)")
                .arg(n)
                .arg(expected)
                .arg(around);
        }
        first.insert(n);
        ++expected;
    }
    if (expected != count) return QStringLiteral("only %1 of %2 arrived").arg(expected).arg(count);
    return {};
}

}  // namespace

class TestPipeline : public QObject {
    Q_OBJECT

  private slots:
    void windowKeepsRequestsInFlight();
    void windowOneSendsOneAtATime();
    void replyWithUnknownIdIsDiscarded();
    void timeoutResendsOnFreshSocket();
    void deliversInOrderToServer();
    void rep2reqPassesEachReplyBack();
    void rep2reqTimeoutAnswersEveryClientInFlight();
    void roundRobinOverEndpointsThatAreUp();
    void lostConnectionLosesNothing();
    void storeSurvivesRestart();
    void storeByteLimitRefusesCleanly();
    void corruptStoreIsMovedAside();
    void fullDiskRefusesAndKeepsServing();
    void storeOnlyWhereItMeansSomething();
};

void TestPipeline::windowKeepsRequestsInFlight() {
    RawDownstream down;
    Proxy proxy(ProxyKind::BufferedRep2Req, bufferedOptions(down.endpoint, 4));
    proxy.start();
    QCOMPARE(sendNumbered(proxy.input_endpoint(), 0, 10), 10);

    // Four arrive without a reply, each behind its own 8-byte id and the delimiter.
    std::vector<RawDownstream::Request> held;
    for (int i = 0; i < 4; ++i) {
        auto r = down.next(2000ms);
        QVERIFY2(r, qPrintable(QStringLiteral("request %1 did not arrive").arg(i)));
        QCOMPARE(r->frames, std::size_t{4});
        QVERIFY(r->delimited);
        QCOMPARE(r->id.size(), std::size_t{8});
        QCOMPARE(r->body, numbered(i));
        held.push_back(*r);
    }
    QVERIFY2(!down.next(300ms), "a fifth request went out beyond the window of 4");
    QCOMPARE(proxy.metrics().queue.in_flight, std::uint64_t{4});
    QCOMPARE(proxy.metrics().queue.window, std::uint64_t{4});
    // Ids are all different.
    std::set<std::string> ids;
    for (const auto& r : held)
        ids.insert(r.id);
    QCOMPARE(ids.size(), std::size_t{4});

    // Each reply makes room for one more.
    down.answer(held[0]);
    auto fifth = down.next(2000ms);
    QVERIFY(fifth);
    QCOMPARE(fifth->body, numbered(4));
    for (std::size_t i = 1; i < held.size(); ++i)
        down.answer(held[i]);
    down.answer(*fifth);
    for (int i = 5; i < 10; ++i) {
        auto r = down.next(2000ms);
        QVERIFY(r);
        QCOMPARE(r->body, numbered(i));
        down.answer(*r);
    }
    QVERIFY(waitUntil([&] { return proxy.metrics().queue.delivered == 10; }));
    auto q = proxy.metrics().queue;
    QVERIFY2(balanced(q), qPrintable(queueText(q)));
    QCOMPARE(q.in_flight, std::uint64_t{0});
    QCOMPARE(q.redelivered, std::uint64_t{0});
}

void TestPipeline::windowOneSendsOneAtATime() {
    RawDownstream down;
    Proxy proxy(ProxyKind::BufferedRep2Req, bufferedOptions(down.endpoint, 1));
    proxy.start();
    QCOMPARE(sendNumbered(proxy.input_endpoint(), 0, 3), 3);
    for (int i = 0; i < 3; ++i) {
        auto r = down.next(2000ms);
        QVERIFY(r);
        QCOMPARE(r->body, numbered(i));
        QVERIFY2(!down.next(200ms), "window 1 sent a second request before the reply");
        down.answer(*r);
    }
    QVERIFY(waitUntil([&] { return proxy.metrics().queue.delivered == 3; }));
}

void TestPipeline::replyWithUnknownIdIsDiscarded() {
    RawDownstream down;
    Proxy proxy(ProxyKind::BufferedRep2Req, bufferedOptions(down.endpoint, 2));
    proxy.start();
    QCOMPARE(sendNumbered(proxy.input_endpoint(), 0, 1), 1);
    auto r = down.next(2000ms);
    QVERIFY(r);
    std::string forged = r->id;
    forged[0] = static_cast<char>(forged[0] ^ 0x5a);
    down.answer(r->routing, forged, encode_response(200, "OK"));
    QVERIFY(waitUntil([&] { return proxy.metrics().queue.stale_replies == 1; }));
    QCOMPARE(proxy.metrics().queue.delivered, std::uint64_t{0});
    QCOMPARE(proxy.metrics().queue.in_flight, std::uint64_t{1});
    down.answer(*r);
    QVERIFY(waitUntil([&] { return proxy.metrics().queue.delivered == 1; }));
    auto q = proxy.metrics().queue;
    QVERIFY2(balanced(q), qPrintable(queueText(q)));
}

void TestPipeline::timeoutResendsOnFreshSocket() {
    RawDownstream down;
    EventRecorder events;
    auto options = bufferedOptions(down.endpoint, 2);
    options.output.req_timeout = 300ms;
    options.events = events.bus();
    Proxy proxy(ProxyKind::BufferedRep2Req, options);
    proxy.start();
    QCOMPARE(sendNumbered(proxy.input_endpoint(), 0, 2), 2);
    auto a = down.next(2000ms), b = down.next(2000ms);
    QVERIFY(a && b);
    // No answer: after the timeout both come again, in order, from a new socket (a new routing
    // id) and with new ids.
    auto a2 = down.next(3000ms), b2 = down.next(3000ms);
    QVERIFY2(a2 && b2, qPrintable(events.dump()));
    QCOMPARE(a2->body, numbered(0));
    QCOMPARE(b2->body, numbered(1));
    QVERIFY(a2->routing != a->routing);
    QVERIFY(a2->id != a->id && b2->id != b->id);
    QVERIFY(events.waitFor(EventKind::SocketRecreated, 1000ms));
    down.answer(*a2);
    down.answer(*b2);
    QVERIFY(waitUntil([&] { return proxy.metrics().queue.delivered == 2; }));
    auto m = proxy.metrics();
    QCOMPARE(m.queue.redelivered, std::uint64_t{2});
    QVERIFY(m.requests_failed >= 1);
    QVERIFY(socketOf(m, "req")->recreates >= 1);
    QVERIFY2(balanced(m.queue), qPrintable(queueText(m.queue)));
}

void TestPipeline::deliversInOrderToServer() {
    ServerFixture fx;
    Proxy proxy(ProxyKind::BufferedRep2Req, bufferedOptions(fx.endpoint(), 64));
    proxy.start();
    constexpr int kCount = 2000;
    // Several senders' worth of input at once keeps the window full.
    QCOMPARE(sendNumbered(proxy.input_endpoint(), 0, kCount), kCount);
    QVERIFY(waitUntil([&] { return proxy.metrics().queue.delivered == kCount; }, 10000ms));
    const auto seen = numbersOf(*fx.log);
    QCOMPARE(seen.size(), std::size_t{kCount});
    const QString problem = orderProblem(seen, kCount);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    auto q = proxy.metrics().queue;
    QVERIFY2(balanced(q), qPrintable(queueText(q)));
    QVERIFY2(q.high_water >= 1, qPrintable(queueText(q)));
}

void TestPipeline::rep2reqPassesEachReplyBack() {
    ServerFixture fx;
    ProxyOptions options;
    options.name = "rep2req";
    options.input.rep_bind = kAnyTcp;
    options.output.req_connect = {fx.endpoint()};
    options.output.req_timeout = 3000ms;
    options.window = 16;
    Proxy proxy(ProxyKind::Rep2Req, options);
    proxy.start();
    constexpr int kClients = 8, kCalls = 100;
    std::atomic<int> wrong{0}, right{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
        clients.emplace_back([&, c] {
            RpcClient client(reqClientOptions({proxy.input_endpoint()}, 3000ms));
            for (int i = 0; i < kCalls; ++i) {
                try {
                    auto sum = client.invoke("add", {{"a", c * 1000}, {"b", i}});
                    (sum == json(c * 1000 + i) ? right : wrong).fetch_add(1);
                } catch (const Error&) {
                    wrong.fetch_add(1);
                }
            }
        });
    }
    for (auto& t : clients)
        t.join();
    QCOMPARE(wrong.load(), 0);
    QCOMPARE(right.load(), kClients * kCalls);
    auto q = proxy.metrics().queue;
    QVERIFY2(balanced(q), qPrintable(queueText(q)));
    QCOMPARE(q.delivered, std::uint64_t{kClients * kCalls});
}

void TestPipeline::rep2reqTimeoutAnswersEveryClientInFlight() {
    RawDownstream down;  // never answers
    ProxyOptions options;
    options.name = "rep2req";
    options.input.rep_bind = kAnyTcp;
    options.output.req_connect = {down.endpoint};
    options.output.req_timeout = 300ms;
    options.window = 4;
    Proxy proxy(ProxyKind::Rep2Req, options);
    proxy.start();
    std::vector<std::thread> clients;
    std::atomic<int> answered482{0};
    for (int c = 0; c < 3; ++c) {
        clients.emplace_back([&, c] {
            Sender client(reqSenderOptions({proxy.input_endpoint()}, 5000ms, "client"));
            auto reply = decode_response(client.request(numbered(c)));
            if (reply.status_code == 482 &&
                reply.status_message.find("timed out") != std::string::npos)
                answered482.fetch_add(1);
        });
    }
    for (auto& t : clients)
        t.join();
    QCOMPARE(answered482.load(), 3);
    auto q = proxy.metrics().queue;
    QCOMPARE(q.dropped, std::uint64_t{3});
    QCOMPARE(q.redelivered, std::uint64_t{0});  // Rep2Req never sends a request twice
    QVERIFY2(balanced(q), qPrintable(queueText(q)));
}

void TestPipeline::roundRobinOverEndpointsThatAreUp() {
    ServerFixture a;
    const std::string bEndpoint = freeTcpEndpoint();  // nothing there yet
    auto options = bufferedOptions(a.endpoint(), 8);
    options.output.req_connect = {a.endpoint(), bEndpoint};
    Proxy proxy(ProxyKind::BufferedRep2Req, options);
    proxy.start();
    // Each endpoint has statistics of its own.
    auto m = proxy.metrics();
    QCOMPARE(socketOf(m, "req", 0)->endpoint, a.endpoint());
    QCOMPARE(socketOf(m, "req", 1)->endpoint, bEndpoint);

    QCOMPARE(sendNumbered(proxy.input_endpoint(), 0, 100), 100);
    QVERIFY(waitUntil([&] { return a.log->size() == 100; }, 5000ms));
    QCOMPARE(socketOf(proxy.metrics(), "req", 1)->messages_out, std::uint64_t{0});

    ServerFixture b(bEndpoint);
    QVERIFY(waitUntil(
        [&] {
            return socketOf(proxy.metrics(), "req", 1)->connection == ConnectionState::Connected;
        },
        5000ms));
    QCOMPARE(sendNumbered(proxy.input_endpoint(), 100, 200), 200);
    QVERIFY(waitUntil([&] { return a.log->size() + b.log->size() == 300; }, 5000ms));
    QVERIFY2(b.log->size() >= 20, qPrintable(QString::number(b.log->size())));
    m = proxy.metrics();
    QCOMPARE(socketOf(m, "req", 1)->messages_out, std::uint64_t(b.log->size()));
    QVERIFY2(balanced(m.queue), qPrintable(queueText(m.queue)));
}

void TestPipeline::lostConnectionLosesNothing() {
    ServerFixture fx;
    TcpRelay relay(fx.endpoint());
    auto options = bufferedOptions(relay.endpoint(), 32);
    options.output.req_timeout = 1000ms;
    Proxy proxy(ProxyKind::BufferedRep2Req, options);
    proxy.start();
    constexpr int kCount = 3000;
    std::thread input([&] { sendNumbered(proxy.input_endpoint(), 0, kCount); });
    QVERIFY(waitUntil([&] { return fx.log->size() >= 300; }, 5000ms));
    relay.cut();
    std::this_thread::sleep_for(300ms);
    relay.restore();
    input.join();
    QVERIFY2(waitUntil([&] { return proxy.metrics().queue.delivered == kCount; }, 15000ms),
             qPrintable(queueText(proxy.metrics().queue)));
    const QString problem = orderProblem(numbersOf(*fx.log), kCount);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    auto q = proxy.metrics().queue;
    QVERIFY2(balanced(q), qPrintable(queueText(q)));
    QCOMPARE(q.dropped, std::uint64_t{0});
    qInfo("cut with traffic: %d delivered, %zu arrivals at the server, %llu redelivered", kCount,
          fx.log->size(), static_cast<unsigned long long>(q.redelivered));
}

void TestPipeline::storeSurvivesRestart() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string path = dir.filePath(QStringLiteral("queue.db")).toStdString();
    const std::string downstream = freeTcpEndpoint();
    const std::string input = freeTcpEndpoint();
    auto options = bufferedOptions(downstream, 16);
    options.input.rep_bind = input;
    options.store = path;
    {
        EventRecorder events;
        options.events = events.bus();
        Proxy proxy(ProxyKind::BufferedRep2Req, options);
        proxy.start();
        QCOMPARE(sendNumbered(proxy.input_endpoint(), 0, 50), 50);
        auto q = proxy.metrics().queue;
        QVERIFY(q.durable);
        QCOMPARE(q.fill, std::uint64_t{50});
        QVERIFY(q.fill_bytes > 0);
        proxy.stop();
        QVERIFY(events.waitFor(EventKind::Stopped, 1000ms));
        QVERIFY2(events.dump().contains(QStringLiteral("kept in the store")),
                 qPrintable(events.dump()));
        QCOMPARE(proxy.metrics().queue.dropped, std::uint64_t{0});
    }
    ServerFixture fx(downstream);
    EventRecorder events;
    options.events = events.bus();
    Proxy again(ProxyKind::BufferedRep2Req, options);
    again.start();
    QVERIFY(waitUntil([&] { return again.metrics().queue.delivered == 50; }, 5000ms));
    auto q = again.metrics().queue;
    QCOMPARE(q.recovered, std::uint64_t{50});
    QCOMPARE(q.received, std::uint64_t{50});
    QVERIFY2(balanced(q), qPrintable(queueText(q)));
    const QString problem = orderProblem(numbersOf(*fx.log), 50);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    // New input after the recovered rows keeps the balance.
    QCOMPARE(sendNumbered(again.input_endpoint(), 50, 10), 10);
    QVERIFY(waitUntil([&] { return again.metrics().queue.delivered == 60; }, 5000ms));
    q = again.metrics().queue;
    QVERIFY2(balanced(q), qPrintable(queueText(q)));
}

void TestPipeline::storeByteLimitRefusesCleanly() {
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("small.db")).toStdString();
    const std::string downstream = freeTcpEndpoint();
    EventRecorder events;
    auto options = bufferedOptions(downstream, 16);
    options.store = path;
    options.store_max_bytes = 1000;
    options.events = events.bus();
    Proxy proxy(ProxyKind::BufferedRep2Req, options);
    proxy.start();
    Sender client(reqSenderOptions({proxy.input_endpoint()}, 3000ms, "client"));
    int accepted = 0, refused = 0;
    std::string refusal;
    for (int i = 0; i < 40; ++i) {
        auto reply = decode_response(client.request(numbered(i)));
        if (reply.status_code == 200) {
            ++accepted;
        } else {
            ++refused;
            refusal = reply.status_message;
            QCOMPARE(reply.status_code, 482);
        }
    }
    QVERIFY2(accepted > 0 && refused > 0,
             qPrintable(QStringLiteral("%1/%2").arg(accepted).arg(refused)));
    QVERIFY2(refusal.find("store full") != std::string::npos, refusal.c_str());
    QVERIFY(events.waitFor(EventKind::QueueFull, 1000ms));
    auto q = proxy.metrics().queue;
    QCOMPARE(q.dropped, std::uint64_t(refused));
    QVERIFY(q.fill_bytes <= 1000);
    // What was accepted is all delivered once the downstream is there.
    ServerFixture fx(downstream);
    QVERIFY(waitUntil([&] { return proxy.metrics().queue.delivered == std::uint64_t(accepted); },
                      5000ms));
    QCOMPARE(fx.log->size(), std::size_t(accepted));
    q = proxy.metrics().queue;
    QVERIFY2(balanced(q), qPrintable(queueText(q)));
}

void TestPipeline::corruptStoreIsMovedAside() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("bad.db"));
    {
        std::ofstream out(path.toStdString(), std::ios::binary);
        for (int i = 0; i < 4096; ++i)
            out.put(static_cast<char>((i * 37) & 0xff));
    }
    ServerFixture fx;
    EventRecorder events;
    auto options = bufferedOptions(fx.endpoint(), 8);
    options.store = path.toStdString();
    options.events = events.bus();
    Proxy proxy(ProxyKind::BufferedRep2Req, options);
    proxy.start();  // must not throw
    QVERIFY(events.waitFor(EventKind::StoreError, 1000ms));
    QVERIFY2(events.dump().contains(QStringLiteral("moved aside to")), qPrintable(events.dump()));
    const auto entries = QDir(dir.path()).entryList({QStringLiteral("bad.db.corrupt-*")});
    QVERIFY2(!entries.isEmpty(), qPrintable(QDir(dir.path()).entryList().join(' ')));
    QCOMPARE(sendNumbered(proxy.input_endpoint(), 0, 5), 5);
    QVERIFY(waitUntil([&] { return fx.log->size() == 5; }));
}

// A BufferedRep2Req whose store's disk fills up: the request that does not fit is answered 482
// with "disk full" and a store-error event, the proxy keeps answering, everything accepted before
// is delivered, and once there is room again it accepts again. Needs a small tmpfs (root).
void TestPipeline::fullDiskRefusesAndKeepsServing() {
    QTemporaryDir dir;
    const QByteArray mountPoint = dir.filePath(QStringLiteral("disk")).toLocal8Bit();
    QVERIFY(QDir().mkpath(QString::fromLocal8Bit(mountPoint)));
    if (::mount("tmpfs", mountPoint.constData(), "tmpfs", 0, "size=512k") != 0) {
        QSKIP(
            "cannot mount a 512 KiB tmpfs (needs root); tst_store's byte limit tests cover the "
            "rest");
    }
    struct Unmount {
        QByteArray at;
        ~Unmount() { ::umount2(at.constData(), MNT_DETACH); }
    } unmount{mountPoint};
    const std::string ballast = mountPoint.toStdString() + "/ballast";
    {
        std::ofstream out(ballast, std::ios::binary);
        out << std::string(192 * 1024, 'x');
    }
    const std::string downstream = freeTcpEndpoint();
    EventRecorder events;
    auto options = bufferedOptions(downstream, 16);
    options.store = mountPoint.toStdString() + "/queue.db";
    options.store_max_bytes = 0;  // the disk is the limit here
    options.events = events.bus();
    Proxy proxy(ProxyKind::BufferedRep2Req, options);
    proxy.start();
    Sender client(reqSenderOptions({proxy.input_endpoint()}, 3000ms, "client"));
    const std::string pad(1000, 'p');
    int accepted = 0;
    std::string refusal;
    for (int i = 0; i < 1000 && refusal.empty(); ++i) {
        auto reply =
            decode_response(client.request(encode_request("record", {{"n", i}, {"pad", pad}})));
        if (reply.status_code == 200) {
            ++accepted;
        } else {
            QCOMPARE(reply.status_code, 482);
            refusal = reply.status_message;
        }
    }
    QVERIFY2(refusal.find("disk full") != std::string::npos, refusal.c_str());
    QVERIFY(events.waitFor(EventKind::StoreError, 1000ms));
    QVERIFY2(events.dump().contains(QStringLiteral("disk full")), qPrintable(events.dump()));
    QVERIFY(accepted > 0);
    QVERIFY2(waitUntil([&] { return proxy.metrics().queue.fill == std::uint64_t(accepted); }),
             qPrintable(queueText(proxy.metrics().queue)));
    auto q = proxy.metrics().queue;
    QVERIFY2(balanced(q), qPrintable(queueText(q)));
    // Still serving: a heartbeat is answered at once.
    QCOMPARE(decode_response(client.request(kHeartbeat)).status_code, 200);

    // Room again, and the downstream comes: everything accepted arrives, in order.
    std::remove(ballast.c_str());
    ServerFixture fx(downstream);
    QVERIFY2(waitUntil([&] { return proxy.metrics().queue.delivered == std::uint64_t(accepted); },
                       10000ms),
             qPrintable(queueText(proxy.metrics().queue)));
    const QString problem = orderProblem(numbersOf(*fx.log), accepted);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    // Taken again once the store has room: its deletes are in the WAL until a checkpoint, which
    // a failed commit runs at once and the interval policy every second; bounded retries.
    int status = 0;
    for (int attempt = 0; attempt < 30 && status != 200; ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(100ms);
        status = decode_response(client.request(encode_request("record", {{"n", accepted}})))
                     .status_code;
    }
    QCOMPARE(status, 200);
    QVERIFY(waitUntil([&] { return fx.log->size() == std::size_t(accepted) + 1; }));
    q = proxy.metrics().queue;
    QVERIFY2(balanced(q), qPrintable(queueText(q)));
    qInfo("disk full after %d accepted: %s", accepted, refusal.c_str());
}

void TestPipeline::storeOnlyWhereItMeansSomething() {
    QTemporaryDir dir;
    ProxyOptions options;
    options.input.rep_bind = kAnyTcp;
    options.output.req_connect = {deadTcpEndpoint()};
    options.store = dir.filePath(QStringLiteral("x.db")).toStdString();
    QVERIFY_THROWS_EXCEPTION(ConfigError, Proxy(ProxyKind::Rep2Req, options));
    options.store.clear();
    options.window = 0;
    QVERIFY_THROWS_EXCEPTION(ConfigError, Proxy(ProxyKind::Rep2Req, options));
    // A store in a directory that does not exist: start() fails with the path in the message.
    options.window = 8;
    options.store = dir.filePath(QStringLiteral("missing/x.db")).toStdString();
    Proxy proxy(ProxyKind::BufferedRep2Req, options);
    try {
        proxy.start();
        QFAIL("start() did not throw");
    } catch (const ConfigError& e) {
        QVERIFY2(std::string(e.what()).find("missing/x.db") != std::string::npos, e.what());
    }
    QVERIFY(!proxy.running());
}

QTEST_GUILESS_MAIN(TestPipeline)
#include "tst_pipeline.moc"
