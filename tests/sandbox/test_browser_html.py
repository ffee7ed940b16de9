"""The browser view's Block Kit rendering (sandbox/browser_html.py): pure, so pinned without a browser."""

from __future__ import annotations

from typing import Any

from sandbox.browser_html import Clickable, blocks_html, channel_html, message_html, mrkdwn_html, page_html
from sandbox.slack_state import Edit, Ephemeral, Message, SlackFile, Thread

NAMES = {"U0ONCALL01": "oncall", "U0VPNCHECK": "vpncheck"}


def test_mrkdwn_bold_italic_strike_code_links_and_mentions() -> None:
    got = mrkdwn_html(
        "*Down* _now_ ~old~ `a*b*c` <https://x.test/?a=1&amp;b=2|portal> <@U0ONCALL01> <@U9>", NAMES
    )
    assert got == (
        "<b>Down</b> <i>now</i> <s>old</s> <code>a*b*c</code> "
        '<a href="https://x.test/?a=1&amp;b=2" target="_blank" rel="noopener">portal</a> '
        '<span class="mention">@oncall</span> <span class="mention">@U9</span>'
    )


def test_mrkdwn_never_lets_text_become_markup() -> None:
    got = mrkdwn_html('&lt;script&gt;alert(1)&lt;/script&gt; <javascript:x|*y*> "q"')
    assert "<script>" not in got and "&lt;script&gt;" in got
    assert 'href="javascript:x"' in got and ">*y*</a>" in got  # the label is text, not formatted
    assert mrkdwn_html("```\n*a*\n```line\nnext") == "<pre>*a*\n</pre>line<br>next"


def test_blocks_section_fields_context_divider_header_image_and_actions() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "gw :red_circle:"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*PSK*"},
            "fields": [{"type": "mrkdwn", "text": "*Region*\nweu"}, {"type": "plain_text", "text": "a<b"}],
        },
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "asked by <@U0ONCALL01>"}]},
        {"type": "image", "image_url": "https://x.test/c.png", "alt_text": "chart"},
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Re-run"}, "action_id": "rerun",
                 "style": "primary"},
                {"type": "button", "text": {"type": "plain_text", "text": "Portal"}, "url": "https://p.test"},
            ],
        },
        {"type": "input"},
    ]  # fmt: skip
    got = blocks_html(blocks, NAMES, Clickable("C1", "1.5"))
    assert '<div class="header">gw 🔴</div>' in got
    assert '<div class="text"><b>PSK</b></div>' in got
    assert '<div class="field"><b>Region</b><br>weu</div><div class="field">a&lt;b</div>' in got
    assert '<hr class="divider">' in got and '<span class="mention">@oncall</span>' in got
    assert '<img class="picture" src="https://x.test/c.png" alt="chart"' in got
    # a real button is a form posting the click (sent signed to the bot); a URL button is a link
    assert 'name="message_ts" value="1.5"' in got and 'name="action_id" value="rerun"' in got
    assert '<button class="btn primary" type="submit">Re-run</button>' in got
    assert '<a class="btn" href="https://p.test" target="_blank" rel="noopener">Portal</a>' in got
    assert "[input block]" in got
    # without a message to click on (App Home), buttons are drawn but inert
    assert "disabled" in blocks_html(blocks[-2:-1], NAMES) and "<form" not in blocks_html(blocks[-2:-1])


def test_an_edited_message_shows_its_latest_version_and_the_marker() -> None:
    m = Message("C1", "1.0", "U0VPNCHECK", "running", bot_id="B1", edits=[Edit(1.0, "queued", [])] * 2)
    got = message_html(m, NAMES)
    assert "running" in got and "queued" not in got
    assert '<span class="edited" title="edited 2 times">(edited)</span>' in got
    assert "(edited)" not in message_html(Message("C1", "1.0", "U1", "x"), NAMES)


def test_replies_sit_under_their_parent_and_private_replies_interleave_by_time() -> None:
    parent = Message("C1", "1.0", "U0ONCALL01", "parent")
    chart = SlackFile("F1", "chart.png", "chart", 10, 0, "U1", b"png", uploaded=True)
    reply = Message("C1", "3.0", "U0VPNCHECK", "card", thread_ts="1.0", bot_id="B1", files=[chart])
    private = Ephemeral("C1", "U0ONCALL01", "2.0", "⏳ checking", [], None, "ack")
    got = channel_html([Thread("C1", parent, [reply])], [private], NAMES)
    assert got.index("parent") < got.index('class="replies"') < got.index("card")
    assert got.index("Only visible to you") > got.index("card")  # after the whole thread it follows
    assert '<img class="picture" src="files/F1"' in got and "1 reply" in got
    assert 'name="thread_ts" value="1.0"' in got  # the thread's own reply box
    assert "Nothing here yet" in channel_html([], [])


def test_the_page_lists_channels_keeps_the_composer_and_shows_what_the_bot_refused() -> None:
    got = page_html(
        title="# netops", channels=[("C1", "netops"), ("C2", "other")], current="C1", user="U0ONCALL01",
        body="<p>history</p>", composer_channel="C1", names=NAMES, notice="the bot answered HTTP 401: <x>",
    )  # fmt: skip
    assert '<a class="on" href="./?channel=C1&amp;user=U0ONCALL01"># netops</a>' in got
    assert '<form id="compose" class="composer" method="post" action="send">' in got
    assert '<div class="notice">the bot answered HTTP 401: &lt;x&gt;</div>' in got
    assert "you are @oncall" in got and '<div id="messages"><p>history</p></div>' in got
    home = page_html(title="Home", channels=[], current=None, user="U1", body="", composer_channel=None)
    assert 'id="compose"' not in home and '<a class="on" href="home?user=U1">' in home
