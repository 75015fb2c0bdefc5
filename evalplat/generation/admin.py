from django.contrib import admin

from evalplat.generation.models import Answer, GenerationJob


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ("id", "experiment", "backend", "state", "done", "failed", "total", "created_at", "finished_at")
    list_filter = ("state", "backend")
    readonly_fields = ("total", "done", "failed", "prompt_tokens", "completion_tokens", "errors",
                       "created_at", "started_at", "finished_at")


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    list_display = ("id", "experiment", "variant", "query", "sample", "status", "completion_tokens", "excluded")
    list_filter = ("status", "excluded", "experiment")
    search_fields = ("query__key", "variant__code")
    # Model output is shown as plain text by the admin (escaped), never as HTML.
    readonly_fields = ("messages", "settings", "text", "logprobs", "model_hash", "engine_version", "claim_token",
                       "lease_until", "generated_at")
