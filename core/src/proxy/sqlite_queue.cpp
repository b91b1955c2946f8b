#include "sqlite_queue.hpp"

#include "zmqrpc/errors.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <system_error>
#include <utility>

// What each StoreSync policy loses (SQLite's own statements: pragma.html#pragma_synchronous and
// wal.html, "Performance Considerations"). The database is always in WAL mode.
//
//   Kill of the process (SIGKILL, crash), any policy: nothing committed is lost. A commit has
//   handed its WAL frames to the kernel before it returns, and "transactions are durable across
//   application crashes regardless of the synchronous setting or journal mode"; the next open
//   replays the WAL. Lost are only what commit() had not written yet: staged pushes (never
//   accepted, so never acknowledged to anyone) and acknowledgements since the last commit, whose
//   messages are delivered again after the restart (at-least-once).
//
//   Power cut or kernel crash:
//   Always    synchronous=FULL: in WAL mode the WAL is synced after every commit, so every
//             committed transaction survives (as far as the disk honours fsync).
//   Interval  synchronous=NORMAL: commits do not sync; the WAL is synced before each checkpoint
//             and the database after each completed checkpoint, and checkpoints are the only
//             syncs. sync_if_due() checkpoints one sync_interval after the first commit that
//             followed the last sync (as soon as the proxy calls it then), and SQLite
//             checkpoints by itself whenever the WAL passes kWalAutocheckpointPages. A power cut
//             rolls back the transactions committed since the last checkpoint: about one sync
//             interval of pushes (messages lost) and of acknowledgements (messages delivered
//             again). "WAL mode is safe from corruption with synchronous=NORMAL": the file stays
//             consistent, and what was synced before is kept.
//   Off       synchronous=OFF: SQLite never syncs, not even at checkpoints; the kernel writes
//             back when it likes (Linux: dirty pages typically within ~30 s). A power cut loses
//             whatever had not been written back, in no particular order, and "the database
//             might become corrupted". Corruption that quick_check finds at the next open moves
//             the file aside: in the worst case the whole queue is gone from the proxy (it is
//             kept in the moved file).

