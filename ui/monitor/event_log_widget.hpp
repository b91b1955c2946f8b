// The event log dock: every runtime event (RuntimeSource::eventsArrived) as a row of time,
// node, kind, endpoint and text, kept in a bounded EventLogModel. Filters by node, kind and
// free text; follows the newest row unless the user scrolled up (or switched Follow off);
// Pause holds new events aside (bounded by the same capacity) until resumed; Ctrl+C copies the
// selected rows tab-separated; Clear empties the log. Problem rows are tinted by the model.
//
// GUI thread only. Owns its model; the controller is not owned and may be null (then events
// only come through model()->append()).
#pragma once

#include <zmqrpc/events.hpp>

#include <QList>
#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QTableView;
class QToolButton;

namespace studio {

class EventLogModel;
class RuntimeSource;

class EventLogWidget : public QWidget {
    Q_OBJECT

  public:
    explicit EventLogWidget(RuntimeSource* runtime, QWidget* parent = nullptr);

    EventLogModel* model() const noexcept { return model_; }
    QTableView* view() const noexcept { return view_; }

    // Events from elsewhere (tests, a remote runtime); the same path as eventsArrived.
    void addEvents(const QList<zmqrpc::Event>& events);

    bool isPaused() const noexcept { return paused_; }
    void setPaused(bool paused);
    bool isFollowing() const noexcept { return follow_; }
    void setFollowing(bool follow);

    // Copies the selected rows to the clipboard (tab-separated, one line per row).
    void copySelection();
    void clear();

    // "1234 events" / "12 of 1234 events" plus the dropped note.
    QString statusText() const;

  protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

  private:
    void applyFilter();
    void updateStatus();
    void scrollIfFollowing();

    EventLogModel* model_ = nullptr;
    QTableView* view_ = nullptr;
    QComboBox* nodeCombo_ = nullptr;
    QComboBox* kindCombo_ = nullptr;
    QLineEdit* textFilter_ = nullptr;
    QToolButton* pauseButton_ = nullptr;
    QToolButton* followButton_ = nullptr;
    QLabel* status_ = nullptr;
    QList<zmqrpc::Event> pending_;  // held while paused
    qulonglong pendingDropped_ = 0;
    bool paused_ = false;
    bool follow_ = true;
    bool autoScrolling_ = false;
};

}  // namespace studio
