"""The report's figures as inline SVG text, written directly.

Four simple charts (intervals, points, a coloured grid) need no plotting library: writing the
elements takes milliseconds, where matplotlib took a second to import and seconds to lay out
and serialise 20 factors or thousands of raters.  Labels come from user data (level, factor,
category and rater names) and are escaped here; the report test checks that markup in a level
name does not survive.  Sizes are in CSS pixels of the viewBox; the page scales the figure down
on a narrow screen (``svg.plot { width: 100%; height: auto }``).
"""
import math
from html import escape

from .effects import outcome_shares

ACCENT, MUTED, ZERO, INK, SOFT, GRID = "#1f5fa8", "#9aa7b4", "#888", "#222", "#555", "#e3e7ec"
FONT = 12
CHAR = 0.6 * FONT          # average glyph width, for laying out labels


def _text_width(text, size=FONT):
    return 0.6 * size * len(text)


def nice_ticks(low, high, count=6):
    """Round tick values covering [low, high] (steps of 1, 2 or 5 times a power of ten)."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        low, high = (low - 1, low + 1) if math.isfinite(low) else (-1, 1)
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10) + 0.0)      # + 0.0 turns -0.0 into 0.0 (no "-0" label)
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10) + 0.0)
    return ticks


class Svg:
    """A list of SVG elements and the figure's size."""

    def __init__(self, width, height, label):
        self.width, self.height, self.label, self.parts = width, height, label, []

    def line(self, x1, y1, x2, y2, colour=INK, width=1.0, dash=None):
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
                          f'stroke-width="{width}"{extra}/>')

    def circle(self, x, y, r, fill, stroke="none", title=None):
        inner = f"<title>{escape(title)}</title>" if title else ""
        self.parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}" stroke="{stroke}" '
                          f'stroke-width="0.6">{inner}</circle>')

    def rect(self, x, y, w, h, fill):
        self.parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}"/>')

    def text(self, x, y, content, anchor="start", size=FONT, colour=INK, rotate=None, weight=None):
        transform = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate else ""
        bold = f' font-weight="{weight}"' if weight else ""
        self.parts.append(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
                          f'fill="{colour}"{bold}{transform}>{escape(str(content))}</text>')

    def render(self):
        return (f'<svg role="img" aria-label="{escape(self.label)}" class="plot" '
                f'viewBox="0 0 {self.width:.0f} {self.height:.0f}" style="max-width: {self.width:.0f}px" '
                f'font-family="system-ui, sans-serif">' + "".join(self.parts) + "</svg>")


def _axis(low, high, start, end):
    """A linear map from data [low, high] to pixels [start, end]."""
    span = (high - low) or 1.0
    return lambda value: start + (value - low) / span * (end - start)


def forest_plot(effects, tie_edge=0.0):
    """Each non-baseline level's estimate and 95% interval, log-odds below and % preferred above
    (on a tie scale the share of comparisons won, ties apart: effects.outcome_shares)."""
    rows = [row for row in effects if not row.baseline]
    labels = [f"{row.factor}: {row.level}" for row in rows]
    left = min(max((_text_width(label) for label in labels), default=0) + 16, 320)
    width, top, step = left + 460, 44, 24
    height = top + step * len(rows) + 44
    ticks = nice_ticks(min([0.0] + [row.ci_low for row in rows]), max([0.0] + [row.ci_high for row in rows]))
    x = _axis(ticks[0], ticks[-1], left + 10, width - 20)
    svg = Svg(width, height, "forest plot of effects")
    bottom = top + step * len(rows)
    for tick in ticks:
        svg.line(x(tick), top - 6, x(tick), bottom, GRID)
        svg.text(x(tick), bottom + 16, f"{tick:g}", "middle", 11, SOFT)
        svg.text(x(tick), top - 10, f"{100 * outcome_shares(tick, tie_edge)[0]:.0f}%", "middle", 11, SOFT)
    svg.line(x(0), top - 6, x(0), bottom, ZERO, 1, "4 3")
    svg.text((left + width) / 2, bottom + 34, "effect vs. baseline level (log-odds of being preferred)", "middle", 11)
    svg.text((left + width) / 2, 14, "preferred over baseline, all else equal" + (" (ties apart)" if tie_edge else ""),
             "middle", 11)
    for i, (row, label) in enumerate(zip(rows, labels)):
        y = top + step * (i + 0.5)
        colour = ACCENT if row.significant else MUTED
        svg.text(left - 8, y + 4, label if len(label) <= 52 else label[:50] + "…", "end")
        svg.line(x(row.ci_low), y, x(row.ci_high), y, colour, 3)
        svg.circle(x(row.estimate), y, 5, colour,
                   title=f"{label}: {row.estimate:+.2f} ({row.ci_low:+.2f} to {row.ci_high:+.2f})")
    return svg.render()


