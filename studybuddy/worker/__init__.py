"""The worker process: consumes the six job queues."""