namespace zmqrpc::detail {

namespace {

// Rows read from disk at once when lease() runs out, and the most committed pushes kept in RAM
// for leasing: about 256 KiB of 1 KiB messages, however many rows are stored.
constexpr std::size_t kReadAhead = 256;
// SQLite's default (1000 pages, ~4 MiB): a PASSIVE checkpoint once the WAL is that long. Set
// explicitly so that the WAL's bound does not depend on how the library was compiled.
constexpr int kWalAutocheckpointPages = 1000;
// A WAL is reused, not shrunk, after a checkpoint; a single large commit (a burst of 100 000
// pushes) would leave it that large for good. This truncates it back after each checkpoint.
constexpr long long kJournalSizeLimit = 8LL * 1024 * 1024;
// Only our own process uses the file (the lock file says so); a short wait covers nothing real
// but keeps a stray reader (an sqlite3 shell) from turning into an instant SQLITE_BUSY.
constexpr int kBusyTimeoutMs = 50;
// "zmqr", in the database header: a file with our tables but without it is not ours.
constexpr int kApplicationId = 0x7a6d7172;
constexpr int kSchemaVersion = 1;

std::string errno_text(int error) {
    return std::system_category().message(error);
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

std::string utc_stamp() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
    return text;
}

// Steps a statement that returns no rows (or whose rows do not matter) and resets it.
int step_once(sqlite3_stmt* stmt) {
    int rc = sqlite3_step(stmt);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

// Runs one statement; `first` gets the first column of its first row, when it has one.
int run(sqlite3* db, const char* sql, std::string* first = nullptr) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return rc;
    bool got = false;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (first != nullptr && !got) {
            const auto* text = sqlite3_column_text(stmt, 0);
            *first = text != nullptr ? reinterpret_cast<const char*>(text) : "";
            got = true;
        }
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

bool is_busy(int rc) {
    const int primary = rc & 0xff;
    return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

}  // namespace

// Prepared once per open database: the message path never parses SQL.
struct SqliteQueue::Statements {
    sqlite3_stmt* begin = nullptr;
    sqlite3_stmt* commit = nullptr;
    sqlite3_stmt* rollback = nullptr;
    sqlite3_stmt* insert = nullptr;
    sqlite3_stmt* remove = nullptr;
    sqlite3_stmt* next_batch = nullptr;
    sqlite3_stmt* reserve = nullptr;

    Statements() = default;
    Statements(const Statements&) = delete;
    Statements& operator=(const Statements&) = delete;
    ~Statements() {
        for (auto* stmt : {begin, commit, rollback, insert, remove, next_batch, reserve})
            sqlite3_finalize(stmt);  // a no-op on nullptr
    }

    int prepare(sqlite3* db) {
        const std::pair<sqlite3_stmt**, const char*> all[] = {
            {&begin, "BEGIN IMMEDIATE"},
            {&commit, "COMMIT"},
            {&rollback, "ROLLBACK"},
            {&insert, "INSERT INTO messages(seq, message) VALUES(?1, ?2)"},
            {&remove, "DELETE FROM messages WHERE seq = ?1"},
            {&next_batch, "SELECT seq, message FROM messages WHERE seq > ?1 ORDER BY seq LIMIT ?2"},
            {&reserve, "UPDATE meta SET value = ?1 WHERE key = 'seq_reserved'"},
        };
        for (const auto& [stmt, sql] : all) {
            const int rc =
                sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr);
            if (rc != SQLITE_OK) return rc;
        }
        return SQLITE_OK;
    }
};

SqliteQueue::SqliteQueue(StoreOptions options) : options_(std::move(options)) {
    const std::string& path = options_.path;
    if (path.empty()) throw ConfigError("store: no path given");

    // One process per store. SQLite's own lock (locking_mode=EXCLUSIVE below) also keeps others
    // out, but its SQLITE_BUSY comes late, mixed with the errors of a bad file; the lock file
    // answers first and unambiguously, so a store in use is never mistaken for a bad one and
    // moved aside. flock() belongs to the open file: the kernel drops it when the process dies,
    // and a second open in the same process is refused too. The file stays after close:
    // removing it would race with a process that just opened it.
    const std::string lock_path = path + ".lock";
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) {
        throw ConfigError("cannot create store " + path + ": cannot open its lock file " +
                          lock_path + ": " + errno_text(errno));
    }
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        const int error = errno;
        ::close(lock_fd_);
        lock_fd_ = -1;
        if (error == EWOULDBLOCK)
            throw ConfigError("store " + path + " is in use by another process");
        throw ConfigError("cannot lock store " + path + ": " + errno_text(error));
    }

    try {
        struct stat st {};
        const bool found = ::stat(path.c_str(), &st) == 0;
        if (found && !S_ISREG(st.st_mode))
            throw ConfigError("store " + path + " is not a regular file");
        const bool existed = found || exists(path + "-wal");

        OpenFailure failure = open_database();
        if (failure.reason.empty()) return;
        if (failure.busy) throw ConfigError("store " + path + " is in use by another process");
        // Nothing was there: the failure is about creating the file, not about its contents.
        if (!existed) throw ConfigError("cannot create store " + path + ": " + failure.reason);

        move_aside(failure.reason);
        failure = open_database();
        if (!failure.reason.empty()) {
            throw ConfigError("cannot create store " + path + " (the bad one was moved aside to " +
                              moved_aside_ + "): " + failure.reason);
        }
    } catch (...) {
        close_database();
        ::close(lock_fd_);
        lock_fd_ = -1;
        throw;
    }
}

