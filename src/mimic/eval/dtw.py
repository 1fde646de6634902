"""The AMP paper's tracking error: pose error between time-warped trajectories.

The AMP paper (Peng et al. 2021, Table 3) compares a policy's motion with its reference after aligning
the two in time by dynamic time warping, so that a character that follows the clip's poses a little
early or late is not charged for the phase difference. :func:`pose_error_dtw` does the same for one
episode: the per-frame cost is the mean distance of the non-root bodies with both roots aligned (the
MPJPE of ``mimic eval``), the alignment is the monotonic path from the first pair of frames to the last
that minimizes the summed cost, and the error is the mean cost along that path.
"""

from __future__ import annotations

import numpy as np
import torch


def pose_cost(sim_rel: torch.Tensor, ref_rel: torch.Tensor, chunk: int = 256) -> np.ndarray:
    """(T, S) mean distance (m) over bodies between every simulated frame and every reference frame.

    Args:
        sim_rel: (T, B, 3) simulated body positions relative to the root.
        ref_rel: (S, B, 3) reference body positions relative to the reference root.
    """
    sim, ref = sim_rel.double(), ref_rel.double()
    rows = [(part[:, None] - ref[None]).norm(dim=-1).mean(-1) for part in sim.split(chunk)]
    return torch.cat(rows).numpy()


def dtw_mean_cost(cost: np.ndarray) -> float:
    """Mean of ``cost`` (T, S) along the monotonic path from (0, 0) to (T-1, S-1) of least total cost.

    Steps go to (i+1, j), (i, j+1) or (i+1, j+1). Filled one anti-diagonal at a time (vectorized),
    then the path is traced back to count its cells.
    """
    t, s = cost.shape
    total = np.full((t, s), np.inf)
    total[0, 0] = cost[0, 0]
    for d in range(1, t + s - 1):  # cells with i + j = d depend only on diagonals d - 1 and d - 2
        i = np.arange(max(0, d - s + 1), min(t, d + 1))
        j = d - i
        up = np.where(i > 0, total[np.maximum(i - 1, 0), j], np.inf)
        left = np.where(j > 0, total[i, np.maximum(j - 1, 0)], np.inf)
        diag = np.where((i > 0) & (j > 0), total[np.maximum(i - 1, 0), np.maximum(j - 1, 0)], np.inf)
        total[i, j] = cost[i, j] + np.minimum(np.minimum(up, left), diag)
    i, j, length = t - 1, s - 1, 1
    while i > 0 or j > 0:  # trace back along the cheapest predecessor
        options = []
        if i > 0 and j > 0:
            options.append((total[i - 1, j - 1], i - 1, j - 1))
        if i > 0:
            options.append((total[i - 1, j], i - 1, j))
        if j > 0:
            options.append((total[i, j - 1], i, j - 1))
        _, i, j = min(options)
        length += 1
    return float(total[-1, -1] / length)


def pose_error_dtw(sim_rel: torch.Tensor, ref_rel: torch.Tensor) -> float:
    """The AMP paper's pose error (m) of one episode: :func:`pose_cost` averaged along the time warping
    (:func:`dtw_mean_cost`) of the simulated frames (T, B, 3) onto the reference frames (S, B, 3)."""
    return dtw_mean_cost(pose_cost(sim_rel, ref_rel))
