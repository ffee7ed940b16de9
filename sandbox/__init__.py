"""Local stand-ins for Redis, Azure Storage, Azure Resource Manager, managed identity and Slack."""
