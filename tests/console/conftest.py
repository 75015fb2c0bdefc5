"""The console's tests use the rating fixtures (an experiment answered and open, a study link, a rater
session) and the analysis's (an experiment with 120 judgments)."""
from tests.analysis.conftest import judged  # noqa: F401 (a fixture)
from tests.rating.conftest import rating_experiment, start_session, study_invite  # noqa: F401 (fixtures)
