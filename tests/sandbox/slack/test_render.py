"""The terminal rendering of recorded threads (what the demo prints and the README shows)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.render import emoji, mrkdwn, render_blocks, render_thread
from sandbox.slack_blocks import block_errors
from sandbox.slack_state import Edit, Message, SlackFile, Thread

CARD: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": ":red_circle: gw-prod-weu: UnHealthy"}},
    {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": "*Pre-shared key mismatch* on `cn-weu-onprem` (13801). See <https://learn.microsoft.com/|docs>.",
        },
    },
    {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": "*Gateway*\ngw-prod-weu"},
            {"type": "mrkdwn", "text": "*Code*\nUnHealthy"},
            {"type": "mrkdwn", "text": "*Region*\nwesteurope"},
        ],
    },
    {"type": "divider"},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "Requested by <@U0ONCALL01> · job j-42"}]},
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "rerun",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Run again"},
            },
            {
                "type": "button",
                "action_id": "portal",
                "url": "https://portal.azure.com/",
                "text": {"type": "plain_text", "text": "Open in portal"},
            },
        ],
    },
]

EXPECTED = """\
┌─ #netops · thread 1732590000.000100 · 1 reply ────────────────────────────────
│ vpncheck (app) 03:00:00 (edited 2 times)
│   🔴 gw-prod-weu: UnHealthy
│   Pre-shared key mismatch on `cn-weu-onprem` (13801). See docs
│   (https://learn.microsoft.com/).
│   Gateway                               Code
│   gw-prod-weu                           UnHealthy
│   Region
│   westeurope
│   ────────────────────────────────────────
│   · Requested by @oncall · job j-42
│   [ Run again ]  [ Open in portal ] → https://portal.azure.com/
│
│   ↳ vpncheck (app) 03:00:01
│       Raw logs
│       📎 logs.zip — Troubleshoot logs (47.1 KB)
└───────────────────────────────────────────────────────────────────────────────"""


def sample_thread() -> Thread:
    parent = Message(
        "C0NETOPS",
        "1732590000.000100",
        "U0VPNCHECK",
        "Checked",
        CARD,
        bot_id="B0",
        edits=[Edit(0, "Checking…", []), Edit(1, "Checking… 50%", [])],
    )
    logs = SlackFile("F1", "logs.zip", "Troubleshoot logs", 48213, 0, "U0VPNCHECK")
    reply = Message(
        "C0NETOPS",
        "1732590001.000200",
        "U0VPNCHECK",
        "Raw logs",
        thread_ts=parent.ts,
        bot_id="B0",
        files=[logs],
    )
    return Thread("C0NETOPS", parent, [reply])


NAMES = {"U0VPNCHECK": "vpncheck", "U0ONCALL01": "oncall", "C0NETOPS": "netops"}


def test_sample_card() -> None:
    assert block_errors(CARD) == []
    assert render_thread(sample_thread(), width=80, names=NAMES) == EXPECTED


def test_color_is_opt_in() -> None:
    plain = render_thread(sample_thread(), names=NAMES)
    colored = render_thread(sample_thread(), names=NAMES, color=True)
    assert "\x1b[" not in plain
    assert "\x1b[1;32m[ Run again ]\x1b[0m" in colored


def test_thread_survives_the_json_round_trip() -> None:
    thread = sample_thread()
    assert render_thread(Thread.from_dict(thread.to_dict()), names=NAMES) == render_thread(
        thread, names=NAMES
    )


def test_mrkdwn() -> None:
    assert mrkdwn(
        "<!here> <#C1|ops> <@U1> <https://x.y|site> <https://z> &lt;b&gt;", names={"U1": "ann"}
    ) == ("@here #ops @ann site (https://x.y) https://z <b>")
    assert mrkdwn("*bold* and 2*3*4") == "bold and 2*3*4"


def test_wide_fields_fall_back_to_label_value_lines() -> None:
    fields = [
        {"type": "mrkdwn", "text": "*Detail*\n" + "x" * 80},
        {"type": "mrkdwn", "text": "*Code*\nUnHealthy"},
    ]
    assert render_blocks([{"type": "section", "fields": fields}], width=60) == [
        "Detail: " + "x" * 80,
        "Code: UnHealthy",
    ]


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=60)


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(_text, min_size=1, max_size=8), width=st.integers(30, 140))
def test_every_section_text_word_is_rendered(texts: list[str], width: int) -> None:
    blocks = [{"type": "section", "text": {"type": "plain_text", "text": t}} for t in texts]
    out = "\n".join(render_blocks(blocks, width=width))
    words = out.split()
    for t in texts:
        for word in emoji(t).split():
            assert word in words
