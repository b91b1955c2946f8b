// Everything of libzmqrpc in one include.
#pragma once

#include "zmqrpc/context.hpp"
#include "zmqrpc/credentials.hpp"
#include "zmqrpc/diagnostics.hpp"
#include "zmqrpc/endpoint.hpp"
#include "zmqrpc/errors.hpp"
#include "zmqrpc/events.hpp"
#include "zmqrpc/metrics.hpp"
#include "zmqrpc/options.hpp"
#include "zmqrpc/protocol.hpp"
#include "zmqrpc/proxy.hpp"
#include "zmqrpc/receiver.hpp"
#include "zmqrpc/rpc_client.hpp"
#include "zmqrpc/rpc_server.hpp"
#include "zmqrpc/sender.hpp"
#include "zmqrpc/stop_token.hpp"
#include "zmqrpc/version.hpp"
