"""Judgments on several criteria: the whole analysis once per criterion, and what lies between them.

A design with `[[rating.criteria]]` asks every criterion about the same pair, so each item is a
judgment per criterion (judgments.csv: a line per criterion, `criterion` naming it). This layer
runs `pipeline.run_analysis` once per criterion, unchanged, and adds what only several
criteria have:

- the **weighted combination** Σ wᵢ·βᵢ of the criteria's effects (weights from the design,
  1 each without one), with its interval. The criteria are judged on the same items by the same
  raters, so their estimates are correlated and the variance needs their covariance. It comes
  from a stacked sandwich: each judgment's one-step influence on its criterion's estimates
  (J⁻¹sᵢ, the same influences the robustness check uses), weighted by the criterion's weight and
  stacked over criteria, then clustered two-way by query and by rater (Cameron, Gelbach and
  Miller 2011) exactly as each criterion's own robust errors are. That is the robust covariance
  of the stacked estimating equations, so cross-criterion terms from shared raters and queries
  are in it. With fewer than `MIN_CLUSTERS` clusters the criteria's intervals are model-based,
  and the combination clusters only the answers of one rating (one rater, one item) together;
- **correlations**: between the criteria's effects (over the tested levels: do the criteria
  move together?) and between raters' answers (over the ratings that answered both criteria);
- **disagreements**: each level whose interval lies above zero on one criterion and below zero
  on another, as a sentence whose numbers are the ones in the effects table;
- **Krippendorff's α per criterion** with a 95% percentile interval from a bootstrap over items
  (Hayes and Krippendorff 2007 resample the coincidences; resampling items keeps each item's
  ratings together, which is what the raters' agreement rests on);
- **per-rater agreement** with the others, per criterion: the share of a rater's judgments on
  multiply rated items that match the leave-one-out majority direction of the other ratings.

Cost: each criterion is fitted twice, once inside `run_analysis` (which keeps its `Estimate` to
itself) and once here for the influences, so criteria cost about 2 × (number of criteria) fits of
one question.
"""
from dataclasses import dataclass, field, fields, replace

import numpy as np

from . import agreement
from .effects import quantile
from .estimate import MIN_CLUSTERS, Settings, estimate_effects, prepare
from .pipeline import excluded_raters, run_analysis
from .power import judgments_needed
from .result import AnalysisResult, Effect, JsonMixin
from .robust import two_way_cluster_covariance
from .simulate import SimulatedRaters

ALPHA_DRAWS = 1000
ROBUST_COMBINATION = ("stacked sandwich: each judgment's influence on its criterion's estimates, weighted and "
                      "summed over criteria, clustered two-way by query and rater (Cameron, Gelbach and Miller "
                      "2011), Student's t on {df} degrees of freedom")
MODEL_COMBINATION = ("stacked sandwich clustered by rating (the answers one rater gave about one item), normal "
                     "quantiles: too few query or rater clusters for the two-way robust errors")


@dataclass(frozen=True)
class CriterionEffect(Effect):
    """An effect of effects.json with the criterion it is an effect on."""
    criterion: str = ""


@dataclass(frozen=True)
class CriterionAnalysis(JsonMixin):
    """One criterion's whole analysis (the one-question effects.json) and its weight in the combination."""
    criterion: str
    weight: float
    result: AnalysisResult


@dataclass(frozen=True)
class CombinedEffect(JsonMixin):
    """Σ wᵢ·βᵢ for one level: the weighted combination of the criteria's effects."""
    factor: str
    level: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Disagreement(JsonMixin):
    """A level that clearly helps one criterion and clearly costs another."""
    factor: str
    level: str
    helps: str
    costs: str
    sentence: str


@dataclass(frozen=True)
class CriterionAlpha(JsonMixin):
    criterion: str
    alpha: float | None
    ci_low: float | None
    ci_high: float | None
    multiply_rated_items: int


@dataclass(frozen=True)
class RaterCriterionAgreement(JsonMixin):
    rater: str
    criterion: str
    judgments: int          # on items another rater judged too
    agreement: float | None  # share matching the others' majority direction


