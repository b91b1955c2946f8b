// The durable queue (core/src/proxy/sqlite_queue.hpp) on real files with the real SQLite: the
// life of a message (push, commit, lease, ack, nack), what survives a reopen, the limits, bounded
// RAM with 100 000 stored messages, bad files moved aside, a second opener, a full disk (a small
// tmpfs, when the test may mount one) and the sync policies.
#include "sqlite_queue.hpp"
#include "testutil.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QTemporaryDir>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <random>

#if defined(__SANITIZE_ADDRESS__)
// ASan keeps freed memory in quarantine (256 MiB by default) before it reuses it: leasing
// 100 000 messages of 1 KiB would then look like 100 MiB of growth that is really freed memory.
// A small quarantine keeps boundedRam measuring the queue, not the sanitizer.
extern "C" const char* __asan_default_options() {
    return "quarantine_size_mb=4";
}
#endif

using namespace testutil;
using namespace zmqrpc;
using zmqrpc::detail::CommitResult;
using zmqrpc::detail::PushResult;
using zmqrpc::detail::QueueItem;
using zmqrpc::detail::SqliteQueue;
using zmqrpc::detail::StoreOptions;

namespace {

StoreOptions storeAt(const QString& path, StoreSync sync = StoreSync::Off) {
    StoreOptions options;
    options.path = path.toStdString();
    options.sync = sync;
    return options;
}

// A message that says which one it is, padded to `size` bytes.
std::string message(std::uint64_t n, std::size_t size = 32) {
    std::string text = "message " + std::to_string(n) + " ";
    text.resize(std::max(size, text.size()), static_cast<char>('a' + n % 26));
    return text;
}

bool fileExists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeFile(const std::string& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
}

std::string randomBytes(std::size_t n, unsigned seed) {
    std::mt19937 random(seed);
    std::string bytes(n, '\0');
    for (auto& c : bytes)
        c = static_cast<char>(random() & 0xff);
    return bytes;
}

// Resident set of this process, from /proc/self/statm (pages).
std::uint64_t residentBytes() {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t size = 0, resident = 0;
    statm >> size >> resident;
    return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

// Leases everything leasable now; returns the seqs in the order handed out.
std::vector<std::uint64_t> leaseAll(SqliteQueue& queue, std::vector<QueueItem*>* items = nullptr) {
    std::vector<std::uint64_t> seqs;
    while (QueueItem* item = queue.lease()) {
        seqs.push_back(item->seq);
        if (items) items->push_back(item);
    }
    return seqs;
}

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t last) {
    std::vector<std::uint64_t> seqs;
    for (std::uint64_t s = first; s <= last; ++s)
        seqs.push_back(s);
    return seqs;
}

double mib(std::uint64_t bytes) {
    return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

}  // namespace

class TestStore : public QObject {
    Q_OBJECT

  private:
    QTemporaryDir dir_;
    QString mounted_;  // a tmpfs mounted by diskFull, unmounted in cleanup()
    QString path(const QString& name = "queue.db") const { return dir_.filePath(name); }

  private slots:
    void initTestCase() { QVERIFY(dir_.isValid()); }

    void cleanup() {
        if (!mounted_.isEmpty()) {
            ::umount2(mounted_.toLocal8Bit().constData(), MNT_DETACH);
            mounted_.clear();
        }
    }

    // First: memory that earlier tests freed would stay resident and hide growth here.
    void boundedRam() {
        // 100 000 messages of 1 KiB (~100 MiB) stored, then reopened, leased and acknowledged
        // through. Neither storing them nor reading them back may take the queue into RAM. The
        // baseline is the RSS once the first 2 000 are stored: from there on the queue is in its
        // steady state, and what it costs once (SQLite's page cache, the allocator's pools, under
        // ASan its quarantine and shadow, ~14 MiB together) is left out. Taken later it would
        // not do: memory freed by one phase stays resident and hides what the next one takes.
        constexpr std::uint64_t kCount = 100000;
        constexpr std::size_t kSize = 1024;
        constexpr std::size_t kBatch = 1000;  // pushes per commit, and the output's window
        constexpr std::uint64_t kMargin = 20 * 1024 * 1024;
        const QString file = path("big.db");
        std::uint64_t start = 0;
        std::uint64_t fillPeak = 0;
        const auto started = Clock::now();
        {
            StoreOptions options = storeAt(file);
            options.max_messages = kCount;
            SqliteQueue queue(options);
            for (std::uint64_t i = 1; i <= kCount; ++i) {
                QCOMPARE(queue.push(message(i, kSize)), PushResult::Staged);
                if (i % kBatch == 0) {
                    QCOMPARE(queue.commit().accepted, kBatch);
                    if (i == 2 * kBatch) start = residentBytes();
                    fillPeak = std::max(fillPeak, residentBytes());
                }
            }
            QCOMPARE(queue.push(message(0, kSize)), PushResult::Full);
        }
        const auto filled = Clock::now();
        std::uint64_t leasePeak = residentBytes();
        {
            StoreOptions options = storeAt(file);
            options.max_messages = kCount;
            SqliteQueue queue(options);
            leasePeak = std::max(leasePeak, residentBytes());
            QCOMPARE(queue.recovered(), std::size_t{kCount});
            QCOMPARE(queue.bytes(), std::uint64_t{kCount * kSize});
            std::uint64_t expected = 1;
            while (expected <= kCount) {
                std::vector<std::uint64_t> window;
                for (std::size_t i = 0; i < kBatch; ++i) {
                    QueueItem* item = queue.lease();
                    if (item == nullptr) break;
                    if (item->seq != expected || item->message != message(expected, kSize)) {
                        QFAIL(qPrintable(
                            QString("got seq %1, expected %2").arg(item->seq).arg(expected)));
                    }
                    ++expected;
                    window.push_back(item->seq);
                }
                QVERIFY2(!window.empty(), queue.last_error().c_str());
                for (auto seq : window)
                    queue.ack(seq);
                QVERIFY(queue.commit().error.empty());
                leasePeak = std::max(leasePeak, residentBytes());
            }
            QCOMPARE(queue.size(), std::size_t{0});
            QVERIFY(queue.lease() == nullptr);
        }
        const auto fillMs =
            std::chrono::duration_cast<std::chrono::milliseconds>(filled - started).count();
        qInfo(
            "boundedRam: RSS %.1f MiB with 2000 stored; peak +%.1f MiB storing the rest, +%.1f "
            "MiB reopening and leasing/acking all (margin %.0f MiB); %lld ms storing, %lld ms "
            "reading back",
            mib(start), mib(fillPeak - start), mib(leasePeak - start), mib(kMargin),
            static_cast<long long>(fillMs), static_cast<long long>(msSince(filled)));
        QVERIFY2(fillPeak - start < kMargin,
                 qPrintable(QString("RSS grew by %1 MiB storing").arg(mib(fillPeak - start))));
        QVERIFY2(leasePeak - start < kMargin,
                 qPrintable(QString("RSS grew by %1 MiB reading").arg(mib(leasePeak - start))));
    }

