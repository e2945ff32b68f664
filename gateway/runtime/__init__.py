"""The running gateway: settings assembled into services, the daemon, its jobs, health."""
