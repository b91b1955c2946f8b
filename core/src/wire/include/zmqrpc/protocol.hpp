// The pyzmqrpc wire protocol (docs/PROTOCOL.md): request and response encoding, status codes and
// their exact texts, the heartbeat string, a JSON reader that reads what Python's json.loads()
// reads (with its errors) and a writer that writes what json.dumps() writes. Pure functions, no
// sockets, safe from any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace zmqrpc {

// The values that travel in requests and replies. Objects keep their members in the order they
// came (as a Python dict does), so that echo returns what it got and a consumer that prints or
// writes columns sees the sender's order.
using json = nlohmann::ordered_json;

// Integers beyond 64 bits, which Python keeps exact, travel as a binary value with this subtype
// holding the decimal digits ("-" first when negative): the reader makes them, dumps() writes
// them as the integer they are. Integers that fit in 64 bits are never made into one.
inline constexpr std::uint64_t kBigIntegerSubtype = 0x7a6d717270630001ull;
// The integer `digits` ("[-]digits", no leading zeros): an ordinary JSON integer when it fits,
// else a big one. Throws std::invalid_argument for anything else.
json big_integer(std::string_view digits);
bool is_big_integer(const json& value);
// The decimal digits of an integer, big or not. Throws std::invalid_argument for a non-integer.
std::string big_integer_digits(const json& value);

// Python's name of a value's type: NoneType, bool, int, float, str, list, dict.
const char* python_type_name(const json& value);
// Python's str() of the value the JSON stands for: None, True, 5, 1e+16, nan, a string as it
// is, ['echo'], {'a': 1} (repr() inside containers).
std::string python_str(const json& value);

// A json.loads() failure: what() is Python's text ("Expecting value: line 1 column 1 (char 0)",
// "Exceeds the limit (4300 digits) for integer string conversion: ..."); position() the index
// in code points where Python's message puts it (0 when it names none).
class JsonDecodeError : public std::runtime_error {
  public:
    JsonDecodeError(std::string message, std::size_t position);
    std::size_t position() const noexcept { return position_; }

  private:
    std::size_t position_;
};

// Reads JSON text exactly as CPython 3.11's json.loads() reads the same text decoded as UTF-8:
// NaN, Infinity and -Infinity; integers of any size (4300 digits at most, Python's limit);
// 1e400 as infinity; a repeated key keeps its first place and takes the last value; \ud800
// without its pair kept as a lone surrogate (held as generalised UTF-8). `text` must be valid
// UTF-8 (is_valid_utf8). Throws JsonDecodeError with Python's message, also for nesting deeper
// than kPythonJsonDepth ("maximum recursion depth exceeded while decoding a JSON array from a
// unicode string", Python's RecursionError, at the container that goes one level too deep).
json loads(std::string_view text);

// The deepest nesting of arrays and objects that CPython 3.11's json.loads() reads inside a
// pyzmqrpc ZmqRpcServerThread: its recursion limit (1000) less the frames below the scanner
// there. A request one level deeper gets pyzmqrpc's 400 with the RecursionError text; loads()
// and the fast paths draw the line at the same place, so the reply is the same bytes. (A Python
// program that calls the server from deeper frames stops a few levels sooner.)
inline constexpr std::size_t kPythonJsonDepth = 991;

// The bare heartbeat frame (not JSON).
inline constexpr std::string_view kHeartbeat = "zmq_sub_heartbeat";

namespace status {
inline constexpr int kOk = 200;
inline constexpr int kBadJson = 400;          // not JSON (Python's reading), not UTF-8, multipart
inline constexpr int kNoFunction = 450;       // not an object, or an object without "function"
inline constexpr int kUnknownFunction = 451;  // not registered, or the name is not a string
inline constexpr int kFunctionRaised = 463;   // the function threw, or parameters not a mapping
inline constexpr int kProxyFailed = 482;  // a proxy could not deliver (queue full, timeout, ...)
}  // namespace status

// Exact status_message texts of pyzmqrpc, with the placeholders filled in.
std::string status_text_bad_json(std::string_view parser_error);
std::string status_text_no_function();
std::string status_text_unknown_function(std::string_view name);
std::string status_text_function_raised(std::string_view name, std::string_view error);
// 463 for parameters that are not an object: Python's TypeError from f(**parameters), e.g.
// "echo() argument after ** must be a mapping, not list", in status_text_function_raised().
std::string status_text_not_a_mapping(std::string_view name, std::string_view python_type);

// Serialises like Python's json.dumps(value): ", " and ": " separators, non-ASCII escaped as
// \uXXXX (surrogate pairs above the BMP), floats as Python's repr, NaN and Infinity, big
// integers as their digits, object members in the value's own order. With `indent` >= 0, as
// json.dumps(value, indent=indent): "," at line ends, each level `indent` spaces deeper. With
// ensure_ascii false, as json.dumps(ensure_ascii=False): non-ASCII text as it is (for people).
// Throws std::invalid_argument for a value nested deeper than kMaxJsonDepth (so do the
// encode_* functions below).
std::string dumps(const json& value, int indent = -1, bool ensure_ascii = true);
// The same for nlohmann::json (members sorted by key, as that type keeps them).
std::string dumps(const nlohmann::json& value, int indent = -1, bool ensure_ascii = true);

// How deeply arrays and objects may nest in what is decoded or encoded (simdjson's default).
// Deeper input is refused rather than walked: copying, writing or freeing a JSON value recurses
// once per level, and a 200 KB message of brackets would otherwise exhaust a thread's stack.
inline constexpr std::size_t kMaxJsonDepth = 1024;
// True when the arrays and objects of JSON `text` nest more than `limit` deep (a scan of the
// brackets outside strings; `text` need not be valid JSON).
bool json_nesting_exceeds(std::string_view text, std::size_t limit = kMaxJsonDepth);

// Parses JSON text a person typed or pasted (a console's parameters, a property editor, a
// clipboard) as loads() does: never throws. On failure: nullopt, and *error (if given) is one
// line, Python's ("Expecting ',' delimiter: line 1 column 5 (char 4)", "maximum recursion depth
// exceeded while decoding a JSON array from a unicode string") or "invalid UTF-8 at byte N".
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
    json parameters = json::object();  // empty when absent or null
    // Set when "parameters" was given but is neither an object nor null: Python's name of its
    // type. pyzmqrpc then fails in f(**parameters) (463) if the function exists, else 451.
    const char* not_a_mapping = nullptr;
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
