// SqliteQueue: a proxy's queue on disk (`--store PATH`), an SQLite database in WAL mode.
// Internal header; see message_queue.hpp for the life of a message.
//
// What is kept where:
//   on disk    one row per accepted message: (seq INTEGER PRIMARY KEY, message BLOB)
//   in RAM     the staged pushes (until commit), the acknowledged sequence numbers not yet
//              deleted (until commit), the leased messages, and a short read-ahead of the next
//              rows to lease. Never the whole queue: 100 000 stored messages cost no more RAM
//              than 10.
//
// commit() writes every staged push and deletes every acknowledged row in one transaction, so
// a burst of input costs one transaction, not one per message. A failed commit (disk full, I/O
// error) rolls back: its staged messages are rejected (the caller drops or refuses them and says
// so), its acknowledgements stay pending for the next commit; nothing accepted before is lost.
//
// Opening: a file that SQLite cannot open, or whose check (PRAGMA quick_check) fails, or whose
// schema is not ours, is renamed, with its -wal and -shm files, to
// "<path>.corrupt-<YYYYmmddTHHMMSSZ>" (a numeric suffix when that exists), and a new empty
// store is created; moved_aside() says where it went and why. A bad file never keeps the proxy
// from starting. Only a store that cannot be created at all (no such directory, no write
// permission) throws ConfigError, and so does one that another process has open: one process per
// store, held by an flock() on "<path>.lock" (the lock file stays beside the store).
#pragma once

#include "message_queue.hpp"

#include "zmqrpc/proxy.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace zmqrpc::detail {

struct StoreOptions {
    std::string path;
    std::size_t max_messages = 100000;  // the proxy's queue_capacity
    std::uint64_t max_bytes = 0;        // 0: no byte limit
    StoreSync sync = StoreSync::Interval;
    std::chrono::milliseconds sync_interval = 1000ms;  // StoreSync::Interval only
};

class SqliteQueue final : public MessageQueue {
  public:
    explicit SqliteQueue(StoreOptions options);  // throws ConfigError (see above)
    ~SqliteQueue() override;
    SqliteQueue(const SqliteQueue&) = delete;
    SqliteQueue& operator=(const SqliteQueue&) = delete;

    PushResult push(std::string message) override;
    std::uint64_t last_seq() const noexcept override { return next_seq_ - 1; }
    CommitResult commit() override;
    bool needs_commit() const noexcept override { return !staged_.empty() || !acked_.empty(); }
    QueueItem* lease() override;
    void ack(std::uint64_t seq) override;
    void nack(std::uint64_t seq) override;
    std::size_t size() const noexcept override;
    std::uint64_t bytes() const noexcept override;
    std::size_t leasable() const noexcept override;
    std::size_t recovered() const noexcept override { return recovered_; }
    bool durable() const noexcept override { return true; }

    // Set when opening moved a bad file aside: where to, and why ("file is not a database").
    const std::string& moved_aside() const noexcept { return moved_aside_; }
    const std::string& moved_aside_reason() const noexcept { return moved_aside_reason_; }
    // StoreSync::Interval: when the WAL is next due to be synced to disk; time_point::max()
    // for the other policies or when nothing was written since the last sync.
    Clock::time_point next_sync() const noexcept;
    // Syncs the WAL to disk (a passive checkpoint) when it is due.
    void sync_if_due(Clock::time_point now);
    const StoreOptions& options() const noexcept { return options_; }
    // The last read or sync failure, which has no other way to surface: lease() returned
    // nullptr although leasable() is not 0, or sync_if_due() could not sync. Cleared by the next
    // read or sync that works. A failed commit says why in its CommitResult instead.
    const std::string& last_error() const noexcept { return last_error_; }

  private:
    // The implementation's own; change freely.
    struct Statements;
    struct OpenFailure {
        std::string reason;  // empty: opened
        bool busy = false;   // someone else holds the database: never move it aside
    };
    OpenFailure open_database();
    void close_database() noexcept;
    void move_aside(const std::string& reason);
    bool read_ahead();
    std::string describe_error(int rc) const;
    std::uint64_t seq_block() const noexcept;
    std::uint64_t reservation() const noexcept;

    StoreOptions options_;
    int lock_fd_ = -1;  // flock()ed "<path>.lock": one process per store
    sqlite3* db_ = nullptr;
    std::unique_ptr<Statements> stmts_;
    std::uint64_t next_seq_ = 1;
    std::uint64_t committed_seq_ = 0;  // highest seq of a stored row (it may be deleted since)
    std::uint64_t seq_reserved_ = 0;   // meta's: no seq up to this is given after a restart
    std::size_t accepted_ = 0;         // rows on disk, not acknowledged (leased included)
    std::uint64_t accepted_bytes_ = 0;
    std::size_t recovered_ = 0;
    std::vector<QueueItem> staged_;
    std::uint64_t staged_bytes_ = 0;
    std::vector<std::uint64_t> acked_;           // acknowledged, deleted at the next commit
    std::map<std::uint64_t, QueueItem> leased_;  // node-based: lease() pointers stay valid
    std::map<std::uint64_t, QueueItem> ready_;   // read-ahead and nacked rows, by seq
    std::uint64_t read_after_ = 0;  // every committed row up to this seq is in RAM or acked
    std::string moved_aside_;
    std::string moved_aside_reason_;
    std::string last_error_;
    Clock::time_point next_sync_ = Clock::time_point::max();
};

}  // namespace zmqrpc::detail
