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


def test_every_bicep_file_was_parsed(checkov_reports: dict[str, CheckovReport]) -> None:
    """checkov drops files it cannot parse without failing; make sure each template produced resources."""
    report = checkov_reports["bicep"]
    seen = {c["file_path"].lstrip("/") for c in report.raw["results"]["passed_checks"] + report.skipped}
    with_resources = {
        str(p.relative_to(AZURE)) for p in AZURE.rglob("*.bicep")
        if any(line.startswith("resource ") for line in p.read_text().splitlines())
    }
    assert report.summary["resource_count"] >= len(with_resources)
    assert {"modules/storage.bicep", "modules/keyvault.bicep", "modules/containerapps.bicep"} <= seen


def test_skips_are_justified(checkov_reports: dict[str, CheckovReport]) -> None:
    for report in checkov_reports.values():
        for check in report.skipped:
            reason = (check.get("check_result") or {}).get("suppress_comment", "")
            assert len(reason.strip()) >= 20, f"{check['check_id']} on {check['resource']} skipped without reason"
