"""A cancelled dbt logs Python's KeyboardInterrupt traceback: ~40 lines in red that say
nothing but "stopped" (dbt's MainStackTrace event, after a MainEncounteredError with an
empty message; or plain stderr when dbt did not catch it). They are kept, folded into one
log line that says why the run stopped (who cancelled, a timeout, the engine stopping);
its first line is what a log view shows. Any other traceback is a real crash and passes
through as it came."""

from __future__ import annotations

from collections.abc import Callable

from dbt_console.model import FOLDED_EVENT

START = "Traceback (most recent call last):"
INTERRUPT = "KeyboardInterrupt"
ENCOUNTERED = "MainEncounteredError"  # dbt's "Encountered an error:" before its trace

Add = Callable[..., None]  # RunLog.add(row, total)


def _interrupted(text: str) -> bool:
    last = text.rstrip().rsplit("\n", 1)[-1]
    return last == INTERRUPT or last.startswith(INTERRUPT + ":")


class TracebackFold:
    def __init__(self, add: Add, stopped_why: Callable[[], str]):
        self._add = add
        self._why = stopped_why
        self._held: list[tuple] = []  # rows that may belong to a traceback not ended yet

    def add(self, row: tuple, total: object = None) -> None:
        event, level, text = row[3], row[1], row[6]
        if event == ENCOUNTERED and not text.strip().removeprefix("Encountered an error:"):
            self.end()
            self._held.append(row)  # an interrupt's empty error: its trace comes next
        elif event and text.startswith(START):  # dbt's stack trace, one event
            if _interrupted(text):
                self._fold([*self._held, row], text)
            else:
                self.end()
                self._add(row, total)
        elif event or level != "warn":  # not a plain stderr line (parse_line: "warn"):
            self._add(row, total)      # it passes; a held error still waits for its trace
        elif text == START or (self._held and self._held[0][3] != ENCOUNTERED):
            self._stderr(row)
        else:
            self.end()
            self._add(row, total)

    def _stderr(self, row: tuple) -> None:
        """A traceback printed line by line on stderr, ended by the exception's line."""
        if self._held and self._held[0][3] == ENCOUNTERED:
            self.end()
        self._held.append(row)
        text = row[6]
        if len(self._held) > 1 and text and not text[0].isspace():
            if _interrupted(text):
                self._fold(self._held, "\n".join(r[6] for r in self._held))
            else:
                self.end()

    def _fold(self, rows: list[tuple], trace: str) -> None:
        self._held = []
        first = rows[0]
        lines = trace.count("\n") + 1
        msg = (f"{self._why()}: dbt stopped (KeyboardInterrupt; its {lines}-line "
               f"traceback is folded into this line)\n{trace}")
        self._add((first[0], "warn", first[2], FOLDED_EVENT, None, None, msg))

    def end(self) -> None:
        """The stream ended, or what was held was no interrupt: shown as it came."""
        held, self._held = self._held, []
        for row in held:
            self._add(row)
