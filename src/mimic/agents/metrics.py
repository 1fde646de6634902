"""Means of an update's per-minibatch diagnostics, kept on the agent's device until the update ends."""

from __future__ import annotations

import torch


class MinibatchMeans:
    """Running sums of named per-minibatch values (0-dim tensors or floats) and their mean at the end.

    Adding a tensor reads nothing back: an ``.item()`` per value would make the host wait for the GPU at
    every minibatch (six times per actor step); :meth:`means` reads them all in one copy.
    """

    def __init__(self) -> None:
        self._tensors: dict[str, torch.Tensor] = {}
        self._floats: dict[str, float] = {}
        self.count = 0

    def add(self, values: dict[str, torch.Tensor | float]) -> None:
        """Add one minibatch's ``values`` (name -> 0-dim tensor or float)."""
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                value = value.detach().double()
                self._tensors[key] = self._tensors[key] + value if key in self._tensors else value
            else:
                self._floats[key] = self._floats.get(key, 0.0) + float(value)
        self.count += 1

    def means(self) -> dict[str, float]:
        """Each name's mean over the minibatches added (empty if none)."""
        n = max(self.count, 1)
        out = {key: total / n for key, total in self._floats.items()}
        if self._tensors:
            totals = torch.stack(list(self._tensors.values())).tolist()  # the one device-to-host copy
            out.update({key: total / n for key, total in zip(self._tensors, totals, strict=True)})
        return out
