"""experiments: the top layer: the head-to-head benchmark harness and the Appendix C reproduction (imports mechanism, mbi_envs, baselines)."""
