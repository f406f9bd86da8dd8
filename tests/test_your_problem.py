"""docs/your_problem.md runs as written, and ``mbi_envs.register`` keeps its contract.

The doc's python blocks are marked with HTML comments: ``<!-- test: module -->`` blocks are
joined into the module ``public_goods.py`` (written to a temporary folder on ``sys.path``, so its
functions are module-level and its envs pickle); each ``cheap`` block runs in the default suite,
each ``slow`` block (PPO, the IC audit) under the slow marker. Every test removes the ids it
registered, so other tests that iterate ``mbi_envs.env_ids()`` see the built-ins only.
"""
from __future__ import annotations

import pickle
import re
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import mbi_envs
from mbi_envs import registry

DOC = Path(__file__).resolve().parents[1] / "docs" / "your_problem.md"
BLOCK = re.compile(r"<!-- test: (\w+) -->\n```python\n(.*?)```", re.S)


def _blocks(kind: str) -> list[str]:
    return [code for k, code in BLOCK.findall(DOC.read_text()) if k == kind]


def test_every_python_block_of_the_doc_is_marked():
    """No python block escapes the test (an unmarked block would be untested text)."""
    text = DOC.read_text()
    assert text.count("```python") == len(BLOCK.findall(text)) > 0


@pytest.fixture
def tutorial(tmp_path, monkeypatch):
    """The doc's module on sys.path; afterwards its ids are unregistered and the module forgotten."""
    (tmp_path / "public_goods.py").write_text("\n\n".join(_blocks("module")))
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(registry.user_env_ids())
    yield tmp_path
    sys.modules.pop("public_goods", None)
    for env_id in set(registry.user_env_ids()) - before:
        mbi_envs.unregister(env_id)


def _run(code: str) -> dict:
    namespace: dict = {"__name__": "__doc_block__"}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace


@pytest.mark.parametrize("index", range(len(_blocks("cheap"))))
def test_doc_cheap_blocks_run(tutorial, index):
    _run(_blocks("cheap")[index])


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(_blocks("slow"))))
def test_doc_slow_blocks_run(tutorial, index):
    """The PPO run (17 s on the shared 2-core dev machine under load) and the IC audit (13 s)."""
    _run(_blocks("slow")[index])


# ---------------------------------------------------------------- the registered problem, every form
def _public_goods():
    import public_goods

    return public_goods


def test_registered_problem_in_every_form(tutorial):
    pg = _public_goods()
    assert registry.user_env_ids() == ["public_goods_v0"] and mbi_envs.env_ids()[-1] == "public_goods_v0"
    assert mbi_envs.gym_id("public_goods_v0") == pg.GYM_ID == "mbi_envs/PublicGoods-v0"
    env = mbi_envs.make("public_goods_v0", theta=(1.0, 2.0), mode="iterative", max_cycles=5)
    assert env.n_agents == 2 and env.max_steps == 5 and env.metadata["name"] == "public_goods_v0"
    obs, infos = env.reset(seed=0)
    opt = pg.optimum(env.problem.data("true"))
    assert infos["agent_0"]["optimal_loss"] == pytest.approx(opt.loss)
    # the closed form is the minimiser: the DPM incentive vanishes there
    np.testing.assert_allclose(env.problem.loss(opt.x.unsqueeze(0)).item(), opt.loss, rtol=1e-12)
    from mechanism import incentives
    assert float(incentives(env.problem, opt.x.unsqueeze(0)).G.abs().max()) < 1e-12
    # batched env equals the dict env on the same actions and seeds
    venv = mbi_envs.make_vec("public_goods_v0", num_envs=2, theta=(1.0, 2.0), max_steps=5)
    vobs, _ = venv.reset(seed=3)
    dobs, _ = env.reset(seed=3)
    np.testing.assert_allclose(vobs[0].numpy(), np.stack([dobs[a] for a in env.possible_agents]), rtol=1e-12)
    action = np.array([[0.7], [0.2]])
    _, vrew, *_ = venv.step(np.stack([action, action]))
    _, drew, *_ = env.step(dict(zip(env.possible_agents, action)))
    np.testing.assert_allclose(vrew[0].numpy(), [drew[a] for a in env.possible_agents], rtol=1e-12)
    # Gymnasium: the centralized view, no TimeLimit needed (the env truncates at its horizon)
    genv = gym.make(pg.GYM_ID, theta=(1.0, 2.0), max_steps=2)
    genv.reset(seed=0)
    assert genv.step(np.zeros(2))[3] is False and genv.step(np.zeros(2))[3] is True


def test_registered_envs_pickle(tutorial):
    _public_goods()
    env = mbi_envs.make("public_goods_v0", max_steps=4)
    env.reset(seed=2)
    env.step({a: np.array([0.5]) for a in env.possible_agents})
    clone = pickle.loads(pickle.dumps(env))
    step = {a: np.array([1.0]) for a in env.possible_agents}
    np.testing.assert_equal(clone.step(step), env.step(step))
    aec = pickle.loads(pickle.dumps(mbi_envs.make_aec("public_goods_v0")))
    aec.reset(seed=0)
    genv = gym.make("mbi_envs/PublicGoods-v0")
    genv.reset(seed=1)
    np.testing.assert_equal(pickle.loads(pickle.dumps(genv)).step(np.ones(3)), genv.step(np.ones(3)))


