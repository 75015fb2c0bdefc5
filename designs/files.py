"""Where the files a design names come from: its own folder, or the bundle uploaded with it.

A design may name other files (`queries = "queries/x.jsonl"`, `[rating] instructions = "x.md"`).
They are read from one *source of files* and from nowhere else, so a design can never make the
server read a file of its own choosing (its settings, `/etc/passwd`, `/dev/zero`):

- `Folder(root)`: the design file's own folder on disk (`manage.py plan`, `create_experiment`).
  Absolute names, `..` that climbs out, links whose target lies outside, and anything that is not
  a regular file (folders, devices, pipes) are refused; at most `MAX_FILE_BYTES` are read.
- `Bundle`: the files uploaded with a design in the console, by relative name, already checked
  (`designs.uploads.bundle_from_uploads` builds it from several files or from archives).
- `NO_FILES`: a design written or pasted with nothing uploaded; it can name no files at all.

A source's `read(reference, alternative)` returns (the name to show in messages, the bytes) or
raises `FileRefused`, whose message completes a sentence that begins with what the file is for
("queries file ..."). `alternative` is what the design could write instead of naming a file
("write the queries inline as [[queries]] tables"); a source that lacks the file suggests it.
"""
from __future__ import annotations

import os
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Mapping

MiB = 2**20
MAX_FILE_BYTES = 4 * MiB      # one file a design names (instructions, queries), or one archive member
MAX_BUNDLE_BYTES = 16 * MiB   # everything uploaded with one design, after decompression; also one archive
MAX_BUNDLE_FILES = 100        # files in one upload, archive members included (Django's default cap, too)
DESIGN_SUFFIX = ".toml"


class FileRefused(Exception):
    """A file a design names cannot be read from its source; the message says why."""


def relative_name(reference: str, inside: str) -> str:
    """The normalised relative name of `reference`, or FileRefused when it could leave its folder.

    Parameters
    ----------
    reference : str
        A file name as a design (or an archive) writes it: forward slashes, relative.
    inside : str
        What it must stay inside, for the message ("the design's folder", "the upload").

    Returns
    -------
    str
        The name with "." and repeated slashes removed, e.g. "queries/x.jsonl".
    """
    if not reference.strip():
        raise FileRefused(f"{reference!r}: the name is empty")
    if "\x00" in reference or any(ord(c) < 32 for c in reference):
        raise FileRefused(f"{reference!r}: a file name cannot hold control characters")
    if PurePosixPath(reference).is_absolute() or PureWindowsPath(reference).anchor:
        raise FileRefused(f"{reference!r} is an absolute path: name a file inside {inside}, relative to it")
    name = posixpath.normpath(reference)
    if name == ".." or name.startswith("../"):
        raise FileRefused(f"{reference!r} lies outside {inside}: '..' may not climb out of it")
    if name == ".":
        raise FileRefused(f"{reference!r} names a folder, not a file")
    return name


class Folder:
    """The files inside one folder on disk (a design file's own folder)."""

    def __init__(self, root, max_bytes: int = MAX_FILE_BYTES):
        self.root = Path(root)
        self.max_bytes = max_bytes

    def read(self, reference: str, alternative: str = "") -> tuple[str, bytes]:
        name = relative_name(reference, "the design's folder")
        shown = str(self.root / name)
        base = self.root.resolve()
        target = (base / name).resolve()  # follows every link, so a link out shows here
        if not target.is_relative_to(base):
            raise FileRefused(f"{shown!r} is a link to a file outside the design's folder")
        try:
            # O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOFOLLOW: the path was
            # just resolved, so a link appearing now is a race and is refused.
            fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            raise FileRefused(f"{shown!r} not found (paths are relative to the design file)") from None
        except OSError as exc:
            raise FileRefused(f"{shown!r} cannot be opened ({(exc.strerror or str(exc)).lower()})") from None
        try:
            mode = os.fstat(fd).st_mode  # of what was opened, not of what the name pointed to before
            if stat.S_ISDIR(mode):
                raise FileRefused(f"{shown!r} is a folder, not a file")
            if not stat.S_ISREG(mode):
                raise FileRefused(f"{shown!r} is not a regular file (a device, pipe or socket)")
            with os.fdopen(fd, "rb", closefd=False) as stream:
                data = stream.read(self.max_bytes + 1)
        finally:
            os.close(fd)
        if len(data) > self.max_bytes:
            raise FileRefused(f"{shown!r} is larger than {size_text(self.max_bytes)}, the most a design's file may hold")
        return shown, data


class _NoFiles:
    """The source of a design written in the browser with nothing uploaded: it names no files."""

    def read(self, reference: str, alternative: str = "") -> tuple[str, bytes]:
        instead = f", or {alternative}" if alternative else ""
        raise FileRefused(f"{reference!r}: no files were uploaded with this design; upload "
                          f"{PurePosixPath(reference).name!r} together with it{instead}")


NO_FILES = _NoFiles()


@dataclass(frozen=True)
class Bundle:
    """Uploaded files by relative name ("instructions.md", "queries/x.jsonl"), already checked.

    Files uploaded one by one arrive without their folders (browsers send only the name), so a
    reference that matches no name exactly finds a top-level file of the same base name:
    `queries = "queries/x.jsonl"` reads an uploaded `x.jsonl`.
    """

    files: Mapping[str, bytes]

    def read(self, reference: str, alternative: str = "") -> tuple[str, bytes]:
        name = relative_name(reference, "the files uploaded with the design")
        if name in self.files:
            return name, self.files[name]
        base = posixpath.basename(name)
        if base in self.files:
            return base, self.files[base]
        uploaded = ", ".join(sorted(self.files)) or "none"
        instead = f", or {alternative}" if alternative else ""
        raise FileRefused(f"{reference!r} is not among the files uploaded with the design (uploaded: {uploaded}); "
                          f"upload it with the design{instead}")

    def designs(self) -> list[str]:
        """Names of the design files (.toml) in the bundle."""
        return sorted(name for name in self.files if name.endswith(DESIGN_SUFFIX))

    def rooted_at(self, folder: str) -> Bundle:
        """The files under `folder`, named relative to it (what a design in that folder can name)."""
        if not folder:
            return self
        prefix = folder.rstrip("/") + "/"
        return Bundle({name[len(prefix):]: data for name, data in self.files.items() if name.startswith(prefix)})

    def rooted_for_design(self) -> Bundle:
        """Rooted where references resolve from: the folder of its one design file, or else the one
        folder that holds everything (an archive of a folder), or else its top."""
        designs = self.designs()
        if len(designs) == 1:
            return self.rooted_at(posixpath.dirname(designs[0]))
        tops = {name.split("/", 1)[0] for name in self.files}
        if len(tops) == 1 and all("/" in name for name in self.files):
            return self.rooted_at(tops.pop())
        return self


def size_text(n: int) -> str:
    """A byte count for messages: "4 MiB", "12 kB"."""
    return f"{n / MiB:g} MiB" if n >= MiB else f"{n / 1024:.0f} kB" if n >= 1024 else f"{n} bytes"