    void pushCommitLeaseAck() {
        SqliteQueue queue(storeAt(path("life.db")));
        QVERIFY(queue.durable());
        QCOMPARE(queue.recovered(), std::size_t{0});
        QVERIFY(queue.moved_aside().empty());
        for (std::uint64_t i = 1; i <= 3; ++i) {
            QCOMPARE(queue.push(message(i)), PushResult::Staged);
            QCOMPARE(queue.last_seq(), i);
        }
        // Staged: counted, not leasable.
        QCOMPARE(queue.size(), std::size_t{3});
        QCOMPARE(queue.bytes(), std::uint64_t{3 * 32});
        QCOMPARE(queue.leasable(), std::size_t{0});
        QVERIFY(queue.needs_commit());
        QVERIFY(queue.lease() == nullptr);

        CommitResult result = queue.commit();
        QCOMPARE(result.accepted, std::size_t{3});
        QCOMPARE(result.rejected, std::size_t{0});
        QVERIFY(result.error.empty());
        QVERIFY(!queue.needs_commit());
        QCOMPARE(queue.leasable(), std::size_t{3});

        QueueItem* first = queue.lease();
        QVERIFY(first != nullptr);
        QCOMPARE(first->seq, std::uint64_t{1});
        QCOMPARE(first->message, message(1));
        QCOMPARE(first->deliveries, std::uint32_t{1});
        QCOMPARE(queue.leasable(), std::size_t{2});
        QCOMPARE(queue.size(), std::size_t{3});

        queue.ack(1);
        QCOMPARE(queue.size(), std::size_t{2});
        QCOMPARE(queue.bytes(), std::uint64_t{2 * 32});
        QVERIFY(queue.needs_commit());
        QCOMPARE(queue.commit().accepted, std::size_t{0});
        QVERIFY(!queue.needs_commit());

        QCOMPARE(leaseAll(queue), range(2, 3));
        QCOMPARE(queue.leasable(), std::size_t{0});
        queue.ack(2);
        queue.ack(3);
        queue.ack(3);  // twice, or never leased: ignored
        queue.ack(99);
        QCOMPARE(queue.size(), std::size_t{0});
        QCOMPARE(queue.bytes(), std::uint64_t{0});
        QVERIFY(queue.commit().error.empty());
    }

    void nackComesBackInSeqOrder() {
        SqliteQueue queue(storeAt(path("nack.db")));
        for (std::uint64_t i = 1; i <= 5; ++i)
            queue.push(message(i));
        queue.commit();
        std::vector<QueueItem*> items;
        QCOMPARE(leaseAll(queue, &items), range(1, 5));
        // Nacked out of order, before newer input arrives: they come back lowest first, before
        // the newer ones, and keep their delivery count.
        queue.nack(4);
        queue.nack(2);
        queue.push(message(6));
        queue.commit();
        QCOMPARE(queue.leasable(), std::size_t{3});
        QueueItem* again = queue.lease();
        QCOMPARE(again->seq, std::uint64_t{2});
        QCOMPARE(again->deliveries, std::uint32_t{2});
        QCOMPARE(again->message, message(2));
        again = queue.lease();
        QCOMPARE(again->seq, std::uint64_t{4});
        QCOMPARE(again->deliveries, std::uint32_t{2});
        queue.nack(2);
        QCOMPARE(queue.lease()->seq, std::uint64_t{2});
        QCOMPARE(queue.lease()->seq, std::uint64_t{6});
        QVERIFY(queue.lease() == nullptr);
        // Nack of something not leased: ignored.
        queue.nack(42);
        QCOMPARE(queue.leasable(), std::size_t{0});
        QCOMPARE(queue.size(), std::size_t{6});
    }

