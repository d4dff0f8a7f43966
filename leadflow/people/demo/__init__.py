"""Demo data: a team for every role and 90 days of a website's funnel, played for real."""
