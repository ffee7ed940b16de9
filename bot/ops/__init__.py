"""Operating the processes: logging, metrics, health probes, signal handling."""
