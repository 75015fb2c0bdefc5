"""Uploaded files and archives → a checked bundle: members are checked like files on disk.

No absolute names, no '..', no links or devices, caps per member and in total counted on the
decompressed data (zip and gzip bombs), and every refusal a `FILE: FIELD: message` problem.
"""
import io
import struct
import tarfile
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from designs.files import MAX_BUNDLE_BYTES, MAX_BUNDLE_FILES, MAX_FILE_BYTES, MiB
from designs.spec import DesignError
from designs.uploads import bundle_from_uploads

EXAMPLES = Path(__file__).resolve().parents[2] / "designs" / "examples"


def zip_of(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buffer.getvalue()


def tar_gz_of(members):
    """members: TarInfo (with .size set for files) and its bytes, or None for links/devices."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def tar_file(name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def refusals(uploads):
    with pytest.raises(DesignError) as caught:
        bundle_from_uploads(uploads)
    return [str(p) for p in caught.value.problems]


def test_loose_files_join_under_their_base_names():
    bundle = bundle_from_uploads([("instructions.md", b"Hi"), ("C:\\Users\\me\\q.jsonl", b"{}")])
    assert dict(bundle.files) == {"instructions.md": b"Hi", "q.jsonl": b"{}"}


def test_a_zip_keeps_its_folders():
    bundle = bundle_from_uploads([("study.zip", zip_of([("study/design.toml", b"x"), ("study/queries/q.jsonl", b"{}")]))])
    assert sorted(bundle.files) == ["study/design.toml", "study/queries/q.jsonl"]


def test_a_tar_gz_of_the_examples_holds_both_designs_and_their_files():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(EXAMPLES, arcname="examples")
    bundle = bundle_from_uploads([("examples.tar.gz", buffer.getvalue())])
    assert bundle.designs() == ["examples/honesty-tone.toml", "examples/science-feedback.toml"]
    assert "examples/queries/science-ideas.jsonl" in bundle.files


@pytest.mark.parametrize("name", ["../x.md", "a/../../x.md", "/etc/passwd"])
def test_a_zip_member_outside_the_archive_is_refused(name):
    [problem] = refusals([("bad.zip", zip_of([(name, b"x"), ("ok.md", b"fine")]))])
    assert problem.startswith(f"bad.zip: {name}: {name!r} ")
    assert "outside the archive 'bad.zip'" in problem or "absolute path" in problem


def test_a_tar_member_outside_the_archive_is_refused():
    [problem] = refusals([("bad.tar.gz", tar_gz_of([tar_file("../x", b"x")]))])
    assert problem == "bad.tar.gz: ../x: '../x' lies outside the archive 'bad.tar.gz': '..' may not climb out of it"


def test_links_and_devices_in_a_tar_are_refused():
    link = tarfile.TarInfo("instructions.md")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("hard.md")
    hard.type, hard.linkname = tarfile.LNKTYPE, "instructions.md"
    fifo = tarfile.TarInfo("pipe")
    fifo.type = tarfile.FIFOTYPE
    device = tarfile.TarInfo("zero")
    device.type, device.devmajor, device.devminor = tarfile.CHRTYPE, 1, 5
    assert refusals([("t.tgz", tar_gz_of([(link, None), (hard, None), (fifo, None), (device, None)]))]) == [
        "t.tgz: instructions.md: a link: an archive may hold only plain files",
        "t.tgz: hard.md: a link: an archive may hold only plain files",
        "t.tgz: pipe: not a regular file: an archive may hold only plain files",
        "t.tgz: zero: not a regular file: an archive may hold only plain files",
    ]


def test_a_link_in_a_zip_is_refused():
    info = zipfile.ZipInfo("instructions.md")
    info.external_attr = (0o120777 << 16)  # a symlink, as Info-ZIP stores one
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    assert refusals([("l.zip", buffer.getvalue())]) == [
        "l.zip: instructions.md: a link: an archive may hold only plain files"]


def zeros_zip(name, size):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf, zf.open(name, "w", force_zip64=True) as member:
        chunk = bytes(MiB)
        for _ in range(size // MiB):
            member.write(chunk)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_by_its_declared_size():
    bomb = zeros_zip("queries.jsonl", 64 * MiB)
    assert len(bomb) < MiB
    assert refusals([("bomb.zip", bomb)]) == ["bomb.zip: queries.jsonl: unpacks to 64 MiB: at most 4 MiB per file"]


def test_a_zip_bomb_that_lies_about_its_size_is_not_expanded():
    # The same bomb with its sizes rewritten to claim 1 kB: reading stops at what it claims.
    bomb = bytearray(zeros_zip("q.jsonl", 32 * MiB))
    _claim_size(bomb, 1024)
    tracemalloc.start()
    problems = refusals([("liar.zip", bytes(bomb))])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert problems[0].startswith("liar.zip: archive: not readable as a .zip archive")
    assert peak < 8 * MiB


def _claim_size(data, size):
    """Rewrite a one-member zip64 zip's uncompressed size in its local header and directory."""
    local_extra = data.index(b"\x01\x00\x10\x00")  # zip64 extra field in the local header: sizes
    data[local_extra + 4:local_extra + 12] = struct.pack("<Q", size)
    central = data.index(b"PK\x01\x02")
    extra = data.index(b"\x01\x00", central + 46)
    data[extra + 4:extra + 12] = struct.pack("<Q", size)


def test_many_members_within_the_per_file_cap_still_stop_at_the_total():
    chunk = bytes(3 * MiB)
    bomb = zip_of([(f"part{i}.md", chunk) for i in range(8)])
    assert refusals([("parts.zip", bomb)]) == [
        "parts.zip: archive: unpacks to more than 16 MiB (with the other files uploaded)"]


def test_a_gzip_bomb_is_refused_without_expanding_it():
    info = tarfile.TarInfo("queries.jsonl")
    info.size = 64 * MiB
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.addfile(info, _Zeros(info.size))
    tracemalloc.start()
    problems = refusals([("bomb.tar.gz", buffer.getvalue())])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert problems[0] == "bomb.tar.gz: archive: unpacks to more than 16 MiB (with the other files uploaded)"
    assert peak < 8 * MiB


class _Zeros(io.RawIOBase):
    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def test_too_many_files_are_refused():
    uploads = [(f"f{i}.md", b"x") for i in range(MAX_BUNDLE_FILES + 1)]
    assert refusals(uploads) == [f"upload: files: {MAX_BUNDLE_FILES + 1} files: at most {MAX_BUNDLE_FILES} may come "
                                 "with a design"]


def test_a_loose_file_over_the_cap_is_refused():
    assert refusals([("big.md", bytes(MAX_FILE_BYTES + 1))]) == [
        "big.md: file: larger than 4 MiB, the most a design's file may hold"]


def test_a_file_uploaded_twice_is_refused():
    assert refusals([("a.md", b"1"), ("a.md", b"2")]) == ["a.md: a.md: uploaded twice: each name may come only once"]


def test_a_broken_archive_is_a_problem_not_a_traceback():
    assert refusals([("x.zip", b"not a zip")])[0].startswith("x.zip: archive: not readable as a .zip archive")
    assert refusals([("x.tar.gz", b"not gzip")])[0].startswith("x.tar.gz: archive: not readable as a .tar.gz archive")
    truncated = tar_gz_of([tar_file("a.md", b"x" * 5000)])[:60]
    assert refusals([("t.tar.gz", truncated)])[0].startswith("t.tar.gz: archive: not readable")


def test_the_total_cap_counts_every_upload():
    part = bytes(MAX_FILE_BYTES)
    uploads = [(f"p{i}.md", part) for i in range(MAX_BUNDLE_BYTES // MAX_FILE_BYTES + 1)]
    assert refusals(uploads) == ["upload: files: 20 MiB in all: at most 16 MiB may come with a design"]

