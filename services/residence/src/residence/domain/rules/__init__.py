"""The residence rules R1–R15 (domain.md §5), one module per rule, each citing its source.

Every rule is a pure function of a victim's history (the facts with their business dates)
and the rule settings; the rule set that applies is chosen by the date of the facts judged.
"""
