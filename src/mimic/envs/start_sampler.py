"""Where an episode starts in its clip: DeepMimic's reference state initialization (a uniform time), or an
adaptive variant that starts more episodes shortly before the phases where recent episodes fell.

Adaptive: each clip's cycle is split into ``bins`` phase bins; every fall adds 1 to its bin, and all counts
decay by ``decay`` per recorded fall (a memory of about ``1 / (1 - decay)`` falls). A start is uniform with
probability ``uniform_share``; otherwise a bin is drawn with probability proportional to its count (plus a
small floor), and the start time is uniform in that bin moved ``lead_seconds`` earlier (wrapped for cyclic
clips, clamped at 0 for the others): the policy practises the approach to what it fails at, not only the
instant it falls. With no falls recorded the adaptive sampler is uniform.
"""

from __future__ import annotations

import torch

from mimic.motion.library import MotionLibrary


class StartTimeSampler:
    """Start times for reset envs.

    Args:
        motion: the env's motion library (clip durations, loop modes).
        adaptive: draw starts by recent falls (see the module docstring); False is uniform.
        bins, lead_seconds, uniform_share, decay: the adaptive sampler's settings.
    """

    def __init__(self, motion: MotionLibrary, adaptive: bool = False, bins: int = 20, lead_seconds: float = 0.5,
                 uniform_share: float = 0.5, decay: float = 0.999) -> None:
        self.motion, self.adaptive = motion, adaptive
        self.bins, self.lead_seconds, self.uniform_share, self.decay = bins, lead_seconds, uniform_share, decay
        self.falls = torch.zeros(motion.num_clips, bins, dtype=torch.float64)

    def sample(self, clip_ids: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(M,) start times (s) for envs starting clips ``clip_ids`` (M,)."""
        uniform = self.motion.sample_times(clip_ids, generator=generator).cpu()
        if not self.adaptive or not bool(self.falls.any()):
            return uniform.to(self.motion.device)
        clips = clip_ids.cpu()
        weights = self.falls[clips] + 1e-3 * self.falls[clips].sum(-1, keepdim=True).clamp_min(1e-12)
        bin_ids = torch.multinomial(weights, 1, generator=generator).squeeze(-1)
        dur = self.motion.durations[clips].cpu()
        u = torch.rand(len(clips), generator=generator, dtype=torch.float64)
        start = (bin_ids + u) / self.bins * dur - self.lead_seconds
        wrap = self.motion.wrap[clips].cpu()
        start = torch.where(wrap, torch.remainder(start, dur), start.clamp(min=0.0).clamp(max=dur))
        pick_uniform = torch.rand(len(clips), generator=generator) < self.uniform_share
        return torch.where(pick_uniform, uniform, start).to(self.motion.device)

    def record_falls(self, clip_ids: torch.Tensor, times: torch.Tensor) -> None:
        """Count falls of clips ``clip_ids`` (M,) at motion times ``times`` (M,) (s, from the clip's start)."""
        if not self.adaptive or len(clip_ids) == 0:
            return
        clips = clip_ids.cpu()
        phase = self.motion.phase(clip_ids, times).cpu().double()
        bin_ids = (phase * self.bins).long().clamp(0, self.bins - 1)
        self.falls *= self.decay ** len(clips)
        self.falls.index_put_((clips, bin_ids), torch.ones(len(clips), dtype=torch.float64), accumulate=True)

    def state_dict(self) -> dict:
        return {"falls": self.falls.clone()}

    def load_state_dict(self, state: dict) -> None:
        self.falls.copy_(state["falls"])
