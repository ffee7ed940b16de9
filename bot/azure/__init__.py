"""Everything that talks to Azure: clients, target resolution, the troubleshoot operation, logs."""
