"""Write an analysis directory: effects.json, effects.csv, variants.csv, judgments.csv, report.html.

Everything is computed and rendered in memory first, so a failure leaves the directory untouched.
"""
import csv
import io
import json
import math
from pathlib import Path

from .report import render_report
from .tables import write_judgments, write_variants

EFFECT_COLUMNS = ("factor", "level", "baseline", "estimate", "std_error", "robust_std_error", "ci_low",
                  "ci_high", "p_value", "p_holm", "win_probability", "win_low", "win_high")


def _json_safe(value):
    """NaN and infinities are not JSON; they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item"):          # numpy scalars
        return _json_safe(value.item())
    return value


def effects_json(result):
    return json.dumps(_json_safe(result), indent=2, ensure_ascii=False) + "\n"


def effects_csv(result):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EFFECT_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in result["effects"]:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buffer.getvalue()


def write_analysis(out_dir, variants, judgments, result):
    """Render everything, then write the five files into out_dir (created if needed)."""
    files = {
        "effects.json": effects_json(result),
        "effects.csv": effects_csv(result),
        "report.html": render_report(result),
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    write_variants(out / "variants.csv", variants)
    write_judgments(out / "judgments.csv", judgments, variants)
    return sorted(list(files) + ["variants.csv", "judgments.csv"])
