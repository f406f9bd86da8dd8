"""One small, versioned module per problem family of the MBI paper's Appendix C.

Each module defines ``ENV_ID``, ``GYM_ID``, ``PAPER`` and ``build(**kwargs) -> Scenario``, and
PettingZoo's module convention ``parallel_env``, ``env``, ``raw_env`` (with ``max_cycles``) through
:func:`mbi_envs.registry.pettingzoo_constructors`; its docstring documents spaces, loss, reward,
start state, arguments and version history.
"""
