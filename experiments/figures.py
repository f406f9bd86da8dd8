"""Redraw committed figures from committed JSON, without rerunning the computations.

    python -m experiments.figures results/benchmark_full/benchmark.json results/benchmark_full
    python -m experiments.figures results/ic_audit/ic_audit.json results/ic_audit
    python -m experiments.figures results/appendix_c/figures.json results/appendix_c

:func:`rebuild_figures` reads the JSON a run wrote and draws its PNGs into ``out_dir``:

- ``benchmark.json`` (``scripts/benchmark.py``): every ``benchmark_<scenario>.png`` from the records;
- ``ic_audit.json`` (``scripts/ic_audit.py``): every ``utility_vs_report_<rule>.png`` from C.4's audit;
- ``figures.json`` (``experiments.report.write_report``, Appendix C): every plot spec it holds;
- ``appendix_c.json`` of a run older than ``figures.json``: the figures whose data it holds
  (C.11, C.17, C.18) are drawn from it; C.1, C.13, C.15 and C.16 plot trajectories it does not
  keep, so only with ``recompute=True`` are those four (seconds, deterministic) rerun, and each
  rerun's measured numbers must equal the committed ones (relative 1e-9) or nothing is drawn.
  The specs used are then written to ``out_dir/figures.json`` so that the next rebuild is from JSON.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any, Callable

__all__ = ["rebuild_figures", "appendix_specs", "main"]

#: Appendix C figures whose data appendix_c.json keeps: id → spec builder's module and name
_FROM_JSON = {"C.11": ("satisficing", "c11_plot"), "C.17": ("mechanism_design", "c17_plot"),
              "C.18": ("scaling", "c18_plot")}
#: Appendix C figures that plot trajectories appendix_c.json does not keep (rerun in seconds)
_RECOMPUTE = {"C.1": ("convergence", "c1"), "C.13": ("tracking", "c13"), "C.15": ("tracking", "c15"),
              "C.16": ("tracking", "c16")}


def _import(module: str, name: str) -> Callable:
    import importlib
    return getattr(importlib.import_module(f"experiments.appendix_c.{module}"), name)


def _numbers(value: Any, path: str = "") -> dict[str, float]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _numbers(item, f"{path}.{key}").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _numbers(item, f"{path}[{i}]").items()}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {path: float(value)}
    return {}


def _same(committed: dict[str, Any], rerun: dict[str, Any], rel: float = 1e-9) -> list[str]:
    a, b = _numbers(committed), _numbers(rerun)
    return [k for k in a if k not in b or not math.isclose(a[k], b[k], rel_tol=rel, abs_tol=1e-300)]


def appendix_specs(results: dict[str, Any], recompute: bool = False) -> dict[str, dict[str, Any]]:
    """Plot specs for an ``appendix_c.json`` (see the module docstring); raises ``ValueError`` when
    a rerun's measured numbers differ from the committed ones."""
    from mbi_envs.evaluation import json_safe

    specs: dict[str, dict[str, Any]] = {}
    for eid, (module, name) in _FROM_JSON.items():
        if results.get(eid, {}).get("status") == "ok":
            specs.update(_import(module, name)(results[eid]["measured"]))
    if recompute:
        from experiments.appendix_c import Config

        cfg = Config(**{k: v for k, v in results.get("_config", {}).items()}) if results.get("_config") else Config()
        for eid, (module, name) in _RECOMPUTE.items():
            if results.get(eid, {}).get("status") != "ok":
                continue
            entry = json_safe(_import(module, name)(cfg))
            differs = _same(results[eid]["measured"], entry["measured"])
            if differs:
                raise ValueError(f"{eid}: the rerun's measured numbers differ from the committed ones at "
                                 f"{differs[:5]}: not drawing a figure from another run's data")
            specs.update(entry["_plots"])
    return specs


def rebuild_figures(json_path: str | Path, out_dir: str | Path, recompute: bool = False) -> list[Path]:
    """Draw the PNGs of the run that wrote ``json_path`` into ``out_dir``; return their paths."""
    json_path, out_dir = Path(json_path), Path(out_dir)
    if not json_path.is_file():
        raise FileNotFoundError(f"json_path {str(json_path)!r} is not a file")
    out_dir.mkdir(parents=True, exist_ok=True)
    data = json.loads(json_path.read_text(encoding="utf-8"))
    if json_path.name == "benchmark.json" or "records" in data:
        from experiments.plots import plot_all
        return plot_all(data["records"], out_dir, data.get("config"))
    if json_path.name == "ic_audit.json" or ("c4" in data and "rules" in data.get("c4", {})):
        from experiments.ic_audit_plots import plot_utilities
        return [out_dir / n for n in plot_utilities(data["c4"], out_dir)]
    from experiments.appendix_figures import draw_plot

    if json_path.name == "figures.json":
        specs = data
    elif json_path.name == "appendix_c.json":
        meta = json_path.with_name("run_meta.json")
        if meta.is_file():
            cfg = json.loads(meta.read_text(encoding="utf-8")).get("config", {})
            data["_config"] = {k: (tuple(v) if isinstance(v, list) and k in ("scaling_ns", "seeds_c9",
                                                                          "ppo_reward_modes") else v)
                               for k, v in cfg.items() if k != "out"}
        specs = appendix_specs(data, recompute=recompute)
        from mbi_envs.evaluation import json_safe
        (out_dir / "figures.json").write_text(json.dumps(json_safe(specs), allow_nan=False), encoding="utf-8")
    else:
        raise ValueError(f"json_path {str(json_path)!r}: expected benchmark.json, ic_audit.json, figures.json "
                         "or appendix_c.json")
    paths = []
    for name, spec in specs.items():
        draw_plot(spec, out_dir / name)
        paths.append(out_dir / name)
    return paths


def main(argv: list[str] | None = None) -> list[Path]:
    """Command line: ``python -m experiments.figures JSON OUT_DIR [--recompute]``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("json_path")
    parser.add_argument("out_dir")
    parser.add_argument("--recompute", action="store_true",
                        help="appendix_c.json only: rerun C.1/C.13/C.15/C.16 (seconds) for the trajectories it lacks")
    args = parser.parse_args(argv)
    paths = rebuild_figures(args.json_path, args.out_dir, recompute=args.recompute)
    for p in paths:
        print(p)
    return paths


if __name__ == "__main__":
    main()
