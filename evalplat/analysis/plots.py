"""The report's figures as inline SVG text (matplotlib, Agg backend, text kept as text).

Only the report uses this module.  Labels come from user data (level and category names);
matplotlib's SVG writer escapes text content, and the report test checks that markup in a
level name does not survive.
"""
import io
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

STYLE = {
    "svg.fonttype": "none", "font.family": "sans-serif", "font.size": 10,
    "axes.spines.top": False, "axes.spines.right": False, "axes.edgecolor": "#555",
    "axes.labelcolor": "#222", "xtick.color": "#333", "ytick.color": "#333",
}
ACCENT, MUTED, ZERO = "#1f5fa8", "#9aa7b4", "#888"


def _svg(figure, name):
    """Serialise a figure to an <svg> element (no XML prolog), with ids unique to `name`."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": name}):
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    # The RDF metadata block carries a creation date, which would make reports differ run to run.
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    # Fixed width/height in pt would stop the page from shrinking the figure on a narrow screen;
    # keep the natural width only as a maximum so text stays the size it was drawn at.
    width = re.search(r'<svg[^>]*? width="([0-9.]+)pt"', text).group(1)
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1', text, count=1)
    return text.replace("<svg", f'<svg role="img" aria-label="{name}" class="plot" style="max-width: {width}pt"', 1)


def forest_plot(effects):
    rows = [row for row in effects if not row.baseline]
    with plt.rc_context(STYLE):
        figure, ax = plt.subplots(figsize=(7.0, 0.42 * len(rows) + 1.1))
        y = np.arange(len(rows))[::-1]
        colours = [ACCENT if row.significant else MUTED for row in rows]
        # One collection for all intervals and one for all points: a line per effect made the
        # SVG writer's work grow with the number of artists.
        ax.hlines(y, [row.ci_low for row in rows], [row.ci_high for row in rows], colors=colours, lw=2.2)
        ax.scatter([row.estimate for row in rows], y, color=colours, s=45, zorder=3)
        ax.axvline(0, color=ZERO, lw=1, ls="--")
        ax.set_yticks(y, [f"{row.factor}: {row.level}" for row in rows])
        ax.set_xlabel("effect vs. baseline level (log-odds of being preferred)")
        top = ax.secondary_xaxis("top", functions=(lambda v: v, lambda v: v))
        ticks = ax.get_xticks()
        top.set_xticks(ticks, [f"{100 / (1 + np.exp(-t)):.0f}%" for t in ticks])
        top.set_xlabel("preferred over baseline, all else equal")
        ax.set_xlim(*ax.get_xlim())
        return _svg(figure, "forest plot of effects")


def main_effects_plot(effects, factors):
    """Each factor's levels (baseline at 0) with intervals, factors side by side on one axis.

    One axis, not one subplot per factor: with 20 factors the subplots took seconds to lay out
    and write, for the same information."""
    by_factor = [[row for row in effects if row.factor == f.name] for f in factors]
    with plt.rc_context(STYLE):
        n_levels = sum(len(levels) for levels in by_factor)
        figure, ax = plt.subplots(figsize=(min(1.0 + 0.42 * n_levels + 0.3 * len(by_factor), 14.0), 3.4))
        x, ticks, labels, start = [], [], [], 0
        for f, levels in enumerate(by_factor):
            positions = start + np.arange(len(levels))
            estimates = [row.estimate for row in levels]
            low = [row.estimate - row.ci_low for row in levels]
            high = [row.ci_high - row.estimate for row in levels]
            ax.errorbar(positions, estimates, yerr=[low, high], color=ACCENT, marker="o", capsize=3, lw=1.6)
            ax.text(positions.mean(), 1.02, factors[f].name, transform=ax.get_xaxis_transform(), ha="center",
                    va="bottom", fontsize=9)
            ticks += list(positions)
            labels += [row.level for row in levels]
            start += len(levels) + 1
            x.append(start - 1)
        for boundary in x[:-1]:
            ax.axvline(boundary, color=MUTED, lw=0.6, ls=":")
        ax.axhline(0, color=ZERO, lw=0.8, ls="--")
        ax.set_xticks(ticks, labels, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("log-odds vs. baseline")
        return _svg(figure, "main effects per factor")


def category_heatmap(by_category, labels):
    categories = [entry for entry in by_category if entry.effects]
    if not categories or not labels:
        return None
    grid = np.full((len(labels), len(categories)), np.nan)
    for j, entry in enumerate(categories):
        lookup = {(e.factor, e.level): e.estimate for e in entry.effects}
        for i, label in enumerate(labels):
            grid[i, j] = lookup.get(label, np.nan)
    limit = max(np.nanmax(np.abs(grid)), 0.1) if np.any(np.isfinite(grid)) else 1.0
    with plt.rc_context(STYLE):
        figure, ax = plt.subplots(figsize=(1.1 * len(categories) + 3.2, 0.45 * len(labels) + 1.4))
        image = ax.imshow(grid, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
        for i in range(grid.shape[0]):
            for j in range(grid.shape[1]):
                if np.isfinite(grid[i, j]):
                    ax.text(j, i, f"{grid[i, j]:+.2f}", ha="center", va="center", fontsize=8,
                            color="white" if abs(grid[i, j]) > 0.6 * limit else "#222")
        ax.set_yticks(range(len(labels)), [f"{f}: {level}" for f, level in labels])
        ax.set_xticks(range(len(categories)),
                      [entry.category + (" (thin)" if entry.thin else "") for entry in categories],
                      rotation=25, ha="right")
        figure.colorbar(image, ax=ax, label="log-odds vs. baseline", shrink=0.8)
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)
        return _svg(figure, "effects by query category")


def rater_plot(raters, hidden=0):
    """Raters' side preference against agreement with the model, coloured by clicker probability;
    `hidden` raters were left out of the plot (the caller chose which to show)."""
    shown = [r for r in raters if r.left_share is not None]
    if not shown:
        return None
    with plt.rc_context(STYLE):
        figure, ax = plt.subplots(figsize=(6.0, 3.2))
        agreement = [r.model_agreement if r.model_agreement is not None else np.nan for r in shown]
        careless = [r.careless_probability or 0.0 for r in shown]
        points = ax.scatter([r.left_share for r in shown], agreement, c=careless, cmap="OrRd", vmin=0, vmax=1,
                            s=[12 + 2 * min(r.judgments, 400) ** 0.8 for r in shown], edgecolors="#333",
                            linewidths=0.5)
        ax.axvline(0.5, color=ZERO, lw=0.8, ls="--")
        ax.axhline(0.5, color=ZERO, lw=0.8, ls="--")
        ax.set_xlabel("share of decided judgments that picked the left answer")
        ax.set_ylabel("agreement with the fitted model")
        if hidden:
            ax.set_title(f"{len(shown):,} raters shown (likely clickers first); {hidden:,} more in effects.json",
                         fontsize=9)
        figure.colorbar(points, ax=ax, label="probability of being a random clicker")
        return _svg(figure, "raters: side preference and agreement")
