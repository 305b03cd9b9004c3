"""The export writer every format shares: records -> rows -> the format's files.

A task's export writer turns each accepted record into a *row* (plain JSON: what the format
needs of the image, ids not yet given) and hands it to `emit`. In a whole conversion the row is
consumed at once (`consume`: ids, limits, the format's lines). A fan-out chunk cannot number
anything (it does not know what the chunks before it hold), so it writes its rows to a table
part instead (`_parts/<chunk>/exports/<format>/_rows.<split>.jsonl`); the merge feeds every
part, in chunk order, to `consume` (`append_part`): the files are the ones one pass writes.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any, ClassVar, Self, TextIO

from gt2yolo.exports.formats import ExportContext, ExportFormat, export_folder
from gt2yolo.split import Split
from gt2yolo.storage import Storage

ROWS_NAME = "_rows.{split}.jsonl"


@dataclass
class ExportSummary:
    """report.json's `exports.<format>`: the files written, what each holds, what was left out."""

    files: dict[str, dict[str, int]] = field(default_factory=dict)  # key -> counts
    excluded: Counter[str] = field(default_factory=Counter)  # reason -> images left out
    facts: dict[str, Any] = field(default_factory=dict)  # the format's own (AttributeNames, ...)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "written": True,
            "files": self.files,
            "excluded": dict(sorted(self.excluded.items())),
            **self.facts,
            "warnings": self.warnings,
        }


def not_written(reason: str) -> dict[str, Any]:
    """report.json's entry for an export the dataset's task has no form of."""
    return {"written": False, "reason": reason}


def json_text(value: Any) -> str:
    """Compact JSON, UTF-8 where the text can be; lone surrogates from a manifest stay escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(value, separators=(",", ":"))
    return text


class ExportWriter:
    """One export format's writer; a task's subclass adds the record methods its pass calls
    (`add_image`, `add_segmented`, `add_frame`, `add_classified`) and makes rows of them."""

    format: ClassVar[ExportFormat]

    def __init__(
        self,
        storage: Storage,
        splits: Sequence[Split],
        context: ExportContext,
        *,
        tables_prefix: str = "",
        header: bool = True,
    ) -> None:
        self.storage = storage
        self.splits = tuple(splits)
        self.context = context
        self._stack = ExitStack()
        self._chunk = bool(tables_prefix) or not header
        self._rows: dict[Split, TextIO] = {}
        self.summary = ExportSummary()
        if self._chunk:
            for split in self.splits:
                key = tables_prefix + self._rows_key(split)
                self._rows[split] = self._stack.enter_context(storage.open_text(key))
        else:
            self.open_files()

    # --- what a format implements ---------------------------------------------------------

    def open_files(self) -> None:
        """Open the format's files (a whole conversion, or a fan-out's merge)."""
        raise NotImplementedError

    def consume(self, split: Split, row: dict[str, Any]) -> None:
        """Write one image's row into the format's files."""
        raise NotImplementedError

    def close_files(self) -> None:
        """Finish the format's files (after the last row) and fill in `summary`."""
        raise NotImplementedError

    # --- the shared run's side --------------------------------------------------------------

    def key(self, name: str) -> str:
        return export_folder(self.format) + name

    def open_stream(self, name: str) -> TextIO:
        return self._stack.enter_context(self.storage.open_text(self.key(name)))

    def _rows_key(self, split: Split) -> str:
        return self.key(ROWS_NAME.format(split=split))

    def emit(self, split: Split, row: dict[str, Any]) -> None:
        if self._chunk:
            self._rows[split].write(json.dumps(row, separators=(",", ":")) + "\n")
        else:
            self.consume(split, row)

    def tables(self) -> list[str]:
        """The row tables a fan-out's merge feeds back (`append_part`), in split order."""
        return [self._rows_key(split) for split in self.splits]

    def append_part(self, key: str, part: IO[bytes]) -> None:
        split = next(s for s in self.splits if self._rows_key(s) == key)
        for line in io.TextIOWrapper(part, encoding="utf-8", newline="\n"):
            if line.strip():
                self.consume(split, json.loads(line))

    def write_summary(
        self, classes: Sequence[str], splits: Sequence[Split], report: dict[str, Any]
    ) -> None:
        """The format's files finished; its entry in report.json's `exports` (report.json is
        written after every writer's summary)."""
        if self._chunk:
            return
        self.close_files()
        report.setdefault("exports", {})[str(self.format)] = self.summary.as_dict()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.__exit__(kind, exc, tb)
