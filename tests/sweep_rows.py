"""Seed-sweep rows as ``benchmarks.seeds.run_seed`` returns them, for the table and record tests."""


def sweep_row(seed, train_accuracy, test_accuracy, groups, train_seconds=10.0):
    """One seed's row: ``groups`` maps a group's name to (AUC observable, AUC all, KS, trials).

    Trained once, every group converged, 20 s of fitting.
    """
    return {
        "seed": seed,
        "train_accuracy": train_accuracy,
        "test_accuracy": test_accuracy,
        "trainings": 1,
        "auc_observable": {name: g[0] for name, g in groups.items()},
        "auc_all": {name: g[1] for name, g in groups.items()},
        "ks": {name: g[2] for name, g in groups.items()},
        "trials": {name: g[3] for name, g in groups.items()},
        "converged": len(groups),
        "groups": len(groups),
        "train_seconds": train_seconds,
        "fit_seconds": 20.0,
    }
