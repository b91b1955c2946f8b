// studio_bench: how zmqrpc Studio copes with a large topology (issue 5): a 1000-node document is
// written to a file, loaded, drawn, fitted, and panned at 1:1 and fitted zoom; the times are
// printed. A program, not a test: nothing here asserts timing.
//
//   studio_bench [--nodes N] [--frames N]      (runs offscreen when no display is set)
#include "document/editor_document.hpp"
#include "scene/graph_scene.hpp"
#include "scene/graph_view.hpp"

#include <QApplication>
#include <QElapsedTimer>
#include <QScrollBar>
#include <QTemporaryDir>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

// Chains of sampler -> sub2pub -> tap, in rows, with fixed distinct ports: what a big site with
// many sensors looks like.
zmqrpc::Topology bigTopology(int nodes) {
    zmqrpc::Topology t;
    t.set_name("benchmark");
    const int chains = std::max(1, nodes / 3);
    for (int i = 0; i < chains; ++i) {
        const double y = 180.0 * i;
        const std::string n = std::to_string(i);
        zmqrpc::Node s;
        s.id = "sampler-" + n;
        s.kind = zmqrpc::NodeKind::Sampler;
        s.position = {0, y};
        s.properties = {{"bind", "tcp://*:" + std::to_string(10000 + 2 * i)}};
        zmqrpc::Node p;
        p.id = "proxy-" + n;
        p.kind = zmqrpc::NodeKind::Sub2Pub;
        p.position = {320, y};
        p.properties = {{"pub_bind", "tcp://*:" + std::to_string(10001 + 2 * i)}};
        zmqrpc::Node tap;
        tap.id = "tap-" + n;
        tap.kind = zmqrpc::NodeKind::Tap;
        tap.position = {640, y};
        t.add_node(s);
        t.add_node(p);
        t.add_node(tap);
        t.add_link({"in-" + n, {s.id, "pub"}, {p.id, "sub"}, 5});
        t.add_link({"out-" + n, {p.id, "pub"}, {tap.id, "sub"}, 0});
    }
    for (int i = 3 * chains; i < nodes; ++i) {  // the remainder: lone taps
        zmqrpc::Node tap;
        tap.id = "extra-tap-" + std::to_string(i);
        tap.kind = zmqrpc::NodeKind::Tap;
        tap.position = {960, 180.0 * (i - 3 * chains)};
        t.add_node(tap);
    }
    return t;
}

struct Frames {
    double mean = 0, max = 0;
};

// Scrolls the view in steps, repainting each time, and times the frames.
Frames pan(studio::GraphView& view, int frames) {
    std::vector<double> ms;
    QScrollBar* bar = view.verticalScrollBar();
    const int step = std::max(1, (bar->maximum() - bar->minimum()) / std::max(1, frames));
    bar->setValue(bar->minimum());
    for (int i = 0; i < frames; ++i) {
        QElapsedTimer t;
        t.start();
        bar->setValue(bar->minimum() + i * step);
        view.viewport()->repaint();
        QCoreApplication::processEvents();
        ms.push_back(static_cast<double>(t.nsecsElapsed()) / 1e6);
    }
    Frames f;
    for (double m : ms) {
        f.mean += m;
        f.max = std::max(f.max, m);
    }
    f.mean /= static_cast<double>(ms.size());
    return f;
}

}  // namespace

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    int nodes = 1000, frames = 100;
    for (int i = 1; i + 1 < argc; ++i) {
        if (!std::strcmp(argv[i], "--nodes")) nodes = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--frames")) frames = std::atoi(argv[i + 1]);
    }
    QApplication app(argc, argv);
    QTemporaryDir dir;
    const QString path = dir.filePath("big.json");
    zmqrpc::save_topology_file(bigTopology(nodes), path.toStdString());

    QElapsedTimer t;
    t.start();
    studio::EditorDocument doc;
    QString error;
    if (!doc.load(path, &error)) {
        std::fprintf(stderr, "studio_bench: %s\n", qPrintable(error));
        return 1;
    }
    const double loadMs = static_cast<double>(t.nsecsElapsed()) / 1e6;

    t.restart();
    studio::GraphScene scene(&doc, nullptr);
    studio::GraphView view(&scene);
    view.resize(1400, 900);
    view.show();
    QCoreApplication::processEvents();
    const double buildMs = static_cast<double>(t.nsecsElapsed()) / 1e6;

    t.restart();
    view.viewport()->repaint();
    const double firstPaintMs = static_cast<double>(t.nsecsElapsed()) / 1e6;

    view.resetZoom();
    const Frames near = pan(view, frames);
    t.restart();
    view.fitToView();
    view.viewport()->repaint();
    const double fitMs = static_cast<double>(t.nsecsElapsed()) / 1e6;
    const Frames far = pan(view, frames);
    const double validateMs = [&] {
        QElapsedTimer v;
        v.start();
        (void)zmqrpc::validate(doc.topology());
        return static_cast<double>(v.nsecsElapsed()) / 1e6;
    }();

    std::printf("studio_bench: %zu nodes, %zu links, view 1400x900 (%s)\n",
                doc.topology().nodes().size(), doc.topology().links().size(),
                qPrintable(QGuiApplication::platformName()));
    std::printf("  load file + validate      %8.1f ms\n", loadMs);
    std::printf("  build scene + show        %8.1f ms\n", buildMs);
    std::printf("  first paint               %8.1f ms\n", firstPaintMs);
    std::printf("  pan at 1:1, per frame     %8.2f ms mean, %.2f ms max (%d frames)\n", near.mean,
                near.max, frames);
    std::printf("  fit to view + paint       %8.1f ms\n", fitMs);
    std::printf("  pan fitted, per frame     %8.2f ms mean, %.2f ms max (%d frames)\n", far.mean,
                far.max, frames);
    std::printf("  validate                  %8.1f ms\n", validateMs);
    std::printf("studio bench complete\n");
    std::fflush(stdout);
    return 0;
}
