"""Everything that talks to Azure: credentials and clients, target resolution, the troubleshoot operation, logs."""
