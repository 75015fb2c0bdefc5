"""The analysis of one data set as one frozen, typed value: what every consumer reads.

`pipeline.run_analysis` builds an `AnalysisResult`; the report, the output files, the export
bundle and the console read its attributes.  `as_json()` is effects.json, whose keys are a
contract (PRODUCT.md): fields are named after those keys, nested values after theirs, and new
fields extend it.  `AnalysisResult.from_json` rebuilds the same value from that JSON, which is
how a stored snapshot (`snapshots.py`) comes back without refitting.

The conversion is one generic walk over the dataclass fields: a field marked `OMIT_IF_NONE` is
left out of the JSON when it is None (keys that effects.json has only sometimes), and a class
may define `_json()` / `_from_json()` where its JSON form is not its fields one for one.
"""
import math
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from functools import cache

from .estimate import Settings

OMIT_IF_NONE = {"omit_if_none": True}
CLICKER_FLAG = 0.5        # a rater at least this likely to be a random clicker is "flagged"


def optional(default=None):
    """A field that is left out of the JSON while it is None."""
    return field(default=default, metadata=OMIT_IF_NONE)


@cache
def _plan(cls):
    """How a dataclass becomes JSON: its own `_json`, or (field name, omit when None) pairs."""
    if hasattr(cls, "_json"):
        return None
    return tuple((f.name, bool(f.metadata.get("omit_if_none"))) for f in fields(cls))


def _to_json(value):
    # The common leaf types first: a result holds a row per rater, tens of thousands of values.
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return value
    if kind is float:
        return value if math.isfinite(value) else None   # NaN and infinities are not JSON
    if kind is list or kind is tuple:
        return [_to_json(v) for v in value]
    if kind is dict:
        return {str(k): _to_json(v) for k, v in value.items()}
    if is_dataclass(value):
        plan = _plan(kind)
        if plan is None:
            return value._json()
        out = {}
        for name, omit in plan:
            item = getattr(value, name)
            if item is None and omit:
                continue
            out[name] = _to_json(item)
        return out
    if hasattr(value, "item"):                           # a numpy scalar
        return _to_json(value.item())
    return value


@cache
def _hints(cls):
    return typing.get_type_hints(cls)


def _from_json(kind, value):
    """Rebuild a value of type `kind` from its JSON form."""
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return _from_json(options[0], value) if len(options) == 1 else value
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_from_json(item, v) for v in value]
    if is_dataclass(kind):
        if hasattr(kind, "_from_json"):
            return kind._from_json(value)
        hints = _hints(kind)
        return kind(**{f.name: _from_json(hints[f.name], value[f.name]) for f in fields(kind) if f.name in value})
    return value


class JsonMixin:
    def as_json(self):
        """The JSON form (plain dicts, lists, numbers and strings)."""
        return _to_json(self)

    @classmethod
    def from_json(cls, data):
        return _from_json(cls, data)


@dataclass(frozen=True)
class Effect(JsonMixin):
    """One level of one factor, relative to the factor's baseline (whose row has estimate 0)."""
    factor: str
    level: str
    baseline: bool
    estimate: float
    std_error: float
    robust_std_error: float | None
    ci_low: float
    ci_high: float
    p_value: float | None
    p_holm: float | None
    win_probability: float             # share of comparisons with the baseline where this level is preferred
    win_low: float
    win_high: float
    tie_probability: float             # ... called about the same (0 on a scale without ties)
    loss_probability: float            # ... where the baseline is preferred

    @property
    def significant(self):
        return not self.baseline and self.p_holm is not None and self.p_holm < 0.05


@dataclass(frozen=True)
class PositionBias(JsonMixin):
    estimate: float
    std_error: float
    robust_std_error: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Factor(JsonMixin):
    name: str
    levels: list[str]


@dataclass(frozen=True)
class VariantLevels(JsonMixin):
    """A variant and its level of each factor; in JSON ``{"variant": id, factor: level, ...}``."""
    variant: str
    levels: dict

    def _json(self):
        return {"variant": self.variant, **self.levels}

    @classmethod
    def _from_json(cls, data):
        return cls(variant=data["variant"], levels={k: v for k, v in data.items() if k != "variant"})


