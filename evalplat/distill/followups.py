"""Follow-up experiments of an experiment, created as ordinary experiments (same pages, same analysis).

Each writes a design folder (design.toml, and instructions.md when the original had its own),
which is what gets reviewed and versioned, and creates the experiment from it through
evalplat.experiments.importing, exactly as `create_experiment` would. What `confirm` and
`distill_check` (and the console's buttons) call.
"""
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from designs.prompts import compose
from designs.spec import DesignError, load_design, load_queries
from evalplat.analysis.power import judgments_needed
from evalplat.distill.choice import NoWinner, find_winner, resolve_variant
from evalplat.distill.followup_designs import (
    INSTRUCTIONS_FILE,
    confirmation_design,
    distillation_check_design,
    follow_up_name,
)
from evalplat.experiments.importing import ImportRefused, import_design_file

HALF_WIDTH = 0.25  # the interval half-width (log-odds) the judgments estimate aims at, as `plan`'s default


class FollowUpRefused(ValueError):
    """The follow-up cannot be made; the message says why, and nothing was written to the database."""


@dataclass(frozen=True)
class FollowUp:
    experiment: object  # the new Experiment
    design_path: Path
    arms: list  # (arm name, what it is)
    queries: int
    judgments_needed: int
    predicted: object = None  # analysis.result.BestCombination: what the original predicts for its best


def _queries(experiment, queries_file, fallback=()):
    """(id, text, category) for the follow-up: a JSONL file's, else the experiment's held-out ones."""
    if queries_file:
        try:
            return [(q.id, q.text, q.category) for q in load_queries(queries_file)]
        except DesignError as exc:
            raise FollowUpRefused(f"{len(exc.problems)} problem(s) in the queries:\n{exc}") from None
    held_out = [(q["id"], q["text"], q.get("category", "")) for q in experiment.held_out_queries]
    return held_out or list(fallback)


def _write(folder, text, experiment):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "design.toml"
    path.write_text(text, encoding="utf-8")
    if experiment.rating_settings.instructions and INSTRUCTIONS_FILE in text:
        (folder / INSTRUCTIONS_FILE).write_text(experiment.rating_settings.instructions, encoding="utf-8")
    return path


def _create(path, owner, replace):
    try:
        design = load_design(path)
        created = import_design_file(path, owner=owner, replace=replace)
    except (ImportRefused, DesignError) as exc:
        raise FollowUpRefused(str(exc)) from None
    return created, judgments_needed(design, target_halfwidth=HALF_WIDTH, seed=design.generation.seed)


def _folder(out, name):
    return Path(out) if out else Path(settings.BASE_DIR) / "var" / "followups" / name


def create_confirmation(experiment, *, owner=None, queries_file=None, out=None, name=None, replace=False):
    """The recommended combination against the all-baseline variant and the best tested variant,
    on held-out queries (or those of `queries_file`)."""
    try:
        winner = find_winner(experiment)
    except NoWinner as exc:
        raise FollowUpRefused(str(exc)) from None
    queries = _queries(experiment, queries_file)
    if not queries:
        raise FollowUpRefused(f"{experiment.slug} has no held-out queries (mark some `held_out = true` in its design) "
                              "and no --queries file was given: a confirmation needs queries it never rated")
    factors = experiment.design_factors()
    names = [f.name for f in factors]
    levels_of = {v.code: v.level_names() for v in experiment.variants.prefetch_related("levels__factor")}
    arms, seen = [], []

    def add(arm, levels, note):
        if levels not in seen:
            seen.append(levels)
            arms.append((arm, levels, note))

    described = ", ".join(f"{n}={winner.levels[n]}" for n in names)
    if winner.baseline:
        add("baseline", levels_of[winner.baseline], f"the all-baseline variant ({winner.baseline})")
    add("predicted_best", dict(winner.levels), f"the recommended combination ({described})"
        + (f", tested as {winner.recommended_variant}" if winner.recommended_variant else ", never tested"))
    add("best_tested", levels_of[winner.best_tested], f"the best tested variant ({winner.best_tested})")
    if len(arms) < 2:
        raise FollowUpRefused(f"the recommended combination of {experiment.slug} is its baseline: nothing to confirm")
    name = name or follow_up_name(experiment.slug, "confirm")
    text = confirmation_design(
        name=name, original=experiment.slug, system=experiment.system_template, user=experiment.user_template,
        generation=experiment.generation_settings, rating=experiment.rating_settings, question=experiment.question,
        factors=factors, arms=arms, queries=queries)
    path = _write(_folder(out, name), text, experiment)
    created, needed = _create(path, owner, replace)
    return FollowUp(created, path, [(arm, note) for arm, _, note in arms], len(queries), needed, winner.best)


