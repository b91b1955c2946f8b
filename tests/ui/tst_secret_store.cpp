// SecretStore: passwords kept in the credentials file when there is no keychain (made 0600
// before anything is written, entries merged, removed on forget), refused when others can read
// it, resolved through secrets(); and with the keychain switched on but no backend running (as
// in CI), store() still succeeds through the file.
#include "runtime/secret_store.hpp"

#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <sys/stat.h>

using namespace studio;

namespace {

constexpr int kWaitMs = 10000;

unsigned modeOf(const QString& path) {
    struct stat st {};
    if (::stat(QFile::encodeName(path).constData(), &st) != 0) return 0xffffffffu;
    return static_cast<unsigned>(st.st_mode & 07777);
}

nlohmann::json readJson(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return nlohmann::json::parse(f.readAll().toStdString(), nullptr, false);
}

zmqrpc::CredentialRef ref(zmqrpc::CredentialRef::Source source, const std::string& key) {
    zmqrpc::CredentialRef r;
    r.username = "bridge";
    r.source = source;
    r.key = key;
    return r;
}

}  // namespace

class TestSecretStore : public QObject {
    Q_OBJECT

  private:
    QTemporaryDir dir_;
    QString path_;

  private slots:
    void init() {
        QVERIFY(dir_.isValid());
        // In a directory that does not exist yet: the store makes it.
        path_ = dir_.filePath(QStringLiteral("config/zmqrpc/credentials.json"));
        QFile::remove(path_);
        qputenv("ZMQRPC_CREDENTIALS", QFile::encodeName(path_));
        qputenv("ZMQRPC_STUDIO_NO_KEYCHAIN", "1");
    }

    void storesInAPrivateFile() {
        SecretStore store;
        QVERIFY(!store.keychainAvailable());
        QCOMPARE(store.preferredSource(), zmqrpc::CredentialRef::Source::File);
        QCOMPARE(SecretStore::credentialsPath(), path_);
        QVERIFY(!store.has(QStringLiteral("bridge")));

        QSignalSpy stored(&store, &SecretStore::stored);
        store.store(QStringLiteral("bridge"), QStringLiteral("s3cret-ü"));
        QTRY_COMPARE_WITH_TIMEOUT(stored.count(), 1, kWaitMs);
        QCOMPARE(stored.at(0).at(0).toString(), QStringLiteral("bridge"));
        QVERIFY2(stored.at(0).at(1).toBool(), qPrintable(stored.at(0).at(2).toString()));
        QCOMPARE(modeOf(path_), 0600u);
        QCOMPARE(modeOf(dir_.filePath(QStringLiteral("config/zmqrpc"))), 0700u);
        const auto doc = readJson(path_);
        QCOMPARE(doc.value("format", ""), std::string("zmqrpc-credentials"));
        QCOMPARE(doc.value("version", 0), 1);
        QCOMPARE(doc["passwords"]["bridge"].get<std::string>(), std::string("s3cret-ü"));

        // A second entry merges; the first stays.
        store.store(QStringLiteral("uplink"), QStringLiteral("other"));
        QTRY_COMPARE_WITH_TIMEOUT(stored.count(), 2, kWaitMs);
        QVERIFY(stored.at(1).at(1).toBool());
        QCOMPARE(readJson(path_)["passwords"].size(), 2u);
        QCOMPARE(modeOf(path_), 0600u);

        // What the runtime gets resolves file references (and keychain ones stored this
        // session, for documents that name the keychain on a machine without one).
        const zmqrpc::Secrets secrets = store.secrets();
        QVERIFY(store.lastWarning().isEmpty());
        QCOMPARE(secrets.resolve(ref(zmqrpc::CredentialRef::Source::File, "bridge")).password,
                 std::string("s3cret-ü"));
        QVERIFY(secrets.has(ref(zmqrpc::CredentialRef::Source::Keychain, "uplink")));
        QVERIFY(!secrets.has(ref(zmqrpc::CredentialRef::Source::File, "nothing")));
        QVERIFY(store.has(QStringLiteral("bridge")));

        // A fresh store (next session) finds them in the file.
        SecretStore next;
        QVERIFY(next.has(QStringLiteral("uplink")));
        QSignalSpy fetched(&next, &SecretStore::fetched);
        next.fetch(QStringLiteral("uplink"));
        next.fetch(QStringLiteral("missing"));
        QTRY_COMPARE_WITH_TIMEOUT(fetched.count(), 2, kWaitMs);
        QVERIFY(fetched.at(0).at(1).toBool());
        QVERIFY(!fetched.at(1).at(1).toBool());
        QVERIFY(next.secrets().has(ref(zmqrpc::CredentialRef::Source::Keychain, "uplink")));

        // forget() removes the entry from the file; the other stays.
        QSignalSpy forgotten(&store, &SecretStore::forgotten);
        store.forget(QStringLiteral("bridge"));
        QTRY_COMPARE_WITH_TIMEOUT(forgotten.count(), 1, kWaitMs);
        QVERIFY2(forgotten.at(0).at(1).toBool(), qPrintable(forgotten.at(0).at(2).toString()));
        QVERIFY(!store.has(QStringLiteral("bridge")));
        QVERIFY(!readJson(path_)["passwords"].contains("bridge"));
        QVERIFY(readJson(path_)["passwords"].contains("uplink"));
        QVERIFY(!store.secrets().has(ref(zmqrpc::CredentialRef::Source::File, "bridge")));
        QCOMPARE(modeOf(path_), 0600u);
    }

