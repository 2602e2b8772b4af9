"""Benchmarks and validations of the models and the pipeline.

Each is a module run from the repository root, ``python -m benchmarks.<name>``. They import
the models and the file contracts (``spike_file``, ``posterior_file``) and run the scripts as
subprocesses, so what they measure is what the command line does; ``bench_snn``,
``training_runs`` and ``seeds`` also import the scripts, for their defaults or to run them in
process.
"""
