"""Fault drills: real RabbitMQ, separate worker (and web) processes, one shared SQLite store."""
