"""The files a design names are read from its own folder or uploaded bundle, and from nowhere else.

Each refusal is a problem at the field that names the file; none of these reads what it
points at. (issue 9, finding 1: a design could make the server read any file it can read.)
"""
import os
import threading
from pathlib import Path

import pytest

from designs.files import MAX_FILE_BYTES, Bundle, FileRefused, Folder, relative_name
from designs.spec import DesignError, load_design, parse_design

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "designs" / "examples"

DESIGN = """name = "case"
{queries}
[prompt]
system = "Base. {{a}}"
user = "{{query}}"

[generation]
model = "m"

[rating]
{rating}

[[factors]]
name = "a"
[factors.levels]
x = ""
y = "Y"
{inline_queries}"""
INLINE_QUERIES = '\n[[queries]]\nid = "q1"\ntext = "Hi?"\n'


def design_text(instructions=None, queries=None, rating=None):
    return DESIGN.format(
        queries=f"queries = {queries!r}".replace("'", '"') if queries else "",
        rating=rating if rating is not None else (f'instructions = "{instructions}"' if instructions else ""),
        inline_queries="" if queries else INLINE_QUERIES)


def problems(call):
    with pytest.raises(DesignError) as caught:
        call()
    return [str(p) for p in caught.value.problems]


def write_design(folder, **kwargs):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "case.toml"
    path.write_text(design_text(**kwargs))
    return path


def test_a_climbing_path_is_refused_and_not_read(tmp_path):
    path = write_design(tmp_path / "d", instructions="../../../../etc/passwd")
    [problem] = problems(lambda: load_design(path))
    assert problem.endswith("case.toml:11: rating.instructions: instructions file '../../../../etc/passwd' lies "
                            "outside the design's folder: '..' may not climb out of it")


def test_a_pasted_design_can_name_no_file(monkeypatch):
    monkeypatch.chdir(ROOT)  # where evalplat/settings.py resolves, as in the running server
    [problem] = problems(lambda: parse_design(design_text(instructions="evalplat/settings.py"), "pasted.toml"))
    assert problem == ("pasted.toml:11: rating.instructions: instructions file 'evalplat/settings.py': no files were "
                       "uploaded with this design; upload 'settings.py' together with it, or write the Markdown "
                       'inline as instructions_text = """..."""')


def test_a_pasted_design_cannot_name_a_queries_file(monkeypatch):
    monkeypatch.chdir(ROOT)
    text = design_text(queries="designs/examples/queries/science-ideas.jsonl")
    [problem] = problems(lambda: parse_design(text, "pasted.toml"))
    assert problem.startswith("pasted.toml:2: queries: queries file 'designs/examples/queries/science-ideas.jsonl': "
                              "no files were uploaded")
    assert problem.endswith("or write the queries inline as [[queries]] tables")


def test_an_absolute_path_is_refused(tmp_path):
    secret = tmp_path / "secret.md"
    secret.write_text("the secret")
    path = write_design(tmp_path / "d", instructions=str(secret))
    [problem] = problems(lambda: load_design(path))
    assert f"instructions file {str(secret)!r} is an absolute path" in problem


def test_a_link_out_of_the_folder_is_refused(tmp_path):
    secret = tmp_path / "secret.md"
    secret.write_text("the secret")
    path = write_design(tmp_path / "d", instructions="notes.md")
    (tmp_path / "d" / "notes.md").symlink_to(secret)
    [problem] = problems(lambda: load_design(path))
    assert problem.endswith("notes.md' is a link to a file outside the design's folder")


def test_a_link_to_dev_zero_is_refused(tmp_path):
    path = write_design(tmp_path / "d", instructions="zero.md")
    (tmp_path / "d" / "zero.md").symlink_to("/dev/zero")
    [problem] = problems(lambda: load_design(path))
    assert problem.endswith("zero.md' is a link to a file outside the design's folder")


def test_dev_zero_named_directly_is_refused():
    [problem] = problems(lambda: parse_design(design_text(instructions="/dev/zero"), "case.toml", files=Folder(ROOT)))
    assert "'/dev/zero' is an absolute path" in problem


