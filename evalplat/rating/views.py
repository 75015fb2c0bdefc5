"""Rater pages (blinded); the experimenter's rating pages are the console's (evalplat/console).

Rater pages never name a variant, level, answer or database row: an item is
reached by its assignment's random public id, the rater by a signed cookie
holding their random public id, and the two answers are only ever "Response A"
and "Response B". Every rater request runs a fixed handful of SQL queries
(pinned by tests/rating/test_query_counts.py), whatever the history: a submit
stores the judgment, claims the next item and answers with its page, one request
a judgment. The statements a judgment runs (the rater, the item, the rater's
items, the claim) are evalplat.rating.rows's hand-written SQL: the ORM's query building cost
more CPU than everything else a request does.
"""
import re
from functools import lru_cache, wraps
from urllib.parse import urlsplit

from csp import constants as csp
from csp.constants import HEADER as CSP_HEADER
from csp.utils import build_policy
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited

from evalplat.experiments.models import Experiment
from evalplat.rating.forms import ProblemForm, item_forms_html, judgment_form
from evalplat.rating.markdown import render_markdown
from evalplat.rating import rows
from evalplat.rating.models import Invite, Rater
from evalplat.rating.scheduling import RefillAfterResponse, Session, next_item_id

PROLIFIC_PARAMS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID")
MTURK_PARAMS = ("workerId", "assignmentId", "hitId", "turkSubmitTo")
MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"
MTURK_HOSTS = ("www.mturk.com", "workersandbox.mturk.com")
MAX_PARAM_LENGTH = 200
# Links and items are addressed by secrets.token_urlsafe tokens; anything else is a 404 before any query.
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,40}\Z")
# The browser's tie to its rater: a signed cookie set when the study link is first opened (see README "Security").
RATER_COOKIE = "evalplat_rater"
RATER_COOKIE_SALT = "evalplat.rating.rater"
RATER_COOKIE_MAX_AGE = 30 * 24 * 3600
UNFILLED_PLACEHOLDER = re.compile(r"\{\{%.*%\}\}|%[A-Z_]+%")  # Prolific's {{%PROLIFIC_PID%}}, a bare %STUDY_ID%

REFUSALS = {
    "closed": ("This study is not open right now",
               "Please check back later, or contact whoever sent you the link. Nothing was recorded."),
    "revoked": ("This link has been withdrawn",
                "The researcher has withdrawn this link, so no more answers can be recorded. Thank you for your time."),
    "elsewhere": ("This study was started in another browser",
                  "To keep each participant's answers their own, a session continues only in the browser that "
                  "started it. Please go back to that browser, or contact the researcher."),
    "too-many-new": ("Too many new sessions",
                     "Too many sessions were started from here in a short time. Please try again in a minute."),
    "too-fast": ("Please slow down",
                 "Answers are arriving faster than anyone can read both responses, so this one was not recorded. "
                 "Please wait a moment, read both responses and answer again."),
}


def rater_page(view):
    """Headers for every rater response: a stricter CSP than the console's, no caching, no indexing.

    The CSP is a second wall behind sanitising: even if an answer smuggled
    markup through, the browser would run no script but ours (by nonce), load
    no image, font or frame, and send no request anywhere. A view that posts
    elsewhere (MTurk's completion form) lists the origins in `form_targets`.
    """
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        # Always a nonce: "script-src" alone (no source) would be a malformed header.
        policy = _rater_policy(tuple(getattr(response, "form_targets", ())))
        response[CSP_HEADER] = policy.replace(NONCE_SLOT, str(request.csp_nonce))
        response["Cache-Control"] = "no-store"
        # Not "no-referrer": Chromium then sends "Origin: null" on same-origin
        # POSTs and Django's CSRF check refuses them. Nothing leaves the site anyway.
        response["Referrer-Policy"] = "same-origin"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response
    return wrapped


# Stands for the response's nonce in a rater policy built once per process (never a real nonce:
# those are base64, without "-" or "*").
NONCE_SLOT = "-*nonce*-"


@lru_cache(maxsize=16)
def _rater_policy(form_targets):
    """The rater pages' policy, with NONCE_SLOT for the nonce: django-csp's settings with the rater
    directives replaced, built once per process and set of form targets instead of on every
    response (4% of a rater request's CPU under load); evalplat.middleware.CSPMiddleware passes a
    response that carries its policy on as it is."""
    return build_policy(replace={
        "script-src": [csp.NONCE], "style-src": [csp.UNSAFE_INLINE], "img-src": None, "connect-src": [csp.NONE],
        "form-action": [csp.SELF, *form_targets],
    }, nonce=NONCE_SLOT)


