"""manage.py analyze: offline (--variants/--judgments CSVs) or for an experiment in the database."""
from django.core.management.base import BaseCommand, CommandError

from designs.spec import PENALTIES, PRIOR_SD_RANGE, AnalysisSettings
from evalplat.analysis.criteria import analyse
from evalplat.analysis.criteria_outputs import write_outputs
from evalplat.analysis.estimate import Settings
from evalplat.analysis.memory import keep_freed_memory
from evalplat.analysis.threads import analysis_threads
from evalplat.analysis.tables import TableError, read_judgments, read_variants


def add_settings_arguments(parser):
    parser.add_argument("--both-bad", choices=["tie", "drop"], default="tie",
                        help="how a 'both are bad' judgment counts (default: as a tie)")
    parser.add_argument("--no-careless", action="store_true", help="do not fit the random-clicker mixture")
    parser.add_argument("--interval", choices=["auto", "robust", "model"], default="auto",
                        help="standard errors the intervals use (default: robust when there are enough clusters)")
    parser.add_argument("--penalty", choices=PENALTIES, default=None,
                        help="auto: maximum likelihood, penalised only where the judgments separate; always; never "
                             "(default: the design's [analysis] penalty, else auto)")
    parser.add_argument("--prior-sd", type=float, default=None,
                        help="SD of the penalty's N(0, sd^2) on centred level effects, in log-odds "
                             "(default: the design's [analysis] prior_sd, else 2.5)")


def settings_from(options, analysis=AnalysisSettings()):
    """Settings from the command line; what it leaves out comes from the design's [analysis]."""
    prior_sd = analysis.prior_sd if options["prior_sd"] is None else options["prior_sd"]
    low, high = PRIOR_SD_RANGE
    if not low <= prior_sd <= high:
        raise CommandError(f"--prior-sd must be between {low:g} and {high:g} (log-odds)")
    return Settings.for_design(analysis, both_bad=options["both_bad"], careless=not options["no_careless"],
                               interval=options["interval"], penalty=options["penalty"] or analysis.penalty,
                               prior_sd=prior_sd)


class Command(BaseCommand):
    help = "Estimate per-factor effects from judgments and write effects.json/csv, the CSVs and report.html."

    def add_arguments(self, parser):
        parser.add_argument("experiment", nargs="?", help="slug of an experiment in the database")
        parser.add_argument("--variants", help="variants.csv (offline analysis)")
        parser.add_argument("--judgments", help="judgments.csv (offline analysis)")
        parser.add_argument("--out", required=True, help="directory to write the results to")
        add_settings_arguments(parser)

    def handle(self, *args, **options):
        keep_freed_memory()   # one analysis, then exit: freed arrays are better reused than unmapped
        offline = options["variants"] or options["judgments"]
        if offline and options["experiment"]:
            raise CommandError("give either EXPERIMENT or --variants and --judgments, not both")
        if offline:
            if not (options["variants"] and options["judgments"]):
                raise CommandError("offline analysis needs both --variants and --judgments")
            try:
                variants = read_variants(options["variants"])
                judgments = read_judgments(options["judgments"], variants)
            except TableError as exc:
                raise CommandError(str(exc)) from None
            design, analysis, criteria = None, AnalysisSettings(), ()
        elif options["experiment"]:
            from evalplat.analysis.data import design_analysis, experiment_data
            from evalplat.experiments.models import Experiment
            try:
                experiment = Experiment.objects.get(slug=options["experiment"])
            except Experiment.DoesNotExist:
                raise CommandError(f"no experiment named {options['experiment']!r}") from None
            data = experiment_data(experiment)
            if data.judgments is None:
                raise CommandError(f"experiment {experiment.slug!r} has no judgments yet")
            variants, judgments, design = data.variants, data.judgments, data.design
            analysis = design_analysis(experiment)
            criteria = experiment.rating_settings.criteria
        else:
            raise CommandError("give an EXPERIMENT slug, or --variants V.csv and --judgments J.csv")
        try:
            with analysis_threads():
                result = analyse(variants, judgments, settings_from(options, analysis), design=design,
                                 criteria=criteria)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        written = write_outputs(options["out"], variants, judgments, result, judgments_csv=options["judgments"])
        self.stdout.write(f"wrote {', '.join(written)} to {options['out']}")
