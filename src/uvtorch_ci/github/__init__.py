"""The GitHub side: the plan as the workflow, the matrix and the smoke-check copy.

Takes a `Plan`; gives the workflow text and the `uvtorch-ci matrix` entries (workflow.py),
and the generated-file stamps that tell a hand edit apart (fingerprint.py). The composite
action (action.yml at the repository root) runs the same steps the inline jobs do.
"""
