"""Hypothesis profiles: deterministic in CI, randomised locally.

* ``ci`` (selected when the ``CI`` environment variable is set and not ``0``/``false``, as
  GitHub Actions and ``.ci/run`` do): ``derandomize=True`` (each test's examples are a fixed
  function of the test, so a CI failure reproduces on every run and every machine that computes
  the same numbers), no example database, no deadline.
* ``dev`` (the default elsewhere): random examples each run, so local runs keep exploring; a
  failure is saved to the local example database and replayed first next time.

``HYPOTHESIS_PROFILE=ci`` (or ``dev``) overrides the choice. Per-test ``@settings(max_examples=...)``
keep their example counts under either profile; explicit ``@example`` cases always run.
"""
import os

try:
    from hypothesis import settings
except ImportError:      # the BenchMARL venv runs tests/test_benchmarl_task.py without hypothesis
    settings = None

if settings is not None:
    settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
    settings.register_profile("dev", deadline=None)
    _ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if _ci else "dev"))
