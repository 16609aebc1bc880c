"""CPPN genomes (neat-python 2.0), the paper's activation set, compilation and renderers."""