def student_kind(student):
    """("adapter", dir) for a LoRA adapter directory, ("model", dir) for a merged checkpoint."""
    path = Path(student)
    if (path / "adapter_config.json").is_file():
        return "adapter", str(path)
    if (path / "config.json").is_file():
        return "model", str(path)
    raise FollowUpRefused(f"--student {student!r} is neither a LoRA adapter directory (adapter_config.json) "
                          "nor a model checkpoint (config.json)")


def _held_out_of_training(student, experiment):
    """The queries a distilled adapter was not trained on (its distillation.json), as query rows."""
    facts = Path(student) / "distillation.json"
    try:
        held = set(json.loads(facts.read_text())["held_out_queries"])
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [(q.key, q.text, q.category) for q in experiment.queries.all() if q.key in held]


def create_distillation_check(experiment, student, *, variant="best", base=None, owner=None, queries_file=None,
                              out=None, name=None, replace=False):
    """The student without the prompt against the teacher (the base model with the winning prompt)
    and the base model without it."""
    kind, path = student_kind(student)
    try:
        code, note = resolve_variant(experiment, variant)
    except NoWinner as exc:
        raise FollowUpRefused(str(exc)) from None
    variant_row = experiment.variants.prefetch_related("levels__factor").get(code=code)
    factors = experiment.design_factors()
    levels = variant_row.level_names()
    # The winning variant's prompt (with "{query}" standing for the query) and settings.
    prompt = compose(experiment.system_template, "{query}", experiment.generation_settings, factors, levels, "")
    texts = {f.name: f.level(levels[f.name]).value for f in factors if f.is_text}
    for factor in factors:
        if factor.is_arm:
            texts.update(factor.level(levels[factor.name]).value["text"])
    teacher_settings = prompt.settings
    if base:
        teacher_settings = teacher_settings.with_setting("model", base)
    teacher_settings = teacher_settings.with_setting("adapter", "")
    if not prompt.system and experiment.user_template.strip() == "{query}":
        raise FollowUpRefused(f"{code} has no prompt text: the teacher and the base model would be the same")
    queries = _queries(experiment, queries_file, fallback=_held_out_of_training(student, experiment))
    if not queries:
        raise FollowUpRefused("no queries the student was not trained on: give --queries FILE, or held-out queries "
                              "in the design, or a student whose distillation.json lists held-out queries")
    name = name or follow_up_name(experiment.slug, "distill-check")
    text = distillation_check_design(
        name=name, original=experiment.slug, teacher_messages_system=prompt.system,
        user_template=experiment.user_template, teacher_texts=texts, generation=teacher_settings,
        rating=experiment.rating_settings, question=experiment.question, student=(kind, path), queries=queries,
        teacher_note=f"{code}: {note}")
    design_path = _write(_folder(out, name), text, experiment)
    created, needed = _create(design_path, owner, replace)
    arms = [("teacher", f"{teacher_settings.model} with {code}'s prompt"), ("student", f"{kind} {path}, no prompt"),
            ("base", f"{teacher_settings.model}, no prompt")]
    return FollowUp(created, design_path, arms, len(queries), needed)
