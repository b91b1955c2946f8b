// Credentials references, the secrets they resolve against, and the credentials file.
#include "zmqrpc/secrets.hpp"

#include "zmqrpc/errors.hpp"
#include "zmqrpc/protocol.hpp"

#include "config_dir.hpp"
#include "json_text.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace zmqrpc {

using detail::json_type_name;
using detail::line_column;
using detail::parse_error_text;
using detail::read_file;
// Files (topologies, credentials) are nlohmann::json, members sorted by key; zmqrpc::json is
// the ordered type of messages.
using njson = nlohmann::json;

namespace {

constexpr const char* kLiteralPassword =
    "a password is never written into a topology: name an environment variable {\"env\": NAME} "
    "or a credentials-file entry {\"file\": NAME}";

const char* source_key(CredentialRef::Source source) {
    switch (source) {
        case CredentialRef::Source::Env:
            return "env";
        case CredentialRef::Source::File:
            return "file";
        case CredentialRef::Source::Keychain:
            return "keychain";
        case CredentialRef::Source::None:
            break;
    }
    return "";
}

}  // namespace

std::string CredentialRef::source_text() const {
    if (source == Source::None) return {};
    return std::string(source_key(source)) + ":" + key;
}

nlohmann::json CredentialRef::to_json() const {
    if (empty()) return nullptr;
    njson out = njson::object();
    out["username"] = username;
    if (source != Source::None) out["password"] = njson{{source_key(source), key}};
    return out;
}

CredentialRef CredentialRef::from_json(const nlohmann::json& value) {
    using std::invalid_argument;
    if (value.is_null()) return {};
    if (!value.is_object()) {
        throw invalid_argument("expected {\"username\": ..., \"password\": {\"env\": NAME}}, got " +
                               json_type_name(value));
    }
    for (const auto& [k, v] : value.items()) {
        if (k != "username" && k != "password") {
            throw invalid_argument("unknown key '" + k +
                                   "' in credentials (known: username and password for PLAIN, "
                                   "or curve)");
        }
    }
    CredentialRef ref;
    if (!value.contains("username")) throw invalid_argument("credentials without a username");
    const njson& user = value["username"];
    if (!user.is_string()) {
        throw invalid_argument("username: expected a string, got " + json_type_name(user));
    }
    ref.username = user.get<std::string>();
    if (ref.username.empty()) throw invalid_argument("username is empty");
    if (!value.contains("password")) {
        throw invalid_argument("user '" + ref.username +
                               "' has no password source: name an environment variable "
                               "{\"env\": NAME} or a credentials-file entry {\"file\": NAME}");
    }
    const njson& password = value["password"];
    if (password.is_string()) throw invalid_argument(kLiteralPassword);
    if (!password.is_object() || password.size() != 1) {
        throw invalid_argument(
            "password: expected exactly one of {\"env\": NAME}, {\"file\": NAME}, "
            "{\"keychain\": NAME}");
    }
    const auto only = password.begin();
    const std::string& source = only.key();
    const njson& name = only.value();
    if (source == "env") {
        ref.source = Source::Env;
    } else if (source == "file") {
        ref.source = Source::File;
    } else if (source == "keychain") {
        ref.source = Source::Keychain;
    } else {
        throw invalid_argument("password: unknown source '" + source +
                               "' (known: env, file, keychain)");
    }
    if (!name.is_string() || name.get_ref<const std::string&>().empty()) {
        throw invalid_argument("password." + source + ": expected a non-empty name");
    }
    ref.key = name.get<std::string>();
    return ref;
}

