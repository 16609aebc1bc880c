"""Emitters: what makes each generation's children (pyribs' ask/tell), and the optimisers they
drive (:mod:`evolve.emitters.cma_es`: many small CMA-ES instances stepped in one call)."""
