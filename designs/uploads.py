"""Files uploaded with a design in the console → a checked `designs.files.Bundle`.

Several files, or archives (.zip, .tar.gz, .tgz) holding them. Every archive member is checked
like a file a design names on disk: no absolute names, no `..`, no links, devices or pipes, at
most MAX_FILE_BYTES each, and MAX_BUNDLE_FILES / MAX_BUNDLE_BYTES in all, counted on the
decompressed data as it is read (the sizes an archive declares are the sender's word), so a zip
or gzip bomb stops after a few megabytes. Nothing is written to disk.
"""
from __future__ import annotations

import gzip
import io
import stat
import tarfile
import zipfile
import zlib
from pathlib import PurePosixPath
from typing import Iterable

from designs.files import (MAX_BUNDLE_BYTES, MAX_BUNDLE_FILES, MAX_FILE_BYTES, Bundle, FileRefused,
                           relative_name, size_text)
from designs.spec import DesignError, Problem

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")
# Folders count as archive members too; past this many an archive is refused before it is read.
MAX_ARCHIVE_MEMBERS = 2 * MAX_BUNDLE_FILES
TAR_HEADER_BYTES = 512


def bundle_from_uploads(uploads: Iterable[tuple[str, bytes]]) -> Bundle:
    """Check uploaded files and unpack archives into one `Bundle`.

    Parameters
    ----------
    uploads : iterable of (file name, content)
        What the browser sent. Archives are unpacked, their members keeping their folders;
        any other file joins the bundle under its base name.

    Returns
    -------
    designs.files.Bundle

    Raises
    ------
    designs.spec.DesignError
        Listing every refused file or archive member as `FILE: FIELD: message` (FIELD is the
        member's name); nothing is returned in part.
    """
    files, problems, total = {}, [], 0
    for upload_name, data in uploads:
        upload_name = PurePosixPath(upload_name.replace("\\", "/")).name or "upload"
        if upload_name.lower().endswith(ARCHIVE_SUFFIXES):
            if len(data) > MAX_BUNDLE_BYTES:
                problems.append(_problem(upload_name, "file", f"larger than {size_text(MAX_BUNDLE_BYTES)}"))
                continue
            members, member_problems = _unpack(upload_name, data, MAX_BUNDLE_BYTES - total)
            problems += member_problems
        elif len(data) > MAX_FILE_BYTES:
            problems.append(_problem(upload_name, "file", f"larger than {size_text(MAX_FILE_BYTES)}, "
                                     "the most a design's file may hold"))
            continue
        else:
            members = [(upload_name, data)]
        for name, content in members:
            if name in files:
                problems.append(_problem(upload_name, name, "uploaded twice: each name may come only once"))
            files[name] = content
            total += len(content)
    if len(files) > MAX_BUNDLE_FILES:
        problems.append(_problem("upload", "files", f"{len(files)} files: at most {MAX_BUNDLE_FILES} may come "
                                 "with a design"))
    if total > MAX_BUNDLE_BYTES:
        problems.append(_problem("upload", "files", f"{size_text(total)} in all: at most "
                                 f"{size_text(MAX_BUNDLE_BYTES)} may come with a design"))
    if problems:
        raise DesignError(problems)
    return Bundle(files)


def _problem(file, field, message):
    return Problem(file, None, field, message)


class _TooLarge(Exception):
    pass


def _unpack(archive: str, data: bytes, budget: int) -> tuple[list[tuple[str, bytes]], list[Problem]]:
    """Members of a .zip or .tar.gz as (name, bytes), reading at most `budget` bytes of them."""
    is_zip = archive.lower().endswith(".zip")
    try:
        return _unpack_zip(archive, data, budget) if is_zip else _unpack_tar(archive, data, budget)
    except _TooLarge:
        return [], [_problem(archive, "archive", f"unpacks to more than {size_text(MAX_BUNDLE_BYTES)} "
                             "(with the other files uploaded)")]
    except (zipfile.BadZipFile, tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError, NotImplementedError,
            RuntimeError) as exc:
        kind = "a .zip" if is_zip else "a .tar.gz"
        return [], [_problem(archive, "archive", f"not readable as {kind} archive ({exc})")]


def _member_name(archive, name, problems):
    try:
        return relative_name(name, f"the archive {archive!r}")
    except FileRefused as exc:
        problems.append(_problem(archive, name, str(exc)))
        return None


def _too_many(archive):
    return [], [_problem(archive, "archive", f"more than {MAX_ARCHIVE_MEMBERS} members: at most "
                         f"{MAX_BUNDLE_FILES} files may come with a design")]


def _unpack_zip(archive, data, budget):
    members, problems, total = [], [], 0
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_ARCHIVE_MEMBERS:
            return _too_many(archive)
        for info in infos:
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip carries no Unix mode
            if info.is_dir() or kind == stat.S_IFDIR:
                continue
            name = _member_name(archive, info.filename, problems)
            if name is None:
                continue
            if kind and kind != stat.S_IFREG:
                what = "a link" if kind == stat.S_IFLNK else "not a regular file"
                problems.append(_problem(archive, info.filename, f"{what}: an archive may hold only plain files"))
                continue
            if info.flag_bits & 0x1:
                problems.append(_problem(archive, info.filename, "encrypted: upload it unencrypted"))
                continue
            if info.file_size > MAX_FILE_BYTES:
                problems.append(_problem(archive, info.filename, f"unpacks to {size_text(info.file_size)}: at most "
                                         f"{size_text(MAX_FILE_BYTES)} per file"))
                continue
            with zf.open(info) as stream:
                content = stream.read(MAX_FILE_BYTES + 1)
            total += len(content)
            if len(content) > MAX_FILE_BYTES or total > budget:
                raise _TooLarge
            members.append((name, content))
    return members, problems


class _CappedReader(io.RawIOBase):
    """A decompressing stream that raises _TooLarge past `cap` bytes (a gzip bomb)."""

    def __init__(self, stream, cap):
        self.stream, self.left = stream, cap

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self.stream.read(min(len(buffer), self.left + 1))
        self.left -= len(data)
        if self.left < 0:
            raise _TooLarge
        buffer[:len(data)] = data
        return len(data)


def _unpack_tar(archive, data, budget):
    members, problems, total = [], [], 0
    # Skipping a refused member still decompresses it, so the cap is on everything read:
    # the budget plus every header (and a long-name header) the archive may have.
    cap = budget + 3 * TAR_HEADER_BYTES * (MAX_ARCHIVE_MEMBERS + 2)
    stream = io.BufferedReader(_CappedReader(gzip.GzipFile(fileobj=io.BytesIO(data)), cap))
    with tarfile.open(fileobj=stream, mode="r|") as tar:  # a stream: read once, in order
        for count, member in enumerate(tar, start=1):
            if count > MAX_ARCHIVE_MEMBERS:
                return _too_many(archive)
            if member.isdir():
                continue
            name = _member_name(archive, member.name, problems)
            if name is None:
                continue
            if not member.isreg():
                what = "a link" if member.issym() or member.islnk() else "not a regular file"
                problems.append(_problem(archive, member.name, f"{what}: an archive may hold only plain files"))
                continue
            if member.size > MAX_FILE_BYTES:
                problems.append(_problem(archive, member.name, f"unpacks to {size_text(member.size)}: at most "
                                         f"{size_text(MAX_FILE_BYTES)} per file"))
                continue
            total += member.size
            if total > budget:
                raise _TooLarge
            members.append((name, tar.extractfile(member).read()))
    return members, problems
