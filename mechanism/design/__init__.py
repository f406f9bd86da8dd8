"""Mechanism design: payment rules over reported types (:mod:`.payments`, :mod:`.mechanisms`),
priors (:mod:`.priors`) and the incentive-compatibility audit (:mod:`.ic_audit`, with its
searches in :mod:`.ic_search` and its labels in :mod:`.ic_labels`)."""