SqliteQueue::~SqliteQueue() {
    // Nothing staged is written here: the proxy decides what is committed. Closing checkpoints
    // the WAL into the database and removes it (SQLite does that for the last connection).
    close_database();
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

void SqliteQueue::close_database() noexcept {
    stmts_.reset();
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = nullptr;
}

std::string SqliteQueue::describe_error(int rc) const {
    std::string text = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    // The OS error only where it says more, and is current: after a failed file operation.
    const int primary = rc & 0xff;
    const int error = db_ != nullptr ? sqlite3_system_errno(db_) : 0;
    if (error != 0 &&
        (primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN))
        text += " (" + errno_text(error) + ")";
    return text;
}

// Seqs are reserved ahead, a block at a time, in meta: a restart goes on above the reservation,
// so seqs given to pushes that never reached a successful commit (staged at a kill, rejected by
// a failed commit) are not given again either. A commit reserves anew once fewer than a block
// are left, so the pushes until the next commit (at most max_messages: they are staged) stay
// inside. Seqs jump by up to two blocks at a restart; they only have to increase.
std::uint64_t SqliteQueue::seq_block() const noexcept {
    return std::max<std::uint64_t>(options_.max_messages, 1024);
}

std::uint64_t SqliteQueue::reservation() const noexcept {
    const std::uint64_t given = next_seq_ - 1;
    return given + seq_block() > seq_reserved_ ? given + 2 * seq_block() : seq_reserved_;
}

SqliteQueue::OpenFailure SqliteQueue::open_database() {
    OpenFailure failure;
    auto fail = [&](int rc, std::string what) {
        failure.busy = is_busy(rc);
        failure.reason = std::move(what);
        close_database();
        return failure;
    };

    int rc =
        sqlite3_open_v2(options_.path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) return fail(rc, describe_error(rc));
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);

    // Until the file is known to be ours, nothing may change it: a bad file is moved aside as
    // it was found. Closing would checkpoint a WAL into the database and delete it.
    sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    // EXCLUSIVE before the first access in WAL mode: SQLite then keeps the WAL index in its own
    // memory, never creates a -shm file, and holds the database lock until close.
    rc = run(db_, "PRAGMA locking_mode=EXCLUSIVE");
    if (rc != SQLITE_OK) return fail(rc, describe_error(rc));

    // The first read: a file that is not a database fails here, a damaged one below.
    std::string check;
    rc = run(db_, "PRAGMA quick_check", &check);
    if (rc != SQLITE_OK) return fail(rc, describe_error(rc));
    if (check != "ok") return fail(SQLITE_CORRUPT, "quick_check: " + check);

    // Ours: exactly our two tables (nothing else: no index, view or trigger of someone else) and
    // our application_id. A file without any schema becomes ours.
    std::string objects, app_id, version;
    rc = run(db_,
             "SELECT coalesce(group_concat(name, ', '), '') FROM (SELECT name FROM sqlite_master "
             "WHERE name NOT LIKE 'sqlite_%' ORDER BY name)",
             &objects);
    if (rc == SQLITE_OK) rc = run(db_, "PRAGMA application_id", &app_id);
    if (rc == SQLITE_OK) rc = run(db_, "PRAGMA user_version", &version);
    if (rc != SQLITE_OK) return fail(rc, describe_error(rc));
    const bool empty = objects.empty();
    if (empty && app_id != "0" && app_id != std::to_string(kApplicationId))
        return fail(SQLITE_ERROR, "not a zmqrpc store (application_id " + app_id + ")");
    if (!empty && (objects != "messages, meta" || app_id != std::to_string(kApplicationId)))
        return fail(SQLITE_ERROR, "not a zmqrpc store (it holds: " + objects + ")");
    if (!empty && version != std::to_string(kSchemaVersion))
        return fail(SQLITE_ERROR, "unknown zmqrpc store version " + version);

    // Ours (or empty) from here on.
    std::string mode;
    rc = run(db_, "PRAGMA journal_mode=WAL", &mode);
    if (rc != SQLITE_OK) return fail(rc, describe_error(rc));
    // A file SQLite cannot put in WAL mode says so by answering its old mode.
    if (mode != "wal")
        return fail(SQLITE_ERROR, "cannot use WAL mode (journal_mode is " + mode + ")");
    const char* synchronous = options_.sync == StoreSync::Always ? "PRAGMA synchronous=FULL"
                              : options_.sync == StoreSync::Off  ? "PRAGMA synchronous=OFF"
                                                                 : "PRAGMA synchronous=NORMAL";
    const std::string autocheckpoint =
        "PRAGMA wal_autocheckpoint=" + std::to_string(kWalAutocheckpointPages);
    const std::string size_limit = "PRAGMA journal_size_limit=" + std::to_string(kJournalSizeLimit);
    for (const char* pragma : {synchronous, autocheckpoint.c_str(), size_limit.c_str()}) {
        if (rc == SQLITE_OK) rc = run(db_, pragma);
    }
    if (rc != SQLITE_OK) return fail(rc, describe_error(rc));
    if (sqlite3_db_readonly(db_, "main") == 1) return fail(SQLITE_READONLY, "file is read-only");

    if (empty) {
        // One transaction: a crash leaves either nothing or the whole schema.
        const std::string create =
            "BEGIN IMMEDIATE;"
            "CREATE TABLE messages(seq INTEGER PRIMARY KEY, message BLOB NOT NULL);"
            "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
            "INSERT INTO meta(key, value) VALUES('schema_version', " +
            std::to_string(kSchemaVersion) +
            "), ('seq_reserved', 0);"
            "PRAGMA application_id=" +
            std::to_string(kApplicationId) +
            ";PRAGMA user_version=" + std::to_string(kSchemaVersion) + ";COMMIT;";
        rc = sqlite3_exec(db_, create.c_str(), nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) return fail(rc, "cannot create the tables: " + describe_error(rc));
    }

    stmts_ = std::make_unique<Statements>();
    rc = stmts_->prepare(db_);
    if (rc != SQLITE_OK) return fail(rc, "not a zmqrpc store: " + describe_error(rc));

    // Counts are kept in RAM from here on. The seqs continue above everything reserved, which
    // meta remembers even when every row was deleted since.
    sqlite3_stmt* stmt = nullptr;
    rc = sqlite3_prepare_v2(db_,
                            "SELECT count(*), coalesce(sum(length(message)), 0), "
                            "coalesce(max(seq), 0), (SELECT value FROM meta WHERE key = "
                            "'seq_reserved') FROM messages",
                            -1, &stmt, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(stmt);
        return fail(rc, describe_error(rc));
    }
    const auto count = static_cast<std::size_t>(sqlite3_column_int64(stmt, 0));
    const auto bytes = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 1));
    const auto max_seq = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 2));
    const auto reserved = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 3));
    sqlite3_finalize(stmt);

    accepted_ = count;
    accepted_bytes_ = bytes;
    recovered_ = count;
    committed_seq_ = max_seq;
    seq_reserved_ = std::max(max_seq, reserved);
    next_seq_ = seq_reserved_ + 1;
    read_after_ = 0;
    // A good store: closing it checkpoints the WAL into the database and removes it.
    sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, nullptr);
    return failure;
}

