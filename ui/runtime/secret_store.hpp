// The Studio's passwords: keeps the passwords of CredentialRefs that name the system keychain
// (QtKeychain, service "zmqrpc-studio", key = the entry name) and reads the credentials file,
// and hands both to the runtime as zmqrpc::Secrets. Keychain jobs are asynchronous (their
// results come back as signals); the credentials file is small and local, so it is read and
// written directly.
//
// Where no keychain runs (no Secret Service or KWallet, as in CI), the first keychain job that
// fails with NoBackendAvailable/OtherError switches the store to the credentials file: store()
// then writes the entry there (mode 0600), and preferredSource() says File so that the
// inspector writes "file:entry" into the document. Passwords stored or fetched this session are
// also kept in memory under "keychain:entry", so that a document naming the keychain still runs
// on such a machine. ZMQRPC_STUDIO_NO_KEYCHAIN=1 skips the keychain from the start (tests).
//
// A password is never logged, displayed or put into an error text.
//
// GUI thread only.
#pragma once

#include <zmqrpc/topology.hpp>

#include <QHash>
#include <QObject>
#include <QString>

namespace studio {

class SecretStore : public QObject {
    Q_OBJECT

  public:
    static constexpr const char* kService = "zmqrpc-studio";

    explicit SecretStore(QObject* parent = nullptr);
    ~SecretStore() override;

    // Keeps `password` for `entry`: in the keychain, or the credentials file when there is no
    // keychain. Answers with stored(); `source` says where it went.
    void store(const QString& entry, const QString& password);
    // Reads `entry` from the keychain (or the credentials file) into the cache. Answers with
    // fetched().
    void fetch(const QString& entry);
    // Removes `entry` from the cache, the keychain and the credentials file. Answers with
    // forgotten().
    void forget(const QString& entry);

    // Whether a password for `entry` is known: cached from the keychain, or in the credentials
    // file.
    bool has(const QString& entry) const;
    // Cached keychain passwords (known["keychain:<entry>"]) and the credentials file's entries.
    // Reads the file each time (it may be edited outside); a refused file (readable by others,
    // unparsable) contributes nothing and sets lastWarning().
    zmqrpc::Secrets secrets() const;
    // Why the credentials file was ignored by the last secrets()/has()/store(), or empty.
    QString lastWarning() const { return lastWarning_; }

    // False once a keychain job found no backend on this machine, or when switched off.
    bool keychainAvailable() const noexcept { return keychainAvailable_; }
    // Where a new password goes: Keychain, or File when no keychain is available.
    zmqrpc::CredentialRef::Source preferredSource() const noexcept;
    // The credentials file in use (zmqrpc::default_credentials_path()).
    static QString credentialsPath();

  signals:
    void stored(const QString& entry, bool ok, const QString& errorText);
    void fetched(const QString& entry, bool ok, const QString& errorText);
    void forgotten(const QString& entry, bool ok, const QString& errorText);
    void keychainAvailableChanged(bool available);

  private:
    void storeInFile(const QString& entry, const QString& password);
    void fetchFromFile(const QString& entry);
    void keychainFailed(int error, const QString& errorText);
    // Rewrites the credentials file with `entry` set (password non-null) or removed (null).
    // Returns the error text, empty on success.
    QString writeFileEntry(const QString& entry, const QString* password);

    QHash<QString, QString> cache_;  // entry -> password, for "keychain:<entry>"
    bool keychainAvailable_ = true;
    mutable QString lastWarning_;
};

}  // namespace studio
