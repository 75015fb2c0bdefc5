from django.contrib import admin

from evalplat.experiments.models import Experiment, Factor, Level, Query, Variant


class FactorInline(admin.TabularInline):
    model = Factor
    extra = 0
    fields = ("position", "name", "target")


class QueryInline(admin.TabularInline):
    model = Query
    extra = 0
    fields = ("position", "key", "category", "text")


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "status", "array_name", "foldover", "owner", "created_at")
    list_filter = ("status",)
    search_fields = ("slug", "title")
    readonly_fields = ("design_sha256", "array_name", "foldover", "alias_report", "created_at")
    inlines = [FactorInline, QueryInline]


@admin.register(Level)
class LevelAdmin(admin.ModelAdmin):
    list_display = ("factor", "name", "position", "value")
    list_filter = ("factor__experiment",)


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ("experiment", "code", "position", "mirror")
    list_filter = ("experiment",)
    filter_horizontal = ("levels",)
