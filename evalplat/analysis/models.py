"""The one table the analysis owns: stored results, so a report is fitted once per new judgment."""
from django.db import models


class AnalysisSnapshot(models.Model):
    """The analysis of an experiment's judgments as they stood, under one set of settings.

    One row per (experiment, settings): `snapshots.analysis_for` reuses `result` while the
    experiment's judgment count and last judgment id are the ones recorded, and refits
    otherwise.  The row doubles as the lock that makes concurrent requests (several web
    workers) wait for one fit instead of each running their own.
    """

    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE,
                                   related_name="analysis_snapshots")
    settings_hash = models.CharField(max_length=64, help_text="analysis settings and result format, hashed")
    judgment_count = models.PositiveIntegerField(default=0)
    last_judgment_id = models.BigIntegerField(default=0)
    result = models.JSONField(null=True, blank=True, help_text="AnalysisResult.as_json(); null with a reason")
    reason = models.TextField(blank=True, help_text="why there is no result for these judgments")
    computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["experiment", "settings_hash"],
                                               name="one_snapshot_per_experiment_and_settings")]

    def __str__(self):
        return f"{self.experiment_id}: {self.judgment_count} judgments"

    def holds(self, count, last_id):
        return self.computed_at is not None and (self.judgment_count, self.last_judgment_id) == (count, last_id)
