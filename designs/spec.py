"""Design files: parse and validate the TOML format of PRODUCT.md.

`load_design(path)` returns a frozen `Design` or raises `DesignError` listing
*every* problem found, each naming the file, the line where it can be found and
the field. Nothing here touches a database: `manage.py plan` and
`create_experiment` both start from this module.

The files a design names (its queries JSONL, its instructions Markdown) are read
only from a source of files (`designs.files`): the design file's own folder for
`load_design`, or whatever the caller passes to `parse_design` (the bundle uploaded
with it in the console); text parsed with no source can name no files.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import string
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from designs import limits
from designs.files import NO_FILES, FileRefused, Folder
from designs.locate import TomlLocator, deep_nesting_line

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ARRAY_NAME_LENGTH = 100  # Experiment.array_name
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# A criterion's name is a column value in judgments.csv and a word in the report's sentences.
CRITERION_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
ARRAY_NAME = re.compile(r"^(auto|full|L\d+(\(.*\))?)$")
QUERY_PLACEHOLDER = "query"

# The one vocabulary of rating scales: each scale's outcomes, from "right much better" up to
# "left much better", as (winner, strength); strength None means the scale does not grade it.
# The rating form, the simulated raters and the analysis all read their scales from here.
SCALE_OUTCOMES = {
    "2-way": (("right", None), ("left", None)),
    "3-way": (("right", None), ("tie", None), ("left", None)),
    "5-point": (("right", 2), ("right", 1), ("tie", None), ("left", 1), ("left", 2)),
}
SCALES = tuple(SCALE_OUTCOMES)
RATIONALE = ("off", "optional", "required")
CRITERION_KEYS = ("name", "question", "scale", "weight")

# generation.* keys, the type each takes, and whether a factor may target it.
# "samples" and "seed" describe the experiment, not a variant, so they cannot be factors.
GENERATION_KEYS = {
    "model": (str, True),
    "adapter": (str, True),
    "max_tokens": (int, True),
    "temperature": (float, True),
    "top_p": (float, True),
    "top_k": (int, True),
    "min_p": (float, True),
    "presence_penalty": (float, True),
    "frequency_penalty": (float, True),
    "repetition_penalty": (float, True),
    "samples": (int, False),
    "seed": (int, False),
    "logprobs": (int, False),
}

TOP_LEVEL_KEYS = {"name", "title", "question", "array", "foldover", "prompt", "generation", "rating", "factors", "queries",
                  "analysis"}
PENALTIES = ("auto", "always", "never")     # evalplat.analysis.estimate.PENALTIES reads these
PRIOR_SD_RANGE = (0.1, 100.0)               # log-odds; outside it a "weak" prior is no longer one
DEFAULT_QUESTION = "Which response would be better for the person who asked?"
DEFAULT_INSTRUCTIONS = (
    "You will see a question and two responses to it. Read both, then say which response would be "
    "better for the person who asked. There are no trick questions; go with your honest judgment."
)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self):
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}"


class DesignError(ValueError):
    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Level:
    name: str
    value: object


@dataclass(frozen=True)
class Factor:
    name: str
    levels: tuple[Level, ...]
    target: str | None = None  # None: a text factor that fills {name}, or an arm factor

    @property
    def is_setting(self):
        return self.target is not None

    @property
    def is_arm(self):
        """An arm factor: each level is a table {"text": {placeholder: text}, "generation": {key: value}}
        that sets several things at once (a model and a prompt, say)."""
        return self.target is None and bool(self.levels) and isinstance(self.levels[0].value, dict)

    @property
    def is_text(self):
        return self.target is None and not self.is_arm

    @property
    def fills(self):
        """The placeholders this factor fills: {name} for a text factor, its levels' for an arm."""
        if self.is_arm:
            return tuple(self.levels[0].value["text"])
        return () if self.is_setting else (self.name,)

    @property
    def settings(self):
        """The generation keys this factor sets."""
        if self.is_arm:
            return tuple(sorted({key for level in self.levels for key in level.value["generation"]}))
        return (self.setting,) if self.is_setting else ()

    @property
    def setting(self):
        """The generation key a setting factor overrides ("temperature" for generation.temperature)."""
        return self.target.partition(".")[2] if self.target else None

    @property
    def baseline(self):
        return self.levels[0]

    def level(self, name):
        for level in self.levels:
            if level.name == name:
                return level
        raise KeyError(f"factor {self.name!r} has no level {name!r}")


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    category: str = ""
    held_out: bool = False  # kept back for a confirmation run: never generated or rated here


class _StoredSettings:
    """A settings dataclass that is stored as JSON on the experiment and read back typed."""

    def as_dict(self):
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, stored):
        """Rebuild from stored JSON; keys it lacks (an older experiment) take today's defaults."""
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in stored.items() if key in names})


@dataclass(frozen=True)
class GenerationSettings(_StoredSettings):
    """The design's [generation] table with its defaults; a setting factor overrides one field."""

    model: str = ""
    adapter: str = ""  # a LoRA adapter directory on `model`; "" for none
    max_tokens: int = 512
    temperature: float = 0.7
    top_p: float = 1.0
    top_k: int | None = None
    min_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    repetition_penalty: float | None = None
    samples: int = 1
    seed: int = 0
    logprobs: int = 0

    def with_setting(self, key, value):
        return replace(self, **{key: value})


