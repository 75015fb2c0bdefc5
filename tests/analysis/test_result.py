"""The typed result: its JSON is effects.json's contract, and it comes back from that JSON."""
import json
from dataclasses import replace

from evalplat.analysis.outputs import effects_json
from evalplat.analysis.pipeline import run_analysis
from evalplat.analysis.report import render_report
from evalplat.analysis.result import AnalysisResult

from .helpers import simulated_study

# effects.json's keys before the result was typed (PRODUCT.md: extend, never rename).
CONTRACT_KEYS = {
    "effects", "interval_method", "interval_detail", "position_bias", "n_judgments", "n_judgments_total",
    "n_queries", "n_raters", "n_variants", "factors", "variants", "scale", "converged", "prior_sd", "settings",
    "design", "best_combination", "careless", "gold", "exclusion_rule", "excluded_raters", "both_bad", "notes",
    "aliasing", "agreement", "raters", "style", "interactions", "by_category", "robustness",
}
EFFECT_KEYS = {"factor", "level", "baseline", "estimate", "std_error", "robust_std_error", "ci_low", "ci_high",
               "p_value", "p_holm", "win_probability", "win_low", "win_high"}
# Added since (issue 11): the ties and losses that win_probability no longer absorbs.
EFFECT_KEYS_ADDED = {"tie_probability", "loss_probability"}


def analysed():
    table, judgments = simulated_study([0.6, -0.4, 0.2, 0.0], n_queries=12, n_judgments=800, per_rater=40, seed=1)
    judgments = replace(judgments, category=judgments.query % 2, categories=("a", "b"),
                        left_chars=200.0 + 50 * judgments.left, right_chars=200.0 + 50 * judgments.right)
    return run_analysis(table, judgments)


def test_effects_json_keeps_every_contract_key():
    data = json.loads(effects_json(analysed()))
    assert CONTRACT_KEYS <= set(data)
    assert all(set(row) == EFFECT_KEYS | EFFECT_KEYS_ADDED for row in data["effects"])
    assert set(data["position_bias"]) == {"estimate", "std_error", "robust_std_error", "ci_low", "ci_high"}
    assert data["variants"][0] == {"variant": "v1", "uncertainty": "uncertainty-base", "tone": "tone-base",
                                   "length": "length-base", "format": "format-base"}
    assert data["design"] == {} and data["careless"]["fitted"] is True


def test_the_result_comes_back_from_its_json_and_renders_the_same_report():
    result = analysed()
    again = AnalysisResult.from_json(json.loads(effects_json(result)))
    assert again == result
    assert render_report(again) == render_report(result)
