"""The Slack-facing layer.

The Bolt app, intake, the command runner, buttons, the parent message, card delivery and App Home.
"""