@pytest.mark.slow
def test_fresh_interpreter_gym_forms_and_pickled_user_env(tutorial):
    """A fresh interpreter: the plain gym id without ``import mbi_envs`` raises NamespaceNotFound
    (Gymnasium 1.x has no plugin entry point); the ``module:id`` forms work, for a built-in and
    for the user's id (the module that registers it); a pickled user env loads (its module is
    imported by pickle) and carries on."""
    _public_goods()
    env = mbi_envs.make("public_goods_v0", max_steps=4)
    env.reset(seed=0)
    code = ("import gymnasium as gym, pickle, sys\n"
            "try:\n    gym.make('mbi_envs/SymmetricParallel-v0')\nexcept gym.error.NamespaceNotFound:\n"
            "    print('NamespaceNotFound')\n"
            "print(gym.make('mbi_envs:mbi_envs/SymmetricParallel-v0', n_agents=3).reset(seed=0)[0].shape)\n"
            "print(gym.make('public_goods:mbi_envs/PublicGoods-v0').reset(seed=0)[0].shape)\n"
            "env = pickle.load(sys.stdin.buffer)\n"
            "print(env.t, env.global_loss.hex())\n")
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(env), capture_output=True, check=True,
                         cwd=str(tutorial), env={**__import__("os").environ,
                                                 "PYTHONPATH": f"{tutorial}:{Path(__file__).resolve().parents[1]}"})
    assert out.stdout.decode().splitlines() == ["NamespaceNotFound", "(15,)", "(15,)", f"0 {env.global_loss.hex()}"]


# ---------------------------------------------------------------- register's errors
def _builder(*, n: int = 2):
    return mbi_envs.make("symmetric_parallel_v0", n_agents=n).scenario


@pytest.fixture
def clean():
    before = set(registry.user_env_ids())
    yield
    for env_id in set(registry.user_env_ids()) - before:
        mbi_envs.unregister(env_id)


@pytest.mark.parametrize("bad", ["", "Public_v0", "public", "public-v0", "public_v", "9lives_v0", "a b_v0", None, 3])
def test_register_refuses_a_bad_id(clean, bad):
    with pytest.raises(ValueError, match="env_id must look like 'name_v0'"):
        mbi_envs.register(bad, _builder)
    assert registry.user_env_ids() == []


def test_register_refuses_taken_ids_and_replaces_with_overwrite(clean):
    with pytest.raises(ValueError, match="'symmetric_parallel_v0' is a built-in id"):
        mbi_envs.register("symmetric_parallel_v0", _builder)
    with pytest.raises(ValueError, match="built-in"):
        mbi_envs.register("type_report_v0", _builder, overwrite=True)
    gid = mbi_envs.register("mine_v1", _builder)
    assert gid == "mbi_envs/Mine-v1" and gid in gym.registry
    with pytest.raises(ValueError, match="'mine_v1' is already registered .* overwrite=True"):
        mbi_envs.register("mine_v1", _builder)
    mbi_envs.register("mine_v1", lambda *, n=3: _builder(n=n), overwrite=True)
    assert mbi_envs.make("mine_v1").n_agents == 3
    mbi_envs.register("mine_v1", _builder, gym_id="mine/Other-v0", overwrite=True)
    assert "mine/Other-v0" in gym.registry and "mbi_envs/Mine-v1" not in gym.registry
    with pytest.raises(ValueError, match="gym_id 'mine/Other-v0' is already registered"):
        mbi_envs.register("mine_v2", _builder, gym_id="mine/Other-v0")
    with pytest.raises(ValueError, match="gym_id 'not an id!' is not a valid Gymnasium id"):
        mbi_envs.register("mine_v2", _builder, gym_id="not an id!")
    assert registry.user_env_ids() == ["mine_v1"]
    mbi_envs.unregister("mine_v1")
    assert "mine_v1" not in mbi_envs.env_ids() and "mine/Other-v0" not in gym.registry
    with pytest.raises(ValueError, match="'mine_v1' was not added with mbi_envs.register"):
        mbi_envs.unregister("mine_v1")
    with pytest.raises(ValueError, match="was not added"):
        mbi_envs.unregister("symmetric_parallel_v0")


def test_register_refuses_bad_builders(clean):
    with pytest.raises(ValueError, match="builder must be callable"):
        mbi_envs.register("mine_v0", "build")
    with pytest.raises(ValueError, match=r"parameter\(s\) \['max_steps', 'mode'\].*common"):
        mbi_envs.register("mine_v0", lambda *, mode="x", max_steps=3: None)
    with pytest.raises(ValueError, match=r"positional-only parameter\(s\) \['n'\]"):
        mbi_envs.register("mine_v0", lambda n, /: None)
    assert registry.user_env_ids() == []


def test_a_builder_that_returns_no_scenario_fails_at_make_naming_the_id(clean):
    mbi_envs.register("mine_v0", lambda: {"not": "a scenario"})
    for make in (mbi_envs.make, mbi_envs.make_aec, lambda i: mbi_envs.make_vec(i, num_envs=2),
                 lambda i: gym.make(mbi_envs.gym_id(i))):
        with pytest.raises(TypeError, match="the builder of 'mine_v0' .* returned dict, not a mbi_envs.Scenario"):
            make("mine_v0")


def test_unknown_kwargs_and_var_keyword_builders(clean):
    mbi_envs.register("mine_v0", _builder)
    with pytest.raises(ValueError, match=r"mine_v0: unknown keyword argument\(s\) \['m'\]"):
        mbi_envs.make("mine_v0", m=3)
    mbi_envs.register("free_v0", lambda **kw: _builder(**kw))
    assert mbi_envs.make("free_v0", n=4, mode="one_shot").n_agents == 4
    with pytest.raises(ValueError, match="has no scenario module"):
        registry.scenario_module("mine_v0")
