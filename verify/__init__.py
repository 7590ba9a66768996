"""Numerical layer (JAX): datasets, samplers, trainers and the verification harness.

``verify.datasets`` samples datasets from the symbolic core's data models, ``verify.sampling``
holds the uniform / PJAP sampler, ``verify.polygames`` the offline BRUD and online MADDPG
trainers for polynomial games, ``verify.harness`` compares trained agents with the symbolic
predictions, ``verify.plots`` draws them and ``brud_analysis.cli.verify`` adds ``brud verify`` and
``brud online``.
"""
