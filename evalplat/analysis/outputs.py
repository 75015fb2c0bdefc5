"""Write an analysis directory: effects.json, effects.csv, variants.csv, judgments.csv, report.html.

Everything is computed and rendered in memory first, so a failure leaves the directory untouched.
"""
import csv
import io
import json
import shutil
from pathlib import Path

from .csvfile import neutralise
from .report import render_report
from .tables import needs_neutralising, write_judgments, write_variants

EFFECT_COLUMNS = ("factor", "level", "baseline", "estimate", "std_error", "robust_std_error", "ci_low",
                  "ci_high", "p_value", "p_holm", "win_probability", "win_low", "win_high", "tie_probability",
                  "loss_probability")
TEXT_COLUMNS = {"factor", "level", "criterion"}
ONE_PER_LINE = 1000


def effects_json(result):
    """effects.json: one top-level key per line, and one line per item of a list (up to
    ONE_PER_LINE items; a row per rater of a crowd study stays on one line).

    Written with the json module's C encoder value by value (its indenting encoder is pure
    Python, and took seconds on a result with a row per rater of a crowd study)."""
    def dump(value):
        return json.dumps(value, ensure_ascii=False, allow_nan=False)

    def member(value):
        if isinstance(value, list) and 0 < len(value) <= ONE_PER_LINE:
            return "[\n    " + ",\n    ".join(dump(item) for item in value) + "\n  ]"
        return dump(value)

    data = result.as_json()
    return "{\n" + ",\n".join(f"  {dump(key)}: {member(value)}" for key, value in data.items()) + "\n}\n"


def effects_csv(result, columns=EFFECT_COLUMNS):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in result.effects:
        values = row.as_json()
        writer.writerow({k: "" if values[k] is None else neutralise(values[k]) if k in TEXT_COLUMNS else values[k]
                         for k in columns})
    return buffer.getvalue()


def write_analysis(out_dir, variants, judgments, result, judgments_csv=None):
    """Render everything, then write the five files into out_dir (created if needed).

    `judgments_csv` is the file the judgments were read from, if any: it is copied as it is
    (it reads back to the same judgments, and copying costs nothing next to rewriting a million
    rows) unless one of its cells has to be neutralised against spreadsheet formulas.
    """
    files = {
        "effects.json": effects_json(result),
        "effects.csv": effects_csv(result),
        "report.html": render_report(result),
    }
    return write_files(out_dir, files, variants, judgments, judgments_csv)


def write_files(out_dir, files, variants, judgments, judgments_csv=None):
    """Write rendered `files` (name -> text), variants.csv and judgments.csv (see write_analysis)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    write_variants(out / "variants.csv", variants)
    if judgments_csv is not None and not needs_neutralising(judgments, variants):
        shutil.copyfile(judgments_csv, out / "judgments.csv")
    else:
        write_judgments(out / "judgments.csv", judgments, variants)
    return sorted(list(files) + ["variants.csv", "judgments.csv"])
