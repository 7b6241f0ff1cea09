/* Gradient checks of the ctc loss kernels (included in the case table of
 * test_gradcheck.c). */
