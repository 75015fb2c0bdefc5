"""Raters, the links that bring them in, what they are asked to judge and what they answer.

Everything a rater's browser sees is addressed by a random public id
(`secrets.token_urlsafe`), never by a primary key, so URLs say nothing about
order, count or variant.
"""
import secrets

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.dispatch import receiver
from django.utils import timezone

from evalplat.experiments.models import replacement_requested


def new_token():
    return secrets.token_urlsafe(18)


def new_completion_code():
    return secrets.token_hex(4).upper()


class Invite(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", "One rater"
        STUDY = "study", "Study link (a new rater per participant)"

    class Platform(models.TextChoices):
        NONE = "none", "None"
        PROLIFIC = "prolific", "Prolific"
        MTURK = "mturk", "Amazon Mechanical Turk"

    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE, related_name="invites")
    token = models.CharField(max_length=40, unique=True, default=new_token)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STUDY)
    platform = models.CharField(max_length=10, choices=Platform.choices, default=Platform.NONE)
    label = models.CharField(max_length=200, blank=True)
    completion_code = models.CharField(max_length=40, default=new_completion_code)
    completion_url = models.URLField(
        max_length=500, blank=True,
        help_text="Where to send a rater who finished; {code} is replaced by the completion code.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.label or f"{self.get_kind_display()} {self.token[:6]}…"

    @property
    def is_active(self):
        return self.revoked_at is None

    def completion_redirect(self):
        if not self.completion_url:
            return ""
        return self.completion_url.replace("{code}", self.completion_code)


class Rater(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Judging"
        FINISHED = "finished", "Finished"
        STOPPED = "stopped", "Stopped (failed attention checks)"

    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE, related_name="raters")
    invite = models.ForeignKey(Invite, null=True, blank=True, on_delete=models.SET_NULL, related_name="raters")
    public_id = models.CharField(max_length=40, unique=True, default=new_token)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # Crowd-platform identity (Prolific PROLIFIC_PID / MTurk workerId) and the
    # rest of what the platform passed, kept for payment and for the analysis.
    external_id = models.CharField(max_length=200, blank=True)
    platform_params = models.JSONField(default=dict, blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    gold_failures = models.PositiveIntegerField(default=0)
    too_fast = models.BooleanField(
        default=False,
        help_text="Median time on item below RATING_FAST_MEDIAN_SECONDS over at least RATING_FAST_MIN_ITEMS "
                  "judgments: read by the analysis's exclusion rule.")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            # A participant who reopens the study link resumes instead of starting over.
            models.UniqueConstraint(fields=["invite", "external_id"], condition=~Q(external_id=""),
                                    name="one_rater_per_participant"),
        ]

    def __str__(self):
        return self.external_id or self.public_id[:8]

    @property
    def is_active(self):
        return self.status == self.Status.ACTIVE

    @property
    def should_be_warned(self):
        return self.gold_failures >= settings.RATING_GOLD_WARN_AFTER

    def refusal(self):
        """Why this rater may not judge now ('' when they may): a withdrawn link, a closed study, an ended session.

        Checked on every judgment, not only when an item is handed out, so an
        item opened before the link was revoked or rating closed is refused too.
        """
        if self.invite is not None and not self.invite.is_active:
            return "revoked"
        if self.experiment.status != self.experiment.Status.RATING:
            return "closed"
        if not self.is_active:
            return "ended"
        return ""

    def update_after_judgment(self, *, gold_failed, too_fast):
        """Count a failed attention item and keep the speed flag current, in one UPDATE (caller holds the row lock).

        The rater is stopped at RATING_GOLD_STOP_AFTER failures.
        """
        changes = {}
        if gold_failed:
            changes["gold_failures"] = self.gold_failures + 1
            if changes["gold_failures"] >= settings.RATING_GOLD_STOP_AFTER and self.is_active:
                changes.update(status=self.Status.STOPPED, finished_at=timezone.now())
        if too_fast != self.too_fast:
            changes["too_fast"] = too_fast
        if changes:
            Rater.objects.filter(pk=self.pk).update(**changes)
            for name, value in changes.items():
                setattr(self, name, value)

    def finish(self):
        if Rater.objects.filter(pk=self.pk, status=self.Status.ACTIVE).update(
                status=self.Status.FINISHED, finished_at=timezone.now()):
            self.status = self.Status.FINISHED


class AssignmentQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=Assignment.Status.ISSUED)

    def done(self):
        return self.filter(status__in=[Assignment.Status.JUDGED, Assignment.Status.SKIPPED])

    def queued(self):
        return self.filter(status=Assignment.Status.QUEUED)

    def handed_out(self):
        """Items given to a rater (not those still waiting in the queue)."""
        return self.exclude(status=Assignment.Status.QUEUED)

    def abandoned(self, now=None):
        return self.filter(status=Assignment.Status.ISSUED, expires_at__lt=now or timezone.now())