@dataclass(frozen=True)
class ScaleInfo(JsonMixin):
    """The categories the judgments used (low to high) and the ordered thresholds t."""
    categories: list[str]
    thresholds: list[float]

    @property
    def ties(self):
        return "tie" in self.categories

    @property
    def tie_edge(self):
        """effects.tie_edge of the fit: t1 on a scale with ties, else 0."""
        return self.thresholds[0] if self.ties else 0.0


@dataclass(frozen=True)
class DesignContext(JsonMixin):
    """What the report says about the design; every part is optional (an offline analysis has none)."""
    name: str | None = optional()
    title: str | None = optional()
    question: str | None = optional()
    array: str | None = optional()
    foldover: bool | None = optional()


@dataclass(frozen=True)
class BestCombination(JsonMixin):
    """The best level of each factor and its predicted win rate against the all-baseline variant;
    `variant` is the variant that has exactly these levels, None when no variant was run with them."""
    levels: dict
    log_odds: float
    std_error: float
    win_rate: float
    win_low: float
    win_high: float
    tie_rate: float
    loss_rate: float
    variant: str | None
    # The same combination corrected for having been picked as the best (winners_curse): the
    # bootstrap-corrected log-odds (the estimate to quote), its bias, the shrunken estimate beside
    # it, and the corrected win rate. Absent from results stored before the correction existed.
    corrected_log_odds: float | None = optional()
    selection_bias: float | None = optional()
    shrunken_log_odds: float | None = optional()
    corrected_win_rate: float | None = optional()


@dataclass(frozen=True)
class CarelessSummary(JsonMixin):
    fitted: bool
    reason: str | None = optional()
    share: float | None = optional()
    iterations: int | None = optional()
    expected_careless_raters: float | None = optional()
    clicker_distribution: dict | None = optional()
    raters: dict | None = optional()     # rater -> posterior probability of being a random clicker


@dataclass(frozen=True)
class GoldSummary(JsonMixin):
    items: int
    accuracy: float | None


@dataclass(frozen=True)
class ExcludedRater(JsonMixin):
    rater: str
    gold_items: int
    gold_accuracy: float | None   # None: the rater met no attention items
    reason: str = "gold"          # "gold": the attention-item rule; "fast": flagged too fast by the rating pages


@dataclass(frozen=True)
class PenaltySummary(JsonMixin):
    """Whether the effects are the plain MLE or penalised, and why (estimate.choose_penalty)."""
    setting: str                 # "auto", "always" or "never"
    applied: bool
    reason: str | None           # "separated", "unidentified", "asked"; None when not applied
    sd: float                    # the N(0, sd^2) on centred level effects, when applied
    separating: list[str]        # FACTOR=LEVEL effects in the separating direction

    def statement(self):
        """The report's sentence on it, true of the fit beside it."""
        prior = (f"a N(0, {self.sd:g}²) penalty on each level's effect relative to its factor's mean "
                 f"level (and on the position bias), which does not depend on which level is the baseline")
        if not self.applied:
            return ("Effects are plain maximum-likelihood estimates: the judgments pin every effect down, so no "
                    "prior or penalty is used" + (" (the penalty is switched off)." if self.setting == "never" else
                                                   "."))
        if self.reason == "asked":
            return f"Effects are penalised as asked (penalty = \"always\"): {prior}."
        if self.reason == "separated":
            which = f" ({', '.join(self.separating)})" if self.separating else ""
            return (f"The judgments separate{which}: no judgment goes against some effects, so their "
                    f"maximum-likelihood estimates would be infinite. Every effect is therefore estimated with "
                    f"{prior}; where the data are clear it barely matters.")
        return (f"Some effects are not identified by the pairs judged, so every effect is estimated with {prior}; "
                f"the unidentified ones come out as the penalty's 0.")


@dataclass(frozen=True)
class BothBad(JsonMixin):
    judgments: int
    treated_as: str


@dataclass(frozen=True)
class Aliasing(JsonMixin):
    report: dict
    lines: list[str]


@dataclass(frozen=True)
class Agreement(JsonMixin):
    alpha_ordinal: float | None
    alpha_perfect_raters: float | None
    multiply_rated_items: int


