#include "status_table.hpp"

#include "printable.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <map>
#include <sstream>
#include <vector>

namespace cli {

namespace {

constexpr std::size_t kReasonWidth = 50;

// Shortens `text` to about `width` characters on a UTF-8 boundary, marking the cut with "...".
std::string shorten(const std::string& text, std::size_t width) {
    std::string line = text.substr(0, text.find('\n'));
    if (line.size() <= width) return line;
    std::size_t cut = width - 3;
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80)
        --cut;
    return line.substr(0, cut) + "...";
}

// Display width of a UTF-8 string (code points; good enough for ids and reasons).
std::size_t width_of(const std::string& text) {
    std::size_t n = 0;
    for (char c : text) {
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
    }
    return n;
}

std::string local_time(std::chrono::system_clock::time_point t) {
    auto secs = std::chrono::system_clock::to_time_t(t);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
    if (ms < 0) ms += 1000;
    std::tm tm{};
    localtime_r(&secs, &tm);
    std::ostringstream out;
    out << std::put_time(&tm, "%Y-%m-%dT%H:%M:%S") << '.' << std::setw(3) << std::setfill('0')
        << ms;
    return out.str();
}

std::string seconds_text(std::chrono::milliseconds ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms.count()) / 1000.0);
    return buf;
}

// Whether `port` of `node` is a SUB input.
bool is_sub_port(const zmqrpc::Node& node, const std::string& port) {
    for (const auto& p : zmqrpc::port_specs(node.kind, node.properties)) {
        if (p.name == port) return p.socket == zmqrpc::SocketType::Sub;
    }
    return false;
}

// "2 alive, 1 DEAD" over the SUB links `node` subscribes to here; "-" when none is supervised.
std::string links_cell(const zmqrpc::RuntimeSnapshot& snapshot, const zmqrpc::Topology& topology,
                       const zmqrpc::Node& node) {
    int alive = 0, waiting = 0, late = 0, dead = 0, unmonitored = 0;
    for (const auto& link : topology.links()) {
        if (link.to.node != node.id || !is_sub_port(node, link.to.port)) continue;
        const auto* status = snapshot.link(link.id);
        if (!status || !status->active) continue;
        switch (status->heartbeat) {
            case zmqrpc::HeartbeatState::Alive:
                // Within its timeout, but nothing heard yet: not proven alive.
                ++(status->ever_heard ? alive : waiting);
                break;
            case zmqrpc::HeartbeatState::Late:
                ++late;
                break;
            case zmqrpc::HeartbeatState::Dead:
                ++dead;
                break;
            case zmqrpc::HeartbeatState::Unmonitored:
                ++unmonitored;
                break;
        }
    }
    if (alive + waiting + late + dead == 0) return "-";
    std::string out;
    auto add = [&out](int n, const char* what) {
        if (n == 0) return;
        out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + what;
    };
    add(alive, "alive");
    add(waiting, "waiting");
    add(late, "late");
    add(dead, "DEAD");
    add(unmonitored, "unmonitored");
    return out;
}

// What is wrong with a link, or empty when nothing is worth showing.
std::string link_trouble(const zmqrpc::LinkStatus& status) {
    if (!status.active) return {};
    std::string trouble;
    switch (status.heartbeat) {
        case zmqrpc::HeartbeatState::Late:
            trouble = "heartbeat late (silent " + seconds_text(status.last_message_age) + " of " +
                      seconds_text(status.heartbeat_timeout) + ")";
            break;
        case zmqrpc::HeartbeatState::Dead:
            trouble = "heartbeat DEAD (silent " + seconds_text(status.last_message_age) +
                      (status.ever_heard ? "" : ", never heard") + ", socket recreated " +
                      std::to_string(status.recreates) + "x)";
            break;
        default:
            break;
    }
    std::string connection;
    switch (status.connection) {
        case zmqrpc::ConnectionState::CredentialsRefused:
            connection = "credentials refused";
            break;
        case zmqrpc::ConnectionState::HandshakeFailed:
            connection = "handshake failed";
            break;
        case zmqrpc::ConnectionState::Connecting: {
            const std::uint64_t retries = status.connect_retries;
            if (retries > 0) {
                connection = "connecting, " + std::to_string(retries) + " retr" +
                             (retries == 1 ? "y" : "ies") + " (nothing listens?)";
            }
            break;
        }
        default:
            break;
    }
    if (!connection.empty()) trouble += (trouble.empty() ? "" : "; ") + connection;
    return trouble;
}

struct Row {
    std::vector<std::string> cells;
};

}  // namespace

std::string format_rate(double per_second) {
    if (!(per_second >= 0)) per_second = 0;
    char buf[32];
    if (per_second < 999.95) {
        std::snprintf(buf, sizeof buf, "%.1f", per_second);
    } else if (per_second < 999950.0) {
        std::snprintf(buf, sizeof buf, "%.1fk", per_second / 1000.0);
    } else {
        std::snprintf(buf, sizeof buf, "%.1fM", per_second / 1000000.0);
    }
    return buf;
}

