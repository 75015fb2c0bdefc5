"""An experiment is a design file turned into rows: factors, levels, variants, queries.

The design matrix (which level each variant takes) is stored when the
experiment is created and never regenerated: array libraries reorder rows
between versions, and judgments refer to variants by their stored identity.
"""
from functools import cached_property
from pathlib import Path

from django.conf import settings
from django.db import models, transaction
from django.dispatch import Signal

from designs.prompts import compose
from designs.spec import Factor as DesignFactor
from designs.spec import GenerationSettings, RatingSettings
from designs.spec import Level as DesignLevel

# Sent before an experiment is replaced by a new import of its design. Apps downstream of this
# one (answers, judgments) connect a receiver that returns why the experiment must be kept, or
# "" when it may go: this app learns about their data without importing them.
replacement_requested = Signal()


class ExperimentExists(Exception):
    pass


class ExperimentQuerySet(models.QuerySet):
    def visible_to(self, user):
        if user.is_superuser:
            return self
        return self.filter(owner=user)

    @transaction.atomic
    def create_from_design(self, design, matrix, *, owner=None, replace=False):
        """Create the rows for `design` laid out by `matrix` (a designs.matrix.DesignMatrix).

        Importing a name that exists is an error unless `replace` is set and the
        old experiment has neither answers nor judgments, which would be orphaned.
        """
        existing = self.select_for_update().filter(slug=design.name).first()
        if existing is not None:
            if owner is not None and existing.owner_id != owner.pk and not owner.is_superuser:
                # Names are global (they are in every console URL and command), so a name someone
                # else holds is refused, saying nothing more about their experiment.
                raise ExperimentExists(f"the name {design.name!r} is taken; choose another name for this design")
            if not replace:
                raise ExperimentExists(
                    f"an experiment named {design.name!r} exists already; use --replace to overwrite it "
                    "(in the console: tick \"Replace\"; allowed only while it has no answers or judgments)")
            blocker = existing.replacement_blocker()
            if blocker:
                raise ExperimentExists(f"cannot replace {design.name!r}: {blocker}")
            existing.delete()

        from designs.aliasing import alias_report

        names = [f.name for f in design.factors]
        experiment = self.create(
            slug=design.name, title=design.title, question=design.question, owner=owner,
            design_text=design.text, design_path=_display_path(design.path), design_sha256=design.sha256,
            array_name=matrix.array_name, foldover=matrix.foldover,
            alias_report=alias_report(matrix.runs, design.levels_per_factor, names).as_dict(),
            system_template=design.system_template, user_template=design.user_template,
            generation=design.generation.as_dict(), rating=design.rating.as_dict(),
            held_out_queries=[{"id": q.id, "text": q.text, "category": q.category} for q in design.held_out],
        )
        level_rows = []
        for position, factor in enumerate(design.factors):
            row = Factor.objects.create(experiment=experiment, name=factor.name, position=position,
                                        target=factor.target or "")
            level_rows.append([
                Level.objects.create(factor=row, name=level.name, position=i, value=level.value)
                for i, level in enumerate(factor.levels)
            ])
        variants = []
        for position, run in enumerate(matrix.runs):
            variant = Variant.objects.create(experiment=experiment, code=f"v{position + 1}", position=position)
            variant.levels.set(level_rows[f][int(symbol)] for f, symbol in enumerate(run))
            variants.append(variant)
        for position, mirror in enumerate(matrix.mirror_of):
            if mirror >= 0:
                variants[position].mirror = variants[mirror]
                variants[position].save(update_fields=["mirror"])
        Query.objects.bulk_create(
            Query(experiment=experiment, key=q.id, text=q.text, category=q.category, position=i)
            for i, q in enumerate(design.queries)
        )
        return experiment


