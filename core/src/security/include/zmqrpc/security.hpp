// How one side of a socket is secured: no security (ZMTP NULL), PLAIN username/password, or
// CURVE (encryption and authentication by key pairs). Every layer passes one Security value per
// side through unchanged: the options of a component, the Runtime's node config, the CLI.
//
//  binding side (REP, PUB)     PLAIN: the credentials clients must present.
//                              CURVE: the server's key pair, and who may connect: any client
//                                     that holds the server's public key, or the clients whose
//                                     public keys an authorized_keys file lists.
//  connecting side (REQ, SUB)  PLAIN: the credentials presented.
//                              CURVE: the server's public key (per endpoint), and our own key
//                                     pair (a fresh one per socket when none is given).
//
// Keys are Z85 text (40 characters for 32 bytes), as libzmq's options and czmq's certificates
// take them. No secret key is formatted into a message, event or log by the library.
#pragma once

#include "zmqrpc/credentials.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace zmqrpc {

struct CurveKeyPair {
    std::string public_key;  // Z85
    std::string secret_key;  // Z85
    bool empty() const noexcept { return public_key.empty() && secret_key.empty(); }
    bool operator==(const CurveKeyPair&) const = default;
};

// Who may connect to a CURVE server.
enum class CurveClients {
    AuthorizedKeys,    // only the public keys listed in the authorized_keys file
    AnyWithServerKey,  // any client that holds the server's public key
};
// "authorized-keys", "any"
const char* to_string(CurveClients clients) noexcept;

struct CurveSecurity {
    // Our key pair. Binding side: required. Connecting side: empty means a fresh key pair for
    // each socket (accepted only by a server that lets any client with its key in).
    CurveKeyPair keys;
    // Connecting side: the server's public key for endpoints that server_keys does not name.
    std::string server_key;
    // Connecting side: endpoint -> the public key of the server bound there.
    std::map<std::string, std::string> server_keys;
    // Binding side.
    CurveClients clients = CurveClients::AuthorizedKeys;
    std::filesystem::path authorized_keys;  // AuthorizedKeys: re-read at each connection

    // The server key to use when connecting to `endpoint`; empty when none is known.
    const std::string& server_key_for(const std::string& endpoint) const;
    bool operator==(const CurveSecurity&) const = default;
};

class Security {
  public:
    enum class Mechanism { None, Plain, Curve };

    Security() = default;
    // PLAIN; empty credentials are no security (NULL), as pyzmqrpc without a username.
    Security(Credentials plain);    // NOLINT: implicit, a password is one kind of security
    Security(CurveSecurity curve);  // NOLINT: implicit

    Mechanism mechanism() const noexcept;
    bool none() const noexcept { return mechanism() == Mechanism::None; }
    // The PLAIN credentials, or null.
    const Credentials* plain() const noexcept { return std::get_if<Credentials>(&value_); }
    // The CURVE settings, or null.
    const CurveSecurity* curve() const noexcept { return std::get_if<CurveSecurity>(&value_); }
    CurveSecurity* curve() noexcept { return std::get_if<CurveSecurity>(&value_); }
    // "no security", "PLAIN user 'name'", "CURVE key rq:rM>}U?..."; never a password or a
    // secret key.
    std::string describe() const;
    bool operator==(const Security&) const = default;

  private:
    std::variant<std::monostate, Credentials, CurveSecurity> value_;
};

const char* to_string(Security::Mechanism mechanism) noexcept;  // "none", "PLAIN", "CURVE"

// ---------------------------------------------------------------------------------------------
// Keys

// Whether this libzmq has CURVE (zmq_has("curve"): built with libsodium).
bool curve_available() noexcept;
// Throws ConfigError naming `what` when CURVE is not available.
void require_curve(const std::string& what);
// Why `text` is not a Z85 CURVE key (40 characters of the Z85 alphabet), or nullopt.
std::optional<std::string> check_curve_key(std::string_view text);
// A fresh key pair (throws ConfigError without CURVE).
CurveKeyPair generate_curve_key_pair();
// The public key of a Z85 secret key (throws ConfigError for a malformed key).
std::string curve_public_key(const std::string& secret_key);
// The first characters of a public key, for humans: "rq:rM>}U?@" and an ellipsis.
std::string key_fingerprint(std::string_view public_key);

// Key files are czmq's certificate format (ZPL text), which czmq's zcert_load and pyzmq's
// zmq.auth.load_certificate read too: NAME.key holds the public key, NAME.key_secret both.
//
// The key pair of a secret key file. Refuses (ConfigError) a file that others than its owner
// can read or write, a malformed key, and a public key that does not belong to the secret key.
CurveKeyPair load_curve_secret_file(const std::filesystem::path& path);
// The public key of a public (or secret) key file.
std::string load_curve_public_file(const std::filesystem::path& path);
// The files of key pair `name` in `directory`: {NAME.key, NAME.key_secret}.
std::pair<std::filesystem::path, std::filesystem::path> curve_key_files(
    const std::filesystem::path& directory, const std::string& name);
// Writes NAME.key (0644) and NAME.key_secret (0600) into `directory` (created 0700 when
// missing), each atomically. Refuses to replace an existing key pair unless `overwrite`.
void write_curve_key_pair(const std::filesystem::path& directory, const std::string& name,
                          const CurveKeyPair& keys, bool overwrite);
// Where key files are looked for by name: $ZMQRPC_KEYS, else "keys" beside the credentials
// file (~/.config/zmqrpc/keys).
std::filesystem::path default_keys_dir();

struct AuthorizedKey {
    std::string key;      // Z85 public key
    std::string comment;  // the rest of the line
};
// An authorized_keys file: one Z85 public key per line, optionally followed by whitespace and a
// comment; blank lines and lines starting with '#' are ignored. Refuses (ConfigError, with the
// line) a malformed line, and a file that others than its owner can write.
std::vector<AuthorizedKey> load_authorized_keys(const std::filesystem::path& path);

}  // namespace zmqrpc
