/* Gradient checks of the class loss kernels (included in the case table of
 * test_gradcheck.c). */
