"""Worst cases of the rater pages' Markdown renderer, against markdown-it-py (the renderer before).

    .venv/bin/python benchmarks/bench_markdown.py [--size 100000] [--repeats 3]

Each pathological input of `--size` characters (the documented limit is 100,000) is rendered
by `evalplat.rating.markdown.render_markdown` and by markdown-it-py with the settings the
platform used before (CommonMark, tables, strikethrough, raw HTML off, then nh3), alternately
(A B A B), and the median seconds of each are printed with their ratio. A "plain" answer of
the same size is the reference. On a busy machine compare ratios, not absolute times.
"""
import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nh3  # noqa: E402
from markdown_it import MarkdownIt  # noqa: E402

from evalplat.rating import markdown  # noqa: E402


def markdown_it_py(text):
    html = MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough").render(text)
    return nh3.clean(html, tags=markdown.ALLOWED_TAGS, attributes=markdown.ALLOWED_ATTRIBUTES)


def cases(size):
    def fill(unit):
        return (unit * (size // len(unit) + 1))[:size]

    return {
        "plain prose (reference)": fill("The quick brown fox jumps over the lazy dog, again and again. ") + "\n",
        "nested block quotes": fill(">"),
        "nested lists": "".join("  " * i + "- item\n" for i in range(400))[:size],
        "emphasis delimiters": fill("*a **b "),
        "open emphasis runs": fill("*_"),
        "open brackets": fill("["),
        "unclosed links": fill("[a]("),
        "long table": "| a | b |\n|---|---|\n" + fill("| x | y |\n"),
        "wide table": ("|" + "a|" * 1000 + "\n|" + "-|" * 1000 + "\n" + fill("|" + "x|" * 1000 + "\n"))[:size],
        "backticks": fill("a`"),
        "raw HTML": fill("<div><span>"),
    }


def timed(render, text):
    started = time.perf_counter()
    render(text)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"{args.size:,} characters each, median of {args.repeats}")
    print(f"{'input':<26} {'before (s)':>11} {'now (s)':>9} {'before/now':>11}")
    for name, text in cases(args.size).items():
        before, now = [], []
        for _ in range(args.repeats):
            before.append(timed(markdown_it_py, text))
            now.append(timed(markdown.render_markdown, text))
        b, n = statistics.median(before), statistics.median(now)
        print(f"{name:<26} {b:>11.3f} {n:>9.3f} {b / n:>11.1f}")


if __name__ == "__main__":
    main()
