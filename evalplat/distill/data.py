"""An experiment's answers -> distillation examples (plain dicts that distillation.training reads).

The same set as the export's distill.jsonl: one variant's usable answers, each the bare query
(the student's input) and the answer made with the variant's prompt (what the teacher said),
with the teacher's stored token distributions when the answer has them with token ids.
"""
from evalplat.generation.models import Answer


def distillation_examples(experiment, variant_code):
    """[record] for `variant_code`'s generated, not excluded answers, in run order."""
    answers = (Answer.objects.usable().filter(experiment=experiment, variant__code=variant_code)
               .select_related("variant", "query").order_by("query__position", "sample"))
    records = []
    for answer in answers:
        stored = answer.logprobs if isinstance(answer.logprobs, dict) and "top_ids" in answer.logprobs else None
        records.append({
            "key": "/".join(map(str, answer.key)), "query": answer.query.key,
            "teacher_messages": answer.messages, "student_messages": [{"role": "user", "content": answer.query.text}],
            "text": answer.text, "finish_reason": answer.finish_reason,
            "completion_ids": stored["token_ids"] if stored else None,
            "top_ids": stored["top_ids"] if stored else None,
            "top_logprobs": stored["top_logprobs"] if stored else None,
            "tail_logprobs": stored.get("tail_logprobs") if stored else None,
            "model": answer.model, "model_hash": answer.model_hash,
        })
    return records
