"""vpncheck: Azure Network Watcher VPN troubleshoot from Slack."""

__version__ = "0.1.0"
