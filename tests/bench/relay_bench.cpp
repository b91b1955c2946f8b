// relay_bench: the test relay of issue 13 (tests/support/tcp_relay.hpp) measured against a direct
// connection, in one run, so that figures taken through it are the link's and not the relay's;
// then the relay with a one-way delay of 10 ms and 50 ms. A program, not a test: it asserts
// nothing about timing. Raw libzmq only (cppzmq), 100-byte messages:
//
//   round trip     REQ -> REP echo, one request at a time: median and p99
//   stream         PUSH -> PULL, as fast as the PUSH can send (libzmq's HWMs pace it): msg/s
//   pipelined      DEALER -> REP echo, [""; payload] envelopes, at most `window` (1000) requests
//                  in flight: req/s. Across a delay this is window / round trip at best.
//
//   relay_bench            the full run (about 10 s on 2 cores)
//   relay_bench --quick    small counts, a few seconds (what the CTest smoke check runs)
//
// At 0 ms, direct and relayed runs alternate (round trips call by call, throughput round by
// round) so that load from elsewhere hits both alike; ratios are relayed / direct. Clients and
// servers have a libzmq context each (one I/O thread each, libzmq's default), as two processes
// would. Everything binds to tcp://127.0.0.1:* and reads the endpoint back; every loop is bounded
// in count and in time. The measuring functions (round_trips, stream, pipelined) take an
// endpoint, so that later issue-13 rows can run them over any link.
#include "bench_util.hpp"

#include "tcp_relay.hpp"

#include <zmq.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using bench::bound_endpoint;
using bench::fmt;
using bench::grouped;
using bench::process_cpu_seconds;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testutil::TcpRelay;

constexpr std::size_t kMessageBytes = 100;
constexpr std::size_t kWindow = 1000;

struct Sizes {
    int rtt_samples;           // round trips at 0 ms, direct and relayed each
    int rtt_warmup;            // not recorded
    int rtt_delayed_samples;   // round trips at 10 ms (and a third of it at 50 ms)
    int stream_messages;       // per stream round
    int stream_rounds;         // at 0 ms, alternating; median reported
    int pipelined_requests;    // per pipelined round at 0 ms
    int pipelined_windows_10;  // pipelined requests at 10 ms, in windows
    int pipelined_windows_50;  // ... at 50 ms
};

constexpr Sizes kFull{3000, 300, 30, 500000, 3, 200000, 40, 20};
constexpr Sizes kQuick{300, 50, 6, 50000, 1, 20000, 4, 2};

struct Percentiles {
    std::size_t n = 0;
    double median = 0, p99 = 0, min = 0;
};

Percentiles percentiles(std::vector<double> v) {
    Percentiles p;
    p.n = v.size();
    if (v.empty()) return p;
    std::sort(v.begin(), v.end());
    p.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    auto rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(v.size())));
    p.p99 = v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
    p.min = v.front();
    return p;
}

double median(std::vector<double> v) {
    return percentiles(std::move(v)).median;
}

// ---------------------------------------------------------------------------------------------
// Servers, each on its own thread and context

// REP echoing every request; serves REQ (round trips) and DEALER (pipelined) clients alike.
class RepEcho {
  public:
    RepEcho() : rep_(context_, zmq::socket_type::rep) {
        rep_.set(zmq::sockopt::linger, 0);
        // A REP drops a reply it cannot queue (HWM reached): far above any window used here.
        rep_.set(zmq::sockopt::sndhwm, 100000);
        rep_.set(zmq::sockopt::rcvhwm, 100000);
        rep_.set(zmq::sockopt::rcvtimeo, 50);
        rep_.bind("tcp://127.0.0.1:*");
        endpoint_ = bound_endpoint(rep_);
        thread_ = std::thread([this] {
            zmq::message_t message;
            while (!stop_.load(std::memory_order_relaxed)) {
                if (!rep_.recv(message, zmq::recv_flags::none)) continue;
                (void)rep_.send(message, zmq::send_flags::none);
            }
        });
    }
    ~RepEcho() {
        stop_ = true;
        thread_.join();
    }
    const std::string& endpoint() const { return endpoint_; }

