"""Who may do what: the access policy, Slack user groups, and the audit trail."""
