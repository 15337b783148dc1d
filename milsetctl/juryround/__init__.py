"""The jury round while it runs (issue 20): who has scored what (`jury status`) and the reminders to the late
jurors (`jury remind`).

A package of its own, above both `jury` (the sheets handed out, the assignment) and `scoring` (the sheet reader
and the juror statistics `score` computes), because it needs both: inside `jury` it would close an import cycle
jury -> scoring -> awards -> jury (tests/test_import_layers.py). Nothing below imports it; the CLI does.
"""
