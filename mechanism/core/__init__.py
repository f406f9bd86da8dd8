"""The MBI core: the D-DAG (:mod:`.ddag`), the Planner's problem (:mod:`.problem`), the DPM's
reverse pass (:mod:`.dpm`), incentive-driven agents (:mod:`.agents`, :mod:`.exploration`), the
Planner loop (:mod:`.planner`) and reference solvers (:mod:`.solvers`). The public names are
re-exported by :mod:`mechanism`."""
