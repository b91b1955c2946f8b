// `zmqrpc run --control ENDPOINT`: a runner's control server, an RpcServer (pyzmqrpc's REQ/REP
// protocol) whose functions drive the runtime, so that `zmqrpc call`, pyzmqrpc's ZmqRpcClient or
// the Studio can look at it and deploy a new document without restarting it:
//
//   status               {"version", "revision", "host", "file", "uptime_seconds",
//                         "nodes": [{"node", "state", "reason"}]}
//                        (revisions: zmqrpc::topology_revision)
//   snapshot             the runtime snapshot, as --metrics publishes it
//   start, stop          {"nodes": [ids]} (absent or empty: every node of this host);
//                        answers the states of those nodes
//   tap                  {"tap": node id, "after": seq (default 0)}: {"tap", "messages":
//                        [TapMessage::to_json(), oldest first]}, what the tap kept after seq;
//                        a node that is not a tap of this host is refused
//   describe             {"revision", "topology": the document being run}
//   deploy               {"topology": document, "revision": the revision it replaces}: the
//                        document is parsed and validated (errors: refused, nothing changed),
//                        a stale revision is refused naming the current one, then the
//                        difference is applied to this host's nodes (Runtime::deploy) and the
//                        document is kept in the deployed file. Answers {"revision",
//                        "previous_revision", "deployed_file", "nodes": [{"node", "result":
//                        "applied"|"failed"|"unchanged", "reason"}]}
//
// A refused call is a 463 answer whose text says why. Calls run on the server's thread, one at a
// time; each control call that changes something publishes a "control" event on the runtime's
// event bus (hence on --metrics and the runner's stderr).
#pragma once

#include "common.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

namespace cli {

// Where a runner of `file` keeps what was deployed to it: STATE_DIR/BASENAME.deployed, or
// FILE.deployed next to it when state_dir is empty.
std::filesystem::path deployed_path(const std::filesystem::path& file,
                                    const std::filesystem::path& state_dir = {});
// The state directory when --state-dir is not given: the first entry of $STATE_DIRECTORY
// (systemd sets it from StateDirectory=, colon-separated: "/var/lib/zmqrpc:/var/lib/zmqrpc/keys"),
// or empty (next to the file) when it is unset.
std::filesystem::path default_state_dir(const char* state_directory);

struct ControlOptions {
    std::string endpoint;       // REP endpoint to bind
    zmqrpc::Security security;  // what control clients must present (none only when insecure)
    std::string file;           // the topology file the runner was started with (for status)
    std::filesystem::path deployed_file;
};

class RunnerControl {
  public:
    // Binds and starts serving; throws Failure{kCannotStart} when the endpoint cannot be bound.
    RunnerControl(zmqrpc::Runtime& runtime, ControlOptions options);
    ~RunnerControl();  // stops serving
    RunnerControl(const RunnerControl&) = delete;
    RunnerControl& operator=(const RunnerControl&) = delete;

    std::string endpoint() const;  // as bound

  private:
    struct State;
    std::shared_ptr<State> state_;
    std::unique_ptr<zmqrpc::RpcServer> server_;
};

}  // namespace cli
