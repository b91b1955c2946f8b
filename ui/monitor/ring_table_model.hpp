// A table model over a bounded ring of rows with a filter of its own: the base of the event log
// and tap models. Rows are appended in batches (one beginInsertRows per batch); when the ring is
// full the oldest rows go (one beginRemoveRows for all of them) and are counted as dropped. The
// rows a filter lets through are kept as a list of sequence numbers, so that dropping the oldest
// or appending never rescans the ring; only a filter change does (one model reset).
//
// GUI thread only.
#pragma once

#include <QAbstractTableModel>

#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

namespace studio {

template <class Row>
class RingTableModel : public QAbstractTableModel {
  public:
    explicit RingTableModel(std::size_t capacity, QObject* parent = nullptr)
        : QAbstractTableModel(parent), capacity_(capacity > 0 ? capacity : 1) {}

    int rowCount(const QModelIndex& parent = {}) const override {
        return parent.isValid() ? 0 : static_cast<int>(visible_.size());
    }

    std::size_t capacity() const noexcept { return capacity_; }
    // Shrinking drops the oldest rows at once (counted as dropped).
    void setCapacity(std::size_t capacity) {
        capacity_ = capacity > 0 ? capacity : 1;
        trim();
    }
    // Rows kept (whether the filter shows them or not).
    std::size_t keptRows() const noexcept { return rows_.size(); }
    // Rows dropped from the ring since the last clear().
    std::uint64_t dropped() const noexcept { return dropped_; }

    // The row shown at `row` (0 <= row < rowCount()).
    const Row& rowAt(int row) const {
        return rows_[static_cast<std::size_t>(visible_[static_cast<std::size_t>(row)] - first_)];
    }

    void clear() {
        beginResetModel();
        first_ += rows_.size();
        rows_.clear();
        visible_.clear();
        dropped_ = 0;
        endResetModel();
    }

  protected:
    virtual bool accepts(const Row& row) const = 0;

    void appendRows(std::vector<Row> rows) {
        if (rows.empty()) return;
        // A batch larger than the ring keeps only its newest rows.
        std::size_t skip = 0;
        if (rows.size() > capacity_) {
            skip = rows.size() - capacity_;
            dropped_ += skip;
        }
        const std::size_t incoming = rows.size() - skip;
        // Make room first, so that the insertion below is one contiguous block at the end.
        if (rows_.size() + incoming > capacity_) dropFront(rows_.size() + incoming - capacity_);
        std::vector<std::uint64_t> shown;
        const std::uint64_t base = first_ + rows_.size();
        for (std::size_t i = skip; i < rows.size(); ++i) {
            if (accepts(rows[i])) shown.push_back(base + (i - skip));
        }
        for (std::size_t i = skip; i < rows.size(); ++i)
            rows_.push_back(std::move(rows[i]));
        if (!shown.empty()) {
            const int at = static_cast<int>(visible_.size());
            beginInsertRows({}, at, at + static_cast<int>(shown.size()) - 1);
            visible_.insert(visible_.end(), shown.begin(), shown.end());
            endInsertRows();
        }
    }

    // Re-applies accepts() to every kept row (after a filter change).
    void refilter() {
        beginResetModel();
        visible_.clear();
        for (std::size_t i = 0; i < rows_.size(); ++i) {
            if (accepts(rows_[i])) visible_.push_back(first_ + i);
        }
        endResetModel();
    }

    const std::deque<Row>& rows() const noexcept { return rows_; }

  private:
    void trim() {
        if (rows_.size() > capacity_) dropFront(rows_.size() - capacity_);
    }
    void dropFront(std::size_t count) {
        const std::uint64_t newFirst = first_ + count;
        std::size_t hidden = 0;
        while (hidden < visible_.size() && visible_[hidden] < newFirst)
            ++hidden;
        if (hidden > 0) beginRemoveRows({}, 0, static_cast<int>(hidden) - 1);
        visible_.erase(visible_.begin(), visible_.begin() + static_cast<std::ptrdiff_t>(hidden));
        rows_.erase(rows_.begin(), rows_.begin() + static_cast<std::ptrdiff_t>(count));
        first_ = newFirst;
        dropped_ += count;
        if (hidden > 0) endRemoveRows();
    }

    std::size_t capacity_;
    std::deque<Row> rows_;
    std::deque<std::uint64_t> visible_;  // sequence numbers of the rows shown, ascending
    std::uint64_t first_ = 0;            // sequence number of rows_.front()
    std::uint64_t dropped_ = 0;
};

}  // namespace studio
