/* tc_step_bench --serve: the compiled step driven one burst at a time over a
 * pipe, so bench/run.py can interleave trainc's steps with PyTorch's and
 * machine noise falls on both (step_serve.c). */
#ifndef STEP_SERVE_H
#define STEP_SERVE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tc_step.h"

/* The learning rate of every benchmarked step (bench/run.py gives PyTorch
 * the same). */
#define STEP_BENCH_LR 1e-4

/* Fills hyper (room for TC_STEP_HYPER_LR + 2 * s->ngroups doubles) for
 * training step number `step`, counting from 1. */
void step_serve_hyper(const tc_step *s, double *hyper, int64_t step);

/* Removes the flag `name` from argv (shifting the rest down) and says
 * whether it was there, so the positional arguments parse as before. */
bool step_serve_take_flag(int *argc, char **argv, const char *name);

/* Prints {"ready": ..., "compile_s", "arena_bytes"} on `out`, then answers
 * each line of `in`: "step K" runs K training steps on the batch and prints
 * one line of K "WALL,CPU" pairs, each step's milliseconds of wall-clock and
 * of the process's CPU time (all threads); "quit" (or end of input) returns.
 * Returns
 * 0, or the tc_status of a failed step (reported on stderr). */
int step_serve(const tc_step *s, uint8_t *arena, const void *const *inputs,
               void *const *outputs, int64_t batch, double compile_s, FILE *in, FILE *out);

#endif
