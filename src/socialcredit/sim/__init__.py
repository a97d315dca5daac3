"""The simulator: the registry's catalogs over a synthetic national population.

Never imports :mod:`socialcredit.registry`: the two executors are proven equal by tests that
replay traced agents through ``registry.evaluate``.
"""