  private:
    zmq::context_t context_;
    zmq::socket_t rep_;
    std::string endpoint_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// PULL counting what arrives.
class PullSink {
  public:
    PullSink() : pull_(context_, zmq::socket_type::pull) {
        pull_.set(zmq::sockopt::linger, 0);
        pull_.set(zmq::sockopt::rcvtimeo, 50);
        pull_.bind("tcp://127.0.0.1:*");
        endpoint_ = bound_endpoint(pull_);
        thread_ = std::thread([this] {
            zmq::message_t message;
            while (!stop_.load(std::memory_order_relaxed)) {
                if (!pull_.recv(message, zmq::recv_flags::none)) continue;
                received.fetch_add(1, std::memory_order_release);
            }
        });
    }
    ~PullSink() {
        stop_ = true;
        thread_.join();
    }
    const std::string& endpoint() const { return endpoint_; }
    std::atomic<std::uint64_t> received{0};

  private:
    zmq::context_t context_;
    zmq::socket_t pull_;
    std::string endpoint_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// Measurements over any endpoint (direct, or a relay's)

// A REQ connected to `endpoint`, with one round trip done (connected and warm).
zmq::socket_t connected_req(zmq::context_t& context, const std::string& endpoint) {
    zmq::socket_t req(context, zmq::socket_type::req);
    req.set(zmq::sockopt::linger, 0);
    req.set(zmq::sockopt::rcvtimeo, 10000);
    req.set(zmq::sockopt::sndtimeo, 10000);
    req.connect(endpoint);
    return req;
}

// One round trip, in microseconds.
double round_trip_us(zmq::socket_t& req, const std::string& payload) {
    zmq::message_t reply;
    const auto t0 = Clock::now();
    if (!req.send(zmq::buffer(payload), zmq::send_flags::none))
        throw std::runtime_error("REQ send timed out");
    if (!req.recv(reply, zmq::recv_flags::none)) throw std::runtime_error("REQ reply timed out");
    const auto t1 = Clock::now();
    if (reply.size() != payload.size()) throw std::runtime_error("echo of another size");
    return std::chrono::duration<double, std::micro>(t1 - t0).count();
}

// `samples` round trips on each of `a` and `b`, alternating call by call (and which goes first).
void alternate_round_trips(zmq::socket_t& a, zmq::socket_t& b, int warmup, int samples,
                           std::vector<double>& a_us, std::vector<double>& b_us) {
    const std::string payload(kMessageBytes, 'r');
    for (int i = 0; i < warmup + samples; ++i) {
        double ta = 0, tb = 0;
        if (i % 2) {
            ta = round_trip_us(a, payload);
            tb = round_trip_us(b, payload);
        } else {
            tb = round_trip_us(b, payload);
            ta = round_trip_us(a, payload);
        }
        if (i < warmup) continue;
        a_us.push_back(ta);
        b_us.push_back(tb);
    }
}

std::vector<double> round_trips(zmq::context_t& context, const std::string& endpoint, int warmup,
                                int samples) {
    zmq::socket_t req = connected_req(context, endpoint);
    const std::string payload(kMessageBytes, 'r');
    std::vector<double> us;
    for (int i = 0; i < warmup + samples; ++i) {
        double t = round_trip_us(req, payload);
        if (i >= warmup) us.push_back(t);
    }
    return us;
}

struct Rate {
    std::uint64_t messages = 0;
    double seconds = 0;
    double cpu_seconds = 0;
    double per_second() const { return seconds > 0 ? static_cast<double>(messages) / seconds : 0; }
    double cpu_us_per_message() const {
        return messages ? cpu_seconds * 1e6 / static_cast<double>(messages) : 0;
    }
};

// PUSH -> `endpoint` (which leads to `sink`): `messages` of 100 B as fast as the PUSH takes them;
// the clock runs from the first send until the sink counted the last one.
Rate stream(zmq::context_t& context, const std::string& endpoint, PullSink& sink, int messages) {
    zmq::socket_t push(context, zmq::socket_type::push);
    push.set(zmq::sockopt::linger, 0);
    push.set(zmq::sockopt::sndtimeo, 10000);
    push.connect(endpoint);
    const std::string payload(kMessageBytes, 's');
    // One message through first: connected, and the sink counts from here.
    const std::uint64_t before = sink.received.load(std::memory_order_acquire);
    if (!push.send(zmq::buffer(payload), zmq::send_flags::none))
        throw std::runtime_error("PUSH send timed out");
    const auto connect_deadline = Clock::now() + 10s;
    while (sink.received.load(std::memory_order_acquire) == before) {
        if (Clock::now() > connect_deadline)
            throw std::runtime_error("PUSH never reached the sink");
        std::this_thread::sleep_for(100us);
    }
    const std::uint64_t base = before + 1;
    const auto n = static_cast<std::uint64_t>(messages);
    Rate r;
    const double cpu0 = process_cpu_seconds();
    const auto t0 = Clock::now();
    for (std::uint64_t i = 0; i < n; ++i) {
        if (!push.send(zmq::buffer(payload), zmq::send_flags::none))
            throw std::runtime_error("PUSH send timed out");
    }
    const auto deadline = Clock::now() + 30s;
    while (sink.received.load(std::memory_order_acquire) - base < n) {
        if (Clock::now() > deadline) throw std::runtime_error("the sink did not count everything");
        std::this_thread::sleep_for(20us);
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    r.cpu_seconds = process_cpu_seconds() - cpu0;
    r.messages = n;
    return r;
}

// DEALER -> `endpoint` (a REP echo): `requests` of 100 B, at most `window` in flight; the clock
// runs from the first send until the last reply.
Rate pipelined(zmq::context_t& context, const std::string& endpoint, std::size_t window,
               int requests) {
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::sndhwm, static_cast<int>(window + 10));
    dealer.set(zmq::sockopt::rcvhwm, static_cast<int>(window + 10));
    dealer.set(zmq::sockopt::rcvtimeo, 10000);
    dealer.connect(endpoint);
    const std::string payload(kMessageBytes, 'd');
    auto send_one = [&](zmq::send_flags flags) {
        if (!dealer.send(zmq::message_t(), flags | zmq::send_flags::sndmore)) return false;
        // The delimiter is queued: the payload goes with it (a multipart message is atomic).
        (void)dealer.send(zmq::buffer(payload), zmq::send_flags::none);
        return true;
    };
    auto receive_one = [&](zmq::recv_flags flags) {
        zmq::message_t delimiter, body;
        if (!dealer.recv(delimiter, flags)) return false;
        if (!delimiter.more() || !dealer.recv(body, zmq::recv_flags::none) ||
            body.size() != payload.size())
            throw std::runtime_error("DEALER: unexpected reply");
        return true;
    };
    // One request through first: connected.
    send_one(zmq::send_flags::none);
    if (!receive_one(zmq::recv_flags::none)) throw std::runtime_error("DEALER: no first reply");

    const auto n = static_cast<std::uint64_t>(requests);
    std::uint64_t sent = 0, received = 0;
    Rate r;
    const double cpu0 = process_cpu_seconds();
    const auto t0 = Clock::now();
    const auto deadline = t0 + 60s;
    while (received < n) {
        while (sent < n && sent - received < window && send_one(zmq::send_flags::dontwait))
            ++sent;
        zmq::pollitem_t item{dealer.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, 100ms);
        while (receive_one(zmq::recv_flags::dontwait))
            ++received;
        if (Clock::now() > deadline) throw std::runtime_error("DEALER: replies missing");
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    r.cpu_seconds = process_cpu_seconds() - cpu0;
    r.messages = n;
    return r;
}

// ---------------------------------------------------------------------------------------------
// Rows

struct Row {
    std::string id, name, direct, relayed, ratio, note;
    bool measured = false;
};

std::string rate_cell(const std::vector<Rate>& runs) {
    std::vector<double> rates, cpu;
    for (const auto& r : runs) {
        rates.push_back(r.per_second());
        cpu.push_back(r.cpu_us_per_message());
    }
    return grouped(median(rates)) + " (CPU " + fmt(median(cpu), 2) + " us/msg)";
}

double median_rate(const std::vector<Rate>& runs) {
    std::vector<double> rates;
    for (const auto& r : runs)
        rates.push_back(r.per_second());
    return median(rates);
}

void print_table(const std::vector<Row>& rows) {
    const std::vector<std::string> head{"#", "measurement", "direct", "through the relay",
                                        "relay/direct or model"};
    auto cells = [](const Row& r) {
        return std::vector<std::string>{r.id, r.name, r.direct, r.relayed, r.ratio};
    };
    std::vector<std::vector<std::string>> body;
    for (const auto& r : rows)
        body.push_back(cells(r));
    bench::print_markdown_table(head, body);
    std::cout << "\nnotes:\n";
    for (const auto& r : rows)
        if (!r.note.empty()) std::cout << "  " << r.id << ": " << r.note << "\n";
}

struct Baseline {
    double direct_rtt_us = 0;      // median, 0 ms
    double relayed_rtt_us = 0;     // median, through the relay at 0 ms
    double relayed_stream = 0;     // msg/s through the relay at 0 ms
    double relayed_pipelined = 0;  // req/s through the relay at 0 ms
};

void measure_no_delay(const Sizes& z, zmq::context_t& context, RepEcho& echo, PullSink& sink,
                      std::vector<Row>& rows, Baseline& base) {
    {
        TcpRelay relay(echo.endpoint());
        zmq::socket_t direct = connected_req(context, echo.endpoint());
        zmq::socket_t relayed = connected_req(context, relay.endpoint());
        std::vector<double> d_us, r_us;
        alternate_round_trips(direct, relayed, z.rtt_warmup, z.rtt_samples, d_us, r_us);
        auto d = percentiles(d_us), r = percentiles(r_us);
        base.direct_rtt_us = d.median;
        base.relayed_rtt_us = r.median;
        Row row;
        row.id = "0.1";
        row.name = "REQ/REP round trip, us (median / p99)";
        row.direct = fmt(d.median, 1) + " / " + fmt(d.p99, 1);
        row.relayed = fmt(r.median, 1) + " / " + fmt(r.p99, 1);
        row.ratio = fmt(r.median / d.median, 2) + " (+" + fmt(r.median - d.median, 1) + " us)";
        row.note = std::to_string(z.rtt_samples) +
                   " round trips each, direct and relayed alternating call by call; the relay "
                   "adds two loopback hops and its thread's wake-ups";
        row.measured = true;
        rows.push_back(row);
    }
    {
        TcpRelay relay(sink.endpoint());
        std::vector<Rate> d_runs, r_runs;
        for (int round = 0; round < z.stream_rounds; ++round) {
            if (round % 2) {
                r_runs.push_back(stream(context, relay.endpoint(), sink, z.stream_messages));
                d_runs.push_back(stream(context, sink.endpoint(), sink, z.stream_messages));
            } else {
                d_runs.push_back(stream(context, sink.endpoint(), sink, z.stream_messages));
                r_runs.push_back(stream(context, relay.endpoint(), sink, z.stream_messages));
            }
        }
        base.relayed_stream = median_rate(r_runs);
        Row row;
        row.id = "0.2";
        row.name = "PUSH -> PULL stream, 100 B, msg/s";
        row.direct = rate_cell(d_runs);
        row.relayed = rate_cell(r_runs);
        row.ratio = fmt(median_rate(r_runs) / median_rate(d_runs), 2);
        row.note = std::to_string(z.stream_messages) + " messages, " +
                   std::to_string(z.stream_rounds) +
                   " round(s) each, alternating, median; CPU: the whole process (both ends, their "
                   "I/O threads, the relay) per message";
        row.measured = true;
        rows.push_back(row);
    }
    {
        TcpRelay relay(echo.endpoint());
        std::vector<Rate> d_runs, r_runs;
        for (int round = 0; round < z.stream_rounds; ++round) {
            if (round % 2) {
                r_runs.push_back(
                    pipelined(context, relay.endpoint(), kWindow, z.pipelined_requests));
                d_runs.push_back(
                    pipelined(context, echo.endpoint(), kWindow, z.pipelined_requests));
            } else {
                d_runs.push_back(
                    pipelined(context, echo.endpoint(), kWindow, z.pipelined_requests));
                r_runs.push_back(
                    pipelined(context, relay.endpoint(), kWindow, z.pipelined_requests));
            }
        }
        base.relayed_pipelined = median_rate(r_runs);
        Row row;
        row.id = "0.3";
        row.name = "DEALER -> REP pipelined, window 1000, 100 B, req/s";
        row.direct = rate_cell(d_runs);
        row.relayed = rate_cell(r_runs);
        row.ratio = fmt(median_rate(r_runs) / median_rate(d_runs), 2);
        row.note = std::to_string(z.pipelined_requests) +
                   " requests per round, alternating, median; the REP echoes one at a time";
        row.measured = true;
        rows.push_back(row);
    }
}

void measure_delayed(int delay_ms, int rtt_samples, int windows, const Sizes& z,
                     zmq::context_t& context, RepEcho& echo, PullSink& sink, const Baseline& base,
                     std::vector<Row>& rows) {
    const std::string prefix = std::to_string(delay_ms) + ".";
    const auto delay = std::chrono::milliseconds(delay_ms);
    {
        TcpRelay relay(echo.endpoint(), {.delay_up = delay, .delay_down = delay});
        auto r = percentiles(round_trips(context, relay.endpoint(), 1, rtt_samples));
        const double model_ms = 2.0 * delay_ms + base.relayed_rtt_us / 1000;
        Row row;
        row.id = prefix + "1";
        row.name =
            "REQ/REP round trip at " + std::to_string(delay_ms) + " ms one way, ms (median / min)";
        row.direct = fmt(base.direct_rtt_us / 1000, 3);
        row.relayed = fmt(r.median / 1000, 2) + " / " + fmt(r.min / 1000, 2);
        row.ratio = "2 x " + std::to_string(delay_ms) + " + " + fmt(base.relayed_rtt_us / 1000, 3) +
                    " = " + fmt(model_ms, 2) + " ms";
        row.note = std::to_string(rtt_samples) +
                   " round trips; model: twice the one-way delay plus the relayed round trip at "
                   "0 ms (row 0.1). A delayed chunk is written when the relay thread wakes at its "
                   "time: never early, late by the machine's timer wake-up (0.1-0.2 ms on a small "
                   "VM), on each way";
        row.measured = true;
        rows.push_back(row);
    }
    {
        TcpRelay relay(sink.endpoint(), {.delay_up = delay, .delay_down = delay});
        std::vector<Rate> runs{stream(context, relay.endpoint(), sink, z.stream_messages)};
        Row row;
        row.id = prefix + "2";
        row.name = "PUSH -> PULL stream at " + std::to_string(delay_ms) + " ms, msg/s";
        row.direct = "-";
        row.relayed = rate_cell(runs);
        const double run_s = static_cast<double>(z.stream_messages) / base.relayed_stream;
        const double model = static_cast<double>(z.stream_messages) / (run_s + delay_ms / 1000.0);
        row.ratio = "~" + grouped(model) + " (row 0.2 + one delay)";
        row.note = std::to_string(z.stream_messages) +
                   " messages; a stream pays the delay once (the first message's), not per "
                   "message";
        row.measured = true;
        rows.push_back(row);
    }
    {
        TcpRelay relay(echo.endpoint(), {.delay_up = delay, .delay_down = delay});
        const int requests = windows * static_cast<int>(kWindow);
        std::vector<Rate> runs{pipelined(context, relay.endpoint(), kWindow, requests)};
        const double rtt_s = (2.0 * delay_ms) / 1000 + base.relayed_rtt_us / 1e6;
        const double model = std::min(base.relayed_pipelined, static_cast<double>(kWindow) / rtt_s);
        Row row;
        row.id = prefix + "3";
        row.name =
            "DEALER -> REP pipelined at " + std::to_string(delay_ms) + " ms, window 1000, req/s";
        row.direct = "-";
        row.relayed = rate_cell(runs);
        row.ratio = "<= " + grouped(model) + " (window / round trip)";
        row.note = std::to_string(requests) +
                   " requests; bound: min(row 0.3, 1000 in flight per round trip)";
        row.measured = true;
        rows.push_back(row);
    }
}

}  // namespace

int main(int argc, char** argv) {
    bool quick = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--quick") {
            quick = true;
        } else if (a == "--help" || a == "-h") {
            std::cout << "usage: relay_bench [--quick]\n";
            return 0;
        } else {
            std::cerr << "usage: relay_bench [--quick]\n";
            return 64;
        }
    }
    const Sizes& z = quick ? kQuick : kFull;
    int major = 0, minor = 0, patch = 0;
    zmq_version(&major, &minor, &patch);
    std::cout << "relay_bench: libzmq " << major << "." << minor << "." << patch << ", "
              << std::thread::hardware_concurrency() << " cores, mode "
              << (quick ? "quick" : "full") << "\n"
              << std::flush;
    const auto started = Clock::now();

