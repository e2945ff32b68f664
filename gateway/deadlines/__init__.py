"""Deadlines in Chinese working time: durations, the calendar, the policy, chasing plans."""
