"""Run logs: a CSV file, TensorBoard events and a printed table, one row per iteration.

Keys are metric names grouped by family with a slash, as TensorBoard shows them
(``charts/test_return``, ``losses/critic``); the CSV keeps one column per key, in the order of the
first row (a key first seen later is appended as a new column, the file rewritten once).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

# Short headers for the printed table: key -> (header, format)
TABLE_COLUMNS: dict[str, tuple[str, str]] = {
    "iteration": ("iter", "{:>6.0f}"),
    "wall_time_min": ("min", "{:>7.1f}"),
    "samples": ("samples", "{:>11,.0f}"),
    "charts/train_return": ("train_ret", "{:>9.3f}"),
    "charts/test_return": ("test_ret", "{:>8.3f}"),
    "charts/episode_length_s": ("ep_len_s", "{:>8.2f}"),
    "losses/actor": ("actor", "{:>8.4f}"),
    "losses/critic": ("critic", "{:>8.4f}"),
    "losses/clip_frac": ("clip", "{:>6.3f}"),
    "charts/body_pos_error_m": ("err_m", "{:>6.3f}"),
}
# Added for an AMP run, whose train_ret is only the task's reward (0 without a task): the style reward
# per step and the discriminator's accuracy on clip (expert) and policy (agent) samples.
AMP_TABLE_COLUMNS: dict[str, tuple[str, str]] = {
    "amp/style_reward": ("style", "{:>6.3f}"),
    "amp/acc_expert": ("acc_e", "{:>5.2f}"),
    "amp/acc_agent": ("acc_a", "{:>5.2f}"),
}
# Each added once its own key is logged: the actor loss's optional terms (agent.teacher_weight's clone
# distance, agent.mirror_weight's symmetry term).
OPTIONAL_TABLE_COLUMNS: dict[str, tuple[str, str]] = {"losses/teacher": ("teach", "{:>6.3f}"),
                                                      "losses/mirror": ("mirror", "{:>6.3f}")}


class RunLogger:
    """Append rows of scalar metrics to ``out_dir/log.csv`` and TensorBoard, and print a table.

    Args:
        out_dir: the run directory.
        tensorboard: also write TensorBoard event files (needs the ``tensorboard`` package).
        echo: print a table line per row.
    """

    def __init__(self, out_dir: str | Path, tensorboard: bool = True, echo: bool = True) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.csv_path = self.out_dir / "log.csv"
        self.columns: list[str] = read_csv(self.csv_path)[0] if self.csv_path.exists() else []
        self.echo = echo
        self._rows_printed = 0
        self._table_keys: list[str] = []
        self._writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard not installed: CSV only
                SummaryWriter = None
            if SummaryWriter is not None:
                self._writer = SummaryWriter(log_dir=str(self.out_dir / "tb"))

    def log(self, row: dict[str, float]) -> None:
        """Write one row; ``row["samples"]`` is the TensorBoard step."""
        new = [k for k in row if k not in self.columns]
        if new:
            old_columns, rows = (read_csv(self.csv_path) if self.csv_path.exists() else ([], []))
            self.columns = (old_columns or self.columns) + [k for k in new if k not in old_columns]
            with self.csv_path.open("w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(self.columns)
                for r in rows:
                    writer.writerow([_fmt(r.get(c, math.nan)) for c in self.columns])
        with self.csv_path.open("a", newline="") as f:
            csv.writer(f).writerow([_fmt(row.get(c, math.nan)) for c in self.columns])
        if self._writer is not None:
            step = int(row.get("samples", 0))
            for key, value in row.items():
                if "/" in key and math.isfinite(value):
                    self._writer.add_scalar(key, value, step)
            self._writer.flush()
        if self.echo:
            self._print(row)

    def _print(self, row: dict[str, float]) -> None:
        table = {**TABLE_COLUMNS, **(AMP_TABLE_COLUMNS if "amp/style_reward" in row else {}),
                 **{k: col for k, col in OPTIONAL_TABLE_COLUMNS.items() if k in row}}
        if self._rows_printed % 20 == 0 or list(table) != self._table_keys:  # a header for new columns too
            self._table_keys = list(table)
            print("  ".join(head.rjust(len(fmt.format(0))) for head, fmt in table.values()))
        values = []
        for k, (_, fmt) in table.items():
            v = row.get(k, math.nan)
            values.append(fmt.format(v) if math.isfinite(v) else "-".rjust(len(fmt.format(0))))
        print("  ".join(values), flush=True)
        self._rows_printed += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _fmt(value: float) -> str:
    return "" if not math.isfinite(value) else repr(float(value))


def read_csv(path: str | Path) -> tuple[list[str], list[dict[str, float]]]:
    """Columns and rows of a run's ``log.csv`` (empty cells read as NaN)."""
    with Path(path).open(newline="") as f:
        reader = csv.reader(f)
        columns = next(reader, [])
        rows = [{c: (float(v) if v else math.nan) for c, v in zip(columns, line, strict=False)} for line in reader]
    return columns, rows
