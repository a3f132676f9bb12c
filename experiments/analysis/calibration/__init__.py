"""Approximate Bayesian computation (ABC) of the behavioural parameters against the reported counts.

Method (why: the batched model simulates thousands of parameter draws in one instance, so a
space-filling prior sample + rejection is cheap, embarrassingly parallel and exactly
reproducible; ABC-SMC (e.g. pyabc) would add a dependency and sequential rounds that cannot use
the batch as well):

1. a scrambled Sobol sample (``scipy.stats.qmc``) of the priors in ``scenarios/calibration.yaml``;
2. each chunk of draws is one runner :class:`~experiments.runner.runner.Job` with the draws as
   ``varying`` (one draw per replicate), in random-stream block (seed, chunk) so results do not
   depend on the executor (serial, pool or Dask);
3. summary statistics computed in the worker from the chunk's daily tables (``ChunkStatistics``,
   the runner's ``reduce``): the cumulative count of each target's quantity from ``since`` to the
   first and last day of its report window; only these arrays travel back;
4. a distance on interval-censored observations: each reported figure stands for an interval
   ``[obs_low, obs_high]`` ("more than N" = (N, N + tol], "at least", "about"; the tolerance comes
   from the ``observation:`` block, :class:`experiments.scenario.observed.ObservationModel`); no penalty if
   the simulated counts over the report window overlap it, else the gap / ``scale``. ``minus:``
   targets are increments between two reports (far less correlated than cumulative counts);
5. rejection (keep the closest ``accept_quantile``) and an optional local-linear regression
   adjustment (Beaumont, Zhang & Balding 2002, Genetics 162:2025) on the signed deviations, done in
   logit space of the prior box so adjusted values stay inside the priors;
6. a posterior-predictive run that gives 90 % intervals (coverage), curves for the figures and the
   Kata'ib Hezbollah suspension check (never an input to the fit).

Each module answers one question (imports run down this list, never up):

- :mod:`.statistics`: what each simulated run is summarised to, in the worker, and the distance;
- :mod:`.sampler`: the samplers on the unit cube (Sobol, ABC-SMC), knowing nothing of the model;
- :mod:`.config`: what is fitted against what (the file checked against the scenario and the data);
- :mod:`.priors`: how a draw becomes model parameters;
- :mod:`.simulate`: how draws are simulated (runner jobs, random-stream blocks);
- :mod:`.abc`: the fit (rejection + regression adjustment, or SMC) -> a posterior;
- :mod:`.predictive`: posterior-predictive runs, forecasts and the suspension check;
- :mod:`.tables`: the tidy tables of a fit;
- :mod:`.out_of_time`: the refit on what was known by a cut, scored against naive forecasts;
- :mod:`.pipeline`: the whole calibration in order (:func:`~.pipeline.calibrate`);
- :mod:`.plots`, :mod:`.write`: the figures and the files; :mod:`.doc`: docs/calibration.md's results.

The package imports nothing at import time; import from the module that answers the question.
"""
