"""manage.py plan DESIGN.toml [--csv FILE]: validate and show a design; writes nothing to the database.

It lives in the analysis app, downstream of designs and experiments, because
its estimate of the judgments needed runs the analysis model on simulations.
"""
import textwrap

from django.core.management.base import BaseCommand, CommandError

from designs.aliasing import alias_report
from designs.arrays import ArrayError
from designs.matrix import design_matrix
from designs.prompts import compose_for_design
from designs.schedule import plan_pairs, schedule_efficiency
from designs.spec import DesignError, load_design
from designs.tables import variant_rows, write_variants_csv
from evalplat.analysis.power import judgments_needed
from evalplat.analysis.threads import analysis_threads

# Judgments the efficiency figure is measured over: enough for every query and
# variant to be used several times, small enough for plan to answer at once.
EFFICIENCY_SAMPLE = 400


class Command(BaseCommand):
    help = "Validate a design file and show its variants, aliasing, prompts and size. Writes nothing to the database."

    def add_arguments(self, parser):
        parser.add_argument("design", help="path to a design file (TOML)")
        parser.add_argument("--csv", metavar="FILE", help="also write the variants table (variants.csv format)")
        parser.add_argument("--halfwidth", type=float, default=0.25,
                            help="target 95%% interval half-width (log-odds) for the judgments estimate (default 0.25)")

    def handle(self, *args, **options):
        try:
            design = load_design(options["design"])
        except DesignError as exc:
            raise CommandError(f"{len(exc.problems)} problem(s) in the design:\n{exc}") from None
        try:
            matrix = design_matrix(design.levels_per_factor, array=design.array, foldover=design.foldover)
        except ArrayError as exc:
            raise CommandError(f"{design.path}: array: {exc}") from None

        rows = variant_rows(design, matrix.runs)
        names = [f.name for f in design.factors]
        if options["csv"]:
            with open(options["csv"], "w", encoding="utf-8", newline="") as stream:
                write_variants_csv(stream, names, rows)

        out = self.stdout.write
        out(f"{design.title}  ({design.name}, sha256 {design.sha256[:12]})")
        out(f"Question shown to raters: {design.question}\n")
        self.show_factors(design)
        self.show_array(matrix)
        self.show_variants(names, rows)
        out("Aliasing")
        for line in alias_report(matrix.runs, design.levels_per_factor, names).lines():
            out(f"  {line}")
        self.show_prompts(design, rows)
        self.show_size(design, matrix, options["halfwidth"])
        if options["csv"]:
            out(f"\nWrote {len(rows)} variants to {options['csv']}")

    def show_factors(self, design):
        self.stdout.write("Factors (first level is the baseline)")
        for factor in design.factors:
            kind = f"sets {factor.target}" if factor.is_setting else f"fills {{{factor.name}}}"
            levels = ", ".join(level.name for level in factor.levels)
            self.stdout.write(f"  {factor.name:<16} {len(factor.levels)} levels, {kind}: {levels}")
        self.stdout.write("")

    def show_array(self, matrix):
        folded = f", folded over to {len(matrix.runs)} runs" if matrix.foldover else ""
        self.stdout.write(f"Array: {matrix.array_name} ({matrix.n_base_runs} runs{folded})\n")

    def show_variants(self, names, rows):
        widths = [max(len(n), *(len(r[1][i]) for r in rows)) for i, n in enumerate(names)]
        header = "  variant  " + "  ".join(n.ljust(w) for n, w in zip(names, widths))
        self.stdout.write("Variants")
        self.stdout.write(header)
        for code, levels in rows:
            self.stdout.write(f"  {code:<8} " + "  ".join(l.ljust(w) for l, w in zip(levels, widths)))
        self.stdout.write("")

    def show_prompts(self, design, rows):
        query = design.queries[0]
        self.stdout.write(f"\nPrompts for the first query ({query.id})")
        factor_names = [f.name for f in design.factors]
        for code, levels in rows:
            prompt = compose_for_design(design, dict(zip(factor_names, levels)), query)
            settings = {f.setting: getattr(prompt.settings, f.setting) for f in design.factors if f.is_setting}
            extra = "  " + ", ".join(f"{k}={v}" for k, v in settings.items()) if settings else ""
            self.stdout.write(f"  {code}{extra}")
            for message in prompt.messages:
                body = "\n".join(textwrap.fill(line, 96, initial_indent="      ", subsequent_indent="      ")
                                 for line in message["content"].split("\n"))
                self.stdout.write(f"    [{message['role']}]\n{body}")

    def show_size(self, design, matrix, halfwidth):
        samples = design.generation.samples
        n_answers = len(matrix.runs) * len(design.queries) * samples
        self.stdout.write(f"\nAnswers to generate: {len(matrix.runs)} variants x {len(design.queries)} queries"
                          f" x {samples} sample(s) = {n_answers}")
        with analysis_threads():
            items = plan_pairs(matrix.runs, design.levels_per_factor, len(design.queries), EFFICIENCY_SAMPLE,
                               seed=design.generation.seed, per_rater=design.rating.per_rater,
                               overlap=design.rating.overlap)
            efficiency = schedule_efficiency(matrix.runs, design.levels_per_factor, items)
        self.stdout.write(f"Pair schedule efficiency (information per judgment vs the mirror-pair bound, "
                          f"over {EFFICIENCY_SAMPLE} scheduled judgments):")
        for index, factor in enumerate(design.factors):
            self.stdout.write(f"  {factor.name:<16} {efficiency[index]:.2f}")
        with analysis_threads():
            needed = judgments_needed(design, target_halfwidth=halfwidth, seed=design.generation.seed)
        self.stdout.write(f"Judgments needed for a 95% interval of +/-{halfwidth} log-odds on every main effect: "
                          f"about {needed}")
