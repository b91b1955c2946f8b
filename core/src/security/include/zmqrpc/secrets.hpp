// Security references (a username and where its password comes from, or where a CURVE secret
// key comes from), the secrets they resolve against when a topology runs, and the owner-only
// credentials file. A password or a secret key is never part of a topology; only the reference
// is. Public keys may be written in it.
#pragma once

#include "zmqrpc/credentials.hpp"
#include "zmqrpc/security.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <variant>

namespace zmqrpc {

struct CredentialRef {
    enum class Source { None, Env, File, Keychain };
    std::string username;
    Source source = Source::None;
    // Env: the environment variable; File: the entry of the credentials file; Keychain: the
    // entry in the system keychain (resolved by the Studio).
    std::string key;

    bool empty() const noexcept { return username.empty(); }
    // "env:NAME", "file:entry", "keychain:entry": where the password comes from.
    std::string source_text() const;
    nlohmann::json to_json() const;  // {"username": u, "password": {"env": NAME}}; null if empty
    // Throws std::invalid_argument with a message naming what is wrong.
    static CredentialRef from_json(const nlohmann::json& value);
    bool operator==(const CredentialRef&) const = default;
};

// Where a CURVE secret key comes from: an environment variable holding its Z85 text, a key file
// (a name in the keys directory, NAME.key_secret, or a path), or the Studio's keychain.
struct KeyRef {
    CredentialRef::Source source = CredentialRef::Source::None;
    std::string key;
    bool empty() const noexcept { return source == CredentialRef::Source::None; }
    std::string source_text() const;  // "env:NAME", "file:NAME", "keychain:NAME"
    bool operator==(const KeyRef&) const = default;
};

// A CURVE side as a topology holds it:
//   {"curve": {"secret_key": {"file": "cloud"}, "public_key": "Z85...",
//              "clients": "any" | {"authorized_keys": "/etc/zmqrpc/cloud.authorized_keys"}}}
// secret_key: required where the side binds; a connecting side without one uses a fresh key
// pair per socket. public_key: optional; connecting nodes on other hosts need it (or the
// public key file NAME.key of a file reference in their keys directory). clients: binding side;
// a relative authorized_keys path is a file in the keys directory.
struct CurveRef {
    KeyRef secret_key;
    std::string public_key;
    CurveClients clients = CurveClients::AuthorizedKeys;
    std::string authorized_keys;  // clients == AuthorizedKeys
    bool clients_given = false;   // "clients" is in the document
    nlohmann::json to_json() const;
    bool operator==(const CurveRef&) const = default;
};

// One side's security as a topology holds it: null (none), a CredentialRef (PLAIN) or a
// CurveRef. The JSON forms: null, {"username": u, "password": {...}}, {"curve": {...}}.
class SecurityRef {
  public:
    SecurityRef() = default;
    SecurityRef(CredentialRef plain);  // NOLINT: implicit; an empty one is none
    SecurityRef(CurveRef curve);       // NOLINT: implicit
    Security::Mechanism mechanism() const noexcept;
    bool none() const noexcept { return mechanism() == Security::Mechanism::None; }
    const CredentialRef* plain() const noexcept { return std::get_if<CredentialRef>(&value_); }
    const CurveRef* curve() const noexcept { return std::get_if<CurveRef>(&value_); }
    nlohmann::json to_json() const;
    // Throws std::invalid_argument with a message naming what is wrong.
    static SecurityRef from_json(const nlohmann::json& value);
    bool operator==(const SecurityRef&) const = default;

  private:
    std::variant<std::monostate, CredentialRef, CurveRef> value_;
};

// Where passwords and secret keys are looked up when a topology runs.
struct Secrets {
    // Entries of the credentials file: entry name -> password.
    std::map<std::string, std::string> file_entries;
    // Passwords already known, by CredentialRef::source_text() ("keychain:x", "env:NAME", ...).
    // They win over the environment and the file (the Studio fills keychain entries here; the
    // CLI fills what it prompted for).
    std::map<std::string, std::string> known;
    // Reads the environment for Env references (on by default; tests may switch it off).
    bool use_environment = true;

    // The credentials for `ref`, or ConfigError saying where the password was looked for.
    Credentials resolve(const CredentialRef& ref) const;
    // Whether resolve() would find a password for `ref`.
    bool has(const CredentialRef& ref) const;

    // Where key files are looked up by name.
    std::filesystem::path keys_dir = default_keys_dir();
    // The key pair of a secret key reference, or ConfigError saying where it was looked for.
    CurveKeyPair resolve_key(const KeyRef& ref) const;
    // Whether resolve_key() would find it.
    bool has(const KeyRef& ref) const;
    // The path of a key file reference: a name in keys_dir (NAME.key_secret), or a path.
    std::filesystem::path key_file(const KeyRef& ref) const;
    // The public key connecting sides use for a CURVE server: its public_key, else the public
    // key file beside a file reference (NAME.key), else the secret key where it can be read.
    // ConfigError saying what to do when none is known here.
    std::string server_public_key(const CurveRef& server, const std::string& who) const;
    // The Security of a side (no server keys yet: the Runtime fills them from the links).
    Security resolve(const SecurityRef& ref) const;
};

// Loads a credentials file: {"format": "zmqrpc-credentials", "version": 1,
// "passwords": {"entry": "password", ...}}. Refuses (ConfigError) a file that others than its
// owner can read or write, saying how to fix it.
Secrets load_credentials_file(const std::filesystem::path& path);
// Where a credentials file is looked for when none is named: $ZMQRPC_CREDENTIALS, else
// $XDG_CONFIG_HOME/zmqrpc/credentials.json (~/.config/zmqrpc/credentials.json).
std::filesystem::path default_credentials_path();

}  // namespace zmqrpc
