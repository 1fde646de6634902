"""Learning curves of a run: test/train return, episode length and tracking error, against samples
and wall time, from the run's ``log.csv``; an AMP run adds its style reward and the discriminator's
accuracy on clip and policy samples (training rollouts, and the test rounds' mean actions:
``test_agent_acc``; README, "AMP": "Is it learning?")."""

from __future__ import annotations

import math
from pathlib import Path

from mimic.errors import MimicError
from mimic.training.logger import read_csv

PANELS = (
    ("Return per step (normalized)", ("charts/test_return", "charts/train_return")),
    ("Episode length (s)", ("charts/episode_length_s", "charts/test_episode_length_s")),
    ("Body position error (m)", ("charts/body_pos_error_m",)),
)
AMP_PANEL = ("AMP: style reward per step, discriminator accuracy",
             ("amp/style_reward", "amp/acc_expert", "amp/acc_agent", "amp/test_agent_acc"))


def plot_run(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the learning curves of ``run_dir`` to a PNG (default ``run_dir/curves.png``)."""
    run_dir = Path(run_dir)
    log = run_dir / "log.csv" if run_dir.is_dir() else run_dir
    if not log.is_file():
        raise MimicError(f"{run_dir}: no log.csv found (is it a run directory?)")
    columns, rows = read_csv(log)
    if not rows:
        raise MimicError(f"{log}: the log has no rows yet")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = PANELS + ((AMP_PANEL,) if "amp/style_reward" in columns else ())
    fig, axes = plt.subplots(len(panels), 2, figsize=(11, 3.2 * len(panels)), squeeze=False)
    for p, (title, keys) in enumerate(panels):
        for c, (xkey, xlabel, scale) in enumerate((("samples", "samples (millions)", 1e-6),
                                                   ("wall_time_min", "wall time (min)", 1.0))):
            ax = axes[p][c]
            for key in keys:
                if key not in columns or xkey not in columns:
                    continue
                pts = [(r[xkey] * scale, r[key]) for r in rows if math.isfinite(r.get(key, math.nan))]
                if key == "charts/train_return" and all(y == 0 for _, y in pts):
                    continue  # style-only AMP: the env gives no reward, the discriminator's is the agent's
                if pts:
                    xs, ys = zip(*pts, strict=True)
                    ax.plot(xs, ys, marker="." if len(pts) < 30 else None, label=key.split("/")[-1])
            ax.set_title(title, fontsize=10)
            ax.set_xlabel(xlabel)
            ax.grid(alpha=0.3)
            if ax.lines:
                ax.legend(fontsize=8)
    fig.suptitle(str(run_dir.name), fontsize=11)
    fig.tight_layout()
    out = Path(out) if out else (log.parent / "curves.png")
    if not out.parent.exists():
        raise MimicError(f"{out}: folder {out.parent} does not exist")
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
