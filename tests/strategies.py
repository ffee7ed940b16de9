"""Hypothesis strategies for hostile reports: huge texts, many faults, Slack escapes, odd Unicode."""

from __future__ import annotations

from hypothesis import strategies as st

from bot.models import (
    Fault,
    Finding,
    LogSummary,
    RecommendedAction,
    Report,
    Severity,
    Target,
    TargetKind,
    Verdict,
)

NASTY = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "@channel",
    "<@U12345678>",
    "<#C0123|general>",
    "<http://evil.example|click>",
    "<https://evil.example>",
    "&",
    "&amp;",
    "&lt;!channel&gt;",
    "*bold* _it_ ~s~ `code` ```block```",
    "> quote",
    "\u202eRTL override",
    "\u200f\u200e",
    "🔥💥👨‍👩‍👧‍👦",
    "\x00\x07\x1b[31m",
    "\n\n",
    "<!subteam^S123>",
    "<!date^1392734382^{date}|x>",
]

small_text = st.one_of(st.text(max_size=40), st.sampled_from(NASTY))
pieces = st.lists(small_text, max_size=6).map("".join)
# Huge texts cheaply: a short hostile piece repeated up to thousands of times.
text = st.one_of(pieces, st.tuples(pieces, st.integers(1, 300)).map(lambda t: t[0] * t[1]))

urls = st.one_of(
    st.none(),
    st.just(""),
    st.sampled_from(
        [
            "https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-troubleshoot",
            "http://aka.ms/x",
            "javascript:alert(1)",
            "<http://evil|click>",
            "https://exa mple.com/",
            "ftp://example.com/file",
            "https://",
            "https://example.com/" + "a" * 3000,
        ]
    ),
    st.text(max_size=30).map(lambda s: "https://example.com/" + s),
)

actions = st.builds(RecommendedAction, action_text=text, action_uri=urls, action_uri_text=st.none() | text)
fault_ids = st.one_of(
    st.sampled_from(["Authentication", "PeerReachability", "NoConnectionsFoundForGateway", "NoFault"]),
    small_text,
)
faults = st.builds(
    Fault, id=fault_ids, summary=text, detail=text, actions=st.lists(actions, max_size=4) | st.just([])
)
many_actions_fault = st.builds(
    Fault,
    id=fault_ids,
    actions=st.tuples(st.lists(actions, min_size=1, max_size=3), st.integers(1, 40)).map(
        lambda t: t[0] * t[1]
    ),
)
fault_lists = st.one_of(
    st.lists(faults, max_size=4),
    st.tuples(st.lists(faults | many_actions_fault, min_size=1, max_size=3), st.integers(1, 150)).map(
        lambda t: t[0] * t[1]
    ),
)
findings = st.builds(
    Finding,
    source=small_text,
    severity=st.sampled_from(Severity),
    title=text,
    explanation=text,
    fix=st.none() | text,
    evidence=st.lists(text, max_size=6),
)
logs = st.none() | st.builds(
    LogSummary,
    blob_name=st.none() | small_text,
    files=st.lists(small_text, max_size=5),
    findings=st.one_of(
        st.lists(findings, max_size=3),
        st.tuples(st.lists(findings, min_size=1, max_size=2), st.integers(1, 80)).map(lambda t: t[0] * t[1]),
    ),
    problems=st.lists(text, max_size=15),
)
targets = st.none() | st.builds(
    Target,
    id=text.map(lambda s: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/connections/" + s),
    name=text,
    kind=st.sampled_from(TargetKind),
    subscription_id=small_text,
    resource_group=small_text,
    location=small_text,
    detail=small_text,
)
reports = st.builds(
    Report,
    query=text,
    target=targets,
    verdict=st.sampled_from(Verdict),
    code=st.none() | small_text,
    start_time=st.none() | small_text,
    end_time=st.none() | small_text,
    faults=fault_lists,
    logs=logs,
    message=st.none() | text,
    finished_at=st.none() | st.floats(0, 2e9),
)
user_ids = st.lists(st.from_regex(r"U[A-Z0-9]{8}", fullmatch=True), max_size=15)
