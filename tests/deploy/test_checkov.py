"""checkov over the Dockerfile, the rendered Kubernetes overlay and the Bicep templates: no failed check, no
file it could not parse, and every skipped check carries a written reason next to it."""

from __future__ import annotations

import pytest

from tests.deploy.conftest import AZURE, CheckovReport


@pytest.mark.parametrize("framework", ["dockerfile", "kubernetes", "bicep"])
def test_no_failed_checks(framework: str, checkov_reports: dict[str, CheckovReport]) -> None:
    assert framework in checkov_reports, f"checkov produced no {framework} report: {sorted(checkov_reports)}"
    report = checkov_reports[framework]
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}" for c in report.failed]
    assert not failed, "\n".join(failed)
    assert report.summary["parsing_errors"] == 0
    assert report.summary["passed"] > 0


def test_every_bicep_resource_was_seen(checkov_reports: dict[str, CheckovReport]) -> None:
    """checkov counts a file it cannot parse as a parsing error (checked above) and scans nothing in it; the
    resource count shows the parsed files really were walked."""
    declared = sum(
        1
        for p in AZURE.rglob("*.bicep")
        for line in p.read_text().splitlines()
        if line.startswith("resource ")
    )
    assert checkov_reports["bicep"].summary["resource_count"] >= declared
    checked = {c["file_path"].lstrip("/") for c in checkov_reports["bicep"].raw["results"]["passed_checks"]}
    assert {"modules/storage.bicep", "modules/keyvault.bicep"} <= checked


def test_skips_are_justified(checkov_reports: dict[str, CheckovReport]) -> None:
    for report in checkov_reports.values():
        for check in report.skipped:
            reason = (check.get("check_result") or {}).get("suppress_comment", "")
            assert len(reason.strip()) >= 20, (
                f"{check['check_id']} on {check['resource']} skipped without reason"
            )
