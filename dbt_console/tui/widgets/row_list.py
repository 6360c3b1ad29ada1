"""A table drawn line by line: each visible row is one strip of pre-styled cells, so a
screen of rows costs a few milliseconds (a DataTable renders every cell through Rich,
about 0.4 ms a cell here). A header line, a cursor row, keyed rows updated in place."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from dbt_console.tui.widgets.styled import CachedStyles

Cell = str | Text
GAP = 2


class RowList(CachedStyles, ScrollView, can_focus=True):
    BINDINGS = [
        Binding("enter", "select", "Open", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
    ]
    COMPONENT_CLASSES = {"row-list--header", "row-list--cursor"}
    DEFAULT_CSS = """
    RowList { background: $surface; color: $dc-text; }
    RowList > .row-list--header { text-style: bold; color: $dc-muted; }
    RowList > .row-list--cursor { background: $dc-cursor; }
    RowList:focus > .row-list--cursor { background: $dc-cursor; text-style: bold; }
    """

    cursor: reactive[int] = reactive(0)

    class Highlighted(Message):
        def __init__(self, row_list: RowList, index: int):
            super().__init__()
            self.row_list = row_list
            self.index = index

    class Selected(Message):
        def __init__(self, row_list: RowList, key: str):
            super().__init__()
            self.row_list = row_list
            self.key = key

    def __init__(self, columns: list[str], *, id: str | None = None):
        super().__init__(id=id)
        self.columns = columns
        self._keys: list[str] = []
        self._cells: dict[str, tuple[Cell, ...]] = {}
        self._widths = [len(c) for c in columns]
        self._styles: dict[str, Style] = {}
        # The key that was under the cursor when a refresh took its row away: until the
        # user moves, the row now under the cursor is not the one they chose.
        self.lost_key: str | None = None
        self._hidden: set[int] = set()  # column indexes not drawn (a narrow terminal)

    # --- data -----------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def rows(self) -> dict[str, tuple[Cell, ...]]:
        return self._cells

    def get_row_at(self, index: int) -> tuple[Cell, ...]:
        return self._cells[self._keys[index]]

    def key_at(self, index: int) -> str | None:
        return self._keys[index] if 0 <= index < len(self._keys) else None

    @property
    def cursor_key(self) -> str | None:
        return self.key_at(self.cursor)

    def set_rows(self, rows: list[tuple[str, tuple[Cell, ...]]]) -> None:
        """Show exactly these rows, in this order; the cursor stays on its row's key. Only
        rows that changed are drawn again: a table refreshed every few seconds must not
        send itself whole down a slow link each time."""
        keys = [key for key, _ in rows]
        if keys == self._keys:
            changed = [i for i, (key, cells) in enumerate(rows)
                       if not _same(cells, self._cells[key])]
            self._cells = dict(rows)
            self._redraw(changed)
            return
        keep = self.cursor_key
        self._keys = keys
        self._cells = dict(rows)
        if keep is not None and keep not in self._cells:
            self.lost_key = keep
        self._measure(self._cells.values(), reset=True)
        self._resize()
        if keep in self._cells:
            self.cursor = self._keys.index(keep)
        self.cursor = min(self.cursor, max(0, len(self._keys) - 1))
        self.refresh()

    def _redraw(self, indexes: list[int]) -> None:
        """Draw these rows again: only their lines, unless a column had to widen."""
        if not indexes:
            return
        widths = list(self._widths)
        self._measure([self._cells[self._keys[i]] for i in indexes])
        if widths != self._widths:
            self._resize()
            self.refresh()
            return
        top, width = self.scroll_offset.y, self.size.width
        for index in indexes:
            y = index - top + 1  # the header is line 0
            if 1 <= y < self.size.height:
                self.refresh(Region(0, y, width, 1))

    def append_rows(self, rows: list[tuple[str, tuple[Cell, ...]]]) -> None:
        for key, cells in rows:
            if key not in self._cells:
                self._keys.append(key)
            self._cells[key] = cells
        self._measure([cells for _, cells in rows])
        self._resize()
        self.refresh()

    def update_row(self, key: str, cells: tuple[Cell, ...]) -> None:
        if key not in self._cells or _same(self._cells[key], cells):
            return
        self._cells[key] = cells
        self._redraw([self._keys.index(key)])

    def clear(self) -> None:
        self.set_rows([])

    def hide_columns(self, names: set[str]) -> None:
        """Draw every column but these: what a narrow terminal can do without."""
        hidden = {i for i, c in enumerate(self.columns) if c in names}
        if hidden != self._hidden:
            self._hidden = hidden
            self._resize()
            self.refresh()

    def _measure(self, rows, reset: bool = False) -> None:
        if reset:
            self._widths = [len(c) for c in self.columns]
        for cells in rows:
            for i, cell in enumerate(cells):
                width = len(cell.plain if isinstance(cell, Text) else cell)
                if width > self._widths[i]:
                    self._widths[i] = width

    def _resize(self) -> None:
        shown = [w for i, w in enumerate(self._widths) if i not in self._hidden]
        width = sum(shown) + GAP * len(shown)
        self.virtual_size = Size(width, len(self._keys) + 1)

    # --- drawing --------------------------------------------------------------------

    def _style(self, spec: str | Style | None) -> Style:
        if isinstance(spec, Style):
            return spec
        if not spec:
            return Style()
        style = self._styles.get(spec)
        if style is None:
            style = self._styles[spec] = Style.parse(spec)
        return style

    def _line(self, cells, base: Style) -> list[Segment]:
        segments = []
        for i, (cell, width) in enumerate(zip(cells, self._widths, strict=False)):
            if i in self._hidden:
                continue
            if isinstance(cell, Text):
                text, style = cell.plain, base + self._style(cell.style)
            else:
                text, style = cell, base
            segments.append(Segment(text.ljust(width + GAP), style))
        return segments

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.style_of()
        if y == 0:  # the header stays put while the rows scroll
            header = self.style_of("row-list--header")
            strip = Strip(self._line(self.columns, header))
            return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, base)
        index = scroll_y + y - 1
        key = self.key_at(index)
        if key is None:
            return Strip.blank(width, base)
        if index == self.cursor:
            base = self.style_of("row-list--cursor")
        strip = Strip(self._line(self._cells[key], base))
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, base)

    # --- the cursor -----------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        rows_visible = max(1, self.size.height - 1)
        if new < self.scroll_offset.y:
            self.scroll_to(y=new, animate=False)
            self.refresh()
        elif new >= self.scroll_offset.y + rows_visible:
            self.scroll_to(y=new - rows_visible + 1, animate=False)
            self.refresh()
        else:  # the two rows whose look changed, not the list
            self._redraw([i for i in (old, new) if i < len(self._keys)])
        if self._keys:
            self.post_message(self.Highlighted(self, new))

    def _move(self, to: int) -> None:
        self.lost_key = None  # the user chose again
        if self._keys:
            self.cursor = max(0, min(len(self._keys) - 1, to))

    def action_cursor_down(self) -> None:
        self._move(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self._move(self.cursor - 1)

    def action_page_down(self) -> None:
        self._move(self.cursor + max(1, self.size.height - 2))

    def action_page_up(self) -> None:
        self._move(self.cursor - max(1, self.size.height - 2))

    def action_first(self) -> None:
        self._move(0)

    def action_last(self) -> None:
        self._move(len(self._keys) - 1)

    def on_click(self, event) -> None:
        """A click puts the cursor on the row clicked; a click on the cursor's row opens
        it. Without this a click only focused the list, and Enter then opened whatever
        row the cursor had been left on, not the one clicked."""
        at = event.get_content_offset(self)  # None: on the border or a scrollbar
        if at is None or at.y < 1:  # the header is line 0
            return
        index = self.scroll_offset.y + at.y - 1
        if self.key_at(index) is None:
            return
        if index == self.cursor:
            self.action_select()
        else:
            self._move(index)

    def action_select(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(self, key))


def _same(cells: tuple[Cell, ...], others: tuple[Cell, ...]) -> bool:
    """Would these cells draw alike? (Text's own == ignores its style.)"""
    return len(cells) == len(others) and all(
        _look(a) == _look(b) for a, b in zip(cells, others, strict=True))


def _look(cell: Cell):
    return (cell.plain, str(cell.style), cell.spans) if isinstance(cell, Text) else cell
