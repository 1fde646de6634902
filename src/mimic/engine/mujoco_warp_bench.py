"""The raw-stepping baseline of ``mimic bench env`` for the MuJoCo Warp engine (see :mod:`mimic.envs.bench`)."""

from __future__ import annotations

import time

import mujoco
import mujoco_warp as mjw
import torch
import warp as wp

from mimic.engine.mujoco_warp import MujocoWarpEngine


def raw_steps_per_s(engine: MujocoWarpEngine, seconds: float) -> float:
    """Policy steps/s of raw MJWarp stepping (``substeps`` ``mjw.step`` calls, no post-step pass, no torch)
    from a snapshot of ``engine``'s states and PD targets, in a second ``Data`` (the bench baseline)."""
    m, n = engine.mj_model, engine.num_envs
    mjd = mujoco.MjData(m)
    mujoco.mj_forward(m, mjd)
    src = engine.wp_data
    if engine.device.type == "cuda":
        torch.cuda.synchronize(engine.device)  # the snapshot below reads what torch's stream wrote
    with wp.ScopedDevice(engine.wp_device):
        data = mjw.put_data(m, mjd, nworld=n, nconmax=engine.nconmax, njmax=engine.njmax)
        for name in ("qpos", "qvel", "ctrl", "qacc_warmstart", "mocap_pos", "mocap_quat"):
            if getattr(src, name).size:
                wp.copy(getattr(data, name), getattr(src, name))

        def kernels() -> None:
            for _ in range(engine.substeps):
                mjw.step(engine.wp_model, data)

        kernels()  # warm-up (kernels are compiled by now)
        graph = None
        if engine.uses_cuda_graph:
            with wp.ScopedCapture() as capture:
                kernels()
            graph = capture.graph
        wp.synchronize_device(engine.wp_device)
        calls, start = 0, time.perf_counter()
        while True:
            if graph is not None:
                wp.capture_launch(graph)
            else:
                kernels()
            calls += 1
            if calls % 8 == 0 or graph is None:
                wp.synchronize_device(engine.wp_device)
                elapsed = time.perf_counter() - start
                if elapsed >= seconds:
                    return calls * n / elapsed
