// The house style of the Studio's log-like tables (events, tap, heartbeats, alerts): whole rows
// selected, no grid, no row numbers, fixed row heights (the view never measures rows, which keeps
// big logs fast) and column widths given in characters. GUI thread only.
#pragma once

#include <QFontMetrics>
#include <QHeaderView>
#include <QTableView>

#include <initializer_list>
#include <utility>

namespace studio {

// `columns`: (column, width in characters of '0'). The last section stretches when
// `stretchLast`.
inline QHeaderView* styleLogTable(QTableView* view,
                                  std::initializer_list<std::pair<int, int>> columns,
                                  bool stretchLast = true) {
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view->setWordWrap(false);
    view->setShowGrid(false);
    view->verticalHeader()->hide();
    view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 6);
    QHeaderView* header = view->horizontalHeader();
    header->setHighlightSections(false);
    header->setStretchLastSection(stretchLast);
    const int charWidth = view->fontMetrics().horizontalAdvance(QLatin1Char('0'));
    for (const auto& [column, chars] : columns)
        header->resizeSection(column, charWidth * chars);
    return header;
}

}  // namespace studio
