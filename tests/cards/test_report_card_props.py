"""Property: no report, however large or hostile, yields a card Slack would refuse or that pings anyone."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cards import build_report_card
from bot.cards.limits import CARD_TEXT_BUDGET
from bot.models import Report
from tests.cards.slack_rules import assert_valid_message, buttons, total_text
from tests.strategies import reports, text, user_ids


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    report=reports,
    requested_by=user_ids,
    queue_wait=st.none() | st.floats(0, 1e6),
    run_time=st.none() | st.floats(0, 1e6),
    reused=st.booleans(),
    job_id=st.text(max_size=3000),
    rerun_value=text,
)
def test_any_report_gives_a_valid_safe_card(
    report: Report,
    requested_by: list[str],
    queue_wait: float | None,
    run_time: float | None,
    reused: bool,
    job_id: str,
    rerun_value: str,
) -> None:
    fallback, blocks = build_report_card(
        report,
        requested_by=requested_by,
        queue_wait=queue_wait,
        run_time=run_time,
        reused=reused,
        job_id=job_id,
        rerun_value=rerun_value,
        now=2e9,
    )
    assert_valid_message(fallback, blocks, allowed_users=set(requested_by))
    assert total_text(blocks) <= CARD_TEXT_BUDGET  # Slack's msg_blocks_too_long: about 12,000
    ids = [b["action_id"] for b in buttons(blocks)]
    link_buttons = [b for b in buttons(blocks) if "url" in b]
    assert all(i.startswith("vpncheck_") for i in ids)
    assert all(b["action_id"].startswith(("vpncheck_link_", "vpncheck_portal")) for b in link_buttons)
    has_zip = report.logs is not None and bool(report.logs.blob_name)
    assert ("vpncheck_logs" in ids) == (has_zip and 0 < len(job_id) <= 2000)
    assert ("vpncheck_rerun" in ids) == (0 < len(rerun_value) <= 2000)
