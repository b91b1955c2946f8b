// Credentials references (a username and where its password comes from), the secrets they
// resolve against when a topology runs, and the owner-only credentials file. A password itself
// is never part of a topology; only the reference is.
#pragma once

#include "zmqrpc/credentials.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>

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

// Where passwords are looked up when a topology runs.
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
};

// Loads a credentials file: {"format": "zmqrpc-credentials", "version": 1,
// "passwords": {"entry": "password", ...}}. Refuses (ConfigError) a file that others than its
// owner can read or write, saying how to fix it.
Secrets load_credentials_file(const std::filesystem::path& path);
// Where a credentials file is looked for when none is named: $ZMQRPC_CREDENTIALS, else
// $XDG_CONFIG_HOME/zmqrpc/credentials.json (~/.config/zmqrpc/credentials.json).
std::filesystem::path default_credentials_path();

}  // namespace zmqrpc
