"""Finding 4 of issue 11: win-probability sentences on tie scales count wins, ties and losses
separately instead of folding half the ties into the wins."""
import numpy as np

from evalplat.analysis.estimate import Settings
from evalplat.analysis.pipeline import run_analysis
from evalplat.analysis.report import render_report, summary_sentences
from evalplat.analysis.tables import VariantTable, judgments_from_arrays

TABLE = VariantTable(ids=("v1", "v2"), factors=("tone",), levels=(("plain", "warm"),),
                     runs=np.array([[0], [1]]))


def judged(wins, ties, losses):
    """'warm' (v2) against 'plain' (v1), half of each outcome with warm on the left."""
    left, right, winner = [], [], []
    for count, outcome in ((wins, 1), (ties, 0), (losses, -1)):
        for i in range(count):
            warm_left = i % 2 == 0
            left.append(1 if warm_left else 0)
            right.append(0 if warm_left else 1)
            winner.append(outcome if warm_left else -outcome)
    n = len(left)
    return judgments_from_arrays(left, right, winner, query=np.arange(n) % 20, rater=np.arange(n) % 10,
                                 raters=[f"r{i}" for i in range(10)])


def test_ties_are_counted_apart_from_wins_and_losses():
    result = run_analysis(TABLE, judged(wins=430, ties=350, losses=220), Settings(careless=False), detail=False)
    effect = result.tested_effects()[0]
    assert abs(effect.win_probability - 0.43) < 0.005
    assert abs(effect.tie_probability - 0.35) < 0.005 and abs(effect.loss_probability - 0.22) < 0.005
    sentence = summary_sentences(result)[0]
    assert "“warm” in 43% of comparisons with “plain”" in sentence, sentence
    assert "“plain” in 22%" in sentence and "about equal in 35%" in sentence, sentence
    best = result.best_combination
    assert abs(best.win_rate - 0.43) < 0.005 and abs(best.tie_rate - 0.35) < 0.005
    assert "63%" not in render_report(result)
    position = summary_sentences(result)[2]
    assert "the left one is preferred" in position and "about equal" in position, position


def test_without_ties_the_sentence_is_the_plain_win_share():
    result = run_analysis(TABLE, judged(wins=630, ties=0, losses=370), Settings(careless=False), detail=False)
    effect = result.tested_effects()[0]
    assert abs(effect.win_probability - 0.63) < 0.005 and effect.tie_probability == 0
    assert "raters prefer “warm” over “plain” 63% of the time" in summary_sentences(result)[0]