    void reopenRecoversUnackedInOrder() {
        const QString file = path("reopen.db");
        {
            SqliteQueue queue(storeAt(file));
            for (std::uint64_t i = 1; i <= 6; ++i)
                queue.push(message(i));
            QCOMPARE(queue.commit().accepted, std::size_t{6});
            queue.lease();  // 1
            queue.lease();  // 2
            queue.lease();  // 3
            queue.ack(1);
            queue.ack(3);
            QVERIFY(queue.commit().error.empty());
            // 2 leased and not acked, 4..6 never leased; 7 staged only: not kept.
            queue.push(message(7));
        }
        SqliteQueue queue(storeAt(file));
        QVERIFY(queue.moved_aside().empty());
        QCOMPARE(queue.recovered(), std::size_t{4});
        QCOMPARE(queue.size(), std::size_t{4});
        QCOMPARE(queue.bytes(), std::uint64_t{4 * 32});
        QCOMPARE(queue.leasable(), std::size_t{4});
        std::vector<QueueItem*> items;
        const std::vector<std::uint64_t> expected{2, 4, 5, 6};
        QCOMPARE(leaseAll(queue, &items), expected);
        for (QueueItem* item : items) {
            QCOMPARE(item->message, message(item->seq));
            QCOMPARE(item->deliveries, std::uint32_t{1});  // the store does not know the wire
        }
        // Seqs go on above every seq given (7 was given, though never committed).
        queue.push(message(8));
        QVERIFY2(queue.last_seq() > 7, qPrintable(QString::number(queue.last_seq())));
    }

    void seqsIncreaseAfterEverythingWasDeleted() {
        // Seqs go on above every seq given before, across reopens, also when nothing is stored
        // and when the last pushes were never committed (they may jump: they only increase).
        const QString file = path("seq.db");
        std::uint64_t last = 0;
        {
            SqliteQueue queue(storeAt(file));
            for (int i = 0; i < 5; ++i)
                queue.push(message(1));
            QCOMPARE(queue.last_seq(), std::uint64_t{5});
            queue.commit();
            for (auto seq : leaseAll(queue))
                queue.ack(seq);
            QVERIFY(queue.commit().error.empty());
            QCOMPARE(queue.size(), std::size_t{0});
            queue.push(message(6));  // staged, given, never committed
            last = queue.last_seq();
        }
        for (int reopen = 0; reopen < 3; ++reopen) {
            SqliteQueue queue(storeAt(file));
            QCOMPARE(queue.recovered(), std::size_t{0});
            QCOMPARE(queue.size(), std::size_t{0});
            QVERIFY(queue.last_seq() >= last);
            queue.push(message(7));
            QVERIFY2(queue.last_seq() > last,
                     qPrintable(QString("%1 after %2").arg(queue.last_seq()).arg(last)));
            last = queue.last_seq();
            queue.commit();
            QueueItem* item = queue.lease();
            QCOMPARE(item->seq, last);
            queue.ack(last);
            queue.commit();
        }
    }

    void ackedButNotCommittedComesBack() {
        const QString file = path("atleastonce.db");
        {
            SqliteQueue queue(storeAt(file));
            for (std::uint64_t i = 1; i <= 4; ++i)
                queue.push(message(i));
            queue.commit();
            QCOMPARE(leaseAll(queue), range(1, 4));
            queue.ack(1);
            queue.ack(2);
            QVERIFY(queue.commit().error.empty());  // 1 and 2 are gone for good
            queue.ack(3);                           // never committed: comes back
            QCOMPARE(queue.size(), std::size_t{1});
            QVERIFY(queue.needs_commit());
        }
        SqliteQueue queue(storeAt(file));
        QCOMPARE(queue.recovered(), std::size_t{2});
        QCOMPARE(leaseAll(queue), range(3, 4));
    }

    void readAheadKeepsOrderAndPointers() {
        // More rows than one read-ahead, read back from disk after a reopen, with new pushes
        // committed while older rows are still unread: everything comes out in seq order, and
        // every leased pointer stays valid while later batches are read (ASan checks the reads).
        const QString file = path("readahead.db");
        std::map<std::uint64_t, std::string> sent;  // by seq
        auto push = [&](SqliteQueue& queue, std::uint64_t n) {
            QCOMPARE(queue.push(message(n)), PushResult::Staged);
            sent[queue.last_seq()] = message(n);
        };
        auto seqsOf = [&](auto&& keep) {
            std::vector<std::uint64_t> seqs;
            for (const auto& [seq, text] : sent)
                if (keep(seq)) seqs.push_back(seq);
            return seqs;
        };
        {
            SqliteQueue queue(storeAt(file));
            for (std::uint64_t i = 1; i <= 1000; ++i)
                push(queue, i);
            QCOMPARE(queue.commit().accepted, std::size_t{1000});
        }
        SqliteQueue queue(storeAt(file));
        QCOMPARE(queue.recovered(), std::size_t{1000});
        std::vector<QueueItem*> held;
        for (int i = 0; i < 10; ++i)
            held.push_back(queue.lease());
        for (std::uint64_t i = 1001; i <= 1005; ++i)
            push(queue, i);
        QCOMPARE(queue.commit().accepted, std::size_t{5});
        QCOMPARE(queue.leasable(), std::size_t{995});
        std::vector<std::uint64_t> seqs;
        for (QueueItem* item : held)
            seqs.push_back(item->seq);
        for (auto seq : leaseAll(queue, &held))
            seqs.push_back(seq);
        QCOMPARE(seqs, seqsOf([](std::uint64_t) { return true; }));
        for (QueueItem* item : held)
            QCOMPARE(item->message, sent[item->seq]);
        // Ack every other, nack the rest: the nacked come back in order, pointers of the acked
        // ones are gone, those of the others were valid up to here.
        for (QueueItem* item : held) {
            if (item->seq % 2 == 0) {
                queue.ack(item->seq);
            } else {
                queue.nack(item->seq);
            }
        }
        QVERIFY(queue.commit().error.empty());
        QCOMPARE(leaseAll(queue), seqsOf([](std::uint64_t seq) { return seq % 2 == 1; }));
        // Caught up with the disk: new commits are leased straight away, in order.
        const std::uint64_t before = queue.last_seq();
        push(queue, 1006);
        push(queue, 1007);
        queue.commit();
        QCOMPARE(leaseAll(queue), seqsOf([&](std::uint64_t seq) { return seq > before; }));
    }