def _refused(request, reason, status):
    title, text = REFUSALS[reason]
    return render(request, "rating/closed.html", {"title": title, "text": text}, status=status)


def _cookie_rater_id(request):
    value = request.get_signed_cookie(RATER_COOKIE, default=None, salt=RATER_COOKIE_SALT,
                                      max_age=RATER_COOKIE_MAX_AGE)
    return value if value and TOKEN.match(value) else None


def _bind_browser(response, rater):
    response.set_signed_cookie(RATER_COOKIE, rater.public_id, salt=RATER_COOKIE_SALT, max_age=RATER_COOKIE_MAX_AGE,
                               httponly=True, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)
    return response


def _rater_or_404(request, *, lock=False):
    """This browser's rater; a 404 without a rater cookie. `lock`: under the rater's row lock, which
    serialises their tabs (inside a transaction)."""
    public_id = _cookie_rater_id(request)
    rater = public_id and rows.rater(public_id, lock=lock)
    if not rater:
        raise Http404("No rating session in this browser; please open your study link again.")
    return rater


def _platform_params(request, invite):
    """(the platform's parameters, a problem or ''): values with control characters or over 200 characters are refused."""
    names = {Invite.Platform.PROLIFIC: PROLIFIC_PARAMS, Invite.Platform.MTURK: MTURK_PARAMS}.get(
        invite.platform, PROLIFIC_PARAMS + MTURK_PARAMS)
    params = {}
    for name in names:
        value = request.GET.get(name, "")
        if len(value) > MAX_PARAM_LENGTH:
            return {}, f"{name} is longer than {MAX_PARAM_LENGTH} characters"
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            return {}, f"{name} contains control characters"
        if UNFILLED_PLACEHOLDER.search(value):
            # The study link was opened as written in the console, not from the platform, which
            # replaces {{%PROLIFIC_PID%}}; every such visitor would otherwise share one rater.
            return {}, (f"{name} is the placeholder {value}, not a participant's id: open the study from the "
                        "platform (it fills the placeholder in), or use the plain rater link")
        if value:
            params[name] = value
    return params, ""


def _may_create_rater(request, invite):
    """Rate limits on new raters, per client address and per study link (django-ratelimit, per web process)."""
    if is_ratelimited(request, group="rating:new-rater:address", key="ip",
                      rate=settings.RATING_NEW_RATERS_PER_ADDRESS, increment=True):
        return False  # refused here, so it does not use up the link's allowance
    return not is_ratelimited(request, group="rating:new-rater:link", key=lambda group, request: invite.token,
                              rate=settings.RATING_NEW_RATERS_PER_LINK, increment=True)


def _rater_for_invite(request, invite, params):
    """(rater, '') for this browser, or (None, why not): a returning participant resumes only in their own browser."""
    public_id = _cookie_rater_id(request)
    current = Rater.objects.filter(public_id=public_id, invite=invite).first() if public_id else None
    external_id = params.get("PROLIFIC_PID") or params.get("workerId") or ""
    if invite.kind == Invite.Kind.SINGLE:
        existing = invite.raters.first()
        if existing is not None:
            return (existing, "") if current == existing else (None, "elsewhere")
    elif external_id:
        if current is not None and current.external_id == external_id:
            return current, ""
        if Rater.objects.filter(invite=invite, external_id=external_id).exists():
            return None, "elsewhere"
    elif current is not None:
        return current, ""  # an anonymous participant reloading the link
    if not _may_create_rater(request, invite):
        return None, "too-many-new"
    try:
        with transaction.atomic():
            return Rater.objects.create(experiment=invite.experiment, invite=invite, external_id=external_id,
                                        platform_params=params), ""
    except IntegrityError:  # the same participant opened the link twice at once, in two browsers
        return None, "elsewhere"


