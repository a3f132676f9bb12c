"""ABC samplers on toy problems with known posteriors (the calibration's engine, without the model)."""

from __future__ import annotations

import numpy as np

from experiments.analysis.calibration.sampler import keep_closest, smc, sobol


def toy(seed: int = 0, y=(0.3, 0.7), sd=0.05, reps=4):
    """x_k ~ N(u_k, sd^2) repeated ``reps`` times; distance = |mean x - y|. Posterior ~ N(y, sd^2/reps) in the box."""
    y = np.asarray(y)

    def simulate(u: np.ndarray, block: int) -> np.ndarray:
        rng = np.random.default_rng([seed, block])
        x = u[:, None, :] + sd * rng.standard_normal((len(u), reps, u.shape[1]))
        return np.sqrt(((x.mean(axis=1) - y) ** 2).sum(axis=1))

    return simulate, y, sd / np.sqrt(reps)


def weighted_moments(pop):
    mean = pop.weights @ pop.u
    sd = np.sqrt(pop.weights @ (pop.u - mean) ** 2)
    return mean, sd


def test_smc_recovers_a_known_posterior_and_beats_rejection_at_the_same_budget():
    simulate, y, post_sd = toy()
    pop = smc(simulate, 2, population=1000, initial=8192, batch=4096, budget=60_000, seed=1)
    mean, sd = weighted_moments(pop)
    assert np.allclose(mean, y, atol=0.01)
    assert np.all(sd < 1.6 * post_sd) and np.all(sd > 0.6 * post_sd)
    assert pop.simulations <= 60_000 and len(pop.history) >= 3
    assert all(a["epsilon"] > b["epsilon"] for a, b in zip(pop.history, pop.history[1:]))
    # rejection with the same budget keeps 1,000 draws at a larger tolerance: wider than SMC
    u = sobol(2, 60_000, 1)
    idx, _, eps = keep_closest(u, simulate(u, 0), 1000)
    assert eps > pop.epsilon
    assert np.all(u[idx].std(axis=0) > sd)


def test_smc_is_deterministic_in_its_seed():
    simulate, _, _ = toy()
    a = smc(simulate, 2, population=300, initial=2048, batch=1024, budget=8000, seed=5)
    b = smc(simulate, 2, population=300, initial=2048, batch=1024, budget=8000, seed=5)
    c = smc(simulate, 2, population=300, initial=2048, batch=1024, budget=8000, seed=6)
    assert np.array_equal(a.u, b.u) and np.array_equal(a.weights, b.weights)
    assert not np.array_equal(a.u, c.u)


def test_smc_particles_stay_inside_the_prior_box():
    simulate, _, _ = toy(y=(0.001, 0.999))
    pop = smc(simulate, 2, population=500, initial=4096, batch=2048, budget=20_000, seed=2)
    assert (pop.u > 0).all() and (pop.u < 1).all()
    assert np.isclose(pop.weights.sum(), 1.0) and (pop.weights >= 0).all()
