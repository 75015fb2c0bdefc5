"""The new-experiment page: designs with their files, Check that writes nothing, Create for the user.

Both shipped examples are created through it with their files (issue 8's "done when"), and no
design can make it read a file of the server's (issue 9, finding 1).
"""
import hashlib
import io
import re
import tarfile
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from evalplat.experiments.models import Experiment

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "designs" / "examples"
HONESTY = EXAMPLES / "honesty-tone.toml"
SCIENCE = EXAMPLES / "science-feedback.toml"
INSTRUCTIONS = EXAMPLES / "instructions.md"
QUERIES = EXAMPLES / "queries" / "science-ideas.jsonl"
FETCH = {"HTTP_X_REQUESTED_WITH": "fetch"}


def upload(path, name=None):
    return SimpleUploadedFile(name or path.name, path.read_bytes())


def post(client, action, text="", files=(), headers=None, **fields):
    """Submit the form as the page's script does once the editor holds the design (`edited`)."""
    data = {"text": text, "edited": "1" if text else "", **fields}
    if files:
        data["files"] = list(files)
    return client.post(reverse(f"design:{action}"), data, **(headers or {}))


def row_counts():
    with connection.cursor() as cursor:
        counts = {}
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
        return counts


def archive(kind, members):
    buffer = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, path in members:
                zf.write(path, name)
    else:
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for name, path in members:
                tar.add(path, name)
    return buffer.getvalue()


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def test_the_page_needs_a_login(client):
    response = client.get(reverse("design:new"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.post(reverse("design:check"), {"text": HONESTY.read_text()}).status_code == 302
    assert Experiment.objects.count() == 0


def test_the_page_opens_with_a_starter_design_that_checks(owner_client):
    page = owner_client.get(reverse("design:new")).content.decode()
    starter = re.search(r'<textarea id="editor"[^>]*>\n(.*?)</textarea>', page, re.S).group(1)
    assert 'name = "my-first-experiment"' in starter.replace("&quot;", '"')
    checked = post(owner_client, "check", Path(ROOT / "evalplat" / "console" / "starter.toml").read_text())
    assert "The design is valid" in checked.content.decode()


def test_the_page_sends_a_strict_csp_with_a_fresh_nonce(owner_client):
    first, second = owner_client.get(reverse("design:new")), owner_client.get(reverse("design:new"))
    csp = first["Content-Security-Policy"]
    nonce = re.search(r"script-src 'self' 'nonce-([^']+)'", csp).group(1)
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert nonce not in second["Content-Security-Policy"]
    page = first.content.decode()
    assert re.findall(r"<script([^>]*)>", page) == [f' nonce="{nonce}"']  # one block, ours, nothing loaded
    assert "http://" not in page and "https://" not in page


def test_check_shows_what_plan_prints_and_writes_nothing(owner_client):
    before = row_counts()
    response = post(owner_client, "check", HONESTY.read_text(), files=[upload(INSTRUCTIONS)], design_name="honesty-tone.toml")
    assert row_counts() == before
    page = response.content.decode()
    assert response.status_code == 200 and "The design is valid" in page
    for shown in ("L8(2^7)", "folded over to 16", "Answers to generate", "224", "Judgments needed", "Aliasing in 16 runs",
                  "Prompts for the first query", "astrology-dating", "Pair schedule efficiency", "temperature = 0.2"):
        assert shown in page, shown
    # The editor keeps the text, the first line included.
    assert re.search(r'<textarea id="editor"[^>]*>\n# Which instructions', page)


def test_check_counts_a_whole_database_unchanged_for_a_broken_design(owner_client):
    before = row_counts()
    post(owner_client, "check", HONESTY.read_text().replace("{tone}", "{tome}"))
    post(owner_client, "create", HONESTY.read_text().replace("{tone}", "{tome}"))
    assert row_counts() == before


def test_a_broken_design_shows_each_problem_at_its_line_and_keeps_the_text(owner_client):
    broken = HONESTY.read_text().replace("{tone}", "{tome}").replace('max_tokens = 512', 'max_tokens = "512"')
    response = post(owner_client, "check", broken, files=[upload(INSTRUCTIONS)], design_name="honesty-tone.toml")
    page = response.content.decode()
    assert '<button type="button" class="goto" data-line="13">Line 13</button><code>prompt.system</code>: unknown placeholder {tome}' in page
    assert 'data-line="19">Line 19</button><code>generation.max_tokens</code>: expected a whole number' in page
    assert "{tome}" in re.search(r'<textarea id="editor"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert 'data-line="46">Line 46</button><code>factors.tone</code>: text factor' in page
    assert 'data-editor-lines="13,19,46"' in page
    assert "Choose the files again" in page  # a plain form forgets chosen files; the script keeps them


def test_check_answers_a_fragment_to_the_script(owner_client):
    response = post(owner_client, "check", HONESTY.read_text(), files=[upload(INSTRUCTIONS)], headers=FETCH)
    body = response.content.decode()
    assert "<html" not in body and body.lstrip().startswith('<div id="results-body"')
    assert "Judgments needed" in body


def test_the_honesty_example_is_created_with_its_instructions(owner_client, owner):
    response = post(owner_client, "create", HONESTY.read_text(), files=[upload(INSTRUCTIONS)],
                    design_name="honesty-tone.toml")
    experiment = Experiment.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("console:detail", args=["honesty-tone"])
    assert experiment.owner == owner and experiment.variants.count() == 16 and experiment.queries.count() == 14
    assert experiment.instructions == INSTRUCTIONS.read_text()
    assert experiment.design_text == HONESTY.read_text() and experiment.design_path == "honesty-tone.toml"


def test_the_science_example_is_created_with_its_queries_and_instructions_as_loose_files(owner_client):
    # A file picker sends names without folders: queries/science-ideas.jsonl finds science-ideas.jsonl.
    response = post(owner_client, "create", SCIENCE.read_text(), files=[upload(QUERIES), upload(INSTRUCTIONS)],
                    headers=FETCH)
    assert response.status_code == 201 and response["Location"] == reverse("console:detail", args=["science-feedback"])
    experiment = Experiment.objects.get()
    keys = [q.key for q in experiment.queries.all()]
    assert len(keys) == len(QUERIES.read_text().splitlines()) and keys[0] == "vaccine-autism"
    assert experiment.variants.count() == 18 and experiment.instructions == INSTRUCTIONS.read_text()


@pytest.mark.parametrize("kind, name", [("zip", "study.zip"), ("tar.gz", "study.tar.gz")])
def test_the_science_example_is_created_from_one_archive(owner_client, kind, name):
    data = archive(kind, [("study/science-feedback.toml", SCIENCE), ("study/instructions.md", INSTRUCTIONS),
                          ("study/queries/science-ideas.jsonl", QUERIES)])
    # The editor is untouched (the starter), so the archive's design is the one created.
    response = owner_client.post(reverse("design:create"), {"text": "name = 'starter'", "edited": "",
                                                            "files": [SimpleUploadedFile(name, data)]})
    assert response.status_code == 302
    experiment = Experiment.objects.get(slug="science-feedback")
    assert experiment.queries.count() == len(QUERIES.read_text().splitlines())
    assert experiment.design_path == "science-feedback.toml"


def test_an_archive_with_both_examples_serves_the_design_in_the_editor(owner_client):
    data = archive("tar.gz", [("examples", EXAMPLES)])
    response = post(owner_client, "create", SCIENCE.read_text(), files=[SimpleUploadedFile("examples.tgz", data)])
    assert response.status_code == 302 and Experiment.objects.get().slug == "science-feedback"


def test_an_archive_with_both_examples_and_no_design_in_the_editor_asks_which(owner_client):
    data = archive("zip", [("examples/honesty-tone.toml", HONESTY), ("examples/science-feedback.toml", SCIENCE)])
    page = owner_client.post(reverse("design:check"), {"text": "", "files": [SimpleUploadedFile("e.zip", data)]})
    assert "2 design files (examples/honesty-tone.toml, examples/science-feedback.toml)" in page.content.decode()


def test_the_design_from_an_archive_comes_back_for_the_editor(owner_client):
    data = archive("zip", [("science-feedback.toml", SCIENCE), ("instructions.md", INSTRUCTIONS),
                           ("queries/science-ideas.jsonl", QUERIES)])
    body = owner_client.post(reverse("design:check"), {"text": "", "files": [SimpleUploadedFile("s.zip", data)]},
                             **FETCH).content.decode()
    assert 'data-design-name="science-feedback.toml"' in body and 'id="design-from-upload"' in body
    assert "The design is valid" in body


def test_a_pasted_design_cannot_read_the_servers_files(owner_client):
    text = HONESTY.read_text().replace('instructions = "instructions.md"', 'instructions = "evalplat/settings.py"')
    page = post(owner_client, "create", text).content.decode()
    assert ("rating.instructions</code>: instructions file &#x27;evalplat/settings.py&#x27;: no files were uploaded "
            "with this design") in page
    assert "SECRET_KEY" not in page and Experiment.objects.count() == 0


def test_an_uploaded_design_cannot_climb_out_of_its_bundle(owner_client):
    text = HONESTY.read_text().replace('instructions = "instructions.md"', 'instructions = "../../../../etc/passwd"')
    page = post(owner_client, "create", text, files=[upload(INSTRUCTIONS)]).content.decode()
    assert "lies outside the files uploaded with the design" in page
    assert "root:" not in page and Experiment.objects.count() == 0


def test_an_archive_member_outside_the_archive_is_refused(owner_client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("../x", "x")
        zf.writestr("instructions.md", "Hi")
    page = post(owner_client, "create", HONESTY.read_text(), files=[SimpleUploadedFile("b.zip", buffer.getvalue())])
    assert "b.zip, line" not in page.content.decode()
    assert "lies outside the archive &#x27;b.zip&#x27;" in page.content.decode()
    assert page.status_code == 422 and Experiment.objects.count() == 0


def test_browsers_crlf_lines_are_stored_as_written(owner_client):
    post(owner_client, "create", HONESTY.read_text().replace("\n", "\r\n"), files=[upload(INSTRUCTIONS)])
    assert Experiment.objects.get().design_sha256 == hashlib.sha256(HONESTY.read_bytes()).hexdigest()


def test_an_opened_design_file_is_used_without_the_script(owner_client):
    response = owner_client.post(reverse("design:create"), {"text": "starter", "design": upload(HONESTY),
                                                            "files": [upload(INSTRUCTIONS)]})
    assert response.status_code == 302 and Experiment.objects.get().slug == "honesty-tone"


def test_another_experimenters_name_is_refused_at_the_name_line(owner_client, outsider, experiment):
    owner_client.force_login(outsider)
    text = Path(ROOT / "tests" / "fixtures" / "small.toml").read_text()
    page = post(owner_client, "create", text, replace="1").content.decode()
    assert 'data-line="4">Line 4</button><code>name</code>: the name &#x27;small&#x27; is taken' in page
    assert Experiment.objects.get().owner != outsider


def test_the_owner_replaces_their_own_experiment(owner_client, experiment):
    text = Path(ROOT / "tests" / "fixtures" / "small.toml").read_text()
    assert "exists already" in post(owner_client, "create", text).content.decode()
    assert post(owner_client, "create", text, replace="1").status_code == 302
    assert Experiment.objects.get().pk != experiment.pk


def test_the_name_of_this_page_is_reserved(owner_client):
    text = HONESTY.read_text().replace('name = "honesty-tone"', 'name = "new"')
    page = post(owner_client, "check", text, files=[upload(INSTRUCTIONS)]).content.decode()
    assert "<code>name</code>: &#x27;new&#x27; is the address of a console page" in page


def test_an_empty_submission_says_what_to_do(owner_client):
    page = owner_client.post(reverse("design:check"), {"text": "  "}).content.decode()
    assert "empty: write a design in the editor, open a design file, or upload one with its files" in page


def test_a_design_in_the_upload_that_the_editor_overrides_is_pointed_out(owner_client):
    data = archive("zip", [("honesty-tone.toml", HONESTY), ("instructions.md", INSTRUCTIONS)])
    page = post(owner_client, "check", HONESTY.read_text().replace("Calibrated", "Calm"),
                files=[SimpleUploadedFile("h.zip", data)]).content.decode()
    assert "The design is valid" in page and "Calm honesty" in page
    assert "The upload also holds honesty-tone.toml; the design in\n  the editor was checked, not that file." in page
