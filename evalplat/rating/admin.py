from django.contrib import admin

from evalplat.rating.models import Assignment, Invite, Judgment, LeakFlag, Rater


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    list_display = ("__str__", "experiment", "kind", "platform", "completion_code", "created_at", "revoked_at")
    list_filter = ("kind", "platform", "experiment")


@admin.register(Rater)
class RaterAdmin(admin.ModelAdmin):
    list_display = ("__str__", "experiment", "status", "gold_failures", "created_at", "finished_at")
    list_filter = ("status", "experiment")
    search_fields = ("external_id", "public_id")


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("public_id", "experiment", "rater", "position", "kind", "status", "is_gold", "issued_at")
    list_filter = ("status", "kind", "is_gold", "experiment")
    raw_id_fields = ("rater", "query", "left_answer", "right_answer", "source")


@admin.register(Judgment)
class JudgmentAdmin(admin.ModelAdmin):
    list_display = ("assignment", "criterion", "winner", "strength", "both_bad", "time_on_item_ms", "created_at")
    list_filter = ("criterion", "winner", "both_bad")
    raw_id_fields = ("assignment",)


@admin.register(LeakFlag)
class LeakFlagAdmin(admin.ModelAdmin):
    list_display = ("answer", "kind", "evidence", "created_at")
    list_filter = ("kind",)
    raw_id_fields = ("answer",)
