"""Design file → experiment rows, shared by the command and the console upload."""
from designs.arrays import ArrayError
from designs.matrix import design_matrix
from designs.spec import DesignError, load_design, parse_design
from evalplat.experiments.models import Experiment, ExperimentExists


class ImportRefused(Exception):
    """The design cannot be imported; the message says why, and nothing was written."""


def import_design(design, *, owner=None, replace=False):
    try:
        matrix = design_matrix(design.levels_per_factor, array=design.array, foldover=design.foldover)
    except ArrayError as exc:
        raise ImportRefused(f"{design.path}: array: {exc}") from None
    try:
        return Experiment.objects.create_from_design(design, matrix, owner=owner, replace=replace)
    except ExperimentExists as exc:
        raise ImportRefused(str(exc)) from None


def import_design_file(path, **kwargs):
    try:
        design = load_design(path)
    except DesignError as exc:
        raise ImportRefused(f"{len(exc.problems)} problem(s) in the design:\n{exc}") from None
    return import_design(design, **kwargs)


def import_design_text(text, name, **kwargs):
    """For uploads: relative paths (queries JSONL, instructions) cannot be resolved, so use inline ones."""
    try:
        design = parse_design(text, name)
    except DesignError as exc:
        raise ImportRefused(f"{len(exc.problems)} problem(s) in the design:\n{exc}") from None
    return import_design(design, **kwargs)