def test_a_fifo_in_the_folder_is_refused_without_waiting_for_a_writer(tmp_path):
    path = write_design(tmp_path / "d", instructions="pipe.md")
    os.mkfifo(tmp_path / "d" / "pipe.md")
    found = []
    reader = threading.Thread(target=lambda: found.extend(problems(lambda: load_design(path))), daemon=True)
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), "reading the design waited on a FIFO"
    assert found[0].endswith("pipe.md' is not a regular file (a device, pipe or socket)")


def test_a_link_inside_the_folder_is_followed(tmp_path):
    path = write_design(tmp_path / "d", instructions="current.md")
    (tmp_path / "d" / "v2.md").write_text("Read carefully.")
    (tmp_path / "d" / "current.md").symlink_to("v2.md")
    assert load_design(path).rating.instructions == "Read carefully."


def test_dot_dot_that_stays_inside_is_allowed(tmp_path):
    path = write_design(tmp_path / "d", instructions="queries/../notes.md")
    (tmp_path / "d" / "queries").mkdir()
    (tmp_path / "d" / "notes.md").write_text("Notes.")
    assert load_design(path).rating.instructions == "Notes."


def test_a_file_over_the_limit_is_refused(tmp_path):
    path = write_design(tmp_path / "d", instructions="big.md")
    (tmp_path / "d" / "big.md").write_bytes(b"a" * (MAX_FILE_BYTES + 1))
    [problem] = problems(lambda: load_design(path))
    assert problem.endswith("big.md' is larger than 4 MiB, the most a design's file may hold")


def test_a_file_that_is_not_utf8_is_a_problem(tmp_path):
    path = write_design(tmp_path / "d", instructions="latin1.md")
    (tmp_path / "d" / "latin1.md").write_bytes("café".encode("latin-1"))
    [problem] = problems(lambda: load_design(path))
    assert "latin1.md' cannot be read as UTF-8 text (unexpected end of data at byte 3)" in problem


def test_the_shell_path_reads_the_examples_from_their_folder(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # not the repository: files resolve against the design's folder
    design = load_design(EXAMPLES / "science-feedback.toml")
    assert len(design.queries) == len((EXAMPLES / "queries" / "science-ideas.jsonl").read_text().splitlines())
    assert design.rating.instructions == (EXAMPLES / "instructions.md").read_text()


def test_a_bundle_reads_by_relative_name_and_loose_files_by_base_name():
    bundle = Bundle({"instructions.md": b"Be kind.", "queries/q.jsonl": b"{}", "loose.jsonl": b"[]"})
    assert bundle.read("instructions.md") == ("instructions.md", b"Be kind.")
    assert bundle.read("./queries//q.jsonl") == ("queries/q.jsonl", b"{}")
    assert bundle.read("queries/loose.jsonl") == ("loose.jsonl", b"[]")


def test_a_bundle_says_what_was_uploaded_when_a_file_is_missing():
    with pytest.raises(FileRefused) as caught:
        Bundle({"a.md": b""}).read("queries/q.jsonl", "write the queries inline")
    assert str(caught.value) == ("'queries/q.jsonl' is not among the files uploaded with the design (uploaded: a.md); "
                                 "upload it with the design, or write the queries inline")


@pytest.mark.parametrize("reference", ["../x.md", "a/../../x.md", "/etc/passwd", "C:\\x.md", "\\\\server\\x", "x\x00.md",
                                       "", ".", "a/.."])
def test_a_bundle_refuses_names_that_leave_it(reference):
    with pytest.raises(FileRefused):
        Bundle({"x.md": b"", "a/x.md": b""}).read(reference)


def test_relative_names_are_normalised():
    assert relative_name("./a//b/../c.md", "it") == "a/c.md"


def test_a_bundle_is_rooted_at_its_design_or_its_one_folder():
    one = Bundle({"study/d.toml": b"", "study/i.md": b"", "other/x.md": b""})
    assert sorted(one.rooted_for_design().files) == ["d.toml", "i.md"]
    folder = Bundle({"examples/a.toml": b"", "examples/b.toml": b"", "examples/q/x.jsonl": b""})
    assert sorted(folder.rooted_for_design().files) == ["a.toml", "b.toml", "q/x.jsonl"]
    flat = Bundle({"a.md": b"", "q/x.jsonl": b""})
    assert flat.rooted_for_design() is flat


def test_inline_instructions_are_the_raters_text():
    text = design_text(rating='instructions_text = """\nCompare the **two** answers.\n"""')
    assert parse_design(text, "case.toml").rating.instructions == "Compare the **two** answers."
