"""The jury round's numbers: reading score sheets, combining juror scores, ranking, and how far jurors agree.

`aggregate` and `agreement` are pure functions over pandas/NumPy (no files, no ledger, no printing), so the
`score` command, the bench and the tests all run exactly the same arithmetic.
"""