Credentials Secrets::resolve(const CredentialRef& ref) const {
    if (ref.empty()) return {};
    const std::string who = "password for user '" + ref.username + "'";
    if (ref.source == CredentialRef::Source::None) {
        throw ConfigError(who + " has no source (env, file or keychain)");
    }
    if (auto it = known.find(ref.source_text()); it != known.end()) {
        return Credentials{ref.username, it->second};
    }
    switch (ref.source) {
        case CredentialRef::Source::Env:
            if (use_environment) {
                if (const char* value = std::getenv(ref.key.c_str()); value != nullptr) {
                    return Credentials{ref.username, value};
                }
            }
            throw ConfigError(who + " comes from environment variable " + ref.key +
                              ", which is not set");
        case CredentialRef::Source::File:
            if (auto it = file_entries.find(ref.key); it != file_entries.end()) {
                return Credentials{ref.username, it->second};
            }
            throw ConfigError(who + " comes from credentials-file entry '" + ref.key +
                              "', which the credentials file does not have");
        case CredentialRef::Source::Keychain:
            throw ConfigError(who + " comes from keychain entry '" + ref.key +
                              "', which is not unlocked");
        case CredentialRef::Source::None:
            break;
    }
    throw ConfigError(who + " has no source");
}

bool Secrets::has(const CredentialRef& ref) const {
    try {
        resolve(ref);
        return true;
    } catch (const ConfigError&) {
        return false;
    }
}

// ---------------------------------------------------------------------------------------------
// CURVE references

namespace {

KeyRef key_ref_from_json(const njson& value) {
    using std::invalid_argument;
    if (value.is_string()) {
        throw invalid_argument(
            "a secret key is never written into a topology: name an environment variable "
            "{\"env\": NAME}, a key file {\"file\": NAME} or a keychain entry {\"keychain\": "
            "NAME}");
    }
    if (!value.is_object() || value.size() != 1) {
        throw invalid_argument(
            "secret_key: expected exactly one of {\"env\": NAME}, {\"file\": NAME}, "
            "{\"keychain\": NAME}");
    }
    const auto only = value.begin();
    KeyRef ref;
    if (only.key() == "env") {
        ref.source = CredentialRef::Source::Env;
    } else if (only.key() == "file") {
        ref.source = CredentialRef::Source::File;
    } else if (only.key() == "keychain") {
        ref.source = CredentialRef::Source::Keychain;
    } else {
        throw invalid_argument("secret_key: unknown source '" + only.key() +
                               "' (known: env, file, keychain)");
    }
    if (!only.value().is_string() || only.value().get_ref<const std::string&>().empty()) {
        throw invalid_argument("secret_key." + only.key() + ": expected a non-empty name");
    }
    ref.key = only.value().get<std::string>();
    return ref;
}

CurveRef curve_ref_from_json(const njson& value) {
    using std::invalid_argument;
    if (!value.is_object()) {
        throw invalid_argument("curve: expected an object with secret_key, public_key, clients");
    }
    CurveRef ref;
    for (const auto& [k, v] : value.items()) {
        if (k == "secret_key") {
            ref.secret_key = key_ref_from_json(v);
        } else if (k == "public_key") {
            if (!v.is_string()) {
                throw invalid_argument("curve.public_key: expected a string, got " +
                                       json_type_name(v));
            }
            ref.public_key = v.get<std::string>();
            if (auto problem = check_curve_key(ref.public_key)) {
                throw invalid_argument("curve.public_key: " + *problem);
            }
        } else if (k == "clients") {
            ref.clients_given = true;
            if (v == "any") {
                ref.clients = CurveClients::AnyWithServerKey;
            } else if (v.is_object() && v.size() == 1 && v.contains("authorized_keys") &&
                       v["authorized_keys"].is_string() &&
                       !v["authorized_keys"].get_ref<const std::string&>().empty()) {
                ref.clients = CurveClients::AuthorizedKeys;
                ref.authorized_keys = v["authorized_keys"].get<std::string>();
            } else {
                throw invalid_argument(
                    "curve.clients: expected \"any\" (any client that holds the server's public "
                    "key) or {\"authorized_keys\": PATH} (only the keys that file lists)");
            }
        } else {
            throw invalid_argument("unknown key '" + k +
                                   "' in curve (known: secret_key, public_key, clients)");
        }
    }
    return ref;
}

}  // namespace

std::string KeyRef::source_text() const {
    if (source == CredentialRef::Source::None) return {};
    return std::string(source_key(source)) + ":" + key;
}

