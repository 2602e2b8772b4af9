"""The test-trial groups a Hawkes fit is made on, and what each group is fitted with.

``group_test_trials`` indexes the spike file's test trials by true class and by whether the
network classified them correctly ("sine_correct", "cosine_correct", "sine_wrong",
"cosine_wrong"); ``select_trials`` keeps the groups with enough trials, each cut to the
trial and spike budgets. When the input layer is taken to be driven by the stimulus alone, a
group is fitted with a relative background that follows the stimulus
(``stimulus_background``, each group's under ``--background``: ``group_backgrounds``) and with
the input rows of alpha fixed at 0 (``exogenous_input_mask``).

Its own module because what a group is fitted on is read from the spike file's arrays alone,
apart from how it is fitted: numpy only, no model, sampler or command line.
"""

import numpy as np

OUTCOMES = ("correct", "wrong")


def group_test_trials(labels, predictions, split, class_names):
    """Index the test trials by true class and by correct/wrong prediction.

    Parameters
    ----------
    labels, predictions : ndarray of int, shape (n_trials,)
        True and predicted class indices into ``class_names``.
    split : ndarray of str, shape (n_trials,)
        ``"train"`` or ``"test"``; only test trials are grouped.
    class_names : sequence of str

    Returns
    -------
    dict
        ``"<class>_<correct|wrong>"`` -> int64 array of trial indices, ordered as
        all classes' correct groups, then all classes' wrong groups; empty groups left out.
    """
    labels = np.asarray(labels)
    is_test = np.asarray(split) == "test"
    is_correct = np.asarray(predictions) == labels
    groups = {}
    for outcome in OUTCOMES:
        for label, name in enumerate(class_names):
            members = is_test & (labels == label) & (is_correct == (outcome == "correct"))
            if members.any():
                groups[f"{name}_{outcome}"] = np.flatnonzero(members)
    return groups


def cut_leads(names):
    """Each wrong group whose class's correct group is among ``names`` -> that correct group.

    Under ``fit_hawkes_process.py --partial-pooling cut`` (the default) the wrong group's alphas
    take their prior means from that correct group's posterior (``group_fits.cut_prior``).

    >>> cut_leads(["sine_correct", "cosine_correct", "sine_wrong", "cosine_wrong", "noise_wrong"])
    {'sine_wrong': 'sine_correct', 'cosine_wrong': 'cosine_correct'}
    """
    return {
        name: f"{name[: -len('_wrong')]}_correct"
        for name in names
        if name.endswith("_wrong") and f"{name[: -len('_wrong')]}_correct" in names
    }


def select_trials(groups, spike_counts, min_trials, max_spikes, max_trials=0):
    """Keep the groups with enough trials, each cut to its first trials within the budgets.

    The sampler's cost grows linearly with the number of spikes, so a spike budget bounds the
    run time whatever the network's firing rates. The test trials are independent random
    draws, so a group's first trials are a random sample of it. Both budgets are off by default.

    Parameters
    ----------
    groups : dict
        Group name -> trial indices, as from ``group_test_trials``.
    spike_counts : ndarray of int, shape (n_trials,)
        Spikes of each trial of the spike file, all neurons together.
    min_trials : int
        Groups with fewer trials are skipped.
    max_spikes : int
        Each group keeps its longest run of first trials whose spikes total at most this
        (at least one trial); 0: no limit.
    max_trials : int
        Each group keeps at most this many first trials; 0: no limit.

    Returns
    -------
    selected : dict
        Group name -> the trial indices to fit.
    skipped : list of str
        Names of the groups with fewer than ``min_trials`` trials.
    """
    selected = {}
    for name, trials in groups.items():
        if len(trials) < min_trials:
            continue
        if max_trials > 0:
            trials = trials[:max_trials]
        if max_spikes > 0:
            within = np.searchsorted(np.cumsum(spike_counts[trials]), max_spikes, side="right")
            trials = trials[: max(int(within), 1)]
        selected[name] = trials
    return selected, [name for name in groups if name not in selected]


