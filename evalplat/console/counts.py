"""The one place the console counts an experiment's answers, judgments and raters.

Every console page shows its numbers from `study_counts` (and the rating page's rater rows from
`rater_progress`, counted the same way), so no two pages can disagree. The rule for attention
items, decided here once and shown on each page as ATTENTION_RULE: an attention item (a real
answer against an off-topic one, to see that the rater reads) is never a judgment. "Judgments"
are the items in which a rater compared two variants' answers, second ratings included;
attention items are counted apart, with how many were passed. The report counts the same way
(`evalplat.analysis.report`: judgments = all judged items less the attention items).

An item counts once it is judged (its status), and an attention item as passed unless its rater's
failure count went up for it (`Rater.gold_failures`, what stops a careless rater): the counts
read the items and the raters, the two records the rater pages keep.
"""
from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from evalplat.generation.models import Answer
from evalplat.generation.progress import generation_progress
from evalplat.rating.models import Assignment, Rater

ATTENTION_RULE = ("Judgments count the comparisons of two variants' answers (second ratings included). "
                  "Attention items, an answer against an off-topic one, are counted apart and never as judgments.")


def _judged(prefix="", **more):
    """Judged items (of a rater, with prefix "assignments__"), narrowed by `more`."""
    return Q(**{f"{prefix}status": Assignment.Status.JUDGED}, **{f"{prefix}{k}": v for k, v in more.items()})


@dataclass(frozen=True)
class StudyCounts:
    answers_planned: int
    answers_done: int
    answers_failed: int
    answers_excluded: int
    answers_usable: int         # done and not excluded: what rating may show
    judgments: int              # comparisons of two variants' answers (ATTENTION_RULE)
    second_ratings: int         # of those, items given to a second rater for agreement
    attention_items: int        # attention items judged
    attention_passed: int
    problems_reported: int      # items a rater skipped, saying why
    items_open: int             # handed to a rater, not answered yet
    raters: int
    raters_judging: int
    raters_finished: int
    raters_stopped: int

    @property
    def attention_accuracy(self):
        """Share of attention items passed, or None before the first one."""
        return self.attention_passed / self.attention_items if self.attention_items else None


def study_counts(experiment) -> StudyCounts:
    """The counts of one experiment, in a handful of aggregate queries whatever its size; the
    answers as the Generation page counts them (`generation_progress`)."""
    generation = generation_progress(experiment)
    items = Assignment.objects.filter(experiment=experiment).aggregate(
        n_pairs=Count("pk", filter=_judged(is_gold=False)),
        n_second=Count("pk", filter=_judged(is_gold=False, kind=Assignment.Kind.REPLICA)),
        n_attention=Count("pk", filter=_judged(is_gold=True)),
        n_open=Count("pk", filter=Q(status=Assignment.Status.ISSUED)),
        n_skipped=Count("pk", filter=Q(status=Assignment.Status.SKIPPED)))
    raters = Rater.objects.filter(experiment=experiment).aggregate(
        n_total=Count("pk"), n_active=Count("pk", filter=Q(status=Rater.Status.ACTIVE)),
        n_finished=Count("pk", filter=Q(status=Rater.Status.FINISHED)),
        n_stopped=Count("pk", filter=Q(status=Rater.Status.STOPPED)),
        n_failed=Sum("gold_failures", default=0))
    return StudyCounts(
        answers_planned=generation.total, answers_done=generation.done, answers_failed=generation.failed,
        answers_excluded=generation.excluded,
        answers_usable=Answer.objects.filter(experiment=experiment).usable().count(),
        judgments=items["n_pairs"], second_ratings=items["n_second"], attention_items=items["n_attention"],
        attention_passed=items["n_attention"] - raters["n_failed"], problems_reported=items["n_skipped"],
        items_open=items["n_open"], raters=raters["n_total"], raters_judging=raters["n_active"],
        raters_finished=raters["n_finished"], raters_stopped=raters["n_stopped"])


@dataclass(frozen=True)
class RaterProgress:
    rater: Rater
    label: str                  # r<pk>, as the report and the exports name raters
    judgments: int              # ATTENTION_RULE: attention items not included
    attention_items: int
    attention_passed: int
    skipped: int
    per_rater: int              # the session length the design sets

    @property
    def done(self):
        """Items finished, as the rater's own progress bar counts them (attention items and skips too)."""
        return self.judgments + self.attention_items + self.skipped


def rater_progress(experiment, limit=100):
    """The newest `limit` raters with their counts (one grouped query), and how many raters there are."""
    raters = (Rater.objects.filter(experiment=experiment).select_related("invite").order_by("-created_at", "-pk")
              .annotate(n_pairs=Count("assignments", filter=_judged("assignments__", is_gold=False)),
                        n_attention=Count("assignments", filter=_judged("assignments__", is_gold=True)),
                        n_skipped=Count("assignments", filter=Q(assignments__status=Assignment.Status.SKIPPED))))
    per_rater = experiment.rating_settings.per_rater
    rows = [RaterProgress(rater=r, label=f"r{r.pk}", judgments=r.n_pairs, attention_items=r.n_attention,
                          attention_passed=r.n_attention - r.gold_failures, skipped=r.n_skipped, per_rater=per_rater)
            for r in raters[:limit]]
    return rows, Rater.objects.filter(experiment=experiment).count()