@rater_page
def start(request, token):
    if not TOKEN.match(token):
        raise Http404("No such link.")
    invite = get_object_or_404(Invite.objects.select_related("experiment"), token=token, revoked_at__isnull=True)
    experiment = invite.experiment
    if experiment.status != Experiment.Status.RATING:
        return _refused(request, "closed", status=200)
    if request.GET.get("assignmentId") == MTURK_PREVIEW:
        return render(request, "rating/preview.html", {
            "instructions": render_markdown(experiment.instructions), "settings": experiment.rating_settings})
    params, problem = _platform_params(request, invite)
    if problem:
        return render(request, "rating/bad_link.html", {"problem": problem}, status=400)
    rater, refusal = _rater_for_invite(request, invite, params)
    if refusal:
        return _refused(request, refusal, status=429 if refusal == "too-many-new" else 403)
    return _bind_browser(redirect("rating:welcome"), rater)


def _redirect_to_next(session):
    """A redirect straight to the rater's next item (or to the end)."""
    public_id = next_item_id(session)
    return redirect("rating:item", public_id=public_id) if public_id else redirect("rating:done")


def _next_page(request, rater, session):
    """The answer to a POST that moves the rater on: their next item's page itself, or a redirect to the end.

    No redirect to the item: that was a second request for every judgment (a round trip for the
    rater, and about a third of the server's work per judgment). The page gives itself the item's
    address (history.replaceState in rating/item.html), so a reload asks for the item; a browser
    without scripts that reloads sends the submit again, which is then a repeated submit: stored
    once, and answered with this same page.
    """
    public_id = next_item_id(session)
    if not public_id:
        return redirect("rating:done")
    assignment, done = rows.item(public_id, rater.pk)
    return _item_page(request, rater, assignment, done, form=_judgment_form(rater.experiment))


@rater_page
def welcome(request):
    if request.method == "POST":
        with transaction.atomic():
            rater = _rater_or_404(request, lock=True)
            refusal = rater.refusal()
            if refusal == "ended":
                return redirect("rating:done")
            if refusal:
                return _refused(request, refusal, status=409)
            if request.POST.get("consent") == "yes":
                if rater.consented_at is None:
                    Rater.objects.filter(pk=rater.pk).update(consented_at=timezone.now())
                return _next_page(request, rater, Session.load(rater))
        return render(request, "rating/welcome.html", {
            "instructions": render_markdown(rater.experiment.instructions),
            "settings": rater.experiment.rating_settings, "needs_consent": True}, status=400)
    rater = _rater_or_404(request)
    if rater.consented_at is not None:
        return redirect("rating:next")
    refusal = rater.refusal()
    if refusal and refusal != "ended":
        return _refused(request, refusal, status=200 if refusal == "closed" else 403)
    return render(request, "rating/welcome.html", {
        "instructions": render_markdown(rater.experiment.instructions),
        "settings": rater.experiment.rating_settings})


@rater_page
def next_item(request):
    with transaction.atomic():
        rater = _rater_or_404(request, lock=True)
        if rater.consented_at is None:
            return redirect("rating:welcome")
        refusal = rater.refusal()
        if refusal == "ended":
            return redirect("rating:done")
        if refusal:
            return _refused(request, refusal, status=200 if refusal == "closed" else 403)
        return _redirect_to_next(Session.load(rater))


def _item_page(request, rater, assignment, done, *, form, problem_form=None, status=200, notice=""):
    """The judging page of `assignment` (loaded with its texts by rows.item, which also counts `done`).

    Showing a newly claimed item is also when the queue is topped up, if due,
    after the page has been sent (the submit that claimed it redirected here).
    """
    per_rater = rater.experiment.rating_settings.per_rater
    content = loader.render_to_string("rating/item.html", {
        "assignment": assignment,
        "experiment": rater.experiment,
        "query_html": render_markdown(assignment.query.text),
        "response_a": render_markdown(assignment.left_answer.text),
        "response_b": render_markdown(assignment.right_answer.text),
        "item_forms": item_forms_html(form, problem_form or ProblemForm(), item_id=assignment.public_id,
                                      csrf_token=get_token(request)),
        "progress": {"number": min(done + 1, per_rater), "total": per_rater,
                     "percent": round(100 * done / per_rater) if per_rater else 0},
        "warn": rater.should_be_warned,
        "notice": notice,
    }, request)
    queue = getattr(rater.experiment, "rating_queue", None)
    if status == 200 and queue is not None and queue.wants_refill(assignment, timezone.now()):
        return RefillAfterResponse(content, experiment=rater.experiment, claimed=assignment)
    return HttpResponse(content, status=status)


