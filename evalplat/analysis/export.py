"""Training data from an experiment: a context-distillation set and preference pairs.

Context distillation (Askell et al. 2021; Snell et al. 2022) teaches a model to answer the bare
query the way it answered with the variant's prompt, so each record is the plain query as the
user turn and the prompted answer as the assistant turn, with the answer's stored top-k token
log-probabilities (the columnar form of evalplat.generation.logprobs) for a distillation loss.
Preference pairs (chosen, rejected) come from decided judgments, as DPO (Rafailov et al. 2023)
expects; ties, "both bad" judgments and gold items carry no preference and are left out, and so
are the judgments of raters the analysis excludes or flags.
"""


def distillation_records(answers, variant):
    """JSONL records for one variant's usable answers."""
    records = []
    for answer in answers:
        if answer["variant"] != variant or answer["status"] != "done" or answer["excluded"]:
            continue
        record = {
            "messages": [{"role": "user", "content": answer["query_text"]},
                         {"role": "assistant", "content": answer["text"]}],
            "variant": answer["variant"], "query": answer["query"], "sample": answer["sample"],
            "model": answer["model"],
        }
        if answer["logprobs"]:
            record["logprobs"] = answer["logprobs"]
        records.append(record)
    return records


def preference_pairs(judgment_rows, answers_by_id, set_aside_raters=None):
    """(prompt, chosen, rejected) records, and how many judgments were left out and why.

    Left out: attention items, ties and "both bad" judgments (no preference), and every
    judgment of a rater the analysis sets aside (`set_aside_raters`: criterion name -> the raters
    its analysis excludes or flags as likely random clickers; "" for a design's one question), so
    the pairs carry the same judgments the effects rest on. With criteria every pair says which
    criterion it prefers on: an item is a pair per criterion that has a preference.
    """
    set_aside_raters = set_aside_raters or {}
    pairs = []
    left_out = {"attention items": 0, "ties or both bad": 0, "excluded or flagged raters": 0}
    for row in judgment_rows:
        if row["gold"]:
            left_out["attention items"] += 1
            continue
        criterion = row.get("criterion", "")
        if row["rater"] in set_aside_raters.get(criterion, ()):
            left_out["excluded or flagged raters"] += 1
            continue
        if row["winner"] == "tie" or row["both_bad"]:
            left_out["ties or both bad"] += 1
            continue
        chosen_id, rejected_id = ((row["left_answer"], row["right_answer"]) if row["winner"] == "left"
                                  else (row["right_answer"], row["left_answer"]))
        chosen, rejected = answers_by_id[chosen_id], answers_by_id[rejected_id]
        pairs.append({
            "prompt": chosen["query_text"], "chosen": chosen["text"], "rejected": rejected["text"],
            "query": row["query"], "chosen_variant": chosen["variant"], "rejected_variant": rejected["variant"],
            "strength": row["strength"] or None, "rater": row["rater"],
            **({"criterion": criterion} if criterion else {}),
        })
    return pairs, left_out
