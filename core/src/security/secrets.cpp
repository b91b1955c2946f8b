// Credentials references, the secrets they resolve against, and the credentials file.
#include "zmqrpc/secrets.hpp"

#include "zmqrpc/errors.hpp"
#include "zmqrpc/protocol.hpp"

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
                                   "' in credentials (known: username, "
                                   "password)");
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

std::filesystem::path default_credentials_path() {
    if (const char* named = std::getenv("ZMQRPC_CREDENTIALS"); named != nullptr && *named != 0) {
        return named;
    }
    std::filesystem::path config;
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg == '/') {
        config = xdg;
    } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != 0) {
        config = std::filesystem::path(home) / ".config";
    } else {
        config = ".config";
    }
    return config / "zmqrpc" / "credentials.json";
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
