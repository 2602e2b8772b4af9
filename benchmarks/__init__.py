"""Benchmarks and validations of the models and the pipeline.

Each is a module run from the repository root, ``python -m benchmarks.<name>``. They import
the models and the file contracts (``spike_file``, ``posterior_file``) and run the scripts as
subprocesses, so what they measure is what the command line does; ``bench_snn``,
``training_runs``, ``seeds`` and ``fresh_test_sets`` also import the scripts, for their defaults,
to run them in process or to fit as they fit. The modules run by none of those commands
(``hawkes_mle``, ``hawkes_scores``, ``hawkes_truths``, ``loglik_references``, ``mcmc_efficiency``,
``hawkes_jax``, ``report``) hold the parts of a benchmark that are an idea of their own: an
independent reference, the scoring, the simulated truths, the jax model.
"""