    void readFailureIsReported() {
        // Pages damaged behind SQLite's back while the store is open (it trusts its lock and
        // reads them when lease() gets there): lease() says nullptr and why, throws nothing, and
        // the queue goes on answering.
        const QString file = path("readfail.db");
        {
            SqliteQueue queue(storeAt(file));
            for (std::uint64_t i = 1; i <= 10000; ++i) {
                queue.push(message(i, 1000));
                if (i % 1000 == 0) QCOMPARE(queue.commit().accepted, std::size_t{1000});
            }
        }
        SqliteQueue queue(storeAt(file));
        QCOMPARE(queue.recovered(), std::size_t{10000});
        // The first rows' pages, long out of SQLite's 2 MiB cache after quick_check read the
        // whole file. (Closing this descriptor drops SQLite's POSIX lock too; nothing else
        // opens the file here.)
        const int fd = ::open(file.toLocal8Bit().constData(), O_WRONLY | O_CLOEXEC);
        QVERIFY(fd >= 0);
        const std::string garbage = randomBytes(2 * 1024 * 1024, 3);
        QCOMPARE(::pwrite(fd, garbage.data(), garbage.size(), 512 * 1024),
                 static_cast<ssize_t>(garbage.size()));
        ::close(fd);
        std::size_t leased = 0;
        while (QueueItem* item = queue.lease()) {
            QCOMPARE(item->message, message(item->seq, 1000));
            ++leased;
        }
        qInfo("leased %zu, then: %s", leased, queue.last_error().c_str());
        QVERIFY(leased < 10000);
        QVERIFY(!queue.last_error().empty());
        QVERIFY(queue.leasable() > 0);
        QVERIFY(queue.lease() == nullptr);
        QVERIFY(!queue.last_error().empty());
        queue.push(message(20000));
        const CommitResult result = queue.commit();  // may work or not: it must not throw
        QVERIFY(result.accepted + result.rejected == 1);
    }

    void messageLimit() {
        const QString file = path("limit.db");
        StoreOptions options = storeAt(file);
        options.max_messages = 3;
        {
            SqliteQueue queue(options);
            QCOMPARE(queue.push(message(1)), PushResult::Staged);
            QCOMPARE(queue.push(message(2)), PushResult::Staged);
            QCOMPARE(queue.push(message(3)), PushResult::Staged);
            // Staged ones count: the limit holds before the commit too.
            QCOMPARE(queue.push(message(4)), PushResult::Full);
            QCOMPARE(queue.last_seq(), std::uint64_t{3});
            QCOMPARE(queue.commit().accepted, std::size_t{3});
            QCOMPARE(queue.push(message(4)), PushResult::Full);
            QueueItem* item = queue.lease();
            QCOMPARE(queue.push(message(4)), PushResult::Full);  // leased still counts
            queue.ack(item->seq);
            // Room at once (the delete waits for the commit, the count does not).
            QCOMPARE(queue.push(message(4)), PushResult::Staged);
            QCOMPARE(queue.push(message(5)), PushResult::Full);
            QCOMPARE(queue.commit().accepted, std::size_t{1});
            QCOMPARE(queue.size(), std::size_t{3});
        }
        // Full after a reopen as well, and nothing accepted was lost.
        SqliteQueue queue(options);
        QCOMPARE(queue.recovered(), std::size_t{3});
        QCOMPARE(queue.push(message(5)), PushResult::Full);
        std::vector<QueueItem*> items;
        const std::vector<std::uint64_t> expected{2, 3, 4};
        QCOMPARE(leaseAll(queue, &items), expected);
        for (QueueItem* item : items)
            QCOMPARE(item->message, message(item->seq));
    }

    void byteLimit() {
        StoreOptions options = storeAt(path("bytes.db"));
        options.max_bytes = 100;
        SqliteQueue queue(options);
        QCOMPARE(queue.push(std::string(40, 'a')), PushResult::Staged);
        QCOMPARE(queue.push(std::string(40, 'b')), PushResult::Staged);
        QCOMPARE(queue.push(std::string(21, 'c')), PushResult::Full);    // 101 > 100
        QCOMPARE(queue.push(std::string(20, 'c')), PushResult::Staged);  // exactly 100
        QCOMPARE(queue.push(std::string()), PushResult::Staged);         // empty messages fit
        QCOMPARE(queue.push(std::string(1, 'd')), PushResult::Full);
        QCOMPARE(queue.bytes(), std::uint64_t{100});
        QCOMPARE(queue.commit().accepted, std::size_t{4});
        QCOMPARE(queue.push(std::string(1, 'd')), PushResult::Full);
        QueueItem* item = queue.lease();
        QCOMPARE(item->message, std::string(40, 'a'));
        queue.ack(item->seq);
        QCOMPARE(queue.bytes(), std::uint64_t{60});
        QCOMPARE(queue.push(std::string(40, 'd')), PushResult::Staged);
        QCOMPARE(queue.push(std::string(1, 'e')), PushResult::Full);
        queue.commit();
        std::vector<QueueItem*> items;
        leaseAll(queue, &items);
        QCOMPARE(items.size(), std::size_t{4});
        QCOMPARE(items[0]->message, std::string(40, 'b'));
        QCOMPARE(items[1]->message, std::string(20, 'c'));
        QCOMPARE(items[2]->message, std::string());
        QCOMPARE(items[3]->message, std::string(40, 'd'));
    }