def _display_path(path):
    """The design's path relative to the project when it lies inside it (it is shown, not opened),
    cut from the left to fit its column: the file's own name is the part worth keeping."""
    try:
        shown = str(Path(path).resolve().relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        shown = str(path)
    limit = Experiment._meta.get_field("design_path").max_length
    return shown if len(shown) <= limit else "…" + shown[-(limit - 1):]


class Experiment(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        GENERATING = "generating", "Generating answers"
        READY = "ready", "Answers ready"
        RATING = "rating", "Rating open"
        CLOSED = "closed", "Rating closed"

    slug = models.SlugField(max_length=63, unique=True)
    title = models.CharField(max_length=300)
    question = models.TextField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="experiments")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    design_text = models.TextField(help_text="The design file exactly as imported.")
    design_path = models.CharField(max_length=500, blank=True)
    design_sha256 = models.CharField(max_length=64)
    array_name = models.CharField(max_length=100)
    foldover = models.BooleanField(default=False)
    alias_report = models.JSONField(default=dict)
    system_template = models.TextField(blank=True)
    user_template = models.TextField()
    generation = models.JSONField(default=dict)
    rating = models.JSONField(default=dict)
    # Queries the design keeps back for a confirmation run ({"id", "text", "category"}): never
    # Query rows, so no answer is generated and no judgment made for them in this experiment.
    held_out_queries = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ExperimentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.slug

    # --- typed views of the stored design settings ----------------------------
    @cached_property
    def rating_settings(self) -> RatingSettings:
        return RatingSettings.from_dict(self.rating)

    @cached_property
    def generation_settings(self) -> GenerationSettings:
        return GenerationSettings.from_dict(self.generation)

    @property
    def instructions(self):
        return self.rating_settings.instructions

    # --- lifecycle: draft -> generating -> ready -> rating <-> closed -------------
    # Each change is a conditional UPDATE from the states that allow it, so two requests
    # racing on the same experiment cannot both move it; each returns whether it happened.
    def _move(self, allowed, target):
        moved = Experiment.objects.filter(pk=self.pk, status__in=allowed).update(status=target) == 1
        self.refresh_from_db(fields=["status"])
        return moved

    def start_generation(self):
        """A generation job was planned: answers are being made."""
        return self._move([self.Status.DRAFT, self.Status.READY], self.Status.GENERATING)

    def answers_ready(self):
        """Every planned answer is done, however it arrived (generation, import, replay)."""
        return self._move([self.Status.DRAFT, self.Status.GENERATING], self.Status.READY)

    def generation_stopped(self):
        """A job ended (failed or cancelled) with answers still missing."""
        return self._move([self.Status.GENERATING], self.Status.DRAFT)

    def open_rating(self):
        return self._move([self.Status.READY, self.Status.CLOSED], self.Status.RATING)

    def close_rating(self):
        return self._move([self.Status.RATING], self.Status.CLOSED)

    @property
    def answers_frozen(self):
        """Once rating has opened, judgments refer to the answers: they may not change."""
        return self.status in (self.Status.RATING, self.Status.CLOSED)

    def replacement_blocker(self):
        """Why this experiment may not be replaced, or '' when it may."""
        reasons = [reason for _, reason in replacement_requested.send(sender=Experiment, experiment=self) if reason]
        return "; ".join(reasons)

    def design_factors(self):
        """The factors as designs.spec objects, in design order (for prompt composition)."""
        return [
            DesignFactor(name=f.name, target=f.target or None,
                         levels=tuple(DesignLevel(l.name, l.value) for l in f.levels.all()))
            for f in self.factors.prefetch_related("levels")
        ]

    def prompt_for(self, variant, query, factors=None, levels=None):
        """The chat messages and generation settings for one (variant, query).

        Pass `factors` (from design_factors()) and `levels` (variant.level_names()) when composing
        many prompts: the first costs a query per call, the second a related manager per call
        (most of composing a 512-answer plan).
        """
        return compose(self.system_template, self.user_template, self.generation_settings,
                       factors if factors is not None else self.design_factors(),
                       levels if levels is not None else variant.level_names(), query.text)

    def variants_table(self):
        """Rows for variants.csv: (code, [level name per factor]) in run order."""
        factor_names = list(self.factors.values_list("name", flat=True))
        rows = []
        for variant in self.variants.prefetch_related("levels__factor"):
            names = variant.level_names()
            rows.append((variant.code, [names[f] for f in factor_names]))
        return factor_names, rows


class Factor(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="factors")
    name = models.CharField(max_length=63)
    position = models.PositiveIntegerField()
    target = models.CharField(max_length=63, blank=True, help_text="Empty for a text factor.")

    class Meta:
        ordering = ["experiment", "position"]
        constraints = [models.UniqueConstraint(fields=["experiment", "name"], name="unique_factor_name")]

    def __str__(self):
        return self.name


class Level(models.Model):
    factor = models.ForeignKey(Factor, on_delete=models.CASCADE, related_name="levels")
    name = models.CharField(max_length=63)
    position = models.PositiveIntegerField(help_text="0 is the baseline.")
    value = models.JSONField()

    class Meta:
        ordering = ["factor", "position"]
        constraints = [models.UniqueConstraint(fields=["factor", "name"], name="unique_level_name")]

    def __str__(self):
        return f"{self.factor.name}={self.name}"

    @property
    def is_baseline(self):
        return self.position == 0


class Variant(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    code = models.CharField(max_length=20)
    position = models.PositiveIntegerField()
    levels = models.ManyToManyField(Level, related_name="variants")
    mirror = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                               help_text="The foldover mirror image of this run, if any.")

    class Meta:
        ordering = ["experiment", "position"]
        constraints = [models.UniqueConstraint(fields=["experiment", "code"], name="unique_variant_code")]

    def __str__(self):
        return self.code

    def level_names(self):
        """{factor name: level name}; uses prefetched levels__factor when present."""
        return {level.factor.name: level.name for level in self.levels.all()}


class Query(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="queries")
    key = models.CharField(max_length=100, help_text="The query's id in the design file.")
    text = models.TextField()
    category = models.CharField(max_length=100, blank=True)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["experiment", "position"]
        verbose_name_plural = "queries"
        constraints = [models.UniqueConstraint(fields=["experiment", "key"], name="unique_query_key")]

    def __str__(self):
        return self.key
