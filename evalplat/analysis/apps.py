from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "evalplat.analysis"
    label = "analysis"
    verbose_name = "Analysis"
