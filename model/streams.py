"""Every random-stream key of the project in one table, so no two purposes can share a stream by accident.

All streams derive from the scenario's ``seed`` through numpy's ``SeedSequence``. A model block b
spawns one child per :class:`ModelStream` from ``SeedSequence(seed, spawn_key=(b,))`` (child i has
key ``(b, i)``). The :class:`StreamKey` values are spawn-key entries (or block offsets) placed far from
any block number a run reaches, for draws made outside the model. The values are part of the results:
changing one changes every table drawn from it.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class ModelStream(IntEnum):
    """A model block's generators, by purpose (the value is the child's index in the block's spawn).

    ``ATTACKS`` draws a fixed number of uniforms a day (one per group and replicate), so attack counts
    stay paired across policies (common random numbers).
    """

    US = 0
    IRAN = 1
    HARM = 2
    STRIKES = 3
    ATTACKS = 4
    TARGETS = 5
    SUSPENSIONS = 6
    # the Houthi actor's draws (model/actors/houthis.py); added at the end, so children 0-6 are unchanged
    HOUTHIS = 7
    # the militias' umbrella-wide mobilisation level (model/actors/militias.py): one normal per replicate a
    # day, drawn only when a group's mobilisation_volatility > 0; added at the end, so children 0-7 are unchanged
    MOBILISATION = 8


class StreamKey(IntEnum):
    """Keys of the draws made outside a model block."""

    POSTERIOR = 1_000_003  # second spawn-key entry (block, POSTERIOR): resampling posterior draws for a block
    DESIGN = 2_000_003  # spawn key (DESIGN,): sweep designs and compare's uniform uncertainty draws
    PREDICTIVE = 999_983  # block offset of posterior-predictive runs (apart from the prior chunks)
    OUT_OF_TIME = 5_000_011  # block offset of the out-of-time refit (apart from the main fit's blocks)
    ABC = 7_777_777  # spawn key (ABC,): the ABC-SMC sampler's own draws
    ROLLING = 11_000_027  # block offset of the rolling-origin forecasts (+ 100 x the origin's day; apart from the above)


def block_generators(seed: int, block: int) -> dict[ModelStream, np.random.Generator]:
    """One generator per :class:`ModelStream` for block ``block`` of a run.

    The block index is part of the spawn key, so block b of a run is the same stream whichever
    process, pool or cluster runs it.
    """
    root = np.random.SeedSequence(entropy=seed, spawn_key=(int(block),))
    return {s: np.random.Generator(np.random.PCG64(child)) for s, child in zip(ModelStream, root.spawn(len(ModelStream)))}


def keyed_generator(seed: int, *key: int) -> np.random.Generator:
    """The generator of ``SeedSequence(seed, spawn_key=key)`` (a :class:`StreamKey` entry in the key)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=seed, spawn_key=tuple(int(k) for k in key))))