@dataclass(frozen=True)
class Criterion:
    """One question a rater answers about every pair (a `[[rating.criteria]]` table).

    `weight` enters the documented combination of criteria (README "Criteria"): the weighted
    sum of the criteria's effects, with the weights as given (they need not sum to 1).
    """

    name: str
    question: str
    scale: str
    weight: float = 1.0

    @property
    def outcomes(self):
        return SCALE_OUTCOMES[self.scale]


# The name of the one criterion a design without [[rating.criteria]] asks: its top-level `question`.
# Stored as Judgment.criterion and read from a judgments.csv without a `criterion` column.
IMPLICIT_CRITERION = ""


@dataclass(frozen=True)
class RatingSettings(_StoredSettings):
    scale: str = "5-point"
    both_bad: bool = True
    rationale: str = "optional"
    per_rater: int = 40
    overlap: float = 0.1
    raters_per_item: int = 2  # how many raters judge each item of the `overlap` share
    gold_rate: float = 0.05
    instructions: str = DEFAULT_INSTRUCTIONS
    criteria: tuple[Criterion, ...] = ()  # empty: the design's single `question`

    @property
    def outcomes(self):
        return SCALE_OUTCOMES[self.scale]

    def asked(self, question):
        """The criteria raters answer, in the order shown: the design's own, or the one implicit
        criterion that asks the top-level `question` on `scale` (a design without criteria)."""
        return self.criteria or (Criterion(IMPLICIT_CRITERION, question, self.scale),)

    def as_dict(self):
        stored = dict(self.__dict__)
        stored["criteria"] = [dict(criterion.__dict__) for criterion in self.criteria]
        return stored

    @classmethod
    def from_dict(cls, stored):
        settings = super().from_dict(stored)
        return replace(settings, criteria=tuple(Criterion(**c) for c in stored.get("criteria", ())))


@dataclass(frozen=True)
class AnalysisSettings(_StoredSettings):
    """The design's [analysis] table: how `analyze` estimates, and what the scheduler aims at.

    `penalty`: "auto" gives the maximum-likelihood estimate wherever it exists and a N(0, prior_sd^2)
    penalty on centred level effects only where the judgments separate; "always" penalises every
    fit; "never" refuses data whose MLE does not exist.  `interactions` names two-factor
    interactions of interest, which the pair scheduler then makes estimable.
    """

    penalty: str = "auto"
    prior_sd: float = 2.5
    interactions: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_dict(cls, stored):
        settings = super().from_dict(stored)
        return replace(settings, interactions=tuple(tuple(pair) for pair in settings.interactions))

    def interaction_indices(self, factor_names):
        """`interactions` as pairs of indices into `factor_names` (the scheduler's form)."""
        names = list(factor_names)
        return tuple((names.index(f), names.index(g)) for f, g in self.interactions)


def analysis_from_text(text):
    """The [analysis] settings of a design text that `parse_design` accepted (an imported
    experiment's `design_text`), without re-reading the files the design names."""
    return AnalysisSettings.from_dict(tomllib.loads(text).get("analysis", {}))


@dataclass(frozen=True)
class Design:
    name: str
    title: str
    question: str
    array: str
    foldover: bool
    system_template: str
    user_template: str
    generation: GenerationSettings
    rating: RatingSettings
    factors: tuple[Factor, ...]
    queries: tuple[Query, ...]  # the queries this experiment generates and rates
    path: str = ""
    text: str = field(default="", repr=False)
    sha256: str = ""
    held_out: tuple[Query, ...] = ()  # `held_out = true`: kept back for a confirmation run
    analysis: AnalysisSettings = AnalysisSettings()

    @property
    def levels_per_factor(self):
        return [len(f.levels) for f in self.factors]

    def factor(self, name):
        for factor in self.factors:
            if factor.name == name:
                return factor
        raise KeyError(f"no factor {name!r}")


def load_design(path):
    """Read and parse a design file; the files it names are read from its own folder only."""
    path = Path(path)
    try:
        text = _read_limited(path, limits.DESIGN_FILE_BYTES, "a design file")
    except FileNotFoundError:
        raise DesignError([Problem(str(path), None, "file", "no such file")]) from None
    except (OSError, ValueError) as exc:
        raise DesignError([Problem(str(path), None, "file", str(exc))]) from None
    return parse_design(text, str(path), files=Folder(path.parent))


