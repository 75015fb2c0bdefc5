"""Simulated raters: judgments drawn from a known truth, for power analysis and for checking that
the analysis recovers what it should.

A simulated attentive rater sees a pair of answers whose quality difference is the variants'
true utility difference plus each answer's own quality offset (answer-level noise: an answer is
one draw from its variant, shared by every judgment of that (variant, query)), adds the position
bias and a logistic error, and reports the category the cumulative-logit thresholds give.  A
careless rater (a whole rater, drawn with probability `careless_share`) clicks uniformly among the
scale's buttons.
"""
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from designs.spec import SCALE_OUTCOMES

from .model import Scale
from .tables import WINNERS, TableError, judgments_from_arrays


def _model_scale(outcomes):
    return Scale(ties=any(w == "tie" for w, _ in outcomes), strength=any(s for _, s in outcomes))


# Each scale of designs.spec.SCALE_OUTCOMES as the model's Scale, and its categories (low to
# high) as (winner code, strength code) rows, the form the analysis reads judgments in.
SCALES = {name: _model_scale(outcomes) for name, outcomes in SCALE_OUTCOMES.items()}
OUTCOMES = {name: [(WINNERS[w], s or 0) for w, s in outcomes] for name, outcomes in SCALE_OUTCOMES.items()}


@dataclass(frozen=True)
class SimulatedRaters:
    scale: str = "5-point"
    position_bias: float = 0.2      # log-odds added in favour of the left answer
    tie_threshold: float = 0.4      # t1: |latent| below this is a tie (3-way, 5-point)
    strong_threshold: float = 1.6   # t2: |latent| above this is "much better" (5-point)
    careless_share: float = 0.1     # share of raters who click at random
    answer_sd: float = 0.3          # SD of each answer's own quality offset

    def thresholds(self):
        scale = SCALES[self.scale]
        params = {(True, True): [self.tie_threshold, self.strong_threshold],
                  (True, False): [self.tie_threshold], (False, True): [self.strong_threshold],
                  (False, False): []}[(scale.ties, scale.strength)]
        matrix = scale.threshold_matrix()
        return matrix @ np.array(params) if matrix.shape[1] else np.zeros(matrix.shape[0])


def simulate_judgments(dummies, beta, rater, query, left, right, raters, rng, n_queries=None, careless=None):
    """Draw one judgment per scheduled item; returns `Judgments` plus the careless raters' ids.

    `careless`: which raters click at random (a boolean per rater), when already drawn (the
    criteria of one simulated study share their raters); drawn at `raters.careless_share` if None.
    """
    rater, query = np.asarray(rater), np.asarray(query)
    left, right = np.asarray(left), np.asarray(right)
    n_queries = n_queries or int(query.max()) + 1
    n_raters = int(rater.max()) + 1
    utility = dummies @ np.asarray(beta, dtype=float)
    answer_offset = rng.normal(0.0, raters.answer_sd, size=(len(utility), n_queries))
    latent = (utility[left] + answer_offset[left, query] - utility[right] - answer_offset[right, query]
              + raters.position_bias + rng.logistic(size=len(left)))
    category = np.searchsorted(raters.thresholds(), latent)
    careless = rng.random(n_raters) < raters.careless_share if careless is None else np.asarray(careless)
    clicks = careless[rater]
    n_categories = len(OUTCOMES[raters.scale])
    category[clicks] = rng.integers(0, n_categories, size=int(clicks.sum()))
    outcomes = np.array(OUTCOMES[raters.scale])
    judgments = judgments_from_arrays(
        left, right, outcomes[category, 0], outcomes[category, 1], query, rater,
        queries=[f"q{i + 1}" for i in range(n_queries)], raters=[f"r{i + 1}" for i in range(n_raters)],
    )
    return judgments, np.flatnonzero(careless)


def read_truth(path, variants, criteria=()):
    """truth.json -> treatment-coded effects for `variants`.

    ``{"FACTOR": {"LEVEL": log_odds, ...}, ...}``; missing levels are 0, and a value given for a
    baseline level shifts the factor's other levels (effects are relative to the baseline).
    For a design with criteria (`criteria`: their names) a truth per criterion,
    ``{"CRITERION": {"FACTOR": {"LEVEL": log_odds}}, ...}``, every criterion given, and the
    result is {criterion: effects}. Raises TableError naming the file and the offending key.
    """
    name = str(path)
    try:
        truth = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise TableError([(name, 0, f"cannot read: {exc.strerror}")]) from None
    except json.JSONDecodeError as exc:
        raise TableError([(name, exc.lineno, f"not valid JSON: {exc.msg}")]) from None
    if not criteria:
        return _truth_effects(truth, variants, name, "")
    if not isinstance(truth, dict) or set(truth) != set(criteria):
        raise TableError([(name, 1, f"expected an object {{criterion: {{factor: {{level: effect}}}}}} with one "
                                    f"entry per criterion: {', '.join(criteria)}")])
    found, problems = {}, []
    for criterion in criteria:
        try:
            found[criterion] = _truth_effects(truth[criterion], variants, name, f"{criterion}: ")
        except TableError as exc:
            problems += exc.problems
    if problems:
        raise TableError(problems)
    return found


def _truth_effects(truth, variants, name, prefix):
    """One truth object {factor: {level: effect}} as effects; `prefix` names its place in the file."""
    if not isinstance(truth, dict):
        raise TableError([(name, 1, f"{prefix}expected an object {{factor: {{level: effect}}}}")])
    problems = []
    for factor, levels in truth.items():
        if factor not in variants.factors:
            problems.append((name, 0, f"{prefix}unknown factor {factor!r}; factors are {', '.join(variants.factors)}"))
        elif not isinstance(levels, dict):
            problems.append((name, 0, f"{prefix}{factor}: expected an object {{level: effect}}"))
        else:
            known = variants.levels[variants.factors.index(factor)]
            for level, value in levels.items():
                if level not in known:
                    problems.append((name, 0, f"{prefix}{factor}: unknown level {level!r}; levels are {', '.join(known)}"))
                elif isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                    problems.append((name, 0, f"{prefix}{factor}.{level}: {value!r} is not a number"))
    if problems:
        raise TableError(problems)
    beta = []
    for factor, names in zip(variants.factors, variants.levels):
        given = truth.get(factor, {})
        beta += [float(given.get(level, 0.0)) - float(given.get(names[0], 0.0)) for level in names[1:]]
    return np.array(beta)