@dataclass(frozen=True)
class CriteriaAnalysis(JsonMixin):
    """The analysis of judgments on several criteria; `as_json()` is effects.json.

    `effects` lists every criterion's effects, each with its `criterion`; the top-level
    `interval_method`, `position_bias` and `n_judgments` are the first criterion's (the design's
    first row), and each criterion's whole analysis is under `criteria`.
    """
    effects: list[CriterionEffect]
    interval_method: str
    position_bias: dict
    n_judgments: int
    criteria: list[CriterionAnalysis]
    combination: list[CombinedEffect]
    combination_method: str
    effect_correlation: list[list[float | None]]   # criteria x criteria, over the tested levels
    answer_correlation: list[list[float | None]]   # criteria x criteria, over ratings answering both
    disagreements: list[Disagreement]
    alpha: list[CriterionAlpha]
    rater_agreement: list[RaterCriterionAgreement] = field(default_factory=list)

    @property
    def names(self):
        return [c.criterion for c in self.criteria]

    @property
    def primary(self):
        """The first criterion's analysis: what the best-combination and distillation choices read."""
        return self.criteria[0].result


def analyse(variants, judgments, settings=Settings(), design=None, criteria=(), rng=None, detail=True):
    """`run_analysis` for a design's one question; the per-criterion analysis for judgments on criteria.

    Parameters
    ----------
    variants : tables.VariantTable
    judgments : tables.Judgments
    settings : estimate.Settings
    design : result.DesignContext, optional
    criteria : tuple of designs.spec.Criterion, optional
        The design's criteria: their weights make the combination and their questions head
        their reports. A criterion of the judgments it lacks (a CSV without a design) weighs 1.
    rng : numpy.random.Generator, optional
        Seeds the agreement ceiling and the bootstrap of α (default seed 0).
    detail : bool
        As for `run_analysis`.

    Returns
    -------
    result.AnalysisResult or CriteriaAnalysis
    """
    rng = rng or np.random.default_rng(0)
    if not judgments.has_criteria:
        return run_analysis(variants, judgments, settings, design=design, rng=rng, detail=detail)
    known = {criterion.name: criterion for criterion in criteria}
    names = list(judgments.criteria)
    parts = [judgments.for_criterion(name) for name in names]
    results = [run_analysis(variants, part, settings, rng=rng, detail=detail,
                            design=replace(design, question=known[name].question)
                            if design is not None and name in known else design)
               for name, part in zip(names, parts)]
    dummies = variants.dummies()
    fits = [_refit(dummies, part, settings, variants.factor_columns()) for part in parts]
    weight = np.array([known[name].weight if name in known else 1.0 for name in names])
    combination, method = combination_effects(variants, [f[0] for f in fits], [f[1] for f in fits], weight)
    first = results[0]
    return CriteriaAnalysis(
        effects=[CriterionEffect(**vars(e), criterion=name) for name, r in zip(names, results) for e in r.effects],
        interval_method=first.interval_method,
        position_bias=first.position_bias.as_json(),
        n_judgments=first.n_judgments,
        criteria=[CriterionAnalysis(name, float(w), r) for name, w, r in zip(names, weight, results)],
        combination=combination,
        combination_method=method,
        effect_correlation=effect_correlation(results),
        answer_correlation=answer_correlation([f[0] for f in fits]),
        disagreements=disagreements(names, results),
        alpha=[criterion_alpha(name, used, estimate.fit.scale, rng)
               for name, (used, estimate) in zip(names, fits)],
        rater_agreement=rater_agreement(names, fits),
    )


def judgments_on_criteria(named):
    """One Judgments from each criterion's (simulated) judgments of the same items: {name: Judgments}.

    The parts must share their labels (queries, raters, categories), as the judgments of one
    schedule do.
    """
    parts = list(named.values())
    labels = ("queries", "raters", "categories")
    if any(getattr(part, label) != getattr(parts[0], label) for part in parts for label in labels):
        raise ValueError("the criteria's judgments must share their queries, raters and categories")
    arrays = {f.name: np.concatenate([getattr(part, f.name) for part in parts]) for f in fields(parts[0])
              if isinstance(getattr(parts[0], f.name), np.ndarray)}
    arrays["criterion"] = np.repeat(np.arange(len(parts)), [len(part) for part in parts])
    return replace(parts[0], **arrays, criteria=tuple(named))


