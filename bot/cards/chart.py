"""A PNG of a tunnel's traffic and traffic-selector drops over the last hours, with the check marked. Pure:
series in, bytes out (matplotlib's Agg backend renders in memory, no display).

Made for a phone in a Slack thread: wide (16:9), large type, two colours that survive colour blindness
(blue in, orange out), drops as red bars on their own panel, and the moment of the check as a labelled line.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from bot.models import TrafficSeries

_IN, _OUT, _DROP, _MARK = "#1f77b4", "#ff7f0e", "#d62728", "#333333"


def _mb(values: list[float | None]) -> list[float]:
    return [(v or 0.0) / 1e6 for v in values]


def render_traffic_chart(series: TrafficSeries, *, title: str, checked_at: float) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    times = [
        datetime.fromtimestamp(series.start + i * series.step, UTC) for i in range(len(series.ingress_bytes))
    ]
    drops = [v or 0.0 for v in series.ts_drops]
    has_drops = any(d > 0 for d in drops)
    rows = 2 if has_drops else 1
    plt.rcParams.update({"font.size": 15, "axes.titlesize": 19, "axes.labelsize": 15})
    fig, axes = plt.subplots(
        rows,
        1,
        figsize=(12, 6.75),
        dpi=110,
        sharex=True,
        gridspec_kw={"height_ratios": [3, 1.3] if has_drops else [1]},
        squeeze=False,
    )
    top = axes[0][0]
    top.fill_between(times, _mb(series.ingress_bytes), step="post", color=_IN, alpha=0.35, linewidth=0)
    top.step(
        times, _mb(series.ingress_bytes), where="post", color=_IN, linewidth=2.2, label="in (from on-prem)"
    )
    top.step(
        times, _mb(series.egress_bytes), where="post", color=_OUT, linewidth=2.2, label="out (to on-prem)"
    )
    top.set_ylabel("MB per 5 min")
    peak = max([*_mb(series.ingress_bytes), *_mb(series.egress_bytes), 0.001])
    top.set_ylim(0, peak * 1.3)  # headroom: the legend sits above the curves, never on them
    top.set_title(title, loc="left", fontweight="bold")
    top.grid(True, alpha=0.3)
    top.legend(loc="upper left", frameon=False, ncols=2)
    check = datetime.fromtimestamp(checked_at, UTC)
    for row in axes:
        ax = row[0]
        ax.axvline(check, color=_MARK, linestyle="--", linewidth=2)
        ax.spines[["top", "right"]].set_visible(False)
    top.annotate(
        f"check {check:%H:%M}",
        xy=(check, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(-8, -6),
        textcoords="offset points",
        ha="right",
        va="top",
        fontsize=14,
        fontweight="bold",
        color=_MARK,
    )
    totals = [a + b for a, b in zip(_mb(series.ingress_bytes), _mb(series.egress_bytes), strict=False)]
    last = max((i for i, v in enumerate(totals) if v > 0), default=None)
    if last is not None and last < len(totals) - 1:  # traffic stopped: shade and say since when
        stopped = times[last] + (times[1] - times[0] if len(times) > 1 else timedelta(minutes=5))
        top.axvspan(stopped, check, color=_DROP, alpha=0.15, linewidth=0)
        top.annotate(
            f"no traffic since {stopped:%H:%M}",
            xy=(stopped, 0.55),
            xycoords=("data", "axes fraction"),
            xytext=(-10, 0),
            textcoords="offset points",
            ha="right",
            fontsize=15,
            fontweight="bold",
            color=_DROP,
            bbox={"facecolor": "white", "edgecolor": _DROP, "boxstyle": "round,pad=0.3"},
        )
    if has_drops:
        bottom = axes[1][0]
        bottom.bar(times, drops, width=series.step / 86400, align="edge", color=_DROP)
        bottom.set_ylabel("TS drops")
        bottom.set_ylim(bottom=0)
        bottom.grid(True, alpha=0.3)
    axis = axes[-1][0]
    axis.xaxis.set_major_locator(mdates.HourLocator(interval=4))  # type: ignore[no-untyped-call]
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=UTC))  # type: ignore[no-untyped-call]
    axis.set_xlabel("UTC")
    axis.set_xlim(times[0], max(times[-1], check))
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()