def cell_key(query_id, variant_a, variant_b):
    """The scheduler's cell of an item: its query and its unordered pair of variants (database ids).

    Stored on each assignment so that "no rater sees a (query, pair) twice" is a
    unique constraint and the queue can skip a rater's cells in SQL. Never sent
    to a browser.
    """
    low, high = sorted((variant_a, variant_b))
    return f"{query_id}:{low}:{high}"


class Assignment(models.Model):
    """One item: a query and two answers in the order shown, planned ahead and then put to one rater.

    A queued assignment (status QUEUED, no rater) is an item the scheduler has
    planned; a rater's request claims the first one their constraints allow
    (see evalplat/rating/scheduling.py).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Planned, waiting for a rater"
        ISSUED = "issued", "Waiting for the rater"
        JUDGED = "judged", "Judged"
        SKIPPED = "skipped", "Skipped (problem reported)"
        EXPIRED = "expired", "Abandoned and handed on"

    class Kind(models.TextChoices):
        NEW = "new", "Scheduled"
        REPLICA = "replica", "Second rater (agreement)"
        REISSUE = "reissue", "Reissued after being abandoned"
        GOLD = "gold", "Attention item"

    class Side(models.TextChoices):
        LEFT = "left", "Left"
        RIGHT = "right", "Right"

    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE, related_name="assignments")
    rater = models.ForeignKey(Rater, null=True, blank=True, on_delete=models.CASCADE, related_name="assignments",
                              help_text="Empty while the item waits in the queue.")
    query = models.ForeignKey("experiments.Query", on_delete=models.CASCADE, related_name="+")
    left_answer = models.ForeignKey("generation.Answer", on_delete=models.CASCADE, related_name="+")
    right_answer = models.ForeignKey("generation.Answer", on_delete=models.CASCADE, related_name="+")
    cell = models.CharField(max_length=64, blank=True, help_text="query:variant:variant (ids); empty for attention items.")
    public_id = models.CharField(max_length=40, unique=True, default=new_token)
    position = models.PositiveIntegerField(null=True, blank=True, help_text="0 for the rater's first item.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.NEW)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED)
    source = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies",
                               help_text="The item this one repeats (replica) or takes over (reissue).")
    replica_number = models.PositiveSmallIntegerField(
        default=0, help_text="For a replica: 1 for the item's second rater, 2 for its third, … (raters_per_item - 1).")
    is_gold = models.BooleanField(default=False)
    gold_better = models.CharField(max_length=5, choices=Side.choices, blank=True,
                                   help_text="For attention items: the side holding the on-topic answer.")
    problem = models.CharField(max_length=20, blank=True)
    problem_note = models.TextField(blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["rater", "position"]
        constraints = [
            # Two tabs asking for "the next item" at once cannot both create one.
            models.UniqueConstraint(fields=["rater", "position"], name="one_assignment_per_rater_position"),
            # An abandoned item is handed on once, and an item gets each of its further raters once
            # (raters_per_item - 1 replicas, numbered).
            models.UniqueConstraint(fields=["source", "kind", "replica_number"], condition=Q(source__isnull=False),
                                    name="one_copy_of_each_kind"),
            # No rater meets the same (query, pair of variants) twice.
            models.UniqueConstraint(fields=["rater", "cell"], condition=~Q(cell=""), name="one_cell_per_rater"),
        ]
        indexes = [
            models.Index(fields=["experiment", "status", "expires_at"], name="rating_assignment_by_status"),
            # The queue: only the few planned rows, however long the history grows.
            models.Index(fields=["experiment", "id"], condition=Q(status="queued"), name="rating_queue"),
        ]

    def __str__(self):
        return self.public_id

    @property
    def is_finished(self):
        return self.status in (self.Status.JUDGED, self.Status.SKIPPED)

    def time_on_item_ms(self, now):
        """Server-side time from the claim to `now`.

        The claim is the request that redirects the browser to the item (a submit or /r/next/), so
        it is when the item is first shown, to a redirect's latency; a reload does not restart it.
        Counting from the claim keeps the item page's GET free of writes.
        """
        started = self.issued_at or now
        return max(0, int((now - started).total_seconds() * 1000))

    def record_judgment(self, *, answers, both_bad, rationale):
        """Store the rater's answers to every criterion once; a repeated submit returns None and changes nothing.

        `answers`: (criterion name, winner, strength) per criterion, in the order asked. One
        Judgment row per criterion, written by one INSERT after the conditional UPDATE that lets
        exactly one of two simultaneous submits through; the unique (assignment, criterion)
        constraint backs it. All criteria or none: the caller runs this inside a transaction, so
        the status and every row are written together. An item that was handed on after its
        rater went quiet (expired) still takes its first rater's judgment: a judgment is never
        thrown away. Returns the rows, first criterion first.
        """
        from evalplat.rating import rows  # the judging loop's SQL (it imports this module)

        now = timezone.now()
        finished, issued_at = rows.finish(self.pk, finished_at=now)
        if not finished:
            return None
        self.status, self.issued_at, self.finished_at = self.Status.JUDGED, issued_at, now
        # As a rater's session rows carry it (rows.session_items), so the session this item was
        # found in counts the judgment just stored (Session.too_fast).
        self.judged_in_ms = time_on_item = self.time_on_item_ms(now)
        return rows.insert_judgments([
            Judgment(assignment=self, criterion=criterion, winner=winner, strength=strength, both_bad=both_bad,
                     rationale=rationale, time_on_item_ms=time_on_item)
            for criterion, winner, strength in answers])

    def report_problem(self, problem, note):
        """Skip an item the rater cannot judge, keeping why."""
        now = timezone.now()
        skipped = Assignment.objects.filter(
            pk=self.pk, status__in=[self.Status.ISSUED, self.Status.EXPIRED],
        ).update(status=self.Status.SKIPPED, problem=problem, problem_note=note, finished_at=now)
        if skipped:
            self.status, self.finished_at = self.Status.SKIPPED, now
        return skipped


class RatingQueue(models.Model):
    """When an experiment's queue of planned items was last topped up, and when to top it up next.

    Its row lock is the planning lock: one request at a time plans for an
    experiment, the others go on claiming what is queued.
    """

    experiment = models.OneToOneField("experiments.Experiment", on_delete=models.CASCADE, related_name="rating_queue")
    refilled_at = models.DateTimeField(null=True, blank=True)
    refill_from_id = models.BigIntegerField(
        default=0, help_text="Claiming a queued item with this id or a later one tops the queue up.")
    query_cap = models.PositiveIntegerField(default=1, help_text="Most items of one query for one rater.")
    replica_from_id = models.BigIntegerField(
        default=0, help_text="Judged items below this id have their second rating (or will not get one).")
    planned = models.PositiveIntegerField(default=0, help_text="Items planned so far (all refills).")

    def __str__(self):
        return f"queue of {self.experiment_id}"

    def wants_refill(self, claimed, now):
        """Whether claiming `claimed` should top the queue up: it reached the second half of the newest
        batch of pairs (attention items are stocked for a whole batch), or the last refill is old."""
        due = self.refilled_at is None or (now - self.refilled_at).total_seconds() >= settings.RATING_QUEUE_REFILL_SECONDS
        return due or (not claimed.is_gold and claimed.pk >= self.refill_from_id)


class Judgment(models.Model):
    class Winner(models.TextChoices):
        LEFT = "left", "Left"
        RIGHT = "right", "Right"
        TIE = "tie", "About the same"

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="judgments")
    criterion = models.CharField(
        max_length=63, blank=True, default="",
        help_text="The design's criterion this answers (designs.spec.Criterion.name); empty for a design's one question.")
    winner = models.CharField(max_length=5, choices=Winner.choices)
    strength = models.PositiveSmallIntegerField(null=True, blank=True,
                                                help_text="1 = better, 2 = much better; empty for a tie.")
    both_bad = models.BooleanField(default=False)
    rationale = models.TextField(blank=True)
    time_on_item_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            # One answer per criterion per item: a replayed submit cannot add a second.
            models.UniqueConstraint(fields=["assignment", "criterion"], name="one_judgment_per_criterion"),
        ]

    def __str__(self):
        return f"{self.assignment_id}: {self.criterion + ' ' if self.criterion else ''}{self.winner}"

    @property
    def passed_gold(self):
        return self.winner == self.assignment.gold_better


class LeakFlag(models.Model):
    """An answer that could tell a rater which variant wrote it."""

    class Kind(models.TextChoices):
        SYSTEM_PROMPT = "system-prompt", "Quotes its system prompt"
        LEVEL_TEXT = "level-text", "Quotes a level text"
        MODEL_NAME = "model-name", "Names a model"

    answer = models.ForeignKey("generation.Answer", on_delete=models.CASCADE, related_name="leak_flags")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    evidence = models.CharField(max_length=300, help_text="The words that matched.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["answer", "kind"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.evidence}"


class LeakCheck(models.Model):
    """One run of the leak check over an experiment's finished answers, or the experimenter's
    recorded decision to open rating without a current one (who and when, for the record).

    A run is current while the answers are as it saw them: the same number finished, the newest
    written at the same moment (evalplat/rating/opening.py compares them).
    """

    class Kind(models.TextChoices):
        RUN = "run", "Leak check run"
        OPENED_ANYWAY = "opened-anyway", "Rating opened without a current leak check"

    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE, related_name="leak_checks")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.RUN)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+", help_text="Empty when a command ran it.")
    at = models.DateTimeField(default=timezone.now)
    answers = models.PositiveIntegerField(help_text="Finished answers at the time.")
    answers_written_at = models.DateTimeField(null=True, blank=True,
                                              help_text="When the newest of those answers was written.")
    flagged = models.PositiveIntegerField(default=0, help_text="Answers the run flagged.")

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.experiment_id}: {self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"


@receiver(replacement_requested)
def _judgments_block_replacement(sender, experiment, **kwargs):
    judged = Judgment.objects.filter(assignment__experiment=experiment).exists()
    return "it has judgments" if judged else ""