    void byteLimitKeepsAcceptedIntact() {
        // The byte-limit twin of diskFull: fill until refused, then everything accepted is there
        // after acks, a commit and a reopen.
        const QString file = path("bytesfull.db");
        StoreOptions options = storeAt(file);
        options.max_bytes = 64 * 1024;
        std::vector<std::uint64_t> accepted;
        {
            SqliteQueue queue(options);
            std::uint64_t n = 0;
            for (;;) {
                if (queue.push(message(n + 1, 1000)) == PushResult::Full) break;
                ++n;
                if (n % 10 == 0) QCOMPARE(queue.commit().rejected, std::size_t{0});
            }
            queue.commit();
            QCOMPARE(n, std::uint64_t{65});  // 65 * 1000 <= 65536 < 66 * 1000
            std::vector<QueueItem*> items;
            accepted = leaseAll(queue, &items);
            QCOMPARE(accepted, range(1, n));
            for (QueueItem* item : items)
                QCOMPARE(item->message, message(item->seq, 1000));
            for (std::uint64_t s = 1; s <= 20; ++s)
                queue.ack(s);
            QVERIFY(queue.commit().error.empty());
        }
        SqliteQueue queue(options);
        QCOMPARE(queue.recovered(), std::size_t{45});
        std::vector<QueueItem*> items;
        QCOMPARE(leaseAll(queue, &items), range(21, 65));
        for (QueueItem* item : items)
            QCOMPARE(item->message, message(item->seq, 1000));
    }

    void garbageFileIsMovedAside() {
        const std::string file = path("garbage.db").toStdString();
        const std::string garbage = randomBytes(64 * 1024, 1);
        writeFile(file, garbage);
        writeFile(file + "-wal", "not a wal either");
        writeFile(file + "-shm", "nor a shm");
        SqliteQueue queue(storeAt(QString::fromStdString(file)));
        QVERIFY(!queue.moved_aside().empty());
        QVERIFY2(!queue.moved_aside_reason().empty(), queue.moved_aside().c_str());
        qInfo("moved aside to %s: %s", queue.moved_aside().c_str(),
              queue.moved_aside_reason().c_str());
        const std::string prefix = file + ".corrupt-";
        QVERIFY(queue.moved_aside().compare(0, prefix.size(), prefix) == 0);
        // YYYYmmddTHHMMSSZ
        const std::string stamp = queue.moved_aside().substr(prefix.size());
        QCOMPARE(stamp.size(), std::size_t{16});
        QCOMPARE(stamp[8], 'T');
        QCOMPARE(stamp[15], 'Z');
        QCOMPARE(readFile(queue.moved_aside()), garbage);
        QCOMPARE(readFile(queue.moved_aside() + "-wal"), std::string("not a wal either"));
        QCOMPARE(readFile(queue.moved_aside() + "-shm"), std::string("nor a shm"));
        QVERIFY(!fileExists(file + "-shm"));
        // A fresh store in its place, which works and is kept.
        QCOMPARE(queue.recovered(), std::size_t{0});
        queue.push(message(1));
        QCOMPARE(queue.commit().accepted, std::size_t{1});
        QCOMPARE(queue.lease()->message, message(1));
    }

    void movedAsideNameDoesNotOverwrite() {
        // The timestamped name exists already (another bad file this second): ".1" is added.
        const std::string file = path("twice.db").toStdString();
        writeFile(file, randomBytes(8192, 2));
        // Names for this second and the next few: the move must not land on any of them.
        const std::time_t now = std::time(nullptr);
        std::vector<std::string> taken;
        for (std::time_t t = now - 1; t <= now + 5; ++t) {
            std::tm tm{};
            ::gmtime_r(&t, &tm);
            char stamp[32];
            std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
            taken.push_back(file + ".corrupt-" + stamp);
            writeFile(taken.back(), "taken");
        }
        SqliteQueue queue(storeAt(QString::fromStdString(file)));
        QVERIFY(!queue.moved_aside().empty());
        const std::string& moved = queue.moved_aside();
        QVERIFY2(moved.size() > 2 && moved.compare(moved.size() - 2, 2, ".1") == 0, moved.c_str());
        QCOMPARE(readFile(moved).size(), std::size_t{8192});
        for (const auto& name : taken)
            QCOMPARE(readFile(name), std::string("taken"));
    }

    void truncatedStoreStillStarts() {
        const QString file = path("truncated.db");
        {
            SqliteQueue queue(storeAt(file));
            for (std::uint64_t i = 1; i <= 2000; ++i)
                queue.push(message(i, 1000));
            queue.commit();
        }
        struct stat st {};
        QCOMPARE(::stat(file.toLocal8Bit().constData(), &st), 0);
        QVERIFY(st.st_size > 1000000);
        QCOMPARE(::truncate(file.toLocal8Bit().constData(), st.st_size / 2), 0);
        SqliteQueue queue(storeAt(file));
        // Whichever SQLite makes of it: moved aside, or opened with what it could read.
        qInfo("truncated store: moved aside %s (%s), recovered %zu",
              queue.moved_aside().empty() ? "no" : "yes", queue.moved_aside_reason().c_str(),
              queue.recovered());
        if (queue.moved_aside().empty()) {
            QVERIFY(queue.recovered() < 2000);
        } else {
            QCOMPARE(queue.recovered(), std::size_t{0});
            QVERIFY(fileExists(queue.moved_aside()));
        }
        const std::size_t before = queue.size();
        queue.push(message(5000));
        QVERIFY(queue.commit().error.empty());
        QCOMPARE(queue.size(), before + 1);
        std::vector<QueueItem*> items;
        const auto seqs = leaseAll(queue, &items);
        QCOMPARE(seqs.size(), before + 1);
        QCOMPARE(items.back()->message, message(5000));
    }