def judgments_needed_per_criterion(design, target_halfwidth, seed=0):
    """(criterion, scale, judgments) for a 95% interval of ± target_halfwidth on every main effect of
    each criterion (`power.judgments_needed` on that criterion's scale; one estimate per scale).

    Every item asks every criterion, so the items a design needs are the most any criterion needs.
    """
    by_scale, rows = {}, []
    for criterion in design.rating.criteria:
        if criterion.scale not in by_scale:
            by_scale[criterion.scale] = judgments_needed(design, target_halfwidth, seed,
                                                         raters=SimulatedRaters(scale=criterion.scale))
        rows.append((criterion.name, criterion.scale, by_scale[criterion.scale]))
    return tuple(rows)


def _refit(dummies, judgments, settings, factor_columns):
    """The judgments `run_analysis` fits for one criterion (its gold rule applied) and their Estimate
    (with the same factor columns, so a penalty, where one is needed, is the same one)."""
    _, excluded = excluded_raters(judgments, settings)
    names = {row.rater for row in excluded}
    codes = [r for r, name in enumerate(judgments.raters) if name in names]
    used = prepare(judgments.subset(~np.isin(judgments.rater, codes)), settings)
    return used, estimate_effects(dummies, used, settings, factor_columns=factor_columns)


def combination_effects(variants, used, estimates, weight):
    """Σ wᵢ·βᵢ per level with its stacked-sandwich interval (module docstring); (effects, method)."""
    p = len(estimates[0].beta)
    rows = np.vstack([w * (est.scores @ est.influence[:p].T) for w, est in zip(weight, estimates)])
    query = np.concatenate([u.query for u in used])
    rater = np.concatenate([u.rater for u in used])
    robust = all(est.interval_method == "robust" for est in estimates)
    if robust:
        variance = two_way_cluster_covariance(np.eye(p), rows, query, rater)
        covariance, df = variance.covariance, variance.df
        method = ROBUST_COMBINATION.format(df=df)
    else:
        covariance, df = _by_rating(rows, used), None
        method = MODEL_COMBINATION
    beta = sum(w * est.beta for w, est in zip(weight, estimates))
    se = np.sqrt(np.clip(np.diag(covariance), 0, None))
    q = quantile(df)
    labels = variants.effect_labels()
    return [CombinedEffect(factor=f, level=lv, estimate=float(b), std_error=float(s),
                           ci_low=float(b - q * s), ci_high=float(b + q * s))
            for (f, lv), b, s in zip(labels, beta, se)], method


def _rating_keys(judgments):
    """One integer per judgment naming its rating (rater, query, ordered pair); None without rater ids."""
    if not judgments.has_raters or np.any(judgments.rater < 0):
        return None
    n = max(len(judgments.raters), 1), max(len(judgments.queries), 1), int(max(judgments.left.max(initial=0),
                                                                                judgments.right.max(initial=0))) + 1
    return ((judgments.rater * n[1] + judgments.query) * n[2] + judgments.left) * n[2] + judgments.right


def _by_rating(rows, used):
    """Σ over ratings of (summed influence)(summed influence)ᵀ: the answers of one rating are dependent,
    different ratings are not; without rater ids every judgment is its own rating."""
    keys = [_rating_keys(u) for u in used]
    if any(k is None for k in keys):
        return rows.T @ rows
    codes = np.unique(np.concatenate(keys), return_inverse=True)[1].reshape(-1)
    sums = np.zeros((codes.max() + 1, rows.shape[1]))
    np.add.at(sums, codes, rows)
    return sums.T @ sums


def _pearson(x, y):
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3 or x.std() == 0 or y.std() == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def effect_correlation(results):
    """Pearson correlation of two criteria's estimates over the tested levels (None below three levels)."""
    vectors = [[e.estimate for e in r.tested_effects()] for r in results]
    return [[_pearson(a, b) for b in vectors] for a in vectors]


