"""Azure Monitor alerts that start a check: the common alert schema (pure), webhook authentication, and the
endpoint (the I/O edge) that turns a fired alert into a diagnosed Slack thread."""
