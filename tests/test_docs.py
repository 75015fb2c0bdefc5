"""The README is part of the contract: every setting and every command is documented there."""
import re
from pathlib import Path

from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SETTING_READERS = re.compile(r"""\benv(?:bool|int|float|mapping)?\(\s*["']([A-Z_][A-Z0-9_]*)["']""")


def settings_sources():
    sources = [ROOT / "evalplat" / "settings.py"]
    sources += ROOT.glob("evalplat/*/conf.py")
    return sources


def test_every_environment_setting_is_documented():
    names = {name for path in settings_sources() for name in SETTING_READERS.findall(path.read_text())}
    assert names, "found no settings: the pattern no longer matches settings.py"
    missing = sorted(name for name in names if f"`{name}`" not in README)
    assert not missing, f"README lacks these settings: {missing}"


def test_every_evalplat_command_is_documented():
    ours = sorted(name for name, app in get_commands().items() if app.startswith("evalplat."))
    assert "plan" in ours and "create_experiment" in ours
    missing = [name for name in ours if f"manage.py {name}" not in README]
    assert not missing, f"README lacks these commands: {missing}"


def test_the_readme_gives_the_two_commands_and_ci_runs_the_second():
    assert "scripts/demo" in README and "scripts/test" in README
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
