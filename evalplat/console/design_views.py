"""The console's new-experiment page: write or upload a design with its files, Check it, Create it.

Check shows what `manage.py plan` prints (one `DesignPreview`, rendered here) and writes
nothing; Create runs the same checks and creates the experiment for the logged-in user. The
page works as a plain form; its script (templates/console/design_editor.js) sends the same
form with fetch and swaps in the results fragment, so the editor text and the chosen files
stay put after an error.

Which text is the design, in order: a file opened with "Open a design file" (the script loads
it into the editor instead of sending it); the editor's text once the user has typed in it or
loaded something into it (`edited`); the one design file (.toml) among the uploaded files or
inside an uploaded archive; the editor's untouched starter text. The files it names are read
from the upload only (`designs.files.Bundle`), never from the server's disk.
"""
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from designs.files import MAX_BUNDLE_BYTES, MAX_BUNDLE_FILES, MAX_FILE_BYTES, Bundle, size_text
from designs.spec import DesignError, Problem, parse_design, problem_at
from designs.uploads import bundle_from_uploads
from evalplat.experiments.importing import ImportRefused, import_design

MAX_DESIGN_BYTES = 1_000_000
DEFAULT_DESIGN_NAME = "design.toml"
STARTER = Path(__file__).with_name("starter.toml")
# Console addresses an experiment's page could never have: /console/new/ is this page.
RESERVED_NAMES = ("new",)
LIMITS = {"files": MAX_BUNDLE_FILES, "file_size": size_text(MAX_FILE_BYTES), "total_size": size_text(MAX_BUNDLE_BYTES),
          "design_size": size_text(MAX_DESIGN_BYTES), "design_bytes": MAX_DESIGN_BYTES}


@dataclass
class Submission:
    """What one POST of the form holds, sorted out: the design text, its name, its files."""

    text: str = ""
    name: str = DEFAULT_DESIGN_NAME
    files: Bundle | None = None
    from_upload: bool = False     # the text came from an uploaded file: the editor should show it
    uploaded: list = field(default_factory=list)
    unused_designs: list = field(default_factory=list)  # design files uploaded but not checked
    problems: list = field(default_factory=list)


@require_GET
@login_required
def new(request):
    return _page(request, Submission(text=STARTER.read_text(encoding="utf-8")), edited=False)


@require_POST
@login_required
def check(request):
    submission = _read_submission(request)
    preview, problems = None, submission.problems
    if not problems:
        # Imported here: the preview runs the analysis (scipy), which the URL configuration, and so
        # every fresh web worker before its first rater page, must not load.
        from evalplat.analysis.preview import preview_design

        try:
            preview = preview_design(_parse(submission))
        except DesignError as exc:
            problems = exc.problems
    return _respond(request, submission, problems=problems, preview=preview, action="check")


@require_POST
@login_required
def create(request):
    submission = _read_submission(request)
    problems = submission.problems
    if not problems:
        try:
            experiment = import_design(_parse(submission), owner=request.user,
                                       replace=bool(request.POST.get("replace")))
        except (DesignError, ImportRefused) as exc:
            problems = exc.problems
        else:
            url = reverse("console:detail", args=[experiment.slug])
            if _wants_fragment(request):
                response = HttpResponse(status=201)
                response["Location"] = url
                return response
            messages.success(request, f"Created {experiment.slug}. Next: generate its answers.")
            return redirect(url)
    return _respond(request, submission, problems=problems, action="create", status=422)


def _parse(submission):
    design = parse_design(submission.text, submission.name, files=submission.files)
    if design.name in RESERVED_NAMES:
        raise DesignError([problem_at(design, ("name",), f"{design.name!r} is the address of a console page; "
                                                         "choose another name")])
    return design


def _respond(request, submission, *, problems, action, preview=None, status=200):
    context = _results_context(submission, problems, preview, action)
    if _wants_fragment(request):
        return render(request, "console/design_results.html", {**context, "fragment": True}, status=status)
    return _page(request, submission, edited=True, status=status, **context)


def _page(request, submission, *, edited, status=200, **results):
    return render(request, "console/design_new.html", {
        "text": submission.text, "design_name": submission.name, "edited": edited,
        "replace": bool(request.POST.get("replace")), "limits": LIMITS,
        # Without the script a browser forgets chosen files when the page comes back.
        "files_forgotten": bool(submission.uploaded), **results,
    }, status=status)


def _results_context(submission, problems, preview, action):
    in_editor = [p for p in problems if p.file == submission.name and p.line]
    return {"problems": problems, "editor_lines": sorted({p.line for p in in_editor}), "preview": preview,
            "action": action, "design_name": submission.name, "from_upload": submission.from_upload,
            "text": submission.text, "uploaded": submission.uploaded, "unused_designs": submission.unused_designs}


def _wants_fragment(request):
    return request.headers.get("X-Requested-With") == "fetch"


def _read_submission(request):
    """Sort the form into design text, name and files; problems with the upload itself stop there."""
    submission = Submission(name=_design_name(request.POST.get("design_name", "")))
    uploads, problems = [], []
    for upload in request.FILES.getlist("files"):
        submission.uploaded.append(upload.name)
        if upload.size > MAX_BUNDLE_BYTES:  # refused before it is read into memory
            problems.append(Problem(upload.name, None, "file", f"larger than {size_text(MAX_BUNDLE_BYTES)}"))
        else:
            uploads.append((upload.name, upload.read()))
    try:
        bundle = bundle_from_uploads(uploads)
    except DesignError as exc:
        problems += exc.problems
        bundle = Bundle({})
    opened = request.FILES.get("design")
    editor = request.POST.get("text", "").replace("\r\n", "\n")  # browsers send a textarea's lines as CRLF
    designs = bundle.designs()
    if opened is not None:
        submission.name = _design_name(opened.name)
        submission.text = _decode(opened.name, opened.read(MAX_DESIGN_BYTES + 1), problems)
        submission.from_upload = True
    elif editor.strip() and (request.POST.get("edited") or not designs):
        submission.text = editor
        submission.unused_designs = designs
    elif len(designs) == 1:
        submission.name = PurePosixPath(designs[0]).name
        submission.text = _decode(designs[0], bundle.files[designs[0]], problems)
        submission.from_upload = True
    elif designs:
        problems.append(Problem("upload", None, "files", f"{len(designs)} design files ({', '.join(designs)}): "
                                "open the one you mean in the editor (\"Open a design file\", or paste it), or upload just one"))
    else:
        problems.append(Problem(submission.name, None, "design", "empty: write a design in the editor, open a design "
                                "file, or upload one with its files"))
    if len(submission.text.encode("utf-8")) > MAX_DESIGN_BYTES:
        problems.append(Problem(submission.name, None, "design", f"larger than {LIMITS['design_size']}"))
    submission.files = bundle.rooted_for_design() if uploads else None
    submission.problems = problems
    return submission


def _decode(name, data, problems):
    if len(data) > MAX_DESIGN_BYTES:
        problems.append(Problem(name, None, "design", f"larger than {LIMITS['design_size']}"))
        return ""
    try:
        return data.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, None, "design", f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return ""


def _design_name(raw):
    """The name a design's problems are reported under: a plain file name, never a path."""
    name = PurePosixPath(raw.replace("\\", "/")).name.strip()
    name = "".join(c for c in name if c.isprintable())[:100]
    return name or DEFAULT_DESIGN_NAME