def main_effects_plot(effects, factors):
    """Each factor's levels (baseline at 0) with intervals, factors side by side."""
    groups = [[row for row in effects if row.factor == factor.name] for factor in factors]
    n_slots = sum(len(group) for group in groups) + len(groups) - 1
    left, top = 56, 34
    # Keep the figure within the page's 900 px so labels stay their drawn size (20 factors fit).
    slot = max(12.0, min(34.0, (880 - left) / max(n_slots, 1)))
    longest = max((len(row.level) for group in groups for row in group), default=4)
    bottom_margin = min(20 + CHAR * min(longest, 24) * 0.75, 150)
    width = left + slot * max(n_slots, 1) + 20
    plot_height = 190
    height = top + plot_height + bottom_margin
    ticks = nice_ticks(min([0.0] + [row.ci_low for row in effects]), max([0.0] + [row.ci_high for row in effects]), 5)
    y = _axis(ticks[0], ticks[-1], top + plot_height, top)
    svg = Svg(width, height, "main effects per factor")
    for tick in ticks:
        svg.line(left, y(tick), width - 10, y(tick), GRID)
        svg.text(left - 6, y(tick) + 4, f"{tick:g}", "end", 11, SOFT)
    svg.line(left, y(0), width - 10, y(0), ZERO, 1, "4 3")
    svg.text(14, top + plot_height / 2, "log-odds vs. baseline", "middle", 11, rotate=-90)
    position = 0
    for factor, group in zip(factors, groups):
        xs = [left + slot * (position + i + 0.5) for i in range(len(group))]
        svg.text(sum(xs) / len(xs) if xs else left, top - 12, factor.name, "middle", 11 if slot > 20 else 9,
                 weight="600")
        for a, b, row_a, row_b in zip(xs, xs[1:], group, group[1:]):
            svg.line(a, y(row_a.estimate), b, y(row_b.estimate), ACCENT, 1.4)
        for xi, row in zip(xs, group):
            svg.line(xi, y(row.ci_low), xi, y(row.ci_high), ACCENT, 1.4)
            for end in (row.ci_low, row.ci_high):
                svg.line(xi - 3, y(end), xi + 3, y(end), ACCENT, 1.4)
            svg.circle(xi, y(row.estimate), 4, ACCENT, title=f"{factor.name}: {row.level} {row.estimate:+.2f}")
            level = row.level if len(row.level) <= 24 else row.level[:23] + "…"
            svg.text(xi, top + plot_height + 14, level, "end", 10 if slot > 20 else 8, SOFT, rotate=-40)
        position += len(group) + 1
        if position < n_slots:
            separator = left + slot * (position - 0.5)
            svg.line(separator, top - 4, separator, top + plot_height, GRID, 1, "2 3")
    return svg.render()


def _diverging(value, limit):
    """RdBu-like colour: red for negative, white at 0, blue for positive."""
    t = max(-1.0, min(1.0, value / limit)) if limit else 0.0
    red, blue, white = (178, 24, 43), (33, 102, 172), (247, 247, 247)
    end = blue if t > 0 else red
    mix = [round(w + (e - w) * abs(t)) for w, e in zip(white, end)]
    return "#{:02x}{:02x}{:02x}".format(*mix)