    void foreignDatabaseIsMovedAside() {
        const std::string file = path("foreign.db").toStdString();
        sqlite3* db = nullptr;
        QCOMPARE(sqlite3_open(file.c_str(), &db), SQLITE_OK);
        QCOMPARE(sqlite3_exec(db,
                              "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT);"
                              "INSERT INTO customers(name) VALUES('someone');",
                              nullptr, nullptr, nullptr),
                 SQLITE_OK);
        sqlite3_close(db);
        const std::string original = readFile(file);

        SqliteQueue queue(storeAt(QString::fromStdString(file)));
        QVERIFY(!queue.moved_aside().empty());
        QVERIFY2(queue.moved_aside_reason().find("not a zmqrpc store") != std::string::npos,
                 queue.moved_aside_reason().c_str());
        QCOMPARE(readFile(queue.moved_aside()), original);
        queue.push(message(1));
        QCOMPARE(queue.commit().accepted, std::size_t{1});

        // Our tables in someone else's file (no application_id): not ours either.
        const std::string lookalike = path("lookalike.db").toStdString();
        QCOMPARE(sqlite3_open(lookalike.c_str(), &db), SQLITE_OK);
        QCOMPARE(sqlite3_exec(db,
                              "CREATE TABLE messages(seq INTEGER PRIMARY KEY, message BLOB);"
                              "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER);",
                              nullptr, nullptr, nullptr),
                 SQLITE_OK);
        sqlite3_close(db);
        SqliteQueue other(storeAt(QString::fromStdString(lookalike)));
        QVERIFY(!other.moved_aside().empty());
    }

    void secondOpenerIsRefused() {
        const QString file = path("busy.db");
        SqliteQueue first(storeAt(file));
        first.push(message(1));
        first.commit();
        try {
            SqliteQueue second(storeAt(file));
            QFAIL("the second opener was not refused");
        } catch (const ConfigError& e) {
            const std::string expected = "store " + file.toStdString() + " is in use";
            QVERIFY2(std::string(e.what()).find(expected) != std::string::npos, e.what());
        }
        // Nothing moved aside, and the first goes on.
        const QStringList aside = QDir(dir_.path()).entryList({"busy.db.corrupt-*"});
        QVERIFY2(aside.isEmpty(), qPrintable(aside.join(' ')));
        first.push(message(2));
        QCOMPARE(first.commit().accepted, std::size_t{1});
        QCOMPARE(leaseAll(first), range(1, 2));
    }

    void lockIsReleasedOnClose() {
        const QString file = path("relock.db");
        { SqliteQueue first(storeAt(file)); }
        SqliteQueue second(storeAt(file));
        QVERIFY(second.moved_aside().empty());
    }

    void missingDirectoryThrows() {
        const QString file = path("no/such/dir/queue.db");
        try {
            SqliteQueue queue(storeAt(file));
            QFAIL("no ConfigError");
        } catch (const ConfigError& e) {
            QVERIFY2(std::string(e.what()).find(file.toStdString()) != std::string::npos, e.what());
            QVERIFY2(std::string(e.what()).find("No such file or directory") != std::string::npos,
                     e.what());
        }
    }

    void unwritableDirectoryThrows() {
        // Root writes into a mode 0555 directory anyway: it gets a read-only file system instead.
        const QString sub = path("readonly");
        QVERIFY(QDir().mkpath(sub));
        const QByteArray subPath = sub.toLocal8Bit();
        if (::geteuid() == 0) {
            if (::mount("tmpfs", subPath.constData(), "tmpfs", MS_RDONLY, "size=64k") != 0) {
                QSKIP(qPrintable(QString("running as root, and cannot mount a read-only tmpfs "
                                         "(%1): nothing here is unwritable")
                                     .arg(std::strerror(errno))));
            }
            mounted_ = sub;
        } else {
            QVERIFY(::chmod(subPath.constData(), 0555) == 0);
        }
        const QString file = sub + "/queue.db";
        std::string what;
        try {
            SqliteQueue queue(storeAt(file));
        } catch (const ConfigError& e) {
            what = e.what();
        }
        if (mounted_.isEmpty()) ::chmod(subPath.constData(), 0755);
        QVERIFY2(what.find("cannot create store " + file.toStdString()) != std::string::npos,
                 what.c_str());
        qInfo("%s", what.c_str());
    }

