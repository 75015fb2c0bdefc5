"""Console access: an experiment is visible to its owner and to superusers only."""
from django.shortcuts import get_object_or_404

from evalplat.experiments.models import Experiment


def experiment_for_user(request, slug):
    """The experiment if this console user may see it; 404 otherwise (never say it exists)."""
    return get_object_or_404(Experiment.objects.visible_to(request.user), slug=slug)
