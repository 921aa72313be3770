"""The monitor: end-to-end probes, the strike policy, restarts through systemctl, mail and reports."""