@rater_page
def item(request, public_id):
    if request.method == "POST":
        return _judge(request, public_id)
    if not TOKEN.match(public_id):
        raise Http404("No such item.")
    rater = _rater_or_404(request)
    assignment, done = rows.item(public_id, rater.pk)
    if assignment is None:
        raise Http404("No such item.")
    refusal = rater.refusal()
    if refusal == "ended":
        return redirect("rating:done")
    if refusal:
        return _refused(request, refusal, status=200 if refusal == "closed" else 403)
    if assignment.is_finished:
        return redirect("rating:next")  # back button or a second tab: move on, never judge twice
    return _item_page(request, rater, assignment, done, form=_judgment_form(rater.experiment))


def _judgment_form(experiment, data=None):
    return judgment_form(data, rating=experiment.rating_settings, question=experiment.question)


def _submits_limited(request, rater):
    return is_ratelimited(request, group="rating:submit", key=lambda group, request: rater.public_id,
                          rate=settings.RATING_SUBMITS_PER_RATER, increment=True)


def _posting_to_own_item(view):
    """For POSTs to one of the rater's items: under the rater's lock, with their session loaded, only
    while the link, the rater and the study allow it. Calls view(request, rater, session, assignment)."""
    @wraps(view)
    def wrapped(request, public_id):
        if not TOKEN.match(public_id):
            raise Http404("No such item.")
        with transaction.atomic():
            rater = _rater_or_404(request, lock=True)
            session = Session.load(rater)
            assignment = session.find(public_id)
            if assignment is None:
                raise Http404("No such item.")
            refusal = rater.refusal()
            if refusal == "ended":
                return redirect("rating:done")
            if refusal:
                return _refused(request, refusal, status=409)
            if assignment.is_finished:
                return _next_page(request, rater, session)  # a repeated submit: one judgment, and on to the next item
            return view(request, rater, session, assignment)
    return wrapped


@_posting_to_own_item
def _judge(request, rater, session, assignment):
    """Store a judgment once and go straight to the next item."""
    form = _judgment_form(rater.experiment, request.POST)
    if not form.is_valid():
        return _item_page(request, rater, *rows.item(assignment.public_id, rater.pk), form=form, status=400)
    if _submits_limited(request, rater):
        return _item_page(request, rater, *rows.item(assignment.public_id, rater.pk), form=form, status=429,
                          notice=REFUSALS["too-fast"][1])
    judgments = assignment.record_judgment(**form.judgment_fields())
    if judgments is not None:
        # An attention item checks the first criterion: the off-topic answer is the worse answer to it.
        rater.update_after_judgment(gold_failed=assignment.is_gold and judgments[0].winner != assignment.gold_better,
                                    too_fast=session.too_fast())
    return _next_page(request, rater, session)


@rater_page
@require_POST
@_posting_to_own_item
def report(request, rater, session, assignment):
    """Skip an item the rater cannot judge, keeping why; an invalid report says what is missing."""
    form = ProblemForm(request.POST)
    if not form.is_valid():
        return _item_page(request, rater, *rows.item(assignment.public_id, rater.pk),
                          form=_judgment_form(rater.experiment), problem_form=form, status=400)
    assignment.report_problem(form.cleaned_data["problem"], form.cleaned_data["note"])
    return _next_page(request, rater, session)


@rater_page
def done(request):
    rater = _rater_or_404(request)
    if rater.is_active:
        return redirect("rating:next")
    context = {"rater": rater, "code": "", "redirect_url": "", "mturk": None}
    invite = rater.invite
    if rater.status == Rater.Status.FINISHED and invite is not None and invite.is_active:
        context["code"] = invite.completion_code
        context["redirect_url"] = invite.completion_redirect()
        context["mturk"] = _mturk_submission(rater)
    response = render(request, "rating/done.html", context)
    if context["mturk"]:
        response.form_targets = [context["mturk"]["origin"]]
    return response


def _mturk_submission(rater):
    """MTurk's externalSubmit form target, if the rater came from MTurk (only MTurk's own hosts)."""
    params = rater.platform_params
    submit_to, assignment_id = params.get("turkSubmitTo", ""), params.get("assignmentId", "")
    parts = urlsplit(submit_to)
    if not assignment_id or parts.scheme != "https" or parts.hostname not in MTURK_HOSTS:
        return None
    origin = f"https://{parts.hostname}"
    return {"origin": origin, "action": f"{origin}/mturk/externalSubmit", "assignment_id": assignment_id}