void SqliteQueue::move_aside(const std::string& reason) {
    const std::string& path = options_.path;
    const std::string base = path + ".corrupt-" + utc_stamp();
    std::string target = base;
    for (int n = 1; exists(target) || exists(target + "-wal") || exists(target + "-shm"); ++n)
        target = base + "." + std::to_string(n);
    for (const char* suffix : {"", "-wal", "-shm"}) {
        const std::string from = path + suffix;
        const std::string to = target + suffix;
        if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
            throw ConfigError("cannot move bad store " + from + " aside to " + to + ": " +
                              errno_text(errno) + " (it is bad: " + reason + ")");
        }
    }
    moved_aside_ = target;
    moved_aside_reason_ = reason;
}

PushResult SqliteQueue::push(std::string message) {
    if (size() >= options_.max_messages ||
        (options_.max_bytes > 0 && bytes() + message.size() > options_.max_bytes))
        return PushResult::Full;
    staged_bytes_ += message.size();
    staged_.push_back(QueueItem{next_seq_++, std::move(message), 0});
    return PushResult::Staged;
}

CommitResult SqliteQueue::commit() {
    CommitResult result;
    if (!needs_commit()) return result;

    int rc = step_once(stmts_->begin);
    for (std::size_t i = 0; rc == SQLITE_OK && i < staged_.size(); ++i) {
        const QueueItem& item = staged_[i];
        sqlite3_bind_int64(stmts_->insert, 1, static_cast<sqlite3_int64>(item.seq));
        // SQLITE_STATIC: the string outlives the step; the binding is cleared right after.
        sqlite3_bind_blob64(stmts_->insert, 2, item.message.data(), item.message.size(),
                            SQLITE_STATIC);
        rc = step_once(stmts_->insert);
    }
    sqlite3_clear_bindings(stmts_->insert);
    for (std::size_t i = 0; rc == SQLITE_OK && i < acked_.size(); ++i) {
        sqlite3_bind_int64(stmts_->remove, 1, static_cast<sqlite3_int64>(acked_[i]));
        rc = step_once(stmts_->remove);
    }
    const std::uint64_t reserve = reservation();
    if (rc == SQLITE_OK && reserve > seq_reserved_) {
        sqlite3_bind_int64(stmts_->reserve, 1, static_cast<sqlite3_int64>(reserve));
        rc = step_once(stmts_->reserve);
    }
    if (rc == SQLITE_OK) rc = step_once(stmts_->commit);

    if (rc != SQLITE_OK) {
        // The message first: ROLLBACK replaces it.
        const std::string why = describe_error(rc);
        result.disk_full = (rc & 0xff) == SQLITE_FULL || sqlite3_system_errno(db_) == ENOSPC;
        // SQLite may have rolled back by itself already (it does for SQLITE_FULL and most I/O
        // errors); a transaction still open would hold the next BEGIN off.
        if (sqlite3_get_autocommit(db_) == 0) step_once(stmts_->rollback);
        result.rejected = staged_.size();
        result.error = result.disk_full ? "disk full: " + why : why;
        if (result.disk_full) {
            // On a small disk the WAL itself can be what fills it: it grows until a checkpoint
            // (1000 pages) and is then reused, never shrunk below journal_size_limit. Copy what
            // it holds into the database and truncate it now, so that the next commit finds the
            // room its deletes left instead of waiting for the next interval's checkpoint.
            sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
        }
        staged_.clear();
        staged_bytes_ = 0;
        // The acknowledgements stay in acked_ for the next commit. The seqs of the rejected
        // messages are inside the reservation, unless failed commits used it up: then reserve
        // on its own, which may well fail too (a full disk) and is tried again next time.
        if (reserve > seq_reserved_) {
            sqlite3_bind_int64(stmts_->reserve, 1, static_cast<sqlite3_int64>(reserve));
            if (step_once(stmts_->begin) == SQLITE_OK && step_once(stmts_->reserve) == SQLITE_OK &&
                step_once(stmts_->commit) == SQLITE_OK) {
                seq_reserved_ = reserve;
            } else if (sqlite3_get_autocommit(db_) == 0) {
                step_once(stmts_->rollback);
            }
        }
        return result;
    }

    result.accepted = staged_.size();
    accepted_ += staged_.size();
    accepted_bytes_ += staged_bytes_;
    acked_.clear();
    seq_reserved_ = std::max(seq_reserved_, reserve);
    if (!staged_.empty()) {
        // Everything on disk was read already: the new rows can be leased straight from RAM,
        // a read-ahead's worth of them. The rest is dropped from RAM and read back in turn.
        const bool caught_up = read_after_ >= committed_seq_;
        committed_seq_ = staged_.back().seq;
        for (auto& item : staged_) {
            if (!caught_up || ready_.size() >= kReadAhead) break;
            read_after_ = item.seq;
            ready_.emplace(item.seq, std::move(item));
        }
    }
    staged_.clear();
    staged_bytes_ = 0;
    // A burst must not keep its capacity for good.
    if (staged_.capacity() > 4 * kReadAhead) std::vector<QueueItem>().swap(staged_);
    if (acked_.capacity() > 16 * kReadAhead) std::vector<std::uint64_t>().swap(acked_);

    if (options_.sync == StoreSync::Interval && next_sync_ == Clock::time_point::max())
        next_sync_ = Clock::now() + options_.sync_interval;
    return result;
}

