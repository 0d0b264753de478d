"""``gym_core.report`` keeps ``ReportEntry`` importable from the package (loaded on first use), and any other
missing name is the usual AttributeError naming it; an unknown format is one error that names the known ones."""

from __future__ import annotations

import pytest

import gym_core.report
from gym_core.errors import ConfigError
from gym_core.report import render_report
from gym_core.report.entries import ReportEntry
from tests.report.synthetic import synthetic_run


def test_report_entry_is_importable_from_the_package_and_other_names_are_not() -> None:
    from gym_core.report import ReportEntry as from_package

    assert from_package is ReportEntry
    with pytest.raises(AttributeError, match=r"^module 'gym_core\.report' has no attribute 'ReportEntries'$"):
        _ = gym_core.report.ReportEntries


def test_an_unknown_report_format_is_one_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        render_report([synthetic_run("01RUN", k=3)], "pdf")
    assert (caught.value.message, caught.value.hint) == (
        "unknown report format 'pdf'",
        "use one of: table, json, md, html",
    )
