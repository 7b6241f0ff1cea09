/* Gradient checks of the embedding loss kernels (included in the case table of
 * test_gradcheck.c). */