    std::vector<Row> rows;
    std::size_t expected = 9;
    auto attempt = [&](const std::string& what, const std::function<void()>& body) {
        std::cerr << "running " << what << " ..." << std::endl;
        try {
            body();
        } catch (const std::exception& e) {
            Row row;
            row.id = what;
            row.name = "failed";
            row.direct = row.relayed = row.ratio = "-";
            row.note = std::string("failed: ") + e.what();
            rows.push_back(row);
        }
    };
    {
        zmq::context_t context;  // the clients'; the servers have their own
        RepEcho echo;
        PullSink sink;
        Baseline base;
        attempt("0 ms", [&] { measure_no_delay(z, context, echo, sink, rows, base); });
        attempt("10 ms", [&] {
            measure_delayed(10, z.rtt_delayed_samples, z.pipelined_windows_10, z, context, echo,
                            sink, base, rows);
        });
        attempt("50 ms", [&] {
            measure_delayed(50, std::max(2, z.rtt_delayed_samples / 3), z.pipelined_windows_50, z,
                            context, echo, sink, base, rows);
        });
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    std::cout << "time: " << fmt(seconds, 1) << " s\n\n";
    print_table(rows);
    const auto measured = static_cast<std::size_t>(
        std::count_if(rows.begin(), rows.end(), [](const Row& r) { return r.measured; }));
    std::cerr << "relay bench complete: " << measured << "/" << expected << " rows measured\n";
    return measured == expected ? 0 : 1;
}
