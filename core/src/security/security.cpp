// Security values, CURVE keys, key files and authorized_keys files.
#include "zmqrpc/security.hpp"

#include "zmqrpc/errors.hpp"

#include "config_dir.hpp"
#include "json_text.hpp"

#include <zmq.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace zmqrpc {

namespace {

constexpr std::size_t kZ85KeyLength = 40;
constexpr std::string_view kZ85Alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

std::string errno_text(int error) {
    return std::strerror(error);
}

std::string mode_text(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

std::string read_text(const std::filesystem::path& path, const std::string& what) {
    int error = 0;
    std::string text = detail::read_file(path, error);
    if (error != 0) {
        throw ConfigError("cannot read " + what + " " + path.string() + ": " + errno_text(error));
    }
    return text;
}

struct stat stat_or_throw(const std::filesystem::path& path, const std::string& what) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        const int error = errno;
        throw ConfigError("cannot read " + what + " " + path.string() + ": " + errno_text(error));
    }
    return st;
}

// The keys of a czmq certificate: `public-key = "..."` and `secret-key = "..."` lines of its
// `curve` section (czmq's ZPL; pyzmq's zmq.auth reads the same lines).
struct CertificateKeys {
    std::string public_key, secret_key;
};

CertificateKeys parse_certificate(const std::string& text, const std::string& name) {
    CertificateKeys keys;
    std::size_t line_number = 0;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        start = end + 1;
        ++line_number;
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos) {
            if (end == text.size()) break;
            continue;
        }
        line = line.substr(first);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
            line.pop_back();
        std::string* target = nullptr;
        std::string field;
        if (line.rfind("public-key", 0) == 0) {
            target = &keys.public_key;
            field = "public-key";
        } else if (line.rfind("secret-key", 0) == 0) {
            target = &keys.secret_key;
            field = "secret-key";
        }
        if (target != nullptr) {
            const auto open = line.find('"');
            const auto close = line.rfind('"');
            if (open == std::string::npos || close == open || line.find('=') > open) {
                throw ConfigError("key file " + name + ":" + std::to_string(line_number) +
                                  ": expected " + field + " = \"KEY\"");
            }
            std::string key = line.substr(open + 1, close - open - 1);
            if (auto problem = check_curve_key(key)) {
                throw ConfigError("key file " + name + ":" + std::to_string(line_number) + ": " +
                                  field + ": " + *problem);
            }
            *target = std::move(key);
        }
        if (end == text.size()) break;
    }
    return keys;
}

std::string certificate_text(const CurveKeyPair& keys, bool secret) {
    const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm local{};
    ::localtime_r(&now, &local);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &local);
    std::string text = "#   ****  Generated on " + std::string(when) + " by zmqrpc keygen  ****\n";
    if (secret) {
        text +=
            "#   ZeroMQ CURVE **Secret** Certificate\n"
            "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n";
    } else {
        text +=
            "#   ZeroMQ CURVE Public Certificate\n"
            "#   Exchange securely, or use a secure mechanism to verify the contents\n"
            "#   of this file after exchange. Store public certificates in your home\n"
            "#   directory, in the .curve subdirectory.\n";
    }
    text += "\nmetadata\ncurve\n    public-key = \"" + keys.public_key + "\"\n";
    if (secret) text += "    secret-key = \"" + keys.secret_key + "\"\n";
    return text;
}

// Writes `text` to `path` through a temporary file in the same directory and a rename, so that
// a reader never sees half a key.
void write_atomically(const std::filesystem::path& path, const std::string& text, mode_t mode) {
    const std::filesystem::path temporary = path.string() + ".tmp-" + std::to_string(::getpid());
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        const int error = errno;
        throw ConfigError("cannot write " + temporary.string() + ": " + errno_text(error));
    }
    auto fail = [&](int error) {
        ::close(fd);
        ::unlink(temporary.c_str());
        throw ConfigError("cannot write " + path.string() + ": " + errno_text(error));
    };
    if (::fchmod(fd, mode) != 0) fail(errno);  // whatever the umask
    std::size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(errno);
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) fail(errno);
    ::close(fd);
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        throw ConfigError("cannot write " + path.string() + ": " + errno_text(error));
    }
}

}  // namespace

