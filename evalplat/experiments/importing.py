"""Design file → experiment rows, shared by the command and the console's new-experiment page."""
from designs.arrays import ArrayError
from designs.matrix import design_matrix
from designs.spec import DesignError, load_design, parse_design, problem_at
from evalplat.experiments.models import Experiment, ExperimentExists


class ImportRefused(Exception):
    """The design cannot be imported and nothing was written; `problems` say why, each with its place."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the design:\n" + "\n".join(map(str, self.problems)))


def import_design(design, *, owner=None, replace=False):
    try:
        matrix = design_matrix(design.levels_per_factor, array=design.array, foldover=design.foldover)
    except ArrayError as exc:
        raise ImportRefused([problem_at(design, ("array",), str(exc))]) from None
    try:
        return Experiment.objects.create_from_design(design, matrix, owner=owner, replace=replace)
    except ExperimentExists as exc:
        raise ImportRefused([problem_at(design, ("name",), str(exc))]) from None


def import_design_file(path, **kwargs):
    """From the shell: the files the design names are read from its own folder."""
    try:
        design = load_design(path)
    except DesignError as exc:
        raise ImportRefused(exc.problems) from None
    return import_design(design, **kwargs)


def import_design_text(text, name, files=None, **kwargs):
    """Design text reported under `name`; the files it names come from `files` (a designs.files
    Bundle or Folder) and from nowhere else; with None it may name none."""
    try:
        design = parse_design(text, name, files=files)
    except DesignError as exc:
        raise ImportRefused(exc.problems) from None
    return import_design(design, **kwargs)
