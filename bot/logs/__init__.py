"""Reading and explaining the log zip Azure Network Watcher VPN troubleshoot writes."""

from bot.logs.analyse import Source, analyse_zip
from bot.logs.archive import DEFAULT_LIMITS, ZipLimits
from bot.logs.excerpt import excerpt

__all__ = ["DEFAULT_LIMITS", "Source", "ZipLimits", "analyse_zip", "excerpt"]
