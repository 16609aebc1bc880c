"""Gradient attacks: fooling images by gradient ascent, and targeted PGD / FGSM from real images.

They write run directories in ``fooling evolve``'s format, so the gallery, plots and transfer
study read them unchanged.
"""