def answer_correlation(used):
    """Pearson correlation of the answers (−2..2: right much better .. left much better) that one
    rating gave to two criteria, over the ratings that answered both; None without rater ids."""
    keys = [_rating_keys(u) for u in used]
    scores = [u.winner * np.maximum(u.strength, 1) for u in used]
    table = []
    for key_a, score_a in zip(keys, scores):
        row = []
        for key_b, score_b in zip(keys, scores):
            if key_a is None or key_b is None:
                row.append(None)
                continue
            shared, in_a, in_b = np.intersect1d(key_a, key_b, return_indices=True)
            row.append(_pearson(score_a[in_a], score_b[in_b]))
        table.append(row)
    return table


def _signed(value):
    return f"{value:+.2f}".replace("-", "−")


def _interval(effect):
    return f"{_signed(effect.estimate)} [{_signed(effect.ci_low)}, {_signed(effect.ci_high)}]"


def disagreements(names, results):
    """Levels whose interval lies above 0 on one criterion and below 0 on another, with a sentence each."""
    found = []
    by_level = [{(e.factor, e.level): e for e in r.tested_effects()} for r in results]
    for key in by_level[0]:
        effects = [levels[key] for levels in by_level]
        for a, helped in enumerate(effects):
            for b, cost in enumerate(effects):
                if helped.ci_low > 0 and cost.ci_high < 0:
                    factor, level = key
                    found.append(Disagreement(
                        factor=factor, level=level, helps=names[a], costs=names[b],
                        sentence=(f"`{factor} = {level}` helps {names[a]}, {_interval(helped)}, "
                                  f"and costs {names[b]}, {_interval(cost)}")))
    return found


def criterion_alpha(name, used, scale, rng, draws=ALPHA_DRAWS):
    """Krippendorff's ordinal α of one criterion and its 95% percentile interval over items (resampled)."""
    keys, values = agreement.oriented_values(used, scale)
    units = agreement.item_codes(keys)
    counts = np.bincount(units[values >= 0], minlength=units.max(initial=-1) + 1) if len(units) else np.zeros(0)
    paired = np.flatnonzero(counts >= 2)
    alpha = agreement.krippendorff_alpha_ordinal(units, values, scale.n_categories)
    if alpha is None or len(paired) < 2:
        return CriterionAlpha(name, alpha, None, None, int(len(paired)))
    keep = (values >= 0) & np.isin(units, paired)
    order = np.argsort(units[keep], kind="stable")
    unit_sorted, value_sorted = units[keep][order], values[keep][order]
    starts = np.searchsorted(unit_sorted, paired)
    sizes = counts[paired]
    alphas = []
    for _ in range(draws):
        chosen = rng.integers(len(paired), size=len(paired))
        lengths = sizes[chosen]
        index = np.repeat(starts[chosen] - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        draw = agreement.krippendorff_alpha_ordinal(np.repeat(np.arange(len(chosen)), lengths),
                                                    value_sorted[index], scale.n_categories)
        if draw is not None:
            alphas.append(draw)
    low, high = np.percentile(alphas, [2.5, 97.5]) if alphas else (None, None)
    return CriterionAlpha(name, alpha, None if low is None else float(low), None if high is None else float(high),
                          int(len(paired)))


def rater_agreement(names, fits):
    """Per rater and criterion: how often their direction matches the others' majority on shared items."""
    rows = []
    for name, (used, estimate) in zip(names, fits):
        if not used.has_raters:
            continue
        agree = agreement.consensus_agreement(used, estimate.fit.scale)
        counted = np.isfinite(agree) & (used.rater >= 0)
        n = np.bincount(used.rater[counted], minlength=len(used.raters))
        hits = np.bincount(used.rater[counted], weights=agree[counted], minlength=len(used.raters))
        for code, rater in enumerate(used.raters):
            if n[code]:
                rows.append(RaterCriterionAgreement(rater, name, int(n[code]), float(hits[code] / n[code])))
    return rows

