"""The console's tests use the rating fixtures: an experiment answered and open, a study link, a rater session."""
from tests.rating.conftest import rating_experiment, start_session, study_invite  # noqa: F401 (fixtures)