@dataclass(frozen=True)
class RaterRow(JsonMixin):
    rater: str
    judgments: int
    tie_rate: float
    left_share: float | None
    consensus_agreement: float | None
    consensus_items: int
    model_agreement: float | None
    careless_probability: float | None


@dataclass(frozen=True)
class StyleCovariate(JsonMixin):
    name: str
    estimate: float
    std_error: float


@dataclass(frozen=True)
class StyleEffect(JsonMixin):
    """An effect without and with length/format in the model, both fitted on the same judgments.  `explained` (a share in 0..1) is
    given only when that share means something; `explained_reason` says why it is not otherwise."""
    factor: str
    level: str
    estimate: float
    adjusted: float
    adjusted_std_error: float
    explained: float | None
    std_error: float | None = None
    explained_reason: str | None = None


@dataclass(frozen=True)
class StyleDiagnostic(JsonMixin):
    covariates: list[StyleCovariate]
    effects: list[StyleEffect]
    left_out: list[str] = field(default_factory=list)   # covariates that never vary, with the reason
    fitted_judgments: int | None = None   # judgments in the fits (a random sample when fewer than `judgments`)
    judgments: int | None = None


@dataclass(frozen=True)
class InteractionRow(JsonMixin):
    factors: list[str]
    estimable: bool
    estimate: float | None = optional()
    std_error: float | None = optional()
    ci_low: float | None = optional()
    ci_high: float | None = optional()
    information: float | None = optional()   # relative to a typical main effect's (diagnostics.py)
    reason: str | None = optional()          # why it is not estimable


@dataclass(frozen=True)
class Interactions(JsonMixin):
    skipped: str | None
    effects: list[InteractionRow]


@dataclass(frozen=True)
class CategoryEffect(JsonMixin):
    factor: str
    level: str
    estimate: float
    std_error: float


@dataclass(frozen=True)
class CategoryEffects(JsonMixin):
    category: str
    judgments: int
    queries: int
    thin: bool
    effects: list[CategoryEffect]
    fitted_judgments: int | None = None   # judgments of the category in its fit (a random sample of them when fewer)


@dataclass(frozen=True)
class RobustnessRow(JsonMixin):
    """The fewest judgments whose removal flips a significant effect's sign (one-step estimate),
    and whether one refit without them confirmed it."""
    factor: str
    level: str
    judgments_to_flip: int
    share: float
    verified_by_refit: bool


@dataclass(frozen=True)
class AnalysisResult(JsonMixin):
    """Everything `run_analysis` found; effects.json is `as_json()`."""
    effects: list[Effect]
    interval_method: str
    interval_detail: str
    position_bias: PositionBias
    n_judgments: int
    n_judgments_total: int
    n_queries: int
    n_raters: int
    n_variants: int
    factors: list[Factor]
    variants: list[VariantLevels]
    scale: ScaleInfo
    converged: bool
    prior_sd: float | None             # the penalty's sd when one was applied; None for the plain MLE
    settings: Settings
    design: DesignContext
    best_combination: BestCombination
    careless: CarelessSummary
    gold: GoldSummary
    exclusion_rule: str
    excluded_raters: list[ExcludedRater]
    both_bad: BothBad
    notes: list[str]
    aliasing: Aliasing
    agreement: Agreement
    raters: list[RaterRow]
    style: StyleDiagnostic | None
    best_tested_variant: str           # the run with the highest estimated utility
    interval_note: str                 # which errors the intervals use, and why, in words
    interval_df: int | None = optional()  # Student's t degrees of freedom of the intervals; None: normal
    interactions: Interactions | None = optional()
    by_category: list[CategoryEffects] | None = optional()
    robustness: list[RobustnessRow] | None = optional()
    simulation: dict | None = optional()    # `manage.py simulate`: the truth and the simulated raters
    penalty: PenaltySummary | None = optional()   # absent in results stored before it existed

    def tested_effects(self):
        return [row for row in self.effects if not row.baseline]

    def baseline_levels(self):
        return {row.factor: row.level for row in self.effects if row.baseline}

    def excluded_rater_names(self):
        return {row.rater for row in self.excluded_raters}

    def flagged_rater_names(self):
        """Raters at least CLICKER_FLAG likely to be random clickers."""
        return {name for name, p in (self.careless.raters or {}).items() if p is not None and p >= CLICKER_FLAG}