def _read_limited(path, limit, what):
    """A file's UTF-8 text, reading at most `limit` bytes (so /dev/zero or a huge file cannot
    exhaust memory); ValueError saying why when it is larger or not UTF-8 text."""
    with open(path, "rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit:,} bytes, the most {what} may hold")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def parse_design(text, path="<design>", files=None):
    """Parse design-file text.

    Parameters
    ----------
    text : str
        The design file's text.
    path : str
        The name its problems are reported under ("FILE:LINE: FIELD: message").
    files : designs.files.Folder or designs.files.Bundle, optional
        Where the files it names are read from: a folder on disk, or the bundle uploaded
        with it. None (a design written or pasted alone) lets it name no files at all.

    Returns
    -------
    Design

    Raises
    ------
    DesignError
        Listing every problem found.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.DESIGN_FILE_BYTES:
        raise DesignError([Problem(path, None, "file", f"{size:,} bytes; a design file may hold at most "
                                                       f"{limits.DESIGN_FILE_BYTES:,}")])
    checker = _Checker(text, path, NO_FILES if files is None else files)
    design = checker.run()
    if checker.problems:
        raise DesignError(checker.problems)
    return design


def load_queries(path):
    """Queries from a JSONL file in the format `queries = "file.jsonl"` reads, or DesignError
    listing every problem (file, line, field)."""
    path = Path(path)
    checker = _Checker("", str(path.parent / "queries"), Folder(path.parent))
    queries = checker.read_jsonl_queries(path.name)
    if checker.problems:
        raise DesignError(checker.problems)
    return queries


def problem_at(design, field_path, message):
    """A Problem found after parsing (the array cannot hold the factors, the name is taken), with its line."""
    return Problem(design.path, TomlLocator(design.text).line_of(field_path), _dotted(field_path), message)


def placeholders(template):
    """The {names} a template uses; raises ValueError on a malformed one ('{', '{a.b}', '{a!r}')."""
    names = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if spec or conversion or not IDENTIFIER.match(name):
            raise ValueError(f"{{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}} "
                             "is not a plain {name} placeholder (write {{ and }} for literal braces)")
        names.append(name)
    return names


class _Checker:
    """Walks the parsed TOML once, collecting problems instead of stopping at the first."""

    def __init__(self, text, path, files):
        self.text = text
        self.path = path
        self.files = files
        self.problems = []
        self.locate = TomlLocator(text)

    def problem(self, field_path, message, line=None):
        if line is None:
            line = self.locate.line_of(field_path)
        self.problems.append(Problem(self.path, line, _dotted(field_path), message))

    # --- typed getters ---------------------------------------------------
    def get(self, table, key, kind, where, default=None, required=False):
        if key not in table:
            if required:
                self.problem(where[:-1] or where, f"missing required field {_shown(key)}")
            return default
        value = table[key]
        if not _is_kind(value, kind):
            self.problem(where, f"expected {_kind_name(kind)}, got {_describe(value)}")
            return default
        return float(value) if kind is float else value

    def too_long(self, where, value, limit):
        """Report text longer than `limit` (NULs and surrogates are reported by check_strings)."""
        message = limits.length_problem(value, limit) if isinstance(value, str) else None
        if message:
            self.problem(where, message)

    def in_range(self, where, value, low, high):
        message = limits.number_problem(value, low, high)
        if message:
            self.problem(where, message)
        return message is None

    def read_toml(self):
        """The parsed TOML, or None with the problem reported: a syntax error, nesting deeper
        than limits.NESTING (tomllib recurses, and deep enough input exhausts the stack), an
        integer of thousands of digits, or text no database can store."""
        position = limits.unstorable_at(self.text)
        if position is not None:
            self.problem(("file",), limits.unstorable_problem(self.text),
                         line=self.text.count("\n", 0, position) + 1)
            return None
        too_deep = f"arrays and tables nest deeper than {limits.NESTING} levels"
        try:
            data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            line = _toml_error_line(str(exc))
            self.problem(("toml",), f"not valid TOML: {exc}", line=line)
            return None
        except RecursionError:
            self.problem(("toml",), too_deep, line=deep_nesting_line(self.text, limits.NESTING))
            return None
        except ValueError as exc:  # int() refuses integers of more than 4300 digits
            digits = re.search(r"\d{4000,}", self.text)
            self.problem(("toml",), f"not readable: {exc}",
                         line=self.text.count("\n", 0, digits.start()) + 1 if digits else None)
            return None
        if limits.nesting_depth(data) > limits.NESTING:
            self.problem(("toml",), too_deep, line=deep_nesting_line(self.text, limits.NESTING))
            return None
        self.check_strings(data, lambda where, message: self.problem(where, message))
        return data

    @staticmethod
    def check_strings(data, report):
        """Every string a design carries, keys included, must be storable text."""
        for where, value in limits.strings_in(data):
            message = limits.unstorable_problem(value)
            if message:
                report(where, message)

    def run(self):
        data = self.read_toml()
        if data is None:
            return None

        for key in data:
            if key not in TOP_LEVEL_KEYS:
                self.problem((key,), f"unknown field (expected one of: {', '.join(sorted(TOP_LEVEL_KEYS))})")

        name = self.get(data, "name", str, ("name",), required=True, default="")
        if name and not SLUG.match(name):
            self.problem(("name",), f"{_shown(name)} is not a slug (lowercase letters, digits and '-', at most 63)")
        title = self.get(data, "title", str, ("title",), default=name) or name
        self.too_long(("title",), title, limits.TITLE)
        question = self.get(data, "question", str, ("question",), default=DEFAULT_QUESTION).strip()
        if not question:
            self.problem(("question",), "must not be empty")
        self.too_long(("question",), question, limits.QUESTION)
        array = self.get(data, "array", str, ("array",), default="auto")
        if len(array) > ARRAY_NAME_LENGTH:
            self.problem(("array",), f"longer than {ARRAY_NAME_LENGTH} characters")
        elif array and not ARRAY_NAME.match(array):
            self.problem(("array",), f"{_shown(array)}: expected \"auto\", \"full\" or an array name such as \"L8\" or \"L18\"")
        foldover = self.get(data, "foldover", bool, ("foldover",), default=False)

        system, user = self.check_prompt(data)
        generation = self.check_generation(data)
        rating = self.check_rating(data)
        if rating.criteria and "question" in data:
            self.problem(("question",), "give either question (one question) or [[rating.criteria]] "
                                        "(a question per criterion), not both")
        elif rating.criteria:  # what the console and reports show as "the question" of the whole design
            question = " / ".join(criterion.question for criterion in rating.criteria)
        factors = self.check_factors(data, generation)
        analysis = self.check_analysis(data, factors)
        self.check_placeholders(system, user, factors)
        queries = self.check_queries(data)
        rated = tuple(q for q in queries if not q.held_out)
        if queries and not rated:
            self.problem(("queries",), "every query is held out; at least one must be generated and rated",
                         line=self.locate.line_of(("queries", 0)))
        return Design(
            name=name, title=title, question=question, array=array, foldover=foldover,
            system_template=system, user_template=user, generation=generation, rating=rating,
            factors=tuple(factors), queries=rated, held_out=tuple(q for q in queries if q.held_out),
            path=self.path, text=self.text,
            sha256=hashlib.sha256(self.text.encode("utf-8")).hexdigest(), analysis=analysis,
        )

    # --- sections ----------------------------------------------------------
    def check_prompt(self, data):
        if not isinstance(data.get("prompt"), dict):
            self.get(data, "prompt", dict, ("prompt",), required=True)
            return None, None
        prompt = data["prompt"]
        for key in prompt:
            if key not in ("system", "user"):
                self.problem(("prompt", key), "unknown field (expected system and user)")
        system = self.get(prompt, "system", str, ("prompt", "system"), default="")
        user = self.get(prompt, "user", str, ("prompt", "user"), default="{query}")
        self.too_long(("prompt", "system"), system, limits.TEMPLATE)
        self.too_long(("prompt", "user"), user, limits.TEMPLATE)
        return system, user

    def check_generation(self, data):
        table = self.get(data, "generation", dict, ("generation",), required=True, default={})
        settings = {}
        for key, value in table.items():
            where = ("generation", key)
            if key not in GENERATION_KEYS:
                self.problem(where, f"unknown setting (known: {', '.join(GENERATION_KEYS)})")
                continue
            kind = GENERATION_KEYS[key][0]
            if not _is_kind(value, kind):
                self.problem(where, f"expected {_kind_name(kind)}, got {_describe(value)}")
                continue
            if not self.check_setting_value(where, key, value):
                continue
            settings[key] = float(value) if kind is float else value
        if "model" not in table:
            self.problem(("generation",), "missing required field 'model'")
        generation = GenerationSettings(**settings)
        for key, low in (("max_tokens", 1), ("samples", 1), ("logprobs", 0)):
            if getattr(generation, key) < low:
                self.problem(("generation", key), f"must be at least {low}")
        if generation.logprobs > limits.LOGPROB_TOP:
            self.problem(("generation", "logprobs"),
                         f"at most {limits.LOGPROB_TOP} top log-probabilities per token are kept")
        if generation.samples > limits.SAMPLES:
            self.problem(("generation", "samples"), f"at most {limits.SAMPLES} answers per variant and query")
        return generation

    def check_setting_value(self, where, key, value):
        """A generation value (in [generation] or a setting factor's level) fits where it goes:
        the model id in Answer.model, numbers finite (JSON has no NaN) and integers in range."""
        if key in ("model", "adapter"):  # both are paths or ids stored beside the answer
            self.too_long(where, value, limits.MODEL)
            return len(value) <= limits.MODEL
        if key == "seed":
            return self.in_range(where, value, 0, limits.SEED)
        if isinstance(value, float):
            return self.in_range(where, value, -math.inf, math.inf)
        return self.in_range(where, value, -limits.INT32, limits.INT32)

    def check_rating(self, data):
        table = self.get(data, "rating", dict, ("rating",), default={})
        defaults = RatingSettings()
        known = set(defaults.as_dict()) | {"instructions_text"}
        for key in table:
            if key not in known:
                self.problem(("rating", key), f"unknown field (known: {', '.join(sorted(known))})")
        scale = self.get(table, "scale", str, ("rating", "scale"), default=defaults.scale)
        if scale not in SCALES:
            self.problem(("rating", "scale"), f"{_shown(scale)}: expected one of {', '.join(SCALES)}")
        rationale = self.get(table, "rationale", str, ("rating", "rationale"), default=defaults.rationale)
        if rationale not in RATIONALE:
            self.problem(("rating", "rationale"), f"{_shown(rationale)}: expected one of {', '.join(RATIONALE)}")
        per_rater = self.get(table, "per_rater", int, ("rating", "per_rater"), default=defaults.per_rater)
        if per_rater < 1:
            self.problem(("rating", "per_rater"), "must be at least 1")
        elif not self.in_range(("rating", "per_rater"), per_rater, 1, limits.INT32):
            per_rater = defaults.per_rater
        overlap = self.get(table, "overlap", float, ("rating", "overlap"), default=defaults.overlap)
        if not 0.0 <= overlap <= 1.0:
            self.problem(("rating", "overlap"), "must be a share between 0 and 1")
        raters = self.get(table, "raters_per_item", int, ("rating", "raters_per_item"),
                          default=defaults.raters_per_item)
        if not self.in_range(("rating", "raters_per_item"), raters, 2, limits.RATERS_PER_ITEM):
            raters = defaults.raters_per_item
        gold_rate = self.get(table, "gold_rate", float, ("rating", "gold_rate"), default=defaults.gold_rate)
        if not 0.0 <= gold_rate <= 0.5:
            self.problem(("rating", "gold_rate"), "must be a share between 0 and 0.5")
        instructions = self.check_instructions(table, defaults.instructions)
        return RatingSettings(
            scale=scale, both_bad=self.get(table, "both_bad", bool, ("rating", "both_bad"), default=defaults.both_bad),
            rationale=rationale, per_rater=per_rater, overlap=overlap, raters_per_item=raters, gold_rate=gold_rate,
            instructions=instructions, criteria=self.check_criteria(table, scale if scale in SCALES else defaults.scale),
        )

    def check_analysis(self, data, factors):
        """[analysis]: penalty, prior_sd, and interactions naming pairs of the design's factors."""
        table = self.get(data, "analysis", dict, ("analysis",), default={})
        defaults = AnalysisSettings()
        unknown = sorted(set(table) - set(defaults.as_dict()))
        for key in unknown:
            self.problem(("analysis", key), f"unknown field (known: {', '.join(sorted(defaults.as_dict()))})")
        penalty = self.get(table, "penalty", str, ("analysis", "penalty"), default=defaults.penalty)
        if penalty not in PENALTIES:
            self.problem(("analysis", "penalty"), f"{_shown(penalty)}: expected one of {', '.join(PENALTIES)}")
        prior_sd = self.get(table, "prior_sd", float, ("analysis", "prior_sd"), default=defaults.prior_sd)
        low, high = PRIOR_SD_RANGE
        if not low <= prior_sd <= high:
            self.problem(("analysis", "prior_sd"), f"must be between {low:g} and {high:g} (log-odds)")
            prior_sd = defaults.prior_sd
        return AnalysisSettings(penalty=penalty if penalty in PENALTIES else defaults.penalty, prior_sd=prior_sd,
                                interactions=self.check_interactions(table, factors))

    def check_interactions(self, table, factors):
        """Each entry a pair of two different factors of the design, each pair once."""
        where = ("analysis", "interactions")
        entries = table.get("interactions", [])
        if not isinstance(entries, list):
            self.problem(where, f"expected a list of factor pairs such as [[\"tone\", \"length\"]], got {_describe(entries)}")
            return ()
        names = {factor.name for factor in factors}
        pairs, seen = [], {}
        for i, entry in enumerate(entries):
            at = where + (i,)
            if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(n, str) for n in entry)):
                self.problem(at, f"expected a pair of factor names such as [\"tone\", \"length\"], got {_describe(entry)}")
                continue
            unknown = [n for n in entry if n not in names]
            if unknown:
                self.problem(at, f"unknown factor {_shown(unknown[0])} (factors: {', '.join(sorted(names))})")
            elif entry[0] == entry[1]:
                self.problem(at, f"an interaction needs two different factors, got {_shown(entry[0])} twice")
            elif frozenset(entry) in seen:
                self.problem(at, f"the interaction {entry[0]} x {entry[1]} is listed already "
                                 f"(interactions[{seen[frozenset(entry)] + 1}])")
            else:
                seen[frozenset(entry)] = i
                pairs.append((entry[0], entry[1]))
        return tuple(pairs)

    def check_criteria(self, table, scale):
        """`[[rating.criteria]]`: each a name, the question raters see and a scale (default: [rating] scale)."""
        raw = self.get(table, "criteria", list, ("rating", "criteria"), default=[])
        if table.get("criteria") == []:
            self.problem(("rating", "criteria"), "at least one criterion is needed (leave it out to ask `question`)")
        first = self.locate.line_of(("rating", "criteria", 0))  # [[rating.criteria]] names no key line
        if len(raw) > limits.CRITERIA:
            self.problem(("rating", "criteria"), f"{len(raw)} criteria; at most {limits.CRITERIA} are allowed",
                         line=first)
            return ()
        criteria, seen = [], {}
        for i, item in enumerate(raw):
            where = ("rating", "criteria", i)
            if not isinstance(item, dict):
                self.problem(where, f"expected a [[rating.criteria]] table, got {_describe(item)}")
                continue
            for key in item:
                if key not in CRITERION_KEYS:
                    self.problem(where + (key,), f"unknown field (expected {', '.join(CRITERION_KEYS)})")
            name = self.get(item, "name", str, where + ("name",), required=True)
            question = self.get(item, "question", str, where + ("question",), required=True)
            if question is not None:
                question = question.strip()
                if not question:
                    self.problem(where + ("question",), "must not be empty")
                self.too_long(where + ("question",), question, limits.QUESTION)
            own_scale = self.get(item, "scale", str, where + ("scale",), default=scale)
            if own_scale not in SCALES:
                self.problem(where + ("scale",), f"{_shown(own_scale)}: expected one of {', '.join(SCALES)}")
            weight = self.get(item, "weight", float, where + ("weight",), default=1.0)
            if not self.in_range(where + ("weight",), weight, 0, limits.WEIGHT):
                weight = 1.0
            if name is None or question is None:
                continue
            if not CRITERION_NAME.match(name):
                self.problem(where + ("name",), f"{_shown(name)} is not a valid criterion name (lowercase letters, "
                                                "digits, '_' and '-', starting with a letter, at most 63)")
            elif name in seen:
                self.problem(where + ("name",), f"duplicate criterion name {_shown(name)} "
                                                f"(first defined as criterion {seen[name] + 1})")
            seen.setdefault(name, i)
            criteria.append(Criterion(name=name, question=question, scale=own_scale, weight=weight))
        if criteria and not any(c.weight > 0 for c in criteria):
            self.problem(("rating", "criteria"), "every weight is 0; at least one criterion must count "
                                                 "in the combination", line=first)
        return tuple(criteria)

    def check_instructions(self, table, default):
        """The raters' Markdown: from `instructions` (a file) or `instructions_text` (inline), not both."""
        where_file, where_text = ("rating", "instructions"), ("rating", "instructions_text")
        if "instructions" in table and "instructions_text" in table:
            self.problem(where_text, "give either instructions (a Markdown file) or instructions_text "
                                     "(the Markdown itself), not both")
            return default
        inline = self.get(table, "instructions_text", str, where_text, default=None)
        if inline is not None:
            if not inline.strip():
                self.problem(where_text, "must not be empty (leave it out and raters see the default instructions)")
            self.too_long(where_text, inline, limits.MARKDOWN)
            return inline.strip() or default
        source = self.get(table, "instructions", str, where_file, default=None)
        if source is None:
            return default
        read = self.read_relative(source, where_file, "instructions file",
                                  'write the Markdown inline as instructions_text = """..."""')
        message = limits.text_problem(read[1], limits.MARKDOWN) if read else None
        if message:
            self.problem(where_file, f"instructions file {read[0]!r}: {message}")
        return (read and read[1]) or default

    def check_factors(self, data, generation):
        raw = self.get(data, "factors", list, ("factors",), required=True, default=[])
        if "factors" in data and not raw:
            self.problem(("factors",), "at least one factor is needed")
        factors, seen = [], {}
        self.broken_factors = set()  # declared but invalid: their placeholders are not "unknown"
        if len(raw) > limits.FACTORS:
            self.problem(("factors",), f"{len(raw)} factors; at most {limits.FACTORS} are allowed")
            return []
        for i, item in enumerate(raw):
            where = ("factors", i)
            if not isinstance(item, dict):
                self.problem(where, f"expected a [[factors]] table, got {_describe(item)}")
                continue
            for key in item:
                if key not in ("name", "target", "levels", "description"):
                    self.problem(where + (key,), "unknown field (expected name, target, levels, description)")
            name = self.get(item, "name", str, where + ("name",), default=None)
            if name is None:
                if "name" not in item:
                    self.problem(where, "missing required field 'name'")
                continue
            if not IDENTIFIER.match(name):
                self.problem(where + ("name",), f"{_shown(name)} is not a valid name (letters, digits, '_'; not starting with a digit)")
            elif name == QUERY_PLACEHOLDER:
                self.problem(where + ("name",), "'query' is reserved for the query text")
            if name in seen:
                self.problem(where + ("name",), f"duplicate factor name {_shown(name)} (first defined as factor {seen[name] + 1})")
            seen.setdefault(name, i)
            target = self.get(item, "target", str, where + ("target",), default=None)
            if "target" in item and (target is None or not self.check_target(target, where + ("target",))):
                self.broken_factors.add(name)
                continue
            levels = self.check_levels(item, where, name, target)
            if levels is None:
                self.broken_factors.add(name)
            else:
                factors.append(Factor(name=name, levels=levels, target=target))
        self.check_overlaps(factors)
        return factors

    def check_overlaps(self, factors):
        """Two factors may not fill the same placeholder or set the same generation key:
        a variant would not say which of them wins."""
        owners = {}
        for factor in factors:
            for thing in [f"{{{n}}}" for n in factor.fills] + [f"generation.{k}" for k in factor.settings]:
                if owners.get(thing, factor.name) != factor.name:  # a duplicate name is reported already
                    self.problem(("factors",), f"factors {owners[thing]!r} and {factor.name!r} both set {thing}",
                                 line=self.locate.line_of_factor(factor.name))
                owners.setdefault(thing, factor.name)

    def check_target(self, target, where):
        section, _, key = target.partition(".")
        if section != "generation" or key not in GENERATION_KEYS:
            settable = [f"generation.{k}" for k, (_, ok) in GENERATION_KEYS.items() if ok]
            self.problem(where, f"unknown target {_shown(target)} (a factor can set: {', '.join(settable)})")
            return False
        if not GENERATION_KEYS[key][1]:
            self.problem(where, f"{_shown(target)} describes the whole experiment and cannot vary by variant")
            return False
        return True

    def check_levels(self, item, where, name, target):
        levels = item.get("levels")
        if levels is None:
            self.problem(where, f"factor {_shown(name)} has no [factors.levels] table")
            return None
        if not isinstance(levels, dict):
            self.problem(where + ("levels",), f"expected a table of level = value, got {_describe(levels)}")
            return None
        if len(levels) < 2:
            self.problem(where + ("levels",), f"factor {_shown(name)} needs at least two levels, has {len(levels)}")
        if len(levels) > limits.LEVELS:
            self.problem(where + ("levels",), f"factor {_shown(name)} has {len(levels)} levels; at most "
                                              f"{limits.LEVELS} are allowed")
            return None
        if any(isinstance(value, dict) for value in levels.values()):
            # Placeholders a broken arm factor meant to fill are not "unknown".
            self.broken_factors.update(key for value in levels.values() if isinstance(value, dict)
                                       and isinstance(value.get("text"), dict) for key in value["text"])
            arm = self.check_arm_levels(levels, where, target)
            return arm if arm is not None and len(levels) >= 2 else None
        kind = GENERATION_KEYS[target.partition(".")[2]][0] if target else str
        result, values = [], {}
        for level_name, value in levels.items():
            level_where = where + ("levels", level_name)
            if not IDENTIFIER.match(level_name):
                self.problem(level_where, f"level name {_shown(level_name)} must be letters, digits and '_'")
            if not _is_kind(value, kind):
                what = f"{target} takes {_kind_name(kind)}" if target else "a text factor's level is a string"
                hint = ""
                if level_name in TOP_LEVEL_KEYS:
                    hint = (f" ({_shown(level_name)} landed inside this table: in TOML, top-level fields must come "
                            "before the first [table] header)")
                self.problem(level_where, f"{what}, got {_describe(value)}{hint}")
                continue
            if target and not self.check_setting_value(level_where, target.partition(".")[2], value):
                continue
            if not target:
                self.too_long(level_where, value, limits.LEVEL_TEXT)
            value = float(value) if kind is float else value
            key = json.dumps(value)
            if key in values:
                self.problem(level_where, f"same value as level {_shown(values[key])}: the two levels could not be told apart")
            values.setdefault(key, level_name)
            result.append(Level(level_name, value))
        return tuple(result) if len(levels) >= 2 else None

    def check_arm_levels(self, levels, where, target):
        """An arm factor's levels: tables of `text = {placeholder = "..."}` and `generation = {key = value}`.

        A placeholder a level leaves out is filled with "", a generation key it leaves out keeps the
        design's [generation] value. Returns the levels normalised (every placeholder the factor
        fills present in every level), or None after reporting problems.
        """
        if target is not None:
            self.problem(where + ("target",), "a factor whose levels are tables sets what its levels say; it takes no target")
            return None
        parsed, ok = [], True
        for level_name, value in levels.items():
            level_where = where + ("levels", level_name)
            if not IDENTIFIER.match(level_name):
                self.problem(level_where, f"level name {level_name!r} must be letters, digits and '_'")
            if not isinstance(value, dict):
                self.problem(level_where, f"expected a table like this factor's other levels, got {_describe(value)} "
                                          "(a factor's levels are all values or all tables)")
                ok = False
                continue
            level = {"text": {}, "generation": {}}
            for part, table in value.items():
                if part not in level:
                    self.problem(level_where + (part,), "unknown field (an arm level sets text = {placeholder = \"...\"} "
                                                        "and generation = {key = value})")
                    ok = False
                elif not isinstance(table, dict):
                    self.problem(level_where + (part,), f"expected a table, got {_describe(table)}")
                    ok = False
                else:
                    ok = self.check_arm_part(part, table, level_where + (part,), level[part]) and ok
            parsed.append((level_name, level))
        if not ok:
            return None
        fills = sorted({name for _, level in parsed for name in level["text"]})
        result, seen = [], {}
        for level_name, level in parsed:
            level["text"] = {name: level["text"].get(name, "") for name in fills}
            key = json.dumps(level, sort_keys=True)
            if key in seen:
                self.problem(where + ("levels", level_name),
                             f"sets the same as level {seen[key]!r}: the two levels could not be told apart")
            seen.setdefault(key, level_name)
            result.append(Level(level_name, level))
        return tuple(result)

    def check_arm_part(self, part, table, where, into):
        ok = True
        for key, value in table.items():
            if part == "text":
                if not IDENTIFIER.match(key) or key == QUERY_PLACEHOLDER:
                    self.problem(where + (key,), f"{key!r} cannot be a placeholder (letters, digits, '_'; not 'query')")
                    ok = False
                elif not isinstance(value, str):
                    self.problem(where + (key,), f"a placeholder's text is a string, got {_describe(value)}")
                    ok = False
                else:
                    into[key] = value
                continue
            if key not in GENERATION_KEYS or not GENERATION_KEYS[key][1]:
                settable = [k for k, (_, may) in GENERATION_KEYS.items() if may]
                self.problem(where + (key,), f"generation.{key} cannot vary by variant (a level can set: {', '.join(settable)})")
                ok = False
                continue
            kind = GENERATION_KEYS[key][0]
            if not _is_kind(value, kind):
                self.problem(where + (key,), f"generation.{key} takes {_kind_name(kind)}, got {_describe(value)}")
                ok = False
                continue
            value = float(value) if kind is float else value
            if self.check_setting_value(where + (key,), key, value):
                into[key] = value
            else:
                ok = False
        return ok

    def check_placeholders(self, system, user, factors):
        if system is None:
            return  # [prompt] itself is missing or broken, already reported
        text_factors = {name for f in factors if not f.is_setting for name in f.fills}
        setting_names = {f.name for f in factors if f.is_setting}
        used, complete = set(), True
        for key, template in (("system", system), ("user", user)):
            try:
                names = placeholders(template)
            except ValueError as exc:
                self.problem(("prompt", key), str(exc))
                complete = False
                continue
            for name in names:
                if name == QUERY_PLACEHOLDER or name in text_factors:
                    used.add(name)
                elif name in self.broken_factors:
                    continue
                elif name in setting_names:
                    self.problem(("prompt", key), f"{{{name}}} is a setting factor (target set); only text factors fill placeholders")
                else:
                    known = ", ".join(sorted(text_factors | {QUERY_PLACEHOLDER}))
                    self.problem(("prompt", key), f"unknown placeholder {{{name}}} (known: {known})")
        if not complete:
            return  # what a broken template uses is unknown; "unused" would be a guess
        if QUERY_PLACEHOLDER not in used:
            self.problem(("prompt", "user"), "the prompt never uses {query}, so the model would not see the question")
        for factor in factors:
            for name in sorted(set(factor.fills) - used):
                message = (f"text factor {_shown(name)} is not used by any {{placeholder}} in [prompt]" if factor.is_text
                           else f"factor {_shown(factor.name)} fills {{{name}}}, but [prompt] has no {{{name}}}")
                self.problem(("factors", factor.name), message, line=self.locate.line_of_factor(factor.name))

    def check_queries(self, data):
        raw = data.get("queries")
        if raw is None:
            misplaced = self.locate.nested_key_line("queries")
            hint = (f"; the 'queries' at line {misplaced} is inside a table: in TOML, top-level fields must come "
                    "before the first [table] header") if misplaced else ""
            self.problem(("queries",), f"missing: give [[queries]] tables or queries = \"file.jsonl\"{hint}",
                         line=misplaced)
            return []
        if isinstance(raw, str):
            return self.read_jsonl_queries(raw)
        if not isinstance(raw, list):
            self.problem(("queries",), f"expected [[queries]] tables or a JSONL path, got {_describe(raw)}")
            return []
        if len(raw) > limits.QUERIES:
            self.problem(("queries",), f"{len(raw):,} queries; at most {limits.QUERIES:,} are allowed")
            return []
        queries, seen = [], {}
        for i, item in enumerate(raw):
            where = ("queries", i)
            if not isinstance(item, dict):
                self.problem(where, f"expected a [[queries]] table, got {_describe(item)}")
                continue
            query = self.check_query(item, lambda field, message, w=where: self.problem(w + field, message))
            if query:
                self.check_unique_query(query, seen, i + 1, lambda message, w=where: self.problem(w + ("id",), message))
                queries.append(query)
        if not queries and not self.problems:
            self.problem(("queries",), "no queries")
        return queries

    def read_jsonl_queries(self, relative):
        read = self.read_relative(relative, ("queries",), "queries file", "write the queries inline as [[queries]] tables")
        if read is None:
            return []
        source, text = read
        queries, seen = [], {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue

            def report(field, message, number=number):
                self.problems.append(Problem(source, number, _dotted(field) or "line", message))

            if len(queries) == limits.QUERIES:
                report((), f"more than {limits.QUERIES:,} queries; at most {limits.QUERIES:,} are allowed")
                break
            item = _json_object(line, report)
            if item is None:
                continue
            query = self.check_query(item, report)
            if query:
                self.check_unique_query(query, seen, number, lambda message, r=report: r(("id",), message))
                queries.append(query)
        if not queries and not any(p.file == source for p in self.problems):
            self.problems.append(Problem(source, None, "queries", "the file holds no queries"))
        return queries

    def check_query(self, item, report):
        ok = True
        for key in item:
            if key not in ("id", "text", "category", "held_out"):
                report((key,), "unknown field (expected id, text, category, held_out)")
        held_out = item.get("held_out", False)
        if not isinstance(held_out, bool):
            report(("held_out",), f"expected true or false, got {_describe(held_out)}")
            ok = False
        values = {}
        for key, required in (("id", True), ("text", True), ("category", False)):
            value = item.get(key, "")
            if not isinstance(value, str):
                report((key,), f"expected a string, got {_describe(value)}")
                ok = False
            elif required and not value.strip():
                report((key,), "missing" if key not in item else "must not be empty")
                ok = False
            values[key] = value.strip() if isinstance(value, str) else ""
        if ok and not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$", values["id"]):
            report(("id",), f"{values['id'][:120]!r}: use letters, digits and - _ . : (at most 100)")
            ok = False
        for key, limit in (("text", limits.MARKDOWN), ("category", limits.CATEGORY)):
            message = limits.length_problem(values[key], limit)
            if message:
                report((key,), message)
                ok = False
        return Query(values["id"], values["text"], values["category"], held_out) if ok else None

    @staticmethod
    def check_unique_query(query, seen, position, report):
        if query.id in seen:
            report(f"duplicate query id {query.id!r} (first at {seen[query.id]})")
        seen.setdefault(query.id, f"query {position}")

    def read_relative(self, reference, where, what, alternative):
        """(name to report it under, text) of a file the design names, read from its source of files only.

        Every refusal (outside the folder or upload, not a regular file, too large, not
        uploaded) is a problem at the field that names the file; `alternative` says what the
        design could write instead of a file.
        """
        try:
            shown, data = self.files.read(reference, alternative)
        except FileRefused as exc:
            self.problem(where, f"{what} {exc}")
            return None
        try:
            return shown, data.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.problem(where, f"{what} {shown!r} cannot be read as UTF-8 text ({exc.reason} at byte {exc.start})")
            return None


def _json_object(line, report):
    """One JSONL line as a dict, or None with the problem reported (bad JSON, nesting that
    would exhaust the stack, an integer of thousands of digits, text no database stores)."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        report((), f"not valid JSON: {exc.msg} (column {exc.colno})")
        return None
    except RecursionError:
        report((), f"nested deeper than {limits.NESTING} levels")
        return None
    except ValueError as exc:
        report((), f"not readable: {exc}")
        return None
    if not isinstance(item, dict):
        report((), f"expected a JSON object, got {_describe(item)}")
        return None
    if limits.nesting_depth(item) > limits.NESTING:
        report((), f"nested deeper than {limits.NESTING} levels")
        return None
    problems = []
    _Checker.check_strings(item, lambda where, message: problems.append((where, message)))
    for where, message in problems:
        report(where, message)
    return None if problems else item


def _dotted(path):
    parts = []
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part + 1}]")
        else:
            # A key is user text: show an unprintable one escaped, and a long one cut.
            text = str(part) if str(part).isprintable() else ascii(str(part))
            parts.append(("." if parts else "") + (text if len(text) <= 80 else text[:77] + "..."))
    return "".join(parts)


def _is_kind(value, kind):
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _kind_name(kind):
    return {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
            dict: "a table", list: "a list of tables"}[kind]


def _shown(value, limit=80):
    """repr() of user text for a message, cut so that one huge value cannot flood the report."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return text[:limit] + "..." + (f" ({len(value):,} characters)" if isinstance(value, str) else "")


def _describe(value):
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    kind = {str: "a string", int: "a whole number", float: "a number"}.get(type(value), type(value).__name__)
    return f"{_shown(value)} ({kind})"


def _toml_error_line(message):
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None
