/* Fused CPU kernels of the scan core (loaded by zoo/ops/fused/__init__.py through ctypes).
 *
 * Why C and not eager PyTorch: the chunked backend spends its time in memory passes over
 * (chunk, dim, dstate) temporaries. Here each thread walks whole sequences with the state of one
 * (batch, channel) row (selective scan) or (batch, head) row (SSD) held in a small buffer that stays
 * in L1, so the only memory traffic is reading the inputs and writing the outputs.
 *
 * The forward keeps the state entering every block of K tokens (the checkpoints); the backward walks
 * the blocks in reverse, recomputes one block's states and decays from its checkpoint into a buffer of
 * K + 1 states, and runs the adjoint recurrence g_t = C_t dy_t + a_{t+1} g_{t+1} through it.
 *
 * Python splits the rows (or tasks) among threads, calling one function per range; a function
 * never shares an output element with another range, so no locks or atomics are needed.
 * The same kernels are compiled for float and double from kernels_body.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int64_t i64;

/* exp(min(x, 0)), written out so the compiler can vectorise it (a libm call would not be):
 * x = k ln2 + r with |r| <= ln2 / 2, exp(r) by its Taylor polynomial, 2^k by the exponent bits.
 * Each select is written so that it compiles to one min or max and a NaN stays NaN. An argument below
 * the smallest normal result is raised to it: the result is then that tiny number instead of 0. */
static inline float decay_f32(float x) {
    x = 0.0f < x ? 0.0f : x;
    x = -87.0f > x ? -87.0f : x;
    float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  /* round to nearest: 1.5 * 2^23 */
    float r = (x - k * 0.693359375f) + k * 2.12194440e-4f;  /* ln2 split in two for an exact k ln2 */
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union { float f; int32_t i; } two_k;
    two_k.i = ((int32_t)k + 127) << 23;
    return p * two_k.f;
}

static inline double decay_f64(double x) {
    x = 0.0 < x ? 0.0 : x;
    x = -708.0 > x ? -708.0 : x;
    double k = (x * 1.4426950408889634 + 6755399441055744.0) - 6755399441055744.0;  /* 1.5 * 2^52 */
    double r = (x - k * 0.6931471803691238) - k * 1.9082149292705877e-10;
    double p = 1.0 / 6227020800.0;  /* Horner from 1/13! down to 1/0! */
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    union { double f; int64_t i; } two_k;
    two_k.i = ((int64_t)k + 1023) << 52;
    return p * two_k.f;
}

/* Runs `call` with N_ a compile-time constant for the common state sizes, so their loops unroll. */
#define SPECIALISE(N, call)                                  \
    switch (N) {                                             \
    case 16: { const i64 N_ = 16; call; } break;             \
    case 8: { const i64 N_ = 8; call; } break;               \
    case 4: { const i64 N_ = 4; call; } break;               \
    case 1: { const i64 N_ = 1; call; } break;               \
    default: { const i64 N_ = N; call; }                     \
    }

#define REAL float
#define SFX(name) name##_f32
#define DECAY decay_f32
#include "kernels_body.h"
#undef REAL
#undef SFX
#undef DECAY

#define REAL double
#define SFX(name) name##_f64
#define DECAY decay_f64
#include "kernels_body.h"
