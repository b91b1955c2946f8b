// A small bar chart of round-trip latencies (the console's "repeat" summary): the samples are
// put into equal-width buckets between their minimum and maximum and painted as bars, with the
// range below and the tallest count at the top. Custom-painted: a few dozen bars do not need
// QtCharts.
//
// GUI thread only.
#pragma once

#include <QWidget>

#include <vector>

namespace studio {

class LatencyHistogram : public QWidget {
    Q_OBJECT

  public:
    static constexpr int kBuckets = 24;

    explicit LatencyHistogram(QWidget* parent = nullptr);

    void setSamples(std::vector<double> milliseconds);
    void clear() { setSamples({}); }
    // Counts per bucket (kBuckets of them, or none when there are no samples).
    const std::vector<int>& buckets() const noexcept { return buckets_; }
    double minimum() const noexcept { return min_; }
    double maximum() const noexcept { return max_; }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

  protected:
    void paintEvent(QPaintEvent* event) override;

  private:
    std::vector<int> buckets_;
    double min_ = 0, max_ = 0;
};

}  // namespace studio
