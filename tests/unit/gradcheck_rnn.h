/* Gradient checks of RNN, GRU and LSTM (included in the case table of
 * test_gradcheck.c): T = 3 steps, batch 2, input size 3, hidden size 2;
 * each direction, both layouts, sequence_lens shorter than T (entry 1 runs
 * one step), initial states, biases, peepholes, GRU's two reset placements,
 * LSTM's input_forget and clip, non-default activations, and losses fed by
 * Y, Y_h, Y_c in turn (feed bits), so every path of backpropagation through
 * time is differentiated. Inputs: X, W, R, B, sequence_lens, initial_h
 * (, initial_c, P). */
CASE_FEED(RNN, 2, 3, "Y and Y_h", "hidden_size=2", P("3x2x3", R_ANY), P("1x2x3", R_ANY),
          P("1x2x2", R_ANY), P("1x4", R_ANY), NONE, P("1x2x2", R_ANY)),
CASE_FEED(RNN, 2, 3, "bidirectional, sequence_lens", "hidden_size=2 direction=bidirectional",
          P("3x2x3", R_ANY), P("2x2x3", R_ANY), P("2x2x2", R_ANY), P("2x4", R_ANY),
          I32("2", 3, 1), P("2x2x2", R_ANY)),
CASE_FEED(RNN, 2, 2, "reverse, layout 1, Y_h only", "hidden_size=2 direction=reverse layout=1",
          P("2x3x3", R_ANY), P("1x2x3", R_ANY), P("1x2x2", R_ANY), NONE, I32("2", 2, 3),
          P("2x1x2", R_ANY)),
CASE_FEED(RNN, 2, 3, "activations", "hidden_size=2 direction=bidirectional "
          "activations=<ScaledTanh,Softsign> activation_alpha={0.8} activation_beta={1.3}",
          P("3x2x3", R_ANY), P("2x2x3", R_ANY), P("2x2x2", R_ANY), P("2x4", R_ANY)),
CASE_FEED(RNN, 2, 1, "activations", "hidden_size=2 activations=<Softplus>", P("3x2x3", R_ANY),
          P("1x2x3", R_ANY), P("1x2x2", R_ANY)),
CASE_FEED(RNN, 2, 1, "activations", "hidden_size=2 activations=<Elu> activation_alpha={0.7}",
          P("3x2x3", R_KINK), P("1x2x3", R_ANY), P("1x2x2", R_ANY)),
CASE_FEED(RNN, 2, 1, "activations", "hidden_size=2 activations=<Affine> "
          "activation_alpha={0.7} activation_beta={0.2}", P("3x2x3", R_ANY), P("1x2x3", R_ANY),
          P("1x2x2", R_ANY)),

CASE_FEED(GRU, 2, 3, "Y and Y_h", "hidden_size=2", P("3x2x3", R_ANY), P("1x6x3", R_ANY),
          P("1x6x2", R_ANY), P("1x12", R_ANY), NONE, P("1x2x2", R_ANY)),
CASE_FEED(GRU, 2, 3, "linear_before_reset", "hidden_size=2 linear_before_reset=1",
          P("3x2x3", R_ANY), P("1x6x3", R_ANY), P("1x6x2", R_ANY), P("1x12", R_ANY), NONE,
          P("1x2x2", R_ANY)),
CASE_FEED(GRU, 2, 3, "bidirectional, sequence_lens, linear_before_reset",
          "hidden_size=2 direction=bidirectional linear_before_reset=1", P("3x2x3", R_ANY),
          P("2x6x3", R_ANY), P("2x6x2", R_ANY), P("2x12", R_ANY), I32("2", 3, 1),
          P("2x2x2", R_ANY)),
CASE_FEED(GRU, 2, 3, "bidirectional, layout 1, sequence_lens",
          "hidden_size=2 direction=bidirectional layout=1", P("2x3x3", R_ANY),
          P("2x6x3", R_ANY), P("2x6x2", R_ANY), P("2x12", R_ANY), I32("2", 1, 3),
          P("2x2x2", R_ANY)),
CASE_FEED(GRU, 2, 2, "reverse, Y_h only", "hidden_size=2 direction=reverse", P("3x2x3", R_ANY),
          P("1x6x3", R_ANY), P("1x6x2", R_ANY), P("1x12", R_ANY), I32("2", 2, 3)),
CASE_FEED(GRU, 2, 1, "activations", "hidden_size=2 activations=<HardSigmoid,Softsign> "
          "activation_alpha={0.3} activation_beta={0.45}", P("3x2x3", R_ANY), P("1x6x3", R_ANY),
          P("1x6x2", R_ANY)),

CASE_FEED(LSTM, 3, 7, "Y, Y_h, Y_c, peepholes", "hidden_size=2", P("3x2x3", R_ANY),
          P("1x8x3", R_ANY), P("1x8x2", R_ANY), P("1x16", R_ANY), NONE, P("1x2x2", R_ANY),
          P("1x2x2", R_ANY), P("1x6", R_ANY)),
CASE_FEED(LSTM, 3, 7, "bidirectional, layout 1, sequence_lens, peepholes",
          "hidden_size=2 direction=bidirectional layout=1", P("2x3x3", R_ANY),
          P("2x8x3", R_ANY), P("2x8x2", R_ANY), P("2x16", R_ANY), I32("2", 3, 1),
          P("2x2x2", R_ANY), P("2x2x2", R_ANY), P("2x6", R_ANY)),
CASE_FEED(LSTM, 3, 4, "reverse, input_forget, Y_c only",
          "hidden_size=2 direction=reverse input_forget=1", P("3x2x3", R_ANY),
          P("1x8x3", R_ANY), P("1x8x2", R_ANY), P("1x16", R_ANY), I32("2", 1, 3),
          P("1x2x2", R_ANY), P("1x2x2", R_ANY), P("1x6", R_ANY)),
CASE_FEED(LSTM, 3, 3, "clip, activations",
          "hidden_size=2 clip=0.6 activations=<Sigmoid,Softsign,ScaledTanh> "
          "activation_alpha={1.2} activation_beta={0.9}", P("3x2x3", R_ANY),
          P("1x8x3", R_ANY), P("1x8x2", R_ANY), P("1x16", R_ANY)),
