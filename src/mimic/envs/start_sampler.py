"""Where an episode starts in its clip: DeepMimic's reference state initialization (a uniform time), or one
of two adaptive variants that start more episodes where recent episodes failed.

Both split each clip's cycle into ``bins`` phase bins; every fall adds 1 to one bin, and all counts decay by
``decay`` per recorded fall (a memory of about ``1 / (1 - decay)`` falls). A start is uniform with
probability ``uniform_share``; otherwise a bin is drawn with probability proportional to its count (plus a
small floor) and the start time is uniform in it. They differ in which bin a fall counts in:

- ``adaptive``: the bin of the phase where the character fell, and the start is moved ``lead_seconds``
  earlier (wrapped for cyclic clips, clamped at 0 for the others): the policy practises the approach to
  what it fails at, not only the instant it falls. For falls late in long episodes (a tracker losing a
  spin).
- ``failed_starts``: the bin of the phase where the fallen episode *started*, with no lead: the policy
  practises the very starts it cannot recover from. For falls caused by the start state itself (a run
  entered at its touchdown), which ``adaptive`` misses: such a fall comes a fraction of a second after the
  start, so the lead puts the practice starts just before the fatal phase, where the policy does not fall.

With no falls recorded either sampler is uniform.

The start's clip is drawn by the clip weights (:meth:`StartTimeSampler.draw`), and the bin within it. With
``across_clips`` the non-uniform starts draw clip and bin together in proportion to the falls of every clip's
bins instead (PHC's failure-prioritized motion sampling): a dataset's one fatal start, in a clip that is a
small share of the weights, then gets about ``1 - uniform_share`` times its share of the falls of all starts
rather than of that clip's.
"""

from __future__ import annotations

import torch

from mimic.devices import upload
from mimic.motion.library import MotionLibrary


class StartTimeSampler:
    """Start times for reset envs.

    Args:
        motion: the env's motion library (clip durations, loop modes).
        mode: ``uniform``, ``adaptive`` or ``failed_starts`` (see the module docstring).
        bins, lead_seconds, uniform_share, decay: the adaptive samplers' settings (``lead_seconds`` is
            ``adaptive``'s only).
        across_clips: the non-uniform starts draw their clip by the falls too (see the module docstring).
    """

    def __init__(self, motion: MotionLibrary, mode: str = "uniform", bins: int = 20, lead_seconds: float = 0.5,
                 uniform_share: float = 0.5, decay: float = 0.999, across_clips: bool = False) -> None:
        if mode not in ("uniform", "adaptive", "failed_starts"):
            raise ValueError(f"start sampler mode {mode!r}: expected uniform, adaptive or failed_starts")
        self.motion, self.mode = motion, mode
        self.lead_seconds = lead_seconds if mode == "adaptive" else 0.0
        self.bins, self.uniform_share, self.decay = bins, uniform_share, decay
        self.across_clips = across_clips
        self.falls = torch.zeros(motion.num_clips, bins, dtype=torch.float64)

    @property
    def adaptive(self) -> bool:
        """Whether starts follow recorded falls (any mode but ``uniform``)."""
        return self.mode != "uniform"

    def draw(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(n,) clips and (n,) start times (s) for ``n`` reset envs."""
        clip_ids = self.motion.sample_clips(n, generator=generator)
        if not (self.across_clips and self.adaptive and bool(self.falls.any())):
            return clip_ids, self.sample(clip_ids, generator)
        uniform = self.motion.sample_times(clip_ids, generator=generator).cpu()
        flat = self.falls.flatten()
        cells = torch.multinomial(flat + 1e-3 * flat.sum() / self.bins, n, replacement=True, generator=generator)
        clips, bin_ids = cells // self.bins, cells % self.bins
        start = self._in_bins(clips, bin_ids, generator)
        pick_uniform = torch.rand(n, generator=generator) < self.uniform_share
        clip_ids = upload(torch.where(pick_uniform, clip_ids.cpu(), clips), self.motion.device)
        return clip_ids, upload(torch.where(pick_uniform, uniform, start), self.motion.device)

    def sample(self, clip_ids: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(M,) start times (s) for envs starting clips ``clip_ids`` (M,)."""
        uniform = self.motion.sample_times(clip_ids, generator=generator)
        if not self.adaptive or not bool(self.falls.any()):
            return uniform  # on the library's device, with no round trip through the CPU
        uniform, clips = uniform.cpu(), clip_ids.cpu()
        weights = self.falls[clips] + 1e-3 * self.falls[clips].sum(-1, keepdim=True).clamp_min(1e-12)
        bin_ids = torch.multinomial(weights, 1, generator=generator).squeeze(-1)
        start = self._in_bins(clips, bin_ids, generator)
        pick_uniform = torch.rand(len(clips), generator=generator) < self.uniform_share
        return upload(torch.where(pick_uniform, uniform, start), self.motion.device)

    def _in_bins(self, clips: torch.Tensor, bin_ids: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(M,) CPU start times uniform in phase bins ``bin_ids`` (M,) of clips ``clips`` (M,), moved
        ``lead_seconds`` earlier."""
        dur = self.motion.durations[clips].cpu()
        u = torch.rand(len(clips), generator=generator, dtype=torch.float64)
        start = (bin_ids + u) / self.bins * dur - self.lead_seconds
        wrap = self.motion.wrap[clips].cpu()
        return torch.where(wrap, torch.remainder(start, dur), start.clamp(min=0.0).clamp(max=dur))

    def record_falls(self, clip_ids: torch.Tensor, fall_times: torch.Tensor,
                     start_times: torch.Tensor | None = None) -> None:
        """Count falls of episodes of clips ``clip_ids`` (M,) that fell at motion times ``fall_times`` (M,)
        after starting at ``start_times`` (M,) (s, from the clip's start; ``failed_starts`` needs them)."""
        if not self.adaptive or len(clip_ids) == 0:
            return
        if self.mode == "failed_starts" and start_times is None:
            raise ValueError("the failed_starts sampler counts falls by their episodes' start times: pass them")
        times = start_times if self.mode == "failed_starts" else fall_times
        clips = clip_ids.cpu()
        phase = self.motion.phase(clip_ids, times).cpu().double()
        bin_ids = (phase * self.bins).long().clamp(0, self.bins - 1)
        self.falls *= self.decay ** len(clips)
        self.falls.index_put_((clips, bin_ids), torch.ones(len(clips), dtype=torch.float64), accumulate=True)

    def state_dict(self) -> dict:
        return {"falls": self.falls.clone()}

    def load_state_dict(self, state: dict) -> None:
        self.falls.copy_(state["falls"])
