"""manage.py plan DESIGN.toml [--csv FILE]: validate and show a design; writes nothing to the database.

It lives in the analysis app, downstream of designs and experiments, because
its estimate of the judgments needed runs the analysis model on simulations.
What it shows is computed by evalplat.analysis.preview, which the console's
Check renders too; this command only prints it.
"""
import textwrap

from django.core.management.base import BaseCommand, CommandError

from designs.spec import DesignError, load_design
from designs.tables import write_variants_csv
from evalplat.analysis.preview import DEFAULT_HALFWIDTH, preview_design
from evalplat.analysis.threads import analysis_threads


class Command(BaseCommand):
    help = "Validate a design file and show its variants, aliasing, prompts and size. Writes nothing to the database."

    def add_arguments(self, parser):
        parser.add_argument("design", help="path to a design file (TOML); the files it names are read from its folder")
        parser.add_argument("--csv", metavar="FILE", help="also write the variants table (variants.csv format)")
        parser.add_argument("--halfwidth", type=float, default=DEFAULT_HALFWIDTH,
                            help="target 95%% interval half-width (log-odds) for the judgments estimate "
                                 f"(default {DEFAULT_HALFWIDTH})")

    def handle(self, *args, **options):
        try:
            with analysis_threads():       # the scheduler and the power simulations
                preview = preview_design(load_design(options["design"]), halfwidth=options["halfwidth"])
        except DesignError as exc:
            raise CommandError(f"{len(exc.problems)} problem(s) in the design:\n{exc}") from None
        design = preview.design
        if options["csv"]:
            try:
                with open(options["csv"], "w", encoding="utf-8", newline="") as stream:
                    write_variants_csv(stream, preview.factor_names, [(v.code, v.levels) for v in preview.variants])
            except OSError as exc:
                raise CommandError(f"--csv {options['csv']}: {exc.strerror}") from None

        out = self.stdout.write
        out(f"{design.title}  ({design.name}, sha256 {design.sha256[:12]})")
        out(f"Question shown to raters: {design.question}\n")
        self.show_factors(design)
        self.show_array(preview.matrix)
        self.show_variants(preview)
        out("Aliasing")
        for line in preview.aliasing.lines():
            out(f"  {line}")
        self.show_prompts(preview)
        self.show_size(preview)
        if options["csv"]:
            out(f"\nWrote {len(preview.variants)} variants to {options['csv']}")

    def show_factors(self, design):
        self.stdout.write("Factors (first level is the baseline)")
        for factor in design.factors:
            kind = (f"sets {factor.target}" if factor.is_setting else f"fills {{{factor.name}}}" if factor.is_text
                    else "sets " + ", ".join([f"{{{n}}}" for n in factor.fills] + [f"generation.{k}" for k in factor.settings]))
            levels = ", ".join(level.name for level in factor.levels)
            self.stdout.write(f"  {factor.name:<16} {len(factor.levels)} levels, {kind}: {levels}")
        self.stdout.write("")

    def show_array(self, matrix):
        folded = f", folded over to {matrix.n_runs} runs" if matrix.foldover else ""
        self.stdout.write(f"Array: {matrix.array_name} ({matrix.n_base_runs} runs{folded})\n")

    def show_variants(self, preview):
        names, variants = preview.factor_names, preview.variants
        widths = [max(len(n), *(len(v.levels[i]) for v in variants)) for i, n in enumerate(names)]
        self.stdout.write("Variants")
        self.stdout.write("  variant  " + "  ".join(n.ljust(w) for n, w in zip(names, widths)))
        for variant in variants:
            self.stdout.write(f"  {variant.code:<8} " + "  ".join(l.ljust(w) for l, w in zip(variant.levels, widths)))
        self.stdout.write("")

    def show_prompts(self, preview):
        self.stdout.write(f"\nPrompts for the first query ({preview.first_query.id})")
        for variant in preview.variants:
            extra = "  " + ", ".join(f"{k}={v}" for k, v in variant.settings) if variant.settings else ""
            self.stdout.write(f"  {variant.code}{extra}")
            for role, content in variant.messages:
                body = "\n".join(textwrap.fill(line, 96, initial_indent="      ", subsequent_indent="      ")
                                 for line in content.split("\n"))
                self.stdout.write(f"    [{role}]\n{body}")

    def show_size(self, preview):
        out = self.stdout.write
        out(f"\nAnswers to generate: {preview.matrix.n_runs} variants x {preview.n_queries} queries"
            f" x {preview.samples} sample(s) = {preview.n_answers}")
        out(f"Pair schedule efficiency (information per judgment vs the mirror-pair bound, "
            f"over {preview.efficiency_sample} scheduled judgments):")
        interactions = preview.design.analysis.interactions
        for (name, efficiency), without in zip(preview.factor_efficiency, preview.efficiency_without_interactions):
            out(f"  {name:<16} {efficiency:.2f}" + (f"  ({without:.2f} without the interaction pairs)" if interactions else ""))
        if interactions:
            out(f"The schedule mixes in pairs that make {', '.join(f + ' x ' + g for f, g in interactions)} estimable "
                f"([analysis] interactions); the figures in brackets are the main-effect precision that costs.")
        if preview.judgments_per_criterion:
            out(f"Judgments needed for a 95% interval of +/-{preview.halfwidth} log-odds on every main effect, "
                f"per criterion:")
            for name, scale, needed in preview.judgments_per_criterion:
                out(f"  {name:<16} {scale:<8} about {needed}")
            out(f"Items needed (each asks every criterion): about {preview.judgments_needed}")
            return
        out(f"Judgments needed for a 95% interval of +/-{preview.halfwidth} log-odds on every main effect: "
            f"about {preview.judgments_needed}, assuming")
        for line in preview.power.assumptions():
            out(f"  {line}")
