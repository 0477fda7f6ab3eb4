"""The inbox: a folder where files are dropped for ingestion, laid out by model and kind.

    INBOX/<model_id>/spec.yaml            registers (or updates) the model, before its files
    INBOX/<model_id>/reference/FILE       hold-out sets      (CSV or Parquet, as `ingest`)
    INBOX/<model_id>/inference/FILE       prediction logs
    INBOX/<model_id>/labels/FILE          late labels
    INBOX/processed/<model_id>/<kind>/FILE        ingested, or skipped (same content already in)
    INBOX/rejected/<model_id>/<kind>/FILE         rejected; FILE.reason beside it holds the one-line reason

One `process_inbox` pass (a tick of `python -m lib schedule`, lib/actions/schedule.py) goes
through the models in name order; per model the spec first, then reference, inference, labels
files in name order. Each file goes through the same validation as `ingest` (lib/ingest/pipeline.py),
all or nothing, and is moved only after its outcome is committed: a process killed in between
finds the file again next time and skips it by its content hash, so nothing is lost and nothing
is ingested twice.

Which files are picked up (docs/schedule.md): a regular file whose size and modification time
are the same at two looks `settle` seconds apart. Names starting with "." or ending in .tmp,
.part, .partial, .crdownload or .filepart are in-progress uploads and are left alone: write under
such a name, then rename into place (a rename is atomic on one filesystem). Symbolic links are
never followed (the link itself is rejected) and every path is built from single directory-entry
names under the inbox, so no name can lead outside it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lib.errors import InputError, StoreBusy
from lib.ingest.pipeline import KINDS, Outcome, ingest_file, register_spec
from lib.spec import MODEL_ID_PATTERN, load_spec_file
from lib.store.connection import Store

ARCHIVES = ("processed", "rejected")
SPEC_NAMES = ("spec.yaml", "spec.yml")
IN_PROGRESS_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".filepart")


@dataclass
class Item:
    """One entry found in the inbox: a spec, a data file, or something to reject outright."""

    parts: tuple[str, ...]  # directory-entry names under the inbox, e.g. ("m1", "inference", "a.csv")
    kind: str  # "spec" | reference | inference | labels | "" (rejected without reading)
    problem: str = ""  # set: rejected with this reason, never opened
    look: tuple[int, int, int] = (0, 0, 0)  # (size, mtime_ns, inode) at the first look

    @property
    def model_id(self) -> str:
        return self.parts[0]

    @property
    def name(self) -> str:
        """The path under the inbox, printable (control characters escaped): for messages."""
        return printable("/".join(self.parts))


@dataclass
class FileResult:
    name: str
    status: str  # ingested | registered | skipped | rejected | error
    rows: int
    message: str


@dataclass
class InboxReport:
    results: list[FileResult] = field(default_factory=list)
    waiting: int = 0  # still changing at the second look: next tick
    ignored: int = 0  # sub-folders of a kind folder, unreadable folders
    stopped: bool = False  # a stop was asked: the files after the current one were left for later
    busy: bool = False  # the store stayed locked: the rest was left for the next tick
    failed: bool = False  # the inbox itself could not be read (set by the scheduler)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def rows(self) -> int:
        return sum(r.rows for r in self.results if r.status == "ingested")


def printable(text: str) -> str:
    """`text` with control characters (newlines, tabs, escapes) shown as \\xNN: one line, safe to log."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def _in_progress(name: str) -> bool:
    return name.startswith(".") or name.lower().endswith(IN_PROGRESS_SUFFIXES)


