"""Fault drills with real parts (RabbitMQ, separate web and worker processes, SQLite):

1. a worker paused past its lease, 2. a hung worker holding queued jobs, 3. a killed worker
   (test_workers.py; bench/faults.py prints their figures);
4. the web killed during uploads (test_intake.py);
5. and 6. two broker outages within one hour: one incident each, mailed and resolved, nothing
   restarted for them (test_monitor.py);
7. a full disk (test_disk_full.py);
8. the broker away while students ask for work (test_broker_away.py);
9. the canary probe with the broker down leaves no job behind (test_monitor.py).
"""
