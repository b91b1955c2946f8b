// RPC server (pyzmqrpc ZmqRpcServer / ZmqRpcServerThread): a registry of named functions, served
// over REP (with a reply) and/or SUB (return value discarded), with pyzmqrpc's exact status codes
// and texts. Functions run on the server's thread, one at a time.
#pragma once

#include "zmqrpc/protocol.hpp"
#include "zmqrpc/receiver.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace zmqrpc {

// Takes the request's "parameters" object (empty object when absent) and returns the
// response_message; null means "no response_message" (Python None). Throw to report failure:
// the exception's what() becomes the 463 text.
using RpcFunction = std::function<json(const json& parameters)>;

struct FunctionInfo {
    std::string name;
    std::vector<std::string> parameters;  // names, for _describe and documentation
    std::string help;                     // one line
};

// Every registry answers "_describe" (unless it registers its own) with describe_json(): a
// compatible extension that lets consoles complete function names. pyzmqrpc answers it 451.
inline constexpr std::string_view kDescribe = "_describe";

// A set of functions and the dispatch logic. Thread-safe for reads once built; add() before
// serving.
class FunctionRegistry {
  public:
    FunctionRegistry& add(std::string name, RpcFunction function,
                          std::vector<std::string> parameter_names = {}, std::string help = {});
    bool contains(const std::string& name) const;
    std::vector<FunctionInfo> describe() const;
    // [{"name", "parameters", "help"}, ...], including _describe itself.
    json describe_json() const;

    // Decodes a request, calls the function, encodes the response (200, 400, 450, 451 or 463).
    std::string dispatch(std::string_view message) const;
    // The same, with the status code reported.
    std::string dispatch(std::string_view message, int& status_code) const;
    // For PUB/SUB, where nothing is answered: decodes and calls without encoding a reply.
    // Returns the status code; when it is not 200, `error_reply` is what dispatch() answers.
    int call(std::string_view message, std::string& error_reply) const;

  private:
    // Decodes and calls. On 200, `result` is the value; otherwise `error_reply` is the reply.
    int run(std::string_view message, json& result, std::string& error_reply) const;

    struct Entry {
        RpcFunction function;
        FunctionInfo info;
    };
    std::map<std::string, Entry> functions_;
};

struct RpcServerOptions : CommonOptions, InputOptions {};

class RpcServer {
  public:
    RpcServer(RpcServerOptions options, FunctionRegistry functions);
    ~RpcServer();
    RpcServer(const RpcServer&) = delete;
    RpcServer& operator=(const RpcServer&) = delete;

    void start();
    void stop();
    void join();
    bool running() const;
    std::string rep_endpoint() const;
    MetricsSnapshot metrics() const;

  private:
    struct Counters {
        std::atomic<std::uint64_t> errors{0};  // 451, 463 answered
        std::atomic<std::uint64_t> bad{0};     // 400, 450 answered
    };
    std::shared_ptr<const FunctionRegistry> functions_;
    std::shared_ptr<Counters> counters_;
    std::unique_ptr<Receiver> receiver_;
};

}  // namespace zmqrpc
