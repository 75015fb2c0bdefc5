"""What a design will produce, computed once: `manage.py plan` prints it, the console's Check shows it.

Both render one `DesignPreview`, so the shell and the browser cannot disagree about a design.
It lives in the analysis app, downstream of designs and experiments, because the judgments
estimate runs the analysis model on simulations (`power.power_plan`, called here only).
Nothing here touches the database.
"""
from __future__ import annotations

from dataclasses import dataclass

from designs.aliasing import AliasReport, alias_report
from designs.arrays import ArrayError
from designs.matrix import DesignMatrix, design_matrix
from designs.prompts import compose_for_design
from designs.schedule import plan_pairs, schedule_efficiency
from designs.spec import Design, DesignError, Query, problem_at
from designs.tables import variant_rows
from evalplat.analysis.criteria import judgments_needed_per_criterion
from evalplat.analysis.power import PowerPlan, power_plan
from evalplat.analysis.simulate import SimulatedRaters

# Judgments the efficiency figure is measured over: enough for every query and
# variant to be used several times, small enough for plan to answer at once.
EFFICIENCY_SAMPLE = 400
# The default target: a 95% interval of +/- this many log-odds on every main effect.
DEFAULT_HALFWIDTH = 0.25


@dataclass(frozen=True)
class VariantPreview:
    """One variant: its level per factor and its prompt for the design's first query."""

    code: str
    levels: tuple[str, ...]                   # level name per factor, in the design's factor order
    settings: tuple[tuple[str, object], ...]  # (generation key, value) set by its setting and arm factors
    messages: tuple[tuple[str, str], ...]     # (role, content) of the chat prompt


@dataclass(frozen=True)
class DesignPreview:
    """Everything `plan` reports about a design, typed.

    `efficiency[i]` is the pair scheduler's information per judgment on factor i relative to
    the mirror-pair bound, over `efficiency_sample` scheduled judgments (with the pairs mixed in
    for the design's interactions of interest; `efficiency_without_interactions` is what it
    would be without them, the price of those pairs); `power` is the estimate
    for a 95% interval of +/- `halfwidth` log-odds on every main effect, with what it assumed.
    """

    design: Design
    matrix: DesignMatrix
    variants: tuple[VariantPreview, ...]
    aliasing: AliasReport
    first_query: Query
    n_answers: int
    efficiency: tuple[float, ...]
    efficiency_sample: int
    efficiency_without_interactions: tuple[float, ...]   # the cost of [analysis] interactions: efficiency without them
    halfwidth: float
    power: PowerPlan                           # with criteria: the first criterion's scale's
    judgments_per_criterion: tuple[tuple[str, str, int], ...] = ()  # (criterion, scale, judgments)

    @property
    def judgments_needed(self) -> int:
        """Items raters do for the target, attention items included (with criteria: the most any
        criterion needs, since every item asks every criterion)."""
        return max([self.power.judgments] + [n for _, _, n in self.judgments_per_criterion])

    @property
    def factor_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.design.factors)

    @property
    def n_queries(self) -> int:
        return len(self.design.queries)

    @property
    def samples(self) -> int:
        return self.design.generation.samples

    @property
    def factor_efficiency(self) -> tuple[tuple[str, float], ...]:
        return tuple(zip(self.factor_names, self.efficiency))


def preview_design(design: Design, halfwidth: float = DEFAULT_HALFWIDTH) -> DesignPreview:
    """Lay out a parsed design and estimate what it will cost.

    Parameters
    ----------
    design : designs.spec.Design
    halfwidth : float
        Target 95% interval half-width (log-odds) for the judgments estimate.

    Returns
    -------
    DesignPreview

    Raises
    ------
    designs.spec.DesignError
        When no array can hold the factors (a problem at the design's `array` field).
    """
    try:
        matrix = design_matrix(design.levels_per_factor, array=design.array, foldover=design.foldover)
    except ArrayError as exc:
        raise DesignError([problem_at(design, ("array",), str(exc))]) from None
    names = [f.name for f in design.factors]
    query = design.queries[0]
    variants = []
    for code, levels in variant_rows(design, matrix.runs):
        prompt = compose_for_design(design, dict(zip(names, levels)), query)
        variants.append(VariantPreview(
            code=code, levels=tuple(levels),
            settings=tuple((key, getattr(prompt.settings, key)) for f in design.factors for key in f.settings),
            messages=tuple((m["role"], m["content"]) for m in prompt.messages)))
    rating = design.rating

    def efficiency_with(interactions):
        items = plan_pairs(matrix.runs, design.levels_per_factor, len(design.queries), EFFICIENCY_SAMPLE,
                           seed=design.generation.seed, per_rater=rating.per_rater, overlap=rating.overlap,
                           raters_per_item=rating.raters_per_item, interactions=interactions)
        found = schedule_efficiency(matrix.runs, design.levels_per_factor, items)
        return tuple(float(found[i]) for i in range(len(names)))

    interactions = design.analysis.interaction_indices(names)
    efficiency = efficiency_with(interactions)
    return DesignPreview(
        design=design, matrix=matrix, variants=tuple(variants),
        aliasing=alias_report(matrix.runs, design.levels_per_factor, names), first_query=query,
        n_answers=matrix.n_runs * len(design.queries) * design.generation.samples,
        efficiency=efficiency, efficiency_sample=EFFICIENCY_SAMPLE,
        efficiency_without_interactions=efficiency_with(()) if interactions else efficiency,
        halfwidth=halfwidth, **_judgments_needed(design, halfwidth),
    )


def _judgments_needed(design, halfwidth):
    """The power plan (on the first criterion's scale when there are criteria) and, with criteria,
    the judgments each criterion's scale needs."""
    seed = design.generation.seed
    criteria = design.rating.criteria
    raters = SimulatedRaters(scale=criteria[0].scale) if criteria else None
    power = power_plan(design, target_halfwidth=halfwidth, seed=seed, raters=raters)
    if not criteria:
        return {"power": power}
    return {"power": power, "judgments_per_criterion": judgments_needed_per_criterion(design, halfwidth, seed)}
