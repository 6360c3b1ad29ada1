"""A run's log, any length: only the lines on screen are rendered, fetched from the
store a page at a time and kept in a small LRU cache. A million-line log scrolls as fast
as a short one and holds only a few pages in memory.

Drawing never reads: a page not cached yet is asked of a reader thread (its own
connection: for a teammate, a round trip over the engine's socket) and its rows are
blank until it comes, as toolong's log view does."""

from __future__ import annotations

import queue
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager

from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from dbt_console.model import FAILED_NODE, FOLDED_EVENT, SYSTEM_EVENT, LogLine
from dbt_console.tui.widgets.line_fit import fit_line
from dbt_console.tui.widgets.styled import CachedStyles

PAGE_LINES = 256
CACHED_PAGES = 64
STAMP_WIDTH = 9
TAG_WIDTH = 9

ReadPage = Callable[[int, int], list[LogLine]]  # (start, limit) -> lines
# Entered on the reader thread: a ReadPage of that thread's own (ctx.fork()), closed
# when the view goes.
PageReader = Callable[[], AbstractContextManager[ReadPage]]
# How often the reader thread looks whether the view is gone.
READER_WAKE_SECONDS = 0.2


class PageRead(Message):
    """A page the reader thread read: lines from page_no * PAGE_LINES on."""

    def __init__(self, page_no: int, lines: list[LogLine]) -> None:
        super().__init__()
        self.page_no, self.lines = page_no, lines