    void secondProcessIsRefused() {
        // The same, from another process: a child holds the store until told to let go.
        const QString file = path("otherprocess.db");
        int ready[2], release[2];
        QCOMPARE(::pipe(ready), 0);
        QCOMPARE(::pipe(release), 0);
        const pid_t child = ::fork();
        QVERIFY(child >= 0);
        if (child == 0) {
            char c = 0;
            {
                SqliteQueue queue(storeAt(file));
                queue.push(message(1));
                queue.commit();
                c = 'y';
                (void)!::write(ready[1], &c, 1);
                (void)!::read(release[0], &c, 1);
            }
            ::_exit(0);
        }
        char c = 0;
        QCOMPARE(::read(ready[0], &c, 1), ssize_t{1});
        std::string what;
        try {
            SqliteQueue queue(storeAt(file));
        } catch (const ConfigError& e) {
            what = e.what();
        }
        (void)!::write(release[1], &c, 1);
        int status = 0;
        QCOMPARE(::waitpid(child, &status, 0), child);
        for (int fd : {ready[0], ready[1], release[0], release[1]})
            ::close(fd);
        QVERIFY2(what.find("is in use by another process") != std::string::npos, what.c_str());
        QVERIFY(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        // Let go: it opens, with what the child committed.
        SqliteQueue queue(storeAt(file));
        QCOMPARE(queue.recovered(), std::size_t{1});
    }

    void killedProcessKeepsWhatItCommitted() {
        // SIGKILL, no destructor, even with synchronous=OFF: everything committed is there (the
        // kernel has it), staged pushes are not, uncommitted acks come back.
        const QString file = path("killed.db");
        const pid_t child = ::fork();
        QVERIFY(child >= 0);
        if (child == 0) {
            SqliteQueue queue(storeAt(file, StoreSync::Off));
            for (std::uint64_t i = 1; i <= 100; ++i)
                queue.push(message(i));
            queue.commit();
            for (int i = 0; i < 15; ++i)
                queue.lease();
            for (std::uint64_t s = 1; s <= 10; ++s)
                queue.ack(s);
            queue.commit();
            for (std::uint64_t s = 11; s <= 15; ++s)
                queue.ack(s);          // not committed
            queue.push(message(101));  // staged only
            ::kill(::getpid(), SIGKILL);
            ::_exit(1);
        }
        int status = 0;
        QCOMPARE(::waitpid(child, &status, 0), child);
        QVERIFY(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        QVERIFY2(fileExists(file.toStdString() + "-wal"), "no WAL left: it was not a crash");
        SqliteQueue queue(storeAt(file));
        QVERIFY2(queue.moved_aside().empty(), queue.moved_aside_reason().c_str());
        QCOMPARE(queue.recovered(), std::size_t{90});
        std::vector<QueueItem*> items;
        QCOMPARE(leaseAll(queue, &items), range(11, 100));
        for (QueueItem* item : items)
            QCOMPARE(item->message, message(item->seq));
    }

    void walStaysBounded() {
        // A burst of 20 MiB in one commit makes the WAL that long for a moment; after the next
        // checkpoint it is cut back (journal_size_limit), and steady commits keep it short.
        const QString file = path("wal.db");
        const std::string wal = file.toStdString() + "-wal";
        auto walSize = [&] {
            struct stat st {};
            return ::stat(wal.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size) : 0;
        };
        SqliteQueue queue(storeAt(file, StoreSync::Interval));
        for (std::uint64_t i = 1; i <= 20000; ++i)
            queue.push(message(i, 1024));
        QCOMPARE(queue.commit().accepted, std::size_t{20000});
        const std::int64_t burst = walSize();
        std::int64_t steady = 0;
        for (std::uint64_t round = 0; round < 200; ++round) {
            for (int i = 0; i < 50; ++i) {
                QueueItem* item = queue.lease();
                QVERIFY(item != nullptr);
                const std::uint64_t seq = item->seq;  // the item is gone after the ack
                queue.ack(seq);
                queue.push(message(seq, 1024));
            }
            QVERIFY(queue.commit().error.empty());
            steady = std::max(steady, round > 20 ? walSize() : 0);
        }
        qInfo("WAL: %lld bytes after the burst, at most %lld after that",
              static_cast<long long>(burst), static_cast<long long>(steady));
        QVERIFY(burst > 20 * 1024 * 1024);
        QVERIFY2(steady <= 9 * 1024 * 1024, qPrintable(QString::number(steady)));
    }

    void diskFull() {
        const QString mountPoint = path("tmpfs");
        QVERIFY(QDir().mkpath(mountPoint));
        if (::mount("tmpfs", mountPoint.toLocal8Bit().constData(), "tmpfs", 0, "size=512k") != 0) {
            QSKIP(qPrintable(QString("cannot mount a 512 KiB tmpfs on %1 (%2): needs root with "
                                     "CAP_SYS_ADMIN; byteLimitKeepsAcceptedIntact covers the "
                                     "rest")
                                 .arg(mountPoint, std::strerror(errno))));
        }
        mounted_ = mountPoint;
        // Something else takes part of the disk, and is removed later: room comes back.
        const std::string ballast = mountPoint.toStdString() + "/ballast";
        writeFile(ballast, std::string(192 * 1024, 'x'));
        const QString file = mountPoint + "/queue.db";
        std::vector<std::uint64_t> accepted;
        bool acksCommitted = false;
        {
            SqliteQueue queue(storeAt(file, StoreSync::Always));
            CommitResult failed;
            std::uint64_t pushed = 0;
            for (int round = 0; round < 100 && !failed.disk_full; ++round) {
                for (int i = 0; i < 10; ++i) {
                    QCOMPARE(queue.push(message(pushed + 1, 1000)), PushResult::Staged);
                    ++pushed;
                }
                const std::size_t sizeBefore = queue.size();
                CommitResult result = queue.commit();
                if (result.error.empty()) {
                    QCOMPARE(result.accepted, std::size_t{10});
                    for (std::uint64_t s = pushed - 9; s <= pushed; ++s)
                        accepted.push_back(s);
                } else {
                    failed = result;
                    QCOMPARE(result.rejected, std::size_t{10});
                    QCOMPARE(result.accepted, std::size_t{0});
                    QCOMPARE(queue.size(), sizeBefore - 10);
                }
            }
            QVERIFY2(failed.disk_full, "512 KiB never filled up");
            QVERIFY2(failed.error.rfind("disk full", 0) == 0, failed.error.c_str());
            qInfo("disk full after %zu accepted: %s", accepted.size(), failed.error.c_str());
            QVERIFY(!accepted.empty());
            QCOMPARE(queue.size(), accepted.size());
            QVERIFY(!queue.needs_commit());

            // Everything accepted is intact and leasable, in order.
            std::vector<QueueItem*> items;
            QCOMPARE(leaseAll(queue, &items), accepted);
            for (QueueItem* item : items)
                QCOMPARE(item->message, message(item->seq, 1000));
            // Acknowledge the first half. Deleting needs WAL space too: on a full disk the commit
            // may fail, and then the acks stay pending for the next one.
            for (std::size_t i = 0; i < accepted.size() / 2; ++i)
                queue.ack(accepted[i]);
            CommitResult acks = queue.commit();
            acksCommitted = acks.error.empty();
            QCOMPARE(queue.needs_commit(), !acksCommitted);
            if (!acksCommitted) QVERIFY2(acks.disk_full, acks.error.c_str());
            QCOMPARE(acks.rejected, std::size_t{0});
            QCOMPARE(queue.size(), accepted.size() - accepted.size() / 2);
            qInfo("acks on the full disk: %s", acksCommitted ? "committed" : acks.error.c_str());
        }
        const std::size_t half = accepted.size() / 2;
        const std::vector<std::uint64_t> secondHalf(accepted.begin() + static_cast<long>(half),
                                                    accepted.end());
        {
            // Reopened on the still full disk: what was committed, acks that were not are lost.
            SqliteQueue queue(storeAt(file));
            QVERIFY2(queue.moved_aside().empty(), queue.moved_aside_reason().c_str());
            const std::vector<std::uint64_t> expected = acksCommitted ? secondHalf : accepted;
            QCOMPARE(queue.recovered(), expected.size());
            std::vector<QueueItem*> items;
            QCOMPARE(leaseAll(queue, &items), expected);
            for (QueueItem* item : items)
                QCOMPARE(item->message, message(item->seq, 1000));

            // Room again: the acks and new pushes commit, the store goes on by itself.
            QCOMPARE(::unlink(ballast.c_str()), 0);
            for (std::size_t i = 0; i < half; ++i)
                queue.ack(accepted[i]);
            queue.push(message(10000, 1000));
            const CommitResult result = queue.commit();
            QVERIFY2(result.error.empty(), result.error.c_str());
            QCOMPARE(result.accepted, std::size_t{1});
        }
        SqliteQueue queue(storeAt(file));
        std::vector<std::uint64_t> seqs = leaseAll(queue);
        QCOMPARE(seqs.size(), secondHalf.size() + 1);
        // The new one after every seq given before, the 10 rejected ones included.
        QVERIFY2(seqs.back() > accepted.back() + 10, qPrintable(QString::number(seqs.back())));
        seqs.pop_back();
        QCOMPARE(seqs, secondHalf);
    }

    void syncPolicies_data() {
        QTest::addColumn<int>("sync");
        QTest::newRow("always") << static_cast<int>(StoreSync::Always);
        QTest::newRow("interval") << static_cast<int>(StoreSync::Interval);
        QTest::newRow("off") << static_cast<int>(StoreSync::Off);
    }

    void syncPolicies() {
        QFETCH(int, sync);
        const auto policy = static_cast<StoreSync>(sync);
        const QString file = path(QString("sync-%1.db").arg(sync));
        {
            StoreOptions options = storeAt(file, policy);
            options.sync_interval = 200ms;
            SqliteQueue queue(options);
            QCOMPARE(queue.next_sync(), Clock::time_point::max());
            queue.push(message(1));
            const auto before = Clock::now();
            QCOMPARE(queue.commit().accepted, std::size_t{1});
            const auto due = queue.next_sync();
            if (policy == StoreSync::Interval) {
                QVERIFY(due != Clock::time_point::max());
                QVERIFY(due >= before + 200ms);
                QVERIFY(due <= Clock::now() + 200ms);
                // A second commit does not push the deadline out.
                queue.push(message(2));
                queue.commit();
                QCOMPARE(queue.next_sync(), due);
                queue.sync_if_due(due - 1ms);  // not yet
                QCOMPARE(queue.next_sync(), due);
                queue.sync_if_due(due);
                QCOMPARE(queue.next_sync(), Clock::time_point::max());
                QVERIFY2(queue.last_error().empty(), queue.last_error().c_str());
                // Nothing written since: nothing due.
                queue.sync_if_due(Clock::now() + 1h);
                QCOMPARE(queue.next_sync(), Clock::time_point::max());
            } else {
                QCOMPARE(due, Clock::time_point::max());
                queue.push(message(2));
                queue.commit();
                queue.sync_if_due(Clock::now() + 1h);  // nothing to do for these policies
                QCOMPARE(queue.next_sync(), Clock::time_point::max());
            }
        }
        SqliteQueue queue(storeAt(file, policy));
        QCOMPARE(queue.recovered(), std::size_t{2});
        QCOMPARE(leaseAll(queue), range(1, 2));
    }
};

QTEST_GUILESS_MAIN(TestStore)
#include "tst_store.moc"
