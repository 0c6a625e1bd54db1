"""The NumPy lesson code of 01-04: k-nearest neighbours, linear classifiers and losses, convolution by hand."""
