"""Benchmarks and validations of the models and the pipeline.

Each is a module run from the repository root, ``python -m benchmarks.<name>``. They import
the models and the file contracts (``spike_file``, ``posterior_file``) and run the scripts as
subprocesses, so what they measure is what the command line does; ``bench_snn`` also imports
``train_snn``, whose functions it times, and ``validate_pipeline`` its ``class_rates``.
"""