def _look(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _entries(folder: Path, report: InboxReport) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            return sorted((e for e in it if not _in_progress(e.name)), key=lambda e: e.name)
    except OSError:  # unreadable (e.g. a volume's lost+found): not ours
        report.ignored += 1
        return []


def _file_problem(entry: os.DirEntry) -> str:
    if entry.is_symlink():
        return "a symbolic link: the inbox never follows links (drop the file itself)"
    if not entry.is_file(follow_symlinks=False):
        return "not a regular file"
    return ""


def scan(inbox: Path, report: InboxReport) -> list[Item]:
    """Every item of the inbox, in processing order (see the module docstring)."""
    items: list[Item] = []
    for top in _entries(inbox, report):
        if top.name in ARCHIVES and top.is_dir(follow_symlinks=False):
            continue
        if top.is_symlink() or not top.is_dir(follow_symlinks=False):
            problem = _file_problem(top) or "not in a model folder: drop files in INBOX/<model_id>/<kind>/"
            items.append(Item((top.name,), "", problem))
            continue
        bad_id = "" if MODEL_ID_PATTERN.match(top.name) else f"folder {printable(top.name)!r} is not a model id"
        specs: list[Item] = []
        data: dict[str, list[Item]] = {k: [] for k in KINDS}
        for entry in _entries(Path(top.path), report):
            parts = (top.name, entry.name)
            if entry.name in KINDS and entry.is_dir(follow_symlinks=False):
                for f in _entries(Path(entry.path), report):
                    if f.is_dir(follow_symlinks=False):
                        report.ignored += 1  # kind folders are flat; a sub-folder is not ours to move
                        continue
                    data[entry.name].append(Item((*parts, f.name), entry.name, bad_id or _file_problem(f)))
            elif entry.name in SPEC_NAMES:
                specs.append(Item(parts, "spec", bad_id or _file_problem(entry)))
            elif entry.is_dir(follow_symlinks=False):
                why = f"a folder other than {', '.join(KINDS)}"
                items.append(Item(parts, "", why))
            else:
                why = _file_problem(entry) or f"not a spec.yaml nor in a folder named {', '.join(KINDS)}"
                items.append(Item(parts, "", why))
        items.extend(specs[:1])  # spec.yaml wins over spec.yml; the other is rejected
        items.extend(Item(s.parts, "", "two specs in one folder: spec.yaml was used") for s in specs[1:])
        for kind in KINDS:
            items.extend(data[kind])
    for item in items:
        item.look = _look(inbox.joinpath(*item.parts)) or (0, 0, 0)
    return items


def _archive(inbox: Path, item: Item, where: str, reason: str | None) -> Path:
    """Move an item to INBOX/<where>/<same parts>, under a fresh name if that one is taken."""
    folder = inbox
    for part in (where, *item.parts[:-1]):  # made one by one: a planted link is never followed
        folder = folder / part
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise OSError(f"{printable(str(folder))} leads outside the inbox or is no folder; {item.name} stays")
        folder.mkdir(exist_ok=True)
    name = item.parts[-1]
    stem, dot, suffix = name.rpartition(".") if "." in name[1:] else (name, "", "")
    target, n = folder / name, 1
    while target.exists() or target.is_symlink() or (folder / f"{target.name}.reason").exists():
        n += 1
        target = folder / (f"{stem}~{n}{dot}{suffix}" if dot else f"{name}~{n}")
    if reason is not None:
        tmp = folder / f".{target.name}.reason.tmp"
        tmp.write_text(printable(reason) + "\n", encoding="utf-8")
    os.rename(inbox.joinpath(*item.parts), target)
    if reason is not None:
        os.replace(tmp, folder / f"{target.name}.reason")
    return target


def _run_one(store: Store, inbox: Path, item: Item) -> FileResult:
    path = inbox.joinpath(*item.parts)
    if item.problem:
        return FileResult(item.name, "rejected", 0, f"{item.name}: {item.problem}")
    if item.kind == "spec":
        try:
            spec = load_spec_file(path)
            if spec.model_id != item.model_id:
                raise InputError(f"{item.name}: field model_id: {spec.model_id!r} differs from its folder's name")
            register_spec(store, spec, source=item.name)
        except InputError as exc:
            return FileResult(item.name, "rejected", 0, str(exc).replace(str(path), item.name))
        return FileResult(item.name, "registered", 0, f"{item.name}: registered {spec.model_id}")
    outcome: Outcome = ingest_file(store, item.kind, item.model_id, path)
    # Messages name the file by its path under the inbox (it is about to move elsewhere).
    return FileResult(item.name, outcome.status, outcome.rows, outcome.line().replace(str(path), item.name))


def process_inbox(
    store: Store,
    inbox: str | os.PathLike,
    *,
    settle: float = 2.0,
    should_stop: Callable[[], bool] = lambda: False,
    on_result: Callable[[FileResult], None] = lambda r: None,
) -> InboxReport:
    """One pass over the inbox: ingest what is ready, archive it, report every outcome."""
    inbox = Path(inbox)
    report = InboxReport()
    if not inbox.is_dir():
        raise InputError(f"{inbox}: inbox folder not found")
    items = scan(inbox, report)
    if items and settle > 0:
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline and not should_stop():
            time.sleep(min(0.1, settle))
    for item in items:
        if should_stop():
            report.stopped = True
            break
        if not item.problem and _look(inbox.joinpath(*item.parts)) != item.look:
            report.waiting += 1  # still being written (or replaced): next tick
            continue
        try:
            result = _run_one(store, inbox, item)
        except StoreBusy:
            report.busy = True  # the file stays where it is; nothing of it was written
            break
        except Exception as exc:  # a reader's or the store's unforeseen failure: rolled back, not lost
            why = f"{type(exc).__name__}: {printable(str(exc).splitlines()[0] if str(exc) else '')}"
            result = FileResult(item.name, "rejected", 0, f"{item.name}: could not ingest ({why}); nothing was stored")
        try:
            _archive(inbox, item, "rejected" if result.status == "rejected" else "processed", _reason(result))
        except OSError as exc:
            result = FileResult(item.name, "error", result.rows, f"{result.message}; could not archive: {exc}")
        report.results.append(result)
        on_result(result)
    return report


def _reason(result: FileResult) -> str | None:
    return result.message if result.status == "rejected" else None