nlohmann::json CurveRef::to_json() const {
    njson curve = njson::object();
    if (!secret_key.empty())
        curve["secret_key"] = njson{{source_key(secret_key.source), secret_key.key}};
    if (!public_key.empty()) curve["public_key"] = public_key;
    if (clients_given || !authorized_keys.empty()) {
        if (clients == CurveClients::AnyWithServerKey) {
            curve["clients"] = "any";
        } else {
            curve["clients"] = njson{{"authorized_keys", authorized_keys}};
        }
    }
    return njson{{"curve", curve}};
}

SecurityRef::SecurityRef(CredentialRef plain) {
    if (!plain.empty()) value_ = std::move(plain);
}

SecurityRef::SecurityRef(CurveRef curve) : value_(std::move(curve)) {}

Security::Mechanism SecurityRef::mechanism() const noexcept {
    if (plain() != nullptr) return Security::Mechanism::Plain;
    if (curve() != nullptr) return Security::Mechanism::Curve;
    return Security::Mechanism::None;
}

nlohmann::json SecurityRef::to_json() const {
    if (const auto* p = plain()) return p->to_json();
    if (const auto* c = curve()) return c->to_json();
    return nullptr;
}

SecurityRef SecurityRef::from_json(const nlohmann::json& value) {
    if (value.is_object() && value.contains("curve")) {
        if (value.size() != 1) {
            throw std::invalid_argument(
                "a side is PLAIN (username, password) or CURVE (curve), not both");
        }
        return curve_ref_from_json(value["curve"]);
    }
    return CredentialRef::from_json(value);
}

std::filesystem::path Secrets::key_file(const KeyRef& ref) const {
    if (ref.key.find('/') != std::string::npos) return ref.key;
    return curve_key_files(keys_dir, ref.key).second;
}

CurveKeyPair Secrets::resolve_key(const KeyRef& ref) const {
    const std::string who = "CURVE secret key " + ref.source_text();
    if (auto it = known.find(ref.source_text()); it != known.end()) {
        return {curve_public_key(it->second), it->second};
    }
    switch (ref.source) {
        case CredentialRef::Source::Env:
            if (use_environment) {
                if (const char* value = std::getenv(ref.key.c_str()); value != nullptr) {
                    if (auto problem = check_curve_key(value)) {
                        throw ConfigError(who + ": environment variable " + ref.key + ": " +
                                          *problem);
                    }
                    return {curve_public_key(value), value};
                }
            }
            throw ConfigError(who + " comes from environment variable " + ref.key +
                              ", which is not set");
        case CredentialRef::Source::File: {
            const auto path = key_file(ref);
            std::error_code ec;
            if (!std::filesystem::exists(path, ec)) {
                throw ConfigError(who + ": key file " + path.string() +
                                  " does not exist (make one with: zmqrpc keygen " + ref.key + ")");
            }
            return load_curve_secret_file(path);
        }
        case CredentialRef::Source::Keychain:
            throw ConfigError(who + " comes from keychain entry '" + ref.key +
                              "', which is not unlocked");
        case CredentialRef::Source::None:
            break;
    }
    throw ConfigError("CURVE: no secret key given");
}

bool Secrets::has(const KeyRef& ref) const {
    try {
        resolve_key(ref);
        return true;
    } catch (const ConfigError&) {
        return false;
    }
}

std::string Secrets::server_public_key(const CurveRef& server, const std::string& who) const {
    if (!server.public_key.empty()) return server.public_key;
    if (known.count(server.secret_key.source_text()) != 0) {
        return resolve_key(server.secret_key).public_key;
    }
    if (server.secret_key.source == CredentialRef::Source::File) {
        auto secret = key_file(server.secret_key);
        std::filesystem::path public_file = secret;
        if (public_file.extension() == ".key_secret") public_file.replace_extension(".key");
        std::error_code ec;
        if (std::filesystem::exists(public_file, ec)) return load_curve_public_file(public_file);
        if (std::filesystem::exists(secret, ec)) return resolve_key(server.secret_key).public_key;
        throw ConfigError(who +
                          ": its CURVE public key is not known on this host: write it into "
                          "the topology (curve.public_key), or copy " +
                          public_file.filename().string() + " into " +
                          public_file.parent_path().string());
    }
    if (has(server.secret_key)) return resolve_key(server.secret_key).public_key;
    throw ConfigError(who +
                      ": its CURVE public key is not known: write it into the topology "
                      "(curve.public_key)");
}

