"""What follow-ups tells the other apps: a follow-up task completed.

Declared here, sent by followups.actions.do_complete_task, received in the receiving app's
hooks.py and connected in its AppConfig.ready(). docs/architecture.md has the table.
"""

from __future__ import annotations

from django.dispatch import Signal

# sender=FollowUpTask, task=<FollowUpTask> (re-read, done). Sent inside the completing
# transaction, after the interaction is written on the customer's timeline.
task_completed = Signal()
