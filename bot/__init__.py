"""Escalation bot: runs safeguarding professional-disagreement escalation procedures in chat."""