def category_heatmap(by_category, labels):
    """Effects (rows) by query category (columns), coloured by sign and size."""
    categories = [entry for entry in by_category if entry.effects]
    if not categories or not labels:
        return None
    grid = []
    for label in labels:
        row = []
        for entry in categories:
            lookup = {(e.factor, e.level): e.estimate for e in entry.effects}
            value = lookup.get(label)
            row.append(value if value is not None and math.isfinite(value) else None)
        grid.append(row)
    finite = [abs(v) for row in grid for v in row if v is not None]
    limit = max(max(finite, default=1.0), 0.1)
    names = [f"{factor}: {level}" for factor, level in labels]
    left = min(max(_text_width(name) for name in names) + 14, 300)
    cell_w, cell_h, top = 62, 24, 12
    column_labels = [entry.category + (" (thin)" if entry.thin else "") for entry in categories]
    bottom_margin = min(24 + CHAR * max(len(c) for c in column_labels) * 0.7, 160)
    width = left + cell_w * len(categories) + 90
    height = top + cell_h * len(labels) + bottom_margin
    svg = Svg(width, height, "effects by query category")
    for i, (name, row) in enumerate(zip(names, grid)):
        y = top + cell_h * i
        svg.text(left - 8, y + cell_h / 2 + 4, name, "end")
        for j, value in enumerate(row):
            x = left + cell_w * j
            svg.rect(x, y, cell_w - 1, cell_h - 1, "#ffffff" if value is None else _diverging(value, limit))
            if value is not None:
                svg.text(x + cell_w / 2, y + cell_h / 2 + 4, f"{value:+.2f}", "middle", 11,
                         "#ffffff" if abs(value) > 0.6 * limit else INK)
    for j, label in enumerate(column_labels):
        x = left + cell_w * (j + 0.5)
        svg.text(x, top + cell_h * len(labels) + 14, label, "end", 11, rotate=-30)
    legend = left + cell_w * len(categories) + 24
    for k in range(11):
        value = limit * (1 - k / 5)
        svg.rect(legend, top + k * 10, 14, 10, _diverging(value, limit))
    svg.text(legend + 18, top + 9, f"{limit:+.2f}", size=10, colour=SOFT)
    svg.text(legend + 18, top + 110, f"{-limit:+.2f}", size=10, colour=SOFT)
    svg.text(legend + 18, top + 60, "log-odds", size=10, colour=SOFT)
    return svg.render()


def _clicker_colour(probability):
    """White to dark red with the probability of being a random clicker."""
    t = max(0.0, min(1.0, probability))
    low, high = (255, 247, 236), (179, 0, 0)
    return "#{:02x}{:02x}{:02x}".format(*[round(a + (b - a) * t) for a, b in zip(low, high)])


def rater_plot(raters, hidden=0):
    """Raters' side preference against agreement with the model, coloured by clicker probability;
    `hidden` raters were left out of the plot (the caller chose which to show)."""
    shown = [r for r in raters if r.left_share is not None]
    if not shown:
        return None
    left, top, size = 60, 34, 250
    width, height = left + size + 190, top + size + 50
    x = _axis(0, 1, left, left + size)
    y = _axis(0, 1, top + size, top)
    svg = Svg(width, height, "raters: side preference and agreement")
    for tick in (0, 0.25, 0.5, 0.75, 1):
        svg.line(x(tick), top, x(tick), top + size, GRID)
        svg.line(left, y(tick), left + size, y(tick), GRID)
        svg.text(x(tick), top + size + 16, f"{tick:g}", "middle", 11, SOFT)
        svg.text(left - 6, y(tick) + 4, f"{tick:g}", "end", 11, SOFT)
    svg.line(x(0.5), top, x(0.5), top + size, ZERO, 1, "4 3")
    svg.line(left, y(0.5), left + size, y(0.5), ZERO, 1, "4 3")
    for r in shown:
        agreement = r.model_agreement if r.model_agreement is not None else 0.5
        radius = 2.5 + 0.9 * math.sqrt(min(r.judgments, 400))
        svg.circle(x(r.left_share), y(agreement), radius, _clicker_colour(r.careless_probability or 0.0), "#333",
                   title=f"{r.rater}: {r.judgments} judgments")
    svg.text(left + size / 2, top + size + 38, "share of decided judgments that picked the left answer", "middle", 11)
    svg.text(16, top + size / 2, "agreement with the fitted model", "middle", 11, rotate=-90)
    legend = left + size + 24
    svg.text(legend, top + 8, "random clicker?", size=11)
    for k, probability in enumerate((0.0, 0.25, 0.5, 0.75, 1.0)):
        svg.circle(legend + 8, top + 26 + 20 * k, 6, _clicker_colour(probability), "#333")
        svg.text(legend + 20, top + 30 + 20 * k, f"{probability:.0%}", size=11, colour=SOFT)
    if hidden:
        svg.text(left, 16, f"{len(shown):,} raters shown (likely clickers first); {hidden:,} more in effects.json",
                 size=11, colour=SOFT)
    return svg.render()
