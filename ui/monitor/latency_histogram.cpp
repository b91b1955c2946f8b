#include "monitor/latency_histogram.hpp"

#include <QPainter>
#include <QPalette>

#include <algorithm>

namespace studio {

namespace {
QString msText(double ms) {
    return ms < 10 ? QStringLiteral("%1 ms").arg(ms, 0, 'f', 2)
                   : QStringLiteral("%1 ms").arg(ms, 0, 'f', ms < 100 ? 1 : 0);
}
}  // namespace

LatencyHistogram::LatencyHistogram(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("latencyHistogram"));
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

QSize LatencyHistogram::sizeHint() const {
    return {360, 140};
}
QSize LatencyHistogram::minimumSizeHint() const {
    return {160, 80};
}

void LatencyHistogram::setSamples(std::vector<double> ms) {
    buckets_.clear();
    min_ = max_ = 0;
    if (!ms.empty()) {
        const auto [lo, hi] = std::minmax_element(ms.begin(), ms.end());
        min_ = *lo;
        max_ = *hi;
        buckets_.assign(kBuckets, 0);
        const double width = (max_ - min_) / kBuckets;
        for (double v : ms) {
            int b = width > 0 ? static_cast<int>((v - min_) / width) : 0;
            buckets_[static_cast<std::size_t>(std::clamp(b, 0, kBuckets - 1))]++;
        }
    }
    update();
}

void LatencyHistogram::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing, false);
    const QPalette pal = palette();
    p.fillRect(rect(), pal.color(QPalette::Base));
    const QFontMetrics fm = fontMetrics();
    const int pad = 6;
    const QRect plot = rect().adjusted(pad, pad + fm.height(), -pad, -(pad + fm.height() + 2));
    QColor axis = pal.color(QPalette::Text);
    axis.setAlpha(110);
    p.setPen(axis);
    p.drawLine(plot.bottomLeft(), plot.bottomRight());

    if (buckets_.empty()) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter, tr("No latencies yet"));
        return;
    }
    const int tallest = *std::max_element(buckets_.begin(), buckets_.end());
    const double barW = static_cast<double>(plot.width()) / static_cast<double>(buckets_.size());
    QColor bar = pal.color(QPalette::Highlight);
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
        if (buckets_[i] == 0) continue;
        const double h = static_cast<double>(plot.height()) * buckets_[i] / tallest;
        const QRectF r(plot.left() + barW * static_cast<double>(i) + 1, plot.bottom() - h,
                       std::max(1.0, barW - 2), h);
        p.fillRect(r, bar);
    }
    p.setPen(pal.color(QPalette::Text));
    p.drawText(QRect(plot.left(), plot.bottom() + 2, plot.width(), fm.height()),
               Qt::AlignLeft | Qt::AlignTop, msText(min_));
    p.drawText(QRect(plot.left(), plot.bottom() + 2, plot.width(), fm.height()),
               Qt::AlignRight | Qt::AlignTop, msText(max_));
    p.drawText(QRect(plot.left(), plot.bottom() + 2, plot.width(), fm.height()),
               Qt::AlignHCenter | Qt::AlignTop, tr("round trip"));
    p.drawText(QRect(plot.left(), pad, plot.width(), fm.height()), Qt::AlignLeft | Qt::AlignTop,
               tr("tallest bar: %1 %2").arg(tallest).arg(tallest == 1 ? tr("call") : tr("calls")));
}

}  // namespace studio
