#include "scene/scene_style.hpp"

namespace studio::style {

namespace {
QFont makeFont(const char* family, double points, int weight) {
    QFont f(QString::fromLatin1(family));
    f.setPointSizeF(points);
    f.setWeight(static_cast<QFont::Weight>(weight));
    f.setHintingPreference(QFont::PreferNoHinting);
    return f;
}
}  // namespace

const QFont& headerFont() {
    static const QFont f = makeFont("DejaVu Sans", 7.5, QFont::DemiBold);
    return f;
}
const QFont& titleFont() {
    static const QFont f = makeFont("DejaVu Sans", 9.5, QFont::Bold);
    return f;
}
const QFont& smallFont() {
    static const QFont f = makeFont("DejaVu Sans", 7.5, QFont::Normal);
    return f;
}
const QFont& monoFont() {
    static const QFont f = makeFont("DejaVu Sans Mono", 7.5, QFont::Normal);
    return f;
}
const QFont& portFont() {
    static const QFont f = makeFont("DejaVu Sans", 7, QFont::Bold);
    return f;
}

}  // namespace studio::style
