"""manage.py distill_check EXPERIMENT --student DIR [--variant best|vN] [--base MODEL] [--queries ...] ...

Creates the distillation check: an ordinary experiment with three arms, the base model with the
winning prompt (the teacher), the distilled student (a LoRA adapter or merged checkpoint) without
it, and the base model without it. Its report's arm=student effect is the student against the
teacher; `manage.py noninferiority CHECK` states whether the student is non-inferior.
"""
from django.core.management.base import BaseCommand, CommandError

from evalplat.distill.followups import FollowUpRefused, create_distillation_check
from evalplat.distill.management.commands.confirm import follow_up_arguments, follow_up_context, print_follow_up


class Command(BaseCommand):
    help = "Create the blinded check of a distilled model against its teacher, as an ordinary experiment."

    def add_arguments(self, parser):
        follow_up_arguments(parser)
        parser.add_argument("--student", required=True, help="the distilled adapter (DIR/adapter) or merged checkpoint")
        parser.add_argument("--variant", default="best", help="the variant that was distilled (default best)")
        parser.add_argument("--base", help="the base model (default: the winning variant's model)")

    def handle(self, *args, **options):
        experiment, context = follow_up_context(options)
        if not options["name"]:
            context.pop("name")
        try:
            follow_up = create_distillation_check(experiment, options["student"], variant=options["variant"],
                                                  base=options["base"], **context)
        except FollowUpRefused as exc:
            raise CommandError(str(exc)) from None
        print_follow_up(self.stdout, follow_up, "the distillation check")
