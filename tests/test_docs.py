"""Every command, setting and API route is documented (as datasette's test_docs does)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopmind.clidoc import render
from shopmind.config import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"
README = Path(__file__).resolve().parents[1] / "README.md"


def test_cli_reference_is_current() -> None:
    """Guards against a CLI change without `python -m shopmind.clidoc docs/cli.md`."""
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == render()


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert f"`{name}`" in text
    assert f"SHOPMIND_{name.upper()}" in text


def test_every_api_route_is_documented() -> None:
    from shopmind.api.app import create_app
    from shopmind.config import load_settings

    app = create_app(load_settings(Path(".")))
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    paths = set(app.openapi()["paths"])
    assert paths
    missing = sorted(p for p in paths if f"`{p}`" not in text and f" {p}" not in text)
    assert not missing


def test_readme_shows_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "make demo" in text
    assert "make test" in text
