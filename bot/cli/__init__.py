"""Entry points: the `vpncheck` console script and one module per subcommand."""
