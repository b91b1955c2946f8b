#include "runtime/secret_store.hpp"

#include <qt6keychain/keychain.h>

#include <QDebug>
#include <QTimer>

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

namespace studio {

namespace {

// A failed keychain job that means "there is no keychain here", not "this entry is missing".
bool noBackend(QKeychain::Error error) {
    return error == QKeychain::NoBackendAvailable || error == QKeychain::NotImplemented ||
           error == QKeychain::OtherError;
}

// The credentials file's entries, or nothing (and `warning` set) when it is refused. A missing
// file is no warning: most people have none.
zmqrpc::Secrets loadFile(QString& warning) {
    warning.clear();
    const auto path = zmqrpc::default_credentials_path();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return {};
    try {
        return zmqrpc::load_credentials_file(path);
    } catch (const std::exception& e) {
        warning = QString::fromStdString(e.what());  // names the file and the fix; no password
        return {};
    }
}

// Writes `text` to `path` atomically: a temporary file in the same directory, made 0600 before
// anything is written to it, then renamed over the old one.
QString writePrivateFile(const std::filesystem::path& path, const std::string& text) {
    const auto fail = [&](const char* what, int error) {
        return QStringLiteral("cannot write %1 (%2): %3")
            .arg(QString::fromStdString(path.string()), QLatin1String(what),
                 QString::fromLocal8Bit(std::strerror(error)));
    };
    const std::filesystem::path directory =
        path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    std::error_code ec;
    if (!std::filesystem::exists(directory, ec)) {
        std::filesystem::create_directories(directory, ec);
        if (ec) return fail("mkdir", ec.value());
        // A directory we made for passwords is ours alone.
        std::filesystem::permissions(directory, std::filesystem::perms::owner_all, ec);
    }
    std::string temporary = path.string() + ".XXXXXX";
    const int fd = ::mkstemp(temporary.data());
    if (fd < 0) return fail("create", errno);
    const auto abandon = [&](const char* what) {
        const int error = errno;
        ::close(fd);
        ::unlink(temporary.c_str());
        return fail(what, error);
    };
    if (::fchmod(fd, S_IRUSR | S_IWUSR) != 0) return abandon("chmod");
    std::size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            return abandon("write");
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) return abandon("fsync");
    if (::close(fd) != 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        return fail("close", error);
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        return fail("rename", error);
    }
    return {};
}

}  // namespace

SecretStore::SecretStore(QObject* parent) : QObject(parent) {
    if (qEnvironmentVariableIntValue("ZMQRPC_STUDIO_NO_KEYCHAIN") != 0) keychainAvailable_ = false;
}

// Jobs have no parent: a job still running when the store goes is left to finish and delete
// itself (deleting a job mid-flight is not safe with every backend); its connection to this
// store dies with the store.
SecretStore::~SecretStore() = default;

zmqrpc::CredentialRef::Source SecretStore::preferredSource() const noexcept {
    return keychainAvailable_ ? zmqrpc::CredentialRef::Source::Keychain
                              : zmqrpc::CredentialRef::Source::File;
}

QString SecretStore::credentialsPath() {
    return QString::fromStdString(zmqrpc::default_credentials_path().string());
}

void SecretStore::store(const QString& entry, const QString& password) {
    if (entry.isEmpty()) {
        QTimer::singleShot(0, this, [this] {
            emit stored(QString(), false, QStringLiteral("the entry has no name"));
        });
        return;
    }
    if (!keychainAvailable_) {
        // Answer asynchronously, as the keychain does, so that callers see one behaviour.
        QTimer::singleShot(0, this, [this, entry, password] { storeInFile(entry, password); });
        return;
    }
    auto* job = new QKeychain::WritePasswordJob(QLatin1String(kService));
    job->setAutoDelete(true);
    job->setKey(entry);
    job->setTextData(password);
    connect(job, &QKeychain::Job::finished, this, [this, entry, password](QKeychain::Job* done) {
        const auto error = done->error();
        if (error == QKeychain::NoError) {
            cache_.insert(entry, password);
            emit stored(entry, true, QString());
        } else if (noBackend(error)) {
            keychainFailed(error, done->errorString());
            storeInFile(entry, password);
        } else {
            emit stored(entry, false, done->errorString());
        }
    });
    job->start();
}

void SecretStore::storeInFile(const QString& entry, const QString& password) {
    const QString error = writeFileEntry(entry, &password);
    if (!error.isEmpty()) {
        emit stored(entry, false, error);
        return;
    }
    cache_.insert(entry, password);
    emit stored(entry, true, QString());
}

