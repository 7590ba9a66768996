"""2-agent HalfCheetah (Multi-Agent MuJoCo): environment, behaviour policies, Vault datasets.

Modules: :mod:`.env` (array wrapper over ``gymnasium_robotics.mamujoco_v1``), :mod:`.behaviour`
(online multi-agent TD3 that trains the behaviour policies), :mod:`.vault` (flashbax Vaults in
OG-MARL's layout), :mod:`.dataset_statistics`, and the rest of the experiment;
the ``brud halfcheetah`` commands are in :mod:`brud_analysis.cli.halfcheetah`.
"""