const char* to_string(CurveClients clients) noexcept {
    return clients == CurveClients::AnyWithServerKey ? "any" : "authorized-keys";
}

const std::string& CurveSecurity::server_key_for(const std::string& endpoint) const {
    auto it = server_keys.find(endpoint);
    return it != server_keys.end() ? it->second : server_key;
}

Security::Security(Credentials plain) {
    if (!plain.empty()) value_ = std::move(plain);
}

Security::Security(CurveSecurity curve) : value_(std::move(curve)) {}

Security::Mechanism Security::mechanism() const noexcept {
    if (plain() != nullptr) return Mechanism::Plain;
    if (curve() != nullptr) return Mechanism::Curve;
    return Mechanism::None;
}

const char* to_string(Security::Mechanism mechanism) noexcept {
    switch (mechanism) {
        case Security::Mechanism::Plain:
            return "PLAIN";
        case Security::Mechanism::Curve:
            return "CURVE";
        case Security::Mechanism::None:
            break;
    }
    return "none";
}

std::string Security::describe() const {
    if (const auto* p = plain()) return "PLAIN " + p->describe();
    if (const auto* c = curve()) {
        if (c->keys.public_key.empty()) return "CURVE with a key pair of its own for this run";
        return "CURVE key " + key_fingerprint(c->keys.public_key);
    }
    return "no security";
}

// ---------------------------------------------------------------------------------------------
// Keys

bool curve_available() noexcept {
    return zmq_has("curve") != 0;
}

void require_curve(const std::string& what) {
    if (!curve_available()) {
        throw ConfigError(what +
                          ": CURVE is not available: this libzmq was built without libsodium "
                          "(zmq_has(\"curve\") is false)");
    }
}

std::optional<std::string> check_curve_key(std::string_view text) {
    if (text.size() != kZ85KeyLength) {
        return "a CURVE key is 40 characters of Z85 text, got " + std::to_string(text.size());
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (kZ85Alphabet.find(text[i]) == std::string_view::npos) {
            return "character " + std::to_string(i + 1) + " is not Z85 text";
        }
    }
    std::array<std::uint8_t, 32> bytes{};
    const std::string copy(text);
    if (zmq_z85_decode(bytes.data(), copy.c_str()) == nullptr) return "not a Z85 key";
    return std::nullopt;
}

CurveKeyPair generate_curve_key_pair() {
    require_curve("generating a key pair");
    std::array<char, 41> public_key{};
    std::array<char, 41> secret_key{};
    if (zmq_curve_keypair(public_key.data(), secret_key.data()) != 0) {
        throw ConfigError("cannot generate a CURVE key pair: " + errno_text(zmq_errno()));
    }
    return {public_key.data(), secret_key.data()};
}

std::string curve_public_key(const std::string& secret_key) {
    if (auto problem = check_curve_key(secret_key)) throw ConfigError("secret key: " + *problem);
    require_curve("deriving a public key");
    std::array<char, 41> public_key{};
    if (zmq_curve_public(public_key.data(), secret_key.c_str()) != 0) {
        throw ConfigError("cannot derive the public key: " + errno_text(zmq_errno()));
    }
    return public_key.data();
}

std::string key_fingerprint(std::string_view public_key) {
    return std::string(public_key.substr(0, 10)) + "...";
}

