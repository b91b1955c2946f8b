// The status table of `zmqrpc run`: one aligned row per node of a runtime snapshot (state, rates,
// queue fill, heartbeat health of its incoming links), then the links that need a human's eye.
// Pure functions of a snapshot and its topology, so that they can be tested without a runtime;
// no CLI11 and no terminal here.
#pragma once

#include <zmqrpc/runtime.hpp>
#include <zmqrpc/topology.hpp>

#include <string>

namespace cli {

// Messages per second for a table cell: "0.0", "12.5", "950.0", "12.3k", "4.1M".
std::string format_rate(double per_second);

// The table, ending with a newline:
//
//   host site, 2026-11-25T12:00:01.123: 4 running, 1 failed, 2 remote
//   NODE          KIND     HOST   STATE           IN/s  OUT/s  QUEUE     LINKS
//   sampler-1     sampler  site   running          0.0    5.0  -         -
//   site-proxy    sub2req  site   running         15.0   15.0  0/100000  3 alive
//   cloud-tap     tap      cloud  remote(cloud)      -      -  -         -
//   links:
//     to-cloud  site-proxy.req -> cloud-bridge.rep  tcp://10.0.0.2:5610: credentials refused
//
// STATE is the node state, "failed: REASON" (shortened to about 50 characters) for a failed node
// and "remote(HOST)" for a node another runner runs. LINKS counts the heartbeat health of the
// PUB->SUB links a node subscribes to ("2 alive, 1 DEAD"; "waiting": supervised, nothing heard
// yet; "-" when none is supervised); for an
// external node it is what its links see. A "failed:" section follows with the whole reason of
// each failed node whose reason the table had to shorten. The "links:" section is left out when
// every link is fine; it lists links whose heartbeat is late or dead, whose handshake failed
// (credentials refused, protocol mismatch) or whose connect is being retried.
std::string format_status_table(const zmqrpc::RuntimeSnapshot& snapshot,
                                const zmqrpc::Topology& topology);

}  // namespace cli