std::string format_status_table(const zmqrpc::RuntimeSnapshot& snapshot,
                                const zmqrpc::Topology& topology) {
    // Columns: NODE KIND HOST STATE IN/s OUT/s QUEUE LINKS; IN/s and OUT/s right-aligned.
    const std::vector<std::string> header = {"NODE", "KIND",  "HOST",  "STATE",
                                             "IN/s", "OUT/s", "QUEUE", "LINKS"};
    const std::vector<bool> right = {false, false, false, false, true, true, false, false};
    std::vector<Row> rows;
    // How many nodes are in each state, for the summary line.
    std::map<zmqrpc::NodeState, int> states;
    for (const auto& status : snapshot.nodes) {
        const zmqrpc::Node* node = topology.find_node(status.id);
        const bool is_running = status.state == zmqrpc::NodeState::Running;
        std::string state = zmqrpc::to_string(status.state);
        ++states[status.state];
        switch (status.state) {
            case zmqrpc::NodeState::Failed:
            case zmqrpc::NodeState::Waiting:
            case zmqrpc::NodeState::Unknown:
                if (!status.reason.empty())
                    state = shorten(state + ": " + printable(status.reason), kReasonWidth);
                break;
            case zmqrpc::NodeState::Remote:
                state = "remote(" + printable(status.host) + ")";
                break;
            default:
                break;
        }
        std::string queue = "-";
        if (is_running && status.metrics.has_queue) {
            queue = std::to_string(status.metrics.queue.fill) + "/" +
                    std::to_string(status.metrics.queue.capacity);
        }
        std::string links = "-";
        if (status.state == zmqrpc::NodeState::External) {
            links = status.reason.empty() ? "-" : shorten(printable(status.reason), kReasonWidth);
        } else if (is_running && node) {
            links = links_cell(snapshot, topology, *node);
        }
        rows.push_back({{status.id, zmqrpc::to_string(status.kind),
                         status.host.empty() ? "-" : printable(status.host), state,
                         is_running ? format_rate(status.rate_in) : "-",
                         is_running ? format_rate(status.rate_out) : "-", queue, links}});
    }

    std::vector<std::size_t> widths(header.size());
    for (std::size_t c = 0; c < header.size(); ++c)
        widths[c] = width_of(header[c]);
    for (const auto& row : rows) {
        for (std::size_t c = 0; c < header.size(); ++c)
            widths[c] = std::max(widths[c], width_of(row.cells[c]));
    }
    auto line = [&](const std::vector<std::string>& cells) {
        std::string out;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            const std::size_t pad = widths[c] - width_of(cells[c]);
            const bool last = c + 1 == cells.size();
            if (right[c]) out += std::string(pad, ' ');
            out += cells[c];
            if (!right[c] && !last) out += std::string(pad, ' ');
            if (!last) out += "  ";
        }
        while (!out.empty() && out.back() == ' ')
            out.pop_back();
        return out + "\n";
    };

    std::ostringstream out;
    out << (snapshot.host.empty() ? std::string("all hosts") : "host " + printable(snapshot.host))
        << ", " << local_time(snapshot.time) << ": " << states[zmqrpc::NodeState::Running]
        << " running";
    for (const auto& [state, count] : states) {
        if (state != zmqrpc::NodeState::Running && count > 0)
            out << ", " << count << " " << zmqrpc::to_string(state);
    }
    out << "\n" << line(header);
    for (const auto& row : rows)
        out << line(row.cells);

    // The table shortens reasons; the whole of each is worth reading.
    for (auto which : {zmqrpc::NodeState::Failed, zmqrpc::NodeState::Waiting}) {
        const std::string name = zmqrpc::to_string(which);
        std::vector<std::string> reasons;
        for (const auto& status : snapshot.nodes) {
            if (status.state == which && !status.reason.empty() &&
                status.reason.size() + name.size() + 2 > kReasonWidth) {
                reasons.push_back("  " + status.id + ": " + printable(status.reason) + "\n");
            }
        }
        if (reasons.empty()) continue;
        out << name << ":\n";
        for (const auto& r : reasons)
            out << r;
    }

    std::vector<std::string> troubles;
    for (const auto& status : snapshot.links) {
        const zmqrpc::Link* link = topology.find_link(status.id);
        std::string trouble = link_trouble(status);
        if (trouble.empty()) continue;
        std::string text = "  " + status.id;
        if (link) text += "  " + link->from.str() + " -> " + link->to.str();
        if (!status.endpoint.empty()) text += "  " + printable(status.endpoint);
        troubles.push_back(text + ": " + trouble + "\n");
    }
    if (!troubles.empty()) {
        out << "links:\n";
        for (const auto& t : troubles)
            out << t;
    }
    return out.str();
}

}  // namespace cli