void SecretStore::fetch(const QString& entry) {
    if (cache_.contains(entry)) {
        QTimer::singleShot(0, this, [this, entry] { emit fetched(entry, true, QString()); });
        return;
    }
    if (!keychainAvailable_) {
        QTimer::singleShot(0, this, [this, entry] { fetchFromFile(entry); });
        return;
    }
    auto* job = new QKeychain::ReadPasswordJob(QLatin1String(kService));
    job->setAutoDelete(true);
    job->setKey(entry);
    connect(job, &QKeychain::Job::finished, this, [this, entry](QKeychain::Job* done) {
        const auto error = done->error();
        if (error == QKeychain::NoError) {
            cache_.insert(entry, static_cast<QKeychain::ReadPasswordJob*>(done)->textData());
            emit fetched(entry, true, QString());
        } else if (error == QKeychain::EntryNotFound) {
            emit fetched(entry, false,
                         QStringLiteral("no password for '%1' in the keychain").arg(entry));
        } else if (noBackend(error)) {
            keychainFailed(error, done->errorString());
            fetchFromFile(entry);
        } else {
            emit fetched(entry, false, done->errorString());
        }
    });
    job->start();
}

void SecretStore::fetchFromFile(const QString& entry) {
    const auto secrets = loadFile(lastWarning_);
    if (!lastWarning_.isEmpty()) {
        emit fetched(entry, false, lastWarning_);
        return;
    }
    const auto found = secrets.file_entries.find(entry.toStdString());
    if (found == secrets.file_entries.end()) {
        emit fetched(entry, false,
                     QStringLiteral("no password for '%1' in %2").arg(entry, credentialsPath()));
        return;
    }
    cache_.insert(entry, QString::fromStdString(found->second));
    emit fetched(entry, true, QString());
}

void SecretStore::forget(const QString& entry) {
    cache_.remove(entry);
    // The file copy goes at once (a local file); the keychain's answers when it comes.
    const QString fileError = writeFileEntry(entry, nullptr);
    if (!keychainAvailable_) {
        QTimer::singleShot(0, this, [this, entry, fileError] {
            emit forgotten(entry, fileError.isEmpty(), fileError);
        });
        return;
    }
    auto* job = new QKeychain::DeletePasswordJob(QLatin1String(kService));
    job->setAutoDelete(true);
    job->setKey(entry);
    connect(job, &QKeychain::Job::finished, this, [this, entry, fileError](QKeychain::Job* done) {
        const auto error = done->error();
        if (error == QKeychain::NoError || error == QKeychain::EntryNotFound) {
            emit forgotten(entry, fileError.isEmpty(), fileError);
        } else if (noBackend(error)) {
            keychainFailed(error, done->errorString());
            emit forgotten(entry, fileError.isEmpty(), fileError);
        } else {
            emit forgotten(entry, false, done->errorString());
        }
    });
    job->start();
}

bool SecretStore::has(const QString& entry) const {
    if (cache_.contains(entry)) return true;
    const auto secrets = loadFile(lastWarning_);
    return secrets.file_entries.count(entry.toStdString()) != 0;
}

zmqrpc::Secrets SecretStore::secrets() const {
    zmqrpc::Secrets secrets = loadFile(lastWarning_);
    for (auto it = cache_.cbegin(); it != cache_.cend(); ++it)
        secrets.known["keychain:" + it.key().toStdString()] = it.value().toStdString();
    return secrets;
}

void SecretStore::keychainFailed(int error, const QString& errorText) {
    if (!keychainAvailable_) return;
    keychainAvailable_ = false;
    // The keychain's own text (never a password): why the Studio now uses the file.
    qInfo().noquote() << "zmqrpc-studio: no keychain (" << error << errorText
                      << "); passwords go to" << credentialsPath();
    emit keychainAvailableChanged(false);
}

QString SecretStore::writeFileEntry(const QString& entry, const QString* password) {
    zmqrpc::Secrets current = loadFile(lastWarning_);
    if (!lastWarning_.isEmpty()) {
        // Never add a password to a file others can read, nor overwrite one we cannot parse.
        return QStringLiteral("not written: ") + lastWarning_;
    }
    auto& entries = current.file_entries;
    const std::string key = entry.toStdString();
    if (password == nullptr) {
        if (entries.erase(key) == 0) return {};  // nothing to remove: leave the file alone
    } else {
        entries[key] = password->toStdString();
    }
    nlohmann::ordered_json document;
    document["format"] = "zmqrpc-credentials";
    document["version"] = 1;
    document["passwords"] = nlohmann::ordered_json::object();
    for (const auto& [name, value] : entries)
        document["passwords"][name] = value;
    return writePrivateFile(zmqrpc::default_credentials_path(), document.dump(2) + "\n");
}

}  // namespace studio