CurveKeyPair load_curve_secret_file(const std::filesystem::path& path) {
    const std::string name = path.string();
    const struct stat st = stat_or_throw(path, "secret key file");
    if ((st.st_mode & 077) != 0) {
        throw ConfigError("secret key file " + name + " can be read or written by others (mode " +
                          mode_text(st.st_mode) + "): run chmod 600 " + name);
    }
    if (st.st_uid != ::geteuid()) {
        throw ConfigError("secret key file " + name + " is owned by another user");
    }
    const CertificateKeys keys = parse_certificate(read_text(path, "secret key file"), name);
    if (keys.secret_key.empty()) {
        throw ConfigError("key file " + name +
                          " has no secret-key: is it the public half (NAME.key) of a key pair? "
                          "The secret half is NAME.key_secret");
    }
    CurveKeyPair pair{curve_public_key(keys.secret_key), keys.secret_key};
    if (!keys.public_key.empty() && keys.public_key != pair.public_key) {
        throw ConfigError("key file " + name +
                          ": its public-key does not belong to its secret-key");
    }
    return pair;
}

std::string load_curve_public_file(const std::filesystem::path& path) {
    const std::string name = path.string();
    const CertificateKeys keys = parse_certificate(read_text(path, "public key file"), name);
    if (keys.public_key.empty()) throw ConfigError("key file " + name + " has no public-key");
    return keys.public_key;
}

std::pair<std::filesystem::path, std::filesystem::path> curve_key_files(
    const std::filesystem::path& directory, const std::string& name) {
    return {directory / (name + ".key"), directory / (name + ".key_secret")};
}

void write_curve_key_pair(const std::filesystem::path& directory, const std::string& name,
                          const CurveKeyPair& keys, bool overwrite) {
    if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
        throw ConfigError("key name '" + name +
                          "': expected a plain file name (no '/', not starting with '.')");
    }
    std::error_code ec;
    if (!std::filesystem::exists(directory, ec)) {
        std::filesystem::create_directories(directory, ec);
        if (ec) {
            throw ConfigError("cannot create key directory " + directory.string() + ": " +
                              ec.message());
        }
        ::chmod(directory.c_str(), 0700);
    }
    const auto [public_file, secret_file] = curve_key_files(directory, name);
    if (!overwrite &&
        (std::filesystem::exists(public_file, ec) || std::filesystem::exists(secret_file, ec))) {
        throw ConfigError("key pair '" + name + "' exists already in " + directory.string() + " (" +
                          secret_file.filename().string() +
                          "); choose another name, or replace it with --force");
    }
    // Secret first: a public key without its secret would be a server nobody can run.
    write_atomically(secret_file, certificate_text(keys, true), 0600);
    write_atomically(public_file, certificate_text(keys, false), 0644);
}

std::filesystem::path detail::config_dir() {
    std::filesystem::path config;
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg == '/') {
        config = xdg;
    } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != 0) {
        config = std::filesystem::path(home) / ".config";
    } else {
        config = ".config";
    }
    return config / "zmqrpc";
}

std::filesystem::path default_keys_dir() {
    if (const char* named = std::getenv("ZMQRPC_KEYS"); named != nullptr && *named != 0) {
        return named;
    }
    return detail::config_dir() / "keys";
}

std::vector<AuthorizedKey> load_authorized_keys(const std::filesystem::path& path) {
    const std::string name = path.string();
    const struct stat st = stat_or_throw(path, "authorized keys file");
    if ((st.st_mode & 022) != 0) {
        throw ConfigError("authorized keys file " + name + " can be written by others (mode " +
                          mode_text(st.st_mode) + "): run chmod go-w " + name);
    }
    const std::string text = read_text(path, "authorized keys file");
    std::vector<AuthorizedKey> keys;
    std::size_t line_number = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        start = end + 1;
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') continue;
        const auto key_end = line.find_first_of(" \t", first);
        std::string key =
            line.substr(first, key_end == std::string::npos ? std::string::npos : key_end - first);
        if (auto problem = check_curve_key(key)) {
            throw ConfigError("authorized keys file " + name + ":" + std::to_string(line_number) +
                              ": " + *problem + " (a line is KEY [comment])");
        }
        std::string comment;
        if (key_end != std::string::npos) {
            const auto comment_start = line.find_first_not_of(" \t", key_end);
            if (comment_start != std::string::npos) comment = line.substr(comment_start);
        }
        keys.push_back({std::move(key), std::move(comment)});
    }
    return keys;
}

}  // namespace zmqrpc
