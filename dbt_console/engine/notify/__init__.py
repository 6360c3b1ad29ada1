"""Notification hooks: what a run's state change sends, to whom, and delivery for sure.

The bodies come from hooks/ (one module per hook kind); send.py makes one attempt;
notifier.py turns run state changes into delivery rows and sends them, retrying with
backoff. A CI job's reports to its git host ride the same rows: reports.py queues them,
gitreport.py sends one."""
