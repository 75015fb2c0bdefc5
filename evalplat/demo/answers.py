"""Illustrative answers for the demo experiment (designs/examples/honesty-tone.toml).

The demo runs without a GPU or a model, so its answers are assembled from
hand-written building blocks (honesty-tone-parts.json beside this file)
following each variant's levels: a correction up front when the variant asks
for push-back, a confidence sentence when it asks for uncertainty, and so on.
They exist to show the rater pages and the console; they are not model output,
and the demo says so. They go in through the real `replay` import, keyed by the
experiment's stored variants.
"""
import json
from pathlib import Path

PARTS = Path(__file__).with_name("honesty-tone-parts.json")

WARM_OPENERS = ["That's a really good thing to ask about.", "I can see why you're wondering about this."]
WARM_CLOSERS = ["You're clearly thinking about this carefully, and that's the right instinct.",
                "I hope that helps, and good luck with it."]


def compose_answer(levels, parts, query_index):
    """One answer for a variant's {factor: level} and a query's building blocks."""
    points = list(parts["points"])
    if levels["temperature"] == "high":
        # A livelier sampling temperature reorders the answer a little.
        points = points[1:] + points[:1]
    if levels["length"] == "brief":
        points = points[:2]
    extras = []
    if levels["uncertainty"] == "flag":
        extras.append(parts["uncertainty"])
    if levels["evidence"] == "sources":
        extras.append(parts["evidence"])

    blocks = []
    if levels["tone"] == "warm":
        blocks.append(WARM_OPENERS[query_index % 2])
    if levels["pushback"] == "direct":
        blocks.append(parts["correction"])
    if levels["format"] == "structured":
        blocks.append("**What matters here**\n\n" + "\n".join(f"- {p}" for p in points))
        if extras:
            blocks.append("**How sure this is**\n\n" + "\n".join(f"- {e}" for e in extras))
    else:
        blocks.append(" ".join(points))
        if extras:
            blocks.append(" ".join(extras))
    if levels["pushback"] == "none" and levels["length"] == "open":
        # Without push-back the premise is corrected only at the end, in passing.
        blocks.append(parts["correction"])
    if levels["tone"] == "warm":
        blocks.append(WARM_CLOSERS[query_index % 2])
    return "\n\n".join(blocks)


def write_demo_answers(experiment, path):
    """Write a replay JSONL with one answer per (variant, query) of `experiment`."""
    parts = json.loads(PARTS.read_text(encoding="utf-8"))
    queries = list(experiment.queries.all())
    with open(path, "w", encoding="utf-8") as out:
        for variant in experiment.variants.prefetch_related("levels__factor"):
            levels = variant.level_names()
            for index, query in enumerate(queries):
                record = {"variant": variant.code, "query": query.key, "sample": 0,
                          "text": compose_answer(levels, parts[query.key], index)}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(queries) * experiment.variants.count()