Security Secrets::resolve(const SecurityRef& ref) const {
    if (const auto* p = ref.plain()) return resolve(*p);
    if (const auto* c = ref.curve()) {
        CurveSecurity curve;
        if (!c->secret_key.empty()) {
            curve.keys = resolve_key(c->secret_key);
            if (!c->public_key.empty() && c->public_key != curve.keys.public_key) {
                throw ConfigError("CURVE secret key " + c->secret_key.source_text() +
                                  " does not belong to the public key " +
                                  key_fingerprint(c->public_key) + " written in the topology");
            }
        }
        curve.clients = c->clients;
        if (!c->authorized_keys.empty()) {
            std::filesystem::path list = c->authorized_keys;
            curve.authorized_keys = list.is_absolute() ? list : keys_dir / list;
        }
        return curve;
    }
    return {};
}

std::filesystem::path default_credentials_path() {
    if (const char* named = std::getenv("ZMQRPC_CREDENTIALS"); named != nullptr && *named != 0) {
        return named;
    }
    return detail::config_dir() / "credentials.json";
}

// ---------------------------------------------------------------------------------------------
// The credentials file

Secrets load_credentials_file(const std::filesystem::path& path) {
    const std::string name = path.string();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        const int error = errno;
        throw ConfigError("cannot read credentials file " + name + ": " + std::strerror(error));
    }
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        throw ConfigError("credentials file " + name + " can be read or written by others (mode " +
                          mode + "): run chmod 600 " + name);
    }
    if (st.st_uid != ::geteuid()) {
        throw ConfigError("credentials file " + name + " is owned by another user");
    }
    int error = 0;
    const std::string text = read_file(path, error);
    if (error != 0) {
        throw ConfigError("cannot read credentials file " + name + ": " + std::strerror(error));
    }
    auto fail = [&](const std::string& where, const std::string& what) {
        throw ConfigError("credentials file " + name + ": " + where + ": " + what);
    };
    njson document;
    if (json_nesting_exceeds(text)) {
        throw ConfigError("credentials file " + name + ": JSON nested more than " +
                          std::to_string(kMaxJsonDepth) + " levels deep");
    }
    try {
        document = njson::parse(text);
    } catch (const njson::parse_error& e) {
        fail(line_column(text, e.byte), parse_error_text(e, true));
    } catch (const njson::exception& e) {
        throw ConfigError("credentials file " + name + ": " + json_exception_text(e));
    }
    if (!document.is_object()) {
        throw ConfigError("credentials file " + name + ": expected a JSON object, got " +
                          json_type_name(document));
    }
    for (const auto& [key, value] : document.items()) {
        if (key != "format" && key != "version" && key != "passwords") {
            fail(key, "unknown key '" + key + "' (known: format, version, passwords)");
        }
    }
    if (auto format = document.find("format");
        format == document.end() || *format != "zmqrpc-credentials") {
        fail("format",
             "this is not a zmqrpc credentials file (expected \"format\": "
             "\"zmqrpc-credentials\")");
    }
    auto version = document.find("version");
    if (version == document.end() || !version->is_number_integer()) {
        fail("version", "expected the integer 1");
    }
    if (version->get<std::int64_t>() > 1) {
        fail("version", "this file is version " + version->dump() +
                            ", this zmqrpc reads version 1 or older; open it with a newer zmqrpc");
    }
    if (version->get<std::int64_t>() < 1) fail("version", "expected the integer 1");
    Secrets secrets;
    auto passwords = document.find("passwords");
    if (passwords == document.end()) return secrets;
    if (!passwords->is_object()) {
        fail("passwords", "expected an object, got " + json_type_name(*passwords));
    }
    for (const auto& [entry, password] : passwords->items()) {
        // Never the value: only its type.
        if (!password.is_string()) {
            fail("passwords." + entry, "expected a string, got " + json_type_name(password));
        }
        secrets.file_entries.emplace(entry, password.get<std::string>());
    }
    return secrets;
}

}  // namespace zmqrpc
