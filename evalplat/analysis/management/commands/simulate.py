"""manage.py simulate DESIGN.toml --judgments N --truth T.json --seed S --out DIR: power analysis.

The design's variants are laid out by designs.matrix, the real pair scheduler
(designs.schedule.plan_pairs) assigns items to raters as the rating app would, simulated raters
judge them from the truth, and the ordinary analysis runs on the result. A design with criteria
takes a truth per criterion; the simulated raters answer each on its own scale.
"""
from dataclasses import replace

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from designs.spec import DesignError, load_design
from evalplat.analysis.management.commands.analyze import add_settings_arguments, settings_from
from evalplat.analysis.criteria import analyse, judgments_on_criteria
from evalplat.analysis.criteria_outputs import write_outputs
from evalplat.analysis.result import DesignContext
from evalplat.analysis.simulate import SimulatedRaters, read_truth, simulate_judgments
from evalplat.analysis.tables import TableError, VariantTable
from evalplat.analysis.threads import analysis_threads


def design_variants(design):
    from designs.matrix import design_matrix

    matrix = design_matrix(design.levels_per_factor, design.array, design.foldover)
    table = VariantTable(
        ids=tuple(f"v{i + 1}" for i in range(matrix.n_runs)), factors=tuple(f.name for f in design.factors),
        levels=tuple(tuple(level.name for level in f.levels) for f in design.factors), runs=matrix.runs,
    )
    return matrix, table


class Command(BaseCommand):
    help = "Simulate raters judging a design with a known truth, then analyse the judgments (power analysis)."

    def add_arguments(self, parser):
        parser.add_argument("design", help="design file (TOML)")
        parser.add_argument("--judgments", type=int, required=True, help="number of judgments to simulate")
        parser.add_argument("--truth", required=True, help='truth.json: {"FACTOR": {"LEVEL": log_odds}}; with '
                            'criteria {"CRITERION": {"FACTOR": {"LEVEL": log_odds}}}')
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--out", required=True, help="directory to write the results to")
        defaults = SimulatedRaters()
        parser.add_argument("--careless-share", type=float, default=defaults.careless_share,
                            help="share of raters who click at random (default %(default)s)")
        parser.add_argument("--position-bias", type=float, default=defaults.position_bias,
                            help="log-odds in favour of the left answer (default %(default)s)")
        parser.add_argument("--answer-sd", type=float, default=defaults.answer_sd,
                            help="SD of each answer's own quality, in log-odds (default %(default)s)")
        add_settings_arguments(parser)

    def handle(self, *args, **options):
        if options["judgments"] < 1:
            raise CommandError("--judgments must be at least 1")
        if not 0 <= options["careless_share"] <= 1 or options["answer_sd"] < 0:
            raise CommandError("--careless-share must be within 0..1 and --answer-sd non-negative")
        try:
            design = load_design(options["design"])
        except DesignError as exc:
            raise CommandError(str(exc)) from None
        try:
            matrix, variants = design_variants(design)
        except ValueError as exc:
            raise CommandError(f"{options['design']}: {exc}") from None
        criteria = design.rating.criteria
        try:
            truth = read_truth(options["truth"], variants, [c.name for c in criteria])
        except TableError as exc:
            raise CommandError(str(exc)) from None
        scales = {c.name: c.scale for c in criteria} or {"": design.rating.scale}
        raters = {name: SimulatedRaters(scale=scale, careless_share=options["careless_share"],
                                        position_bias=options["position_bias"], answer_sd=options["answer_sd"])
                  for name, scale in scales.items()}

        from designs.schedule import plan_pairs

        rating = design.rating
        with analysis_threads():
            items = plan_pairs(matrix.runs, design.levels_per_factor, len(design.queries), options["judgments"],
                               seed=options["seed"], per_rater=rating.per_rater, overlap=rating.overlap,
                               raters_per_item=rating.raters_per_item,
                               interactions=design.analysis.interaction_indices(f.name for f in design.factors))
        rater, query, left, right = np.array([(i.rater, i.query, i.left, i.right) for i in items]).T
        rng = np.random.default_rng(options["seed"])
        # One crowd answers every criterion: the same raters click at random on all of them.
        careless = rng.random(int(rater.max()) + 1) < options["careless_share"] if criteria else None
        categories = sorted({q.category for q in design.queries if q.category})
        simulated = {}
        for name, criterion_raters in raters.items():
            judgments, clickers = simulate_judgments(variants.dummies(), truth[name] if criteria else truth, rater, query,
                                              left, right, criterion_raters, rng, n_queries=len(design.queries),
                                              careless=careless)
            simulated[name] = replace(
                judgments, queries=tuple(q.id for q in design.queries),
                category=np.array([categories.index(design.queries[q].category) if design.queries[q].category else -1
                                   for q in judgments.query], dtype=np.int64),
                categories=tuple(categories),
            )
        judgments = judgments_on_criteria(simulated) if criteria else simulated[""]
        context = DesignContext(name=design.name, title=f"Simulation: {design.title}", question=design.question,
                                array=matrix.array_name, foldover=matrix.foldover)
        with analysis_threads():
            result = analyse(variants, judgments, settings_from(options, design.analysis), design=context,
                             criteria=criteria, rng=np.random.default_rng(options["seed"]))
        labels = variants.effect_labels()

        def simulation(name):
            sim = raters[name]
            return {
                "seed": options["seed"], "judgments_requested": options["judgments"],
                "judgments_scheduled": len(items),
                "raters": {"scale": sim.scale, "careless_share": sim.careless_share,
                           "position_bias": sim.position_bias, "answer_sd": sim.answer_sd,
                           "tie_threshold": sim.tie_threshold, "strong_threshold": sim.strong_threshold},
                "careless_raters": [judgments.raters[r] for r in clickers],
                "truth": [{"factor": f, "level": level, "effect": float(value)}
                          for (f, level), value in zip(labels, truth[name] if criteria else truth)],
            }

        if criteria:  # each criterion's analysis carries its own truth
            result = replace(result, criteria=[replace(part, result=replace(part.result, simulation=simulation(
                part.criterion))) for part in result.criteria])
        else:
            result = replace(result, simulation=simulation(""))
        written = write_outputs(options["out"], variants, judgments, result)
        if len(items) < options["judgments"]:
            self.stderr.write(f"the scheduler ran out of (query, pair) cells after {len(items)} judgments")
        self.stdout.write(f"wrote {', '.join(written)} to {options['out']}")