def stimulus_background(spikes, labels, split, trials, stimulus_neurons):
    """Relative background of one group: the stimulus neurons follow their training PSTH.

    The input layer fires at a rate set by the stimulus, locked to the trial's onset (the
    sine or the cosine); a constant Hawkes background cannot follow that rhythm, and the fit
    then explains it by excitation from the neurons that follow the input (the strongest
    false edges of the plain model). The stimulus neurons' background is therefore their
    peri-stimulus time histogram over the *training* trials of the group's class (the same
    stimulus, trials the fit does not use), read as an intensity, ``-log(1 - p)`` per step for
    a spike probability ``p`` (as in the discrete likelihood), normalised to mean 1, so ``mu``
    stays their mean background rate; every other neuron keeps a constant background. A
    class without training trials gets a constant background (the estimate is 1/2 at every
    step).

    Parameters
    ----------
    spikes : ndarray of bool, shape (n_trials, n_neurons, n_steps)
    labels : ndarray of int, shape (n_trials,)
    split : ndarray of str, shape (n_trials,)
    trials : ndarray of int, shape (n,)
        The group's trials (all of one class).
    stimulus_neurons : ndarray of int, shape (k,)
        Neurons driven by the stimulus (the input layer).

    Returns
    -------
    ndarray, shape (n_neurons, n_steps)
        Relative background, > 0, mean 1 per row; ones outside ``stimulus_neurons``.
    """
    same_class = (np.asarray(split) == "train") & (np.asarray(labels) == labels[trials[0]])
    counts = spikes[same_class][:, stimulus_neurons].sum(axis=0)  # (k, n_steps)
    # Jeffreys' estimate (count + 1/2) / (n + 1) lies strictly inside (0, 1): the intensity
    # is finite and no step is impossible.
    intensity = -np.log1p(-(counts + 0.5) / (same_class.sum() + 1.0))  # (k, n_steps) per step
    background = np.ones(spikes.shape[1:])
    background[stimulus_neurons] = intensity / intensity.mean(axis=1, keepdims=True)
    return background


def group_backgrounds(spike_data, groups, background):
    """Each group's relative background under ``--background``.

    Parameters
    ----------
    spike_data : dict
        The spike file, as from ``spike_file.load_spike_trains``.
    groups : dict
        Group name -> its trial indices (all of one class).
    background : str
        ``"stimulus"`` or ``"constant"``.

    Returns
    -------
    dict
        Group name -> ``stimulus_background`` (D, n_steps) of its trials; empty for
        ``"constant"`` (``group_fits.fit_groups`` then fits a constant background).
    """
    if background != "stimulus":
        return {}
    stimulus_neurons = np.arange(spike_data["layer_sizes"]["input"])
    return {
        name: stimulus_background(
            spike_data["spikes"], spike_data["labels"], spike_data["split"], trials, stimulus_neurons
        )
        for name, trials in groups.items()
    }


def exogenous_input_mask(layer_sizes):
    """Mask of the fitted alphas when the input layer is driven by the stimulus alone.

    The input neurons' spikes are drawn from the stimulus (Bernoulli at the class's rate): no
    neuron of the network projects onto them. Their rows of alpha are therefore fixed at 0 and
    only their (stimulus) background is fitted; left free, those rows are weakly identified
    (the input fires in half of all steps) and hold false edges at about the prior's scale.

    Parameters
    ----------
    layer_sizes : dict
        Layer name -> size, in neuron order; the first layer is the input.

    Returns
    -------
    ndarray of bool, shape (n_neurons, n_neurons)
        ``[target, source]``; False on the input neurons' rows.
    """
    n_neurons = sum(layer_sizes.values())
    free = np.ones((n_neurons, n_neurons), dtype=bool)
    free[: next(iter(layer_sizes.values()))] = False
    return free


def lif_dead_steps(layer_sizes, lif, dt):
    """Dead steps after each spike: the LIF neurons' refractory steps, 0 for the input layer's.

    A LIF neuron discards its input for ``n_ref = round(tau_ref / dt)`` steps after each of its
    spikes (``spiking_network.LIFParams.refractory_steps``); the input neurons' Bernoulli
    spikes have no refractory period.

    Parameters
    ----------
    layer_sizes : dict
        Layer name -> size, in neuron order; the first layer is the input.
    lif : dict
        The spike file's LIF parameters; ``tau_ref`` in s.
    dt : float
        Seconds per step.

    Returns
    -------
    ndarray of int64, shape (n_neurons,)

    Raises
    ------
    ValueError
        Without a finite ``tau_ref >= 0``.
    """
    tau_ref = lif.get("tau_ref") if isinstance(lif, dict) else None
    if isinstance(tau_ref, bool) or not isinstance(tau_ref, (int, float)) or not 0 <= tau_ref < np.inf:
        raise ValueError(f"the spike file's LIF parameters hold no valid tau_ref (got {tau_ref!r})")
    dead = np.full(sum(layer_sizes.values()), round(tau_ref / dt), dtype=np.int64)
    dead[: next(iter(layer_sizes.values()))] = 0
    return dead


def neurons_firing_inside_dead_steps(spikes, dead):
    """Neurons that spike within ``dead`` steps after one of their own spikes in some trial.

    Parameters
    ----------
    spikes : ndarray of bool, shape (n_trials, n_neurons, n_steps)
    dead : ndarray of int, shape (n_neurons,)

    Returns
    -------
    ndarray of int: the neurons' indices (empty: the spike trains fit the dead steps).
    """
    close = np.zeros(spikes.shape[1], dtype=bool)
    for lag in range(1, int(dead.max(initial=0)) + 1):  # one vectorised test per lag
        close |= (dead >= lag) & (spikes[:, :, lag:] & spikes[:, :, :-lag]).any(axis=(0, 2))
    return np.flatnonzero(close)
