"""One small, versioned module per problem family of the MBI paper's Appendix C.

Each module defines ``ENV_ID``, ``GYM_ID``, ``PAPER`` and ``build(**kwargs) -> Scenario``; its
docstring documents spaces, loss, reward, start state, arguments and version history.
"""
