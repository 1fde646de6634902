"""Train Mimic's Gymnasium environment with an outside library: Stable-Baselines3's PPO.

    pip install stable-baselines3
    python examples/sb3_ppo.py --clip walk --timesteps 20000 --num-envs 16

``mimic/Imitate-v0`` is an ordinary Gymnasium environment (Box observations, actions in [-1, 1]);
its vector form steps all characters in one batched MuJoCo simulation. SB3 wants its own
``VecEnv``, so this example uses ``num_envs`` copies of the single-character env through SB3's
``make_vec_env`` (simple, slower than Mimic's own batched trainer).
"""

from __future__ import annotations

import argparse

import gymnasium
import numpy as np

import mimic  # noqa: F401  (registers mimic/Imitate-v0)


def train(clip: str = "walk", timesteps: int = 20_000, num_envs: int = 8, seed: int = 0) -> dict:
    """Train SB3 PPO for ``timesteps`` steps; return the mean reward per step before and after."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env(lambda: gymnasium.make("mimic/Imitate-v0", clip=clip), n_envs=num_envs, seed=seed)
    model = PPO("MlpPolicy", venv, n_steps=256, batch_size=512, learning_rate=3e-4, seed=seed, verbose=0,
                policy_kwargs={"log_std_init": -1.0})

    def mean_reward(steps: int = 300) -> float:
        obs = venv.reset()
        total = 0.0
        for _ in range(steps):
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, _, _ = venv.step(action)
            total += float(np.mean(reward))
        return total / steps

    before = mean_reward()
    model.learn(total_timesteps=timesteps)
    after = mean_reward()
    venv.close()
    return {"reward_per_step_before": before, "reward_per_step_after": after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", default="walk", help="bundled clip name or clip path (default walk)")
    parser.add_argument("--timesteps", type=int, default=20_000, help="environment steps to train (default 20000)")
    parser.add_argument("--num-envs", type=int, default=8, help="parallel environments (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args()
    print(train(args.clip, args.timesteps, args.num_envs, args.seed))


if __name__ == "__main__":
    main()