bool SqliteQueue::read_ahead() {
    if (read_after_ >= committed_seq_) return false;  // nothing on disk that is not in RAM
    sqlite3_stmt* stmt = stmts_->next_batch;
    sqlite3_bind_int64(stmt, 1, static_cast<sqlite3_int64>(read_after_));
    sqlite3_bind_int64(stmt, 2, static_cast<sqlite3_int64>(kReadAhead));
    std::size_t rows = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const auto seq = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0));
        const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, 1));
        const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, 1));
        ready_.emplace(seq, QueueItem{seq, data != nullptr ? std::string(data, size) : "", 0});
        read_after_ = seq;
        ++rows;
    }
    if (rc != SQLITE_DONE) {
        // What was read stays read; the rest is tried again at the next lease().
        last_error_ = "cannot read the store " + options_.path + ": " + describe_error(rc);
    } else {
        last_error_.clear();
        // A short batch is the end: no committed row above read_after_ is left.
        if (rows < kReadAhead) read_after_ = committed_seq_;
    }
    sqlite3_reset(stmt);
    return !ready_.empty();
}

QueueItem* SqliteQueue::lease() {
    if (ready_.empty() && !read_ahead()) return nullptr;
    // The node moves from one map to the other: the item itself is not copied.
    auto node = ready_.extract(ready_.begin());
    ++node.mapped().deliveries;
    return &leased_.insert(std::move(node)).position->second;
}

