// The pyzmqrpc wire protocol (shared/PROTOCOL.md): request and response encoding, status codes and
// their exact texts, the heartbeat string, and a JSON writer that produces what Python's
// json.dumps() produces. Pure functions, no sockets, safe from any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace zmqrpc {

using json = nlohmann::json;

// The bare heartbeat frame (not JSON).
inline constexpr std::string_view kHeartbeat = "zmq_sub_heartbeat";

namespace status {
inline constexpr int kOk = 200;
inline constexpr int kBadJson = 400;          // not JSON, not UTF-8, multipart, not an object
inline constexpr int kNoFunction = 450;       // JSON without "function"
inline constexpr int kUnknownFunction = 451;  // function not registered
inline constexpr int kFunctionRaised = 463;   // the function threw
inline constexpr int kProxyFailed = 482;  // a proxy could not deliver (queue full, timeout, ...)
}  // namespace status

// Exact status_message texts of pyzmqrpc, with the placeholders filled in.
std::string status_text_bad_json(std::string_view parser_error);
std::string status_text_no_function();
std::string status_text_unknown_function(std::string_view name);
std::string status_text_function_raised(std::string_view name, std::string_view error);

// Serialises like Python's json.dumps(value): ", " and ": " separators, non-ASCII escaped as
// \uXXXX (surrogate pairs above the BMP). Object keys come out sorted (nlohmann::json keeps
// them so); the request and response envelopes themselves keep pyzmqrpc's key order.
// Throws std::invalid_argument for a value nested deeper than kMaxJsonDepth (so do the
// encode_* functions below).
std::string dumps(const json& value);

// How deeply arrays and objects may nest in what is decoded or encoded (simdjson's default).
// Deeper input is refused rather than walked: copying, writing or freeing a JSON value recurses
// once per level, and a 200 KB message of brackets would otherwise exhaust a thread's stack.
inline constexpr std::size_t kMaxJsonDepth = 1024;
// True when the arrays and objects of JSON `text` nest more than `limit` deep (a scan of the
// brackets outside strings; `text` need not be valid JSON).
bool json_nesting_exceeds(std::string_view text, std::size_t limit = kMaxJsonDepth);

// Parses JSON text a person typed or pasted (a console's parameters, a property editor, a
// clipboard): never throws. On failure: nullopt, and *error (if given) is one line, nlohmann's
// text without its "[json.exception...]" tag ("parse error at line 1, column 5: ...",
// "number overflow parsing '1e400'") or "nested more than 1024 levels deep".
std::optional<json> parse_json_text(std::string_view text, std::string* error = nullptr);
// An exception's text, without the "[json.exception.parse_error.101] " tag nlohmann puts first.
std::string json_exception_text(const std::exception& e);

// True when `bytes` is well-formed UTF-8. On false, *bad_offset (if given) is the first bad byte.
bool is_valid_utf8(std::string_view bytes, std::size_t* bad_offset = nullptr);

// {"function": name, "parameters": {...}}; parameters omitted when `parameters` is null.
// Throws std::invalid_argument if parameters is neither null nor an object.
std::string encode_request(std::string_view function, const json& parameters = json::object());

// {"status_code": c, "status_message": m[, "response_message": r]}; r omitted when nullopt or null.
std::string encode_response(int status_code, std::string_view status_message,
                            const std::optional<json>& response_message = std::nullopt);

// A decoded request. Decoding never throws: a bad request yields the error reply to send.
struct Request {
    std::string function;
    json parameters = json::object();
};
struct DecodedRequest {
    std::optional<Request> request;  // set when valid
    int error_status = 0;            // else the status code to answer with ...
    std::string error_text;          // ... and the complete status_message to answer
};
DecodedRequest decode_request(std::string_view message);

// A decoded response. Throws RpcError(Kind::Protocol) when the message is not JSON or has no
// status_code ("No status_code in response", as pyzmqrpc says).
struct Response {
    int status_code = 0;
    std::string status_message;
    std::optional<json> response_message;
};
Response decode_response(std::string_view message);

// What a pyzmqrpc client does with a response: the value on 200 (null when absent), otherwise
// throws RpcError(Kind::Status) whose what() is status_message, or "Error occurred with code N".
json response_value_or_throw(const Response& response);

}  // namespace zmqrpc
