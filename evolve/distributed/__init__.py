"""Scoring generations on a Ray cluster (``pip install 'fooling[ray]'``).

The driver keeps the whole run (archive, random generator, variation, checkpoints) and sends
each chunk of a generation, packed small (:meth:`evolve.encodings.base.Encoding.payload`), to a
pool of Ray actors that each hold one replica of the target (:mod:`evolve.distributed.worker`);
results are put back by chunk index (:mod:`evolve.distributed.evaluator`). Starting or joining a
cluster is :mod:`evolve.distributed.cluster`. Ray is imported only inside these modules' functions,
so the rest of the project never needs it.
"""
