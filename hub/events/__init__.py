"""Events (事) after resolve: deadlines in working days of the official PRC calendar, overdue, escalation."""
