"""The residence rules R1–R17 (docs/domain.md#rules), one module per rule.

Every rule is a pure function of a victim's history (the facts with their business dates)
and the rule settings; the rule set that applies is chosen by the date of the facts judged.
"""