    void refusesAFileOthersCanRead() {
        {
            SecretStore writer;
            QSignalSpy stored(&writer, &SecretStore::stored);
            writer.store(QStringLiteral("bridge"), QStringLiteral("s3cret"));
            QTRY_COMPARE_WITH_TIMEOUT(stored.count(), 1, kWaitMs);
            QVERIFY(stored.at(0).at(1).toBool());
        }
        QVERIFY(::chmod(QFile::encodeName(path_).constData(), 0644) == 0);

        SecretStore store;
        const zmqrpc::Secrets secrets = store.secrets();
        QVERIFY(secrets.file_entries.empty());
        QVERIFY2(store.lastWarning().contains(QStringLiteral("chmod 600")),
                 qPrintable(store.lastWarning()));
        QVERIFY(!store.lastWarning().contains(QStringLiteral("s3cret")));
        QVERIFY(!store.has(QStringLiteral("bridge")));

        // Nothing is added to such a file.
        QSignalSpy stored(&store, &SecretStore::stored);
        store.store(QStringLiteral("more"), QStringLiteral("x"));
        QTRY_COMPARE_WITH_TIMEOUT(stored.count(), 1, kWaitMs);
        QVERIFY(!stored.at(0).at(1).toBool());
        QVERIFY(!readJson(path_)["passwords"].contains("more"));
        QCOMPARE(modeOf(path_), 0644u);
    }

    void fallsBackToTheFileWithoutAKeychainBackend() {
        qunsetenv("ZMQRPC_STUDIO_NO_KEYCHAIN");
        // A session bus that is not there: no Secret Service, no KWallet -- as on CI machines
        // (and a developer's real keychain stays untouched).
        const QByteArray bus = qgetenv("DBUS_SESSION_BUS_ADDRESS");
        qputenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/zmqrpc-test-bus");
        const QString entry =
            QStringLiteral("zmqrpc-studio-test-%1").arg(QCoreApplication::applicationPid());

        SecretStore store;
        QVERIFY(store.keychainAvailable());
        QCOMPARE(store.preferredSource(), zmqrpc::CredentialRef::Source::Keychain);
        QSignalSpy stored(&store, &SecretStore::stored);
        QSignalSpy availability(&store, &SecretStore::keychainAvailableChanged);
        store.store(entry, QStringLiteral("fallback-password"));
        QTRY_COMPARE_WITH_TIMEOUT(stored.count(), 1, kWaitMs);
        QVERIFY2(stored.at(0).at(1).toBool(), qPrintable(stored.at(0).at(2).toString()));
        {
            QVERIFY(!store.keychainAvailable());
            QCOMPARE(availability.count(), 1);
            QCOMPARE(store.preferredSource(), zmqrpc::CredentialRef::Source::File);
            QCOMPARE(readJson(path_)["passwords"][entry.toStdString()].get<std::string>(),
                     std::string("fallback-password"));
            QCOMPARE(modeOf(path_), 0600u);
        }
        QVERIFY(
            store.secrets().has(ref(zmqrpc::CredentialRef::Source::Keychain, entry.toStdString())));

        QSignalSpy forgotten(&store, &SecretStore::forgotten);
        store.forget(entry);
        QTRY_COMPARE_WITH_TIMEOUT(forgotten.count(), 1, kWaitMs);
        QVERIFY(!store.has(entry));
        if (bus.isEmpty())
            qunsetenv("DBUS_SESSION_BUS_ADDRESS");
        else
            qputenv("DBUS_SESSION_BUS_ADDRESS", bus);
    }
};

QTEST_MAIN(TestSecretStore)
#include "tst_secret_store.moc"