class LogView(CachedStyles, ScrollView, can_focus=True):
    BINDINGS = [
        Binding("f", "toggle_follow", "Follow"),
        Binding("g", "top", "Top", show=False),
        Binding("G", "bottom", "Bottom", show=False),
        Binding("j,down", "scroll_down", "Down", show=False),
        Binding("k,up", "scroll_up", "Up", show=False),
    ]
    COMPONENT_CLASSES = {"log--time", "log--error", "log--warn", "log--console", "log--node"}
    DEFAULT_CSS = """
    LogView { background: $surface; color: $dc-text; }
    LogView > .log--time { color: $dc-muted; }
    LogView > .log--error { color: $dc-error; text-style: bold; }
    LogView > .log--warn { color: $dc-warning; }
    LogView > .log--console { color: $dc-accent; }
    LogView > .log--node { color: $dc-success; }
    """

    follow: reactive[bool] = reactive(True)

    def __init__(self, reader: PageReader, *, id: str | None = None):
        super().__init__(id=id)
        self._reader = reader
        self._wanted: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._asked: set[int] = set()  # pages the reader has been asked for (UI thread)
        self._count = 0
        self._final = False
        self._pages: OrderedDict[int, list[LogLine]] = OrderedDict()
        self._width = 0

    @property
    def line_count(self) -> int:
        return self._count

    def set_line_count(self, count: int, final: bool) -> None:
        """The store holds `count` lines now; `final` once the run has ended."""
        if count == self._count and final == self._final:
            return
        self._count, self._final = count, final
        self.virtual_size = Size(max(self._width, self.size.width), count)
        self._keep_end()
        self.refresh()

    def _keep_end(self) -> None:
        """While following, the last line stays in view: now, and again after the next
        layout, which may give the view its scrollbar (Textual ignores a scroll before) or
        change its height (the head above growing, a horizontal scrollbar appearing)."""
        if not self.follow:
            return
        if self.size.height and self.allow_vertical_scroll:
            self.scroll_end(animate=False, immediate=True)
        self.call_after_refresh(self.scroll_end, animate=False, immediate=True)

    def on_resize(self) -> None:
        self._keep_end()

    def watch_show_horizontal_scrollbar(self) -> None:
        self._keep_end()  # a long line's scrollbar took the last row

    def extend(self, start: int, lines: list[LogLine]) -> None:
        """Lines read elsewhere (the run screen's worker reads the new ones as they come),
        put in the page cache so that following a live log reads nothing on the UI
        thread. Lines that do not continue a cached page are left to be read when shown."""
        for offset, line in enumerate(lines):
            index = start + offset
            page_no, at = divmod(index, PAGE_LINES)
            page = self._pages.get(page_no)
            if page is None and at == 0:
                page = self._pages[page_no] = []
            if page is not None and len(page) == at:
                page.append(line)
        while len(self._pages) > CACHED_PAGES:
            self._pages.popitem(last=False)

    def line(self, index: int) -> LogLine | None:
        """Line `index` if its page is here; else None, and the page is asked for (the
        view redraws when it comes)."""
        if not 0 <= index < self._count:
            return None
        page_no = index // PAGE_LINES
        page = self._pages.get(page_no)
        offset = index - page_no * PAGE_LINES
        if page is None or offset >= len(page):
            if page_no not in self._asked:
                self._asked.add(page_no)
                self._wanted.put(page_no)
            return None
        self._pages.move_to_end(page_no)
        return page[offset]

    def on_mount(self) -> None:
        self._read_pages()

    @work(thread=True, exclusive=True, group="log-pages")
    def _read_pages(self) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()
        with self._reader() as read:
            while not worker.is_cancelled and self.app.is_running:
                try:
                    page_no = self._wanted.get(timeout=READER_WAKE_SECONDS)
                except queue.Empty:
                    continue
                # A message, not call_from_thread: that waits for the UI, which, while
                # the app shuts down, waits for this worker.
                self.post_message(PageRead(page_no, read(page_no * PAGE_LINES, PAGE_LINES)))

    def on_page_read(self, message: PageRead) -> None:
        page_no, lines = message.page_no, message.lines
        self._asked.discard(page_no)
        had = self._pages.get(page_no)
        if had is None or len(had) < len(lines):  # extend() may have brought more
            # Kept even half full: extend() adds the lines that come after it.
            self._pages[page_no] = lines
        while len(self._pages) > CACHED_PAGES:
            self._pages.popitem(last=False)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        line = self.line(scroll_y + y)
        width = self.size.width
        if line is None:
            return Strip.blank(width, self.style_of())
        strip = Strip(self._segments(line))
        if strip.cell_length > self._width:
            self._width = strip.cell_length
            self.virtual_size = Size(self._width, self._count)
        if strip.cell_length > width and scroll_x == 0:
            # The view's width is the widest line's, so left/right still show it whole.
            strip = Strip(self._segments(line, fit=width - STAMP_WIDTH - TAG_WIDTH))
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, self.style_of())

    def _segments(self, line: LogLine, fit: int = 0) -> list[Segment]:
        base = self.style_of()
        if line.event in (SYSTEM_EVENT, FOLDED_EVENT):
            tag, tag_style = "console", "log--console"
        elif line.node_status:
            tag = line.node_status
            tag_style = ("log--error" if tag in FAILED_NODE
                         else "log--warn" if tag in ("warn", "skipped") else "log--node")
        else:
            tag = "" if line.level in ("info", "debug") else line.level
            tag_style = "log--error" if line.level == "error" else "log--warn"
        msg_style: Style = base
        if line.level == "error":
            msg_style = self.style_of("log--error")
        return [
            Segment(line.ts[11:19].ljust(STAMP_WIDTH), self.style_of("log--time")),
            Segment(f"{tag:<{TAG_WIDTH}}", self.style_of(tag_style)),
            Segment(fit_line(_one_row(line), fit) if fit else _one_row(line), msg_style),
        ]

    # Scrolling away from the end stops following; f or G starts it again.
    def action_toggle_follow(self) -> None:
        self.follow = not self.follow

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self.scroll_end(animate=False, immediate=True)

    def action_top(self) -> None:
        self.follow = False
        self.scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.follow = True

    def action_scroll_up(self) -> None:
        self.follow = False
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self.follow = False
        super().action_page_up()

    def on_mouse_scroll_up(self, event) -> None:
        # Textual calls a widget's public handler besides its own _on_mouse_scroll_up,
        # which scrolls: no internal of Textual's is overridden here.
        self.follow = False


def _one_row(line: LogLine) -> str:
    """A stored line is one row: dbt's multi-line messages are joined with a mark; a
    folded traceback shows only its head (`dbt-console logs` prints it whole)."""
    if line.event == FOLDED_EVENT:
        return line.msg.split("\n", 1)[0] + " ⏎ …"
    return line.msg.replace("\n", " ⏎ ")
