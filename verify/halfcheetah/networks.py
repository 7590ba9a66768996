"""Policy and critic networks of the HalfCheetah MADDPG+CQL learner, as pure functions.

Parameters are plain dicts of arrays (a pytree), so a whole learner state can be ``vmap``-ed
over seeds and saved with :func:`numpy.savez`. Two policies share one interface:

* feedforward: ``Linear h -> ReLU -> Linear h -> ReLU -> Linear A -> tanh``;
* recurrent (the authors' reference): ``Linear h -> ReLU -> GRU h -> ReLU -> Linear A -> tanh``.

Both are shared across agents; each agent's input is its observation with its one-hot id
appended. The critic is a pair of MLPs (twin critics, parameters stacked on a leading axis of
size 2) on the global state and the joint action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

Params = dict


def _dense_init(key: jax.Array, fan_in: int, fan_out: int) -> Params:
    # LeCun-normal weights: unit-variance pre-activations for unit-variance inputs, as Sonnet's
    # default initialiser (the authors' code) does.
    w = jax.random.normal(key, (fan_in, fan_out), jnp.float32) / jnp.sqrt(fan_in)
    return {"w": w, "b": jnp.zeros((fan_out,), jnp.float32)}


def _dense(p: Params, x: jax.Array) -> jax.Array:
    return x @ p["w"] + p["b"]


@dataclass(frozen=True)
class PolicyNetwork:
    """Shared deterministic policy for ``n_agents`` agents, feedforward or GRU.

    Shapes: observations ``(..., N, obs_dim)``; actions ``(..., N, act_dim)`` in ``[-1, 1]``;
    the recurrent carry is ``(..., N, hidden)`` (``(..., N, 0)`` for a feedforward policy).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> net = PolicyNetwork(obs_dim=12, act_dim=3, n_agents=2, hidden=16, recurrent=True)
        >>> params = net.init(jax.random.PRNGKey(0))
        >>> jax.jit(net.apply_sequence)(params, jnp.zeros((3, 1, 2, 12))).shape  # (T, B, N, A)
        (3, 1, 2, 3)
    """

    obs_dim: int
    act_dim: int
    n_agents: int
    hidden: int = 64
    recurrent: bool = True

    def init(self, key: jax.Array) -> Params:
        """Fresh parameters."""
        k_in, k_mid, k_out, k_gru = jax.random.split(key, 4)
        h = self.hidden
        params = {
            "input": _dense_init(k_in, self.obs_dim + self.n_agents, h),
            "output": _dense_init(k_out, h, self.act_dim),
        }
        if self.recurrent:
            k_x, k_h = jax.random.split(k_gru)
            # Gates stacked as [reset, update, candidate] along the output axis.
            params["gru_x"] = _dense_init(k_x, h, 3 * h)
            params["gru_h"] = _dense_init(k_h, h, 3 * h)
        else:
            params["middle"] = _dense_init(k_mid, h, h)
        return params

    def _with_agent_id(self, observations: jax.Array) -> jax.Array:
        ids = jnp.broadcast_to(
            jnp.eye(self.n_agents, dtype=observations.dtype),
            observations.shape[:-1] + (self.n_agents,),
        )
        return jnp.concatenate([observations, ids], axis=-1)

    def initial_carry(self, batch_shape: tuple[int, ...]) -> jax.Array:
        """Zero carry ``(*batch_shape, N, hidden)`` (hidden = 0 when feedforward)."""
        width = self.hidden if self.recurrent else 0
        return jnp.zeros(batch_shape + (self.n_agents, width), jnp.float32)

    def _gru(self, params: Params, carry: jax.Array, x_proj: jax.Array) -> jax.Array:
        # PyTorch/Flax GRU convention (reset gate applied to the recurrent candidate term).
        h_proj = _dense(params["gru_h"], carry)
        xr, xz, xn = jnp.split(x_proj, 3, axis=-1)
        hr, hz, hn = jnp.split(h_proj, 3, axis=-1)
        r = jax.nn.sigmoid(xr + hr)
        z = jax.nn.sigmoid(xz + hz)
        n = jnp.tanh(xn + r * hn)
        return (1.0 - z) * n + z * carry

    def step(
        self, params: Params, carry: jax.Array, observations: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """One time step: ``(carry, observations (..., N, obs))`` -> ``(carry, actions)``."""
        x = jax.nn.relu(_dense(params["input"], self._with_agent_id(observations)))
        if self.recurrent:
            carry = self._gru(params, carry, _dense(params["gru_x"], x))
            x = jax.nn.relu(carry)
        else:
            x = jax.nn.relu(_dense(params["middle"], x))
        return carry, jnp.tanh(_dense(params["output"], x))

    def apply_sequence(self, params: Params, observations: jax.Array) -> jax.Array:
        """Actions ``(T, ..., N, A)`` for time-major observations ``(T, ..., N, obs)``, starting
        from a zero carry at ``t = 0`` (no burn-in, as the authors' sequence learner)."""
        x = jax.nn.relu(_dense(params["input"], self._with_agent_id(observations)))
        if not self.recurrent:
            x = jax.nn.relu(_dense(params["middle"], x))
            return jnp.tanh(_dense(params["output"], x))
        # The input half of the GRU is one matmul for all time steps; only h @ W_h is sequential.
        x_proj = _dense(params["gru_x"], x)

        def scan_step(carry: jax.Array, xp: jax.Array) -> tuple[jax.Array, jax.Array]:
            carry = self._gru(params, carry, xp)
            return carry, carry

        _, hidden = jax.lax.scan(scan_step, self.initial_carry(observations.shape[1:-2]), x_proj)
        return jnp.tanh(_dense(params["output"], jax.nn.relu(hidden)))


@dataclass(frozen=True)
class TwinCritic:
    """Two MLP critics ``Q_k(s, a)`` on the global state and the joint action (k = 0, 1).

    Shapes: states ``(..., state_dim)``; joint actions ``(..., N * A)``, whose leading axes
    broadcast against the states' (so many actions can share one state's first-layer product);
    output ``(2, ...)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> critic = TwinCritic(state_dim=17, joint_action_dim=6, hidden=(8, 8))
        >>> params = critic.init(jax.random.PRNGKey(0))
        >>> jax.jit(critic.apply)(params, jnp.zeros((4, 17)), jnp.zeros((10, 4, 6))).shape
        (2, 10, 4)
    """

    state_dim: int
    joint_action_dim: int
    hidden: tuple[int, ...] = (128, 128)

    def _init_one(self, key: jax.Array) -> Params:
        keys = jax.random.split(key, len(self.hidden) + 2)
        first = self.hidden[0]
        params: dict[str, Any] = {
            "state": _dense_init(keys[0], self.state_dim, first),
            # No bias: the state half's bias is the first layer's bias.
            "action": {"w": _dense_init(keys[1], self.joint_action_dim, first)["w"]},
        }
        sizes = list(self.hidden) + [1]
        params["layers"] = [
            _dense_init(k, sizes[i], sizes[i + 1]) for i, k in enumerate(keys[2:])
        ]
        # The first layer's input is [state, action]: rescale both halves so the LeCun scale
        # refers to the concatenated fan-in, as one dense layer on the concatenation would.
        fan_in = self.state_dim + self.joint_action_dim
        params["state"]["w"] *= jnp.sqrt(self.state_dim / fan_in)
        params["action"]["w"] *= jnp.sqrt(self.joint_action_dim / fan_in)
        return params

    def init(self, key: jax.Array) -> Params:
        """Fresh parameters of both critics, stacked on a leading axis of size 2."""
        # lax.map, not vmap: the same numbers (under jit, bit for bit), but XLA compiles one
        # critic's random draws instead of their batched form, several times slower to compile
        # on CPU (8.9 -> 2.4 s CPU for three seeds' twin critics).
        return jax.lax.map(self._init_one, jax.random.split(key, 2))

    @staticmethod
    def _apply_one(params: Params, states: jax.Array, joint_actions: jax.Array) -> jax.Array:
        # Dense on the concatenation [s, a] == s @ W_s + a @ W_a; computing s @ W_s once lets
        # many (out-of-distribution) actions reuse it through broadcasting.
        x = _dense(params["state"], states) + joint_actions @ params["action"]["w"]
        x = jax.nn.relu(x)
        layers = params["layers"]
        for layer in layers[:-1]:
            x = jax.nn.relu(_dense(layer, x))
        return _dense(layers[-1], x)[..., 0]

    def apply(self, params: Params, states: jax.Array, joint_actions: jax.Array) -> jax.Array:
        """Both critics' values ``(2, ...)``."""
        return jax.vmap(self._apply_one, in_axes=(0, None, None))(params, states, joint_actions)