void SqliteQueue::ack(std::uint64_t seq) {
    auto it = leased_.find(seq);
    if (it == leased_.end()) return;
    --accepted_;
    accepted_bytes_ -= it->second.message.size();
    acked_.push_back(seq);
    leased_.erase(it);
}

void SqliteQueue::nack(std::uint64_t seq) {
    auto node = leased_.extract(seq);
    if (node.empty()) return;
    // Below read_after_, so lease() takes it before anything not yet leased.
    ready_.insert(std::move(node));
}

std::size_t SqliteQueue::size() const noexcept {
    return staged_.size() + accepted_;
}

std::uint64_t SqliteQueue::bytes() const noexcept {
    return staged_bytes_ + accepted_bytes_;
}

std::size_t SqliteQueue::leasable() const noexcept {
    return accepted_ - leased_.size();
}

Clock::time_point SqliteQueue::next_sync() const noexcept {
    return options_.sync == StoreSync::Interval ? next_sync_ : Clock::time_point::max();
}

void SqliteQueue::sync_if_due(Clock::time_point now) {
    if (options_.sync != StoreSync::Interval || now < next_sync_) return;
    // With synchronous=NORMAL a checkpoint first syncs the WAL (all of it: fsync is per file),
    // then copies it into the database and syncs that. PASSIVE never waits; nobody else has the
    // database open (locking_mode=EXCLUSIVE), so it runs to completion anyway.
    const int rc =
        sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc != SQLITE_OK) {
        // Try again one interval later, not on every turn of the proxy's loop.
        last_error_ = "cannot sync the store " + options_.path + ": " + describe_error(rc);
        next_sync_ = now + options_.sync_interval;
        return;
    }
    last_error_.clear();
    next_sync_ = Clock::time_point::max();
}

}  // namespace zmqrpc::detail
