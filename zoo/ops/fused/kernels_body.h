/* The kernels for one floating type: included by kernels.c with REAL, SFX and DECAY defined.
 * All arrays are contiguous; the layouts are in the comments of each function. */

/* Selective scan, one row r = (batch b, channel d): its state h (N values) walks the sequence.
 * Always inlined into ss_fwd with N a constant where it is a common dstate, so the inner loop unrolls. */
static inline __attribute__((always_inline)) void SFX(ss_fwd_row)(
        const REAL *ur, const REAL *dr, const REAL *Ad, const REAL *Bg, const REAL *Cg,
        REAL *h, REAL *yr, REAL *ck, i64 L, const i64 N, i64 K, i64 st) {
    for (i64 s = 0; s < L; s += K) {
        memcpy(ck, h, N * sizeof(REAL));  /* the state entering each block of K tokens */
        ck += N;
        for (i64 t = s; t < (s + K < L ? s + K : L); t++) {
            REAL dv = dr[t], x = dv * ur[t], acc = 0;
            const REAL *Bt = Bg + t * st, *Ct = Cg + t * st;
#pragma omp simd reduction(+ : acc)
            for (i64 n = 0; n < N; n++) {
                REAL hn = DECAY(dv * Ad[n]) * h[n] + x * Bt[n];
                h[n] = hn;
                acc += Ct[n] * hn;
            }
            yr[t] = acc;
        }
    }
}

/* Selective scan. Rows r = (batch b, channel d) in [row0, row1).
 * u, dt, y: (batch, dim, L); A: (dim, N); h0, last: (batch, dim, N), h0 may be NULL;
 * ckpt: (batch, dim, ceil(L / K), N). B and C: entry n of token t of group g of batch row b is at
 * b * sb + g * sg + t * st + n. Time-major (batch, groups, L, N) has sb = groups L N, sg = L N, st = N;
 * time-invariant (dim, N), one group per channel, has sb = st = 0, sg = N. */
void SFX(ss_fwd)(const REAL *u, const REAL *dt, const REAL *A, const REAL *B, const REAL *C,
                 const REAL *h0, REAL *y, REAL *last, REAL *ckpt,
                 i64 dim, i64 groups, i64 L, i64 N, i64 K, i64 sb, i64 sg, i64 st, i64 row0, i64 row1) {
    i64 per = dim / groups, nck = (L + K - 1) / K;
    REAL *h = malloc(N * sizeof(REAL));
    for (i64 r = row0; r < row1; r++) {
        i64 b = r / dim, d = r % dim, at = b * sb + d / per * sg;
        const REAL *ur = u + r * L, *dr = dt + r * L, *Ad = A + d * N;
        const REAL *Bg = B + at, *Cg = C + at;
        REAL *yr = y + r * L, *ck = ckpt + r * nck * N;
        if (h0) memcpy(h, h0 + r * N, N * sizeof(REAL));
        else memset(h, 0, N * sizeof(REAL));
        SPECIALISE(N, SFX(ss_fwd_row)(ur, dr, Ad, Bg, Cg, h, yr, ck, L, N_, K, st));
        memcpy(last + r * N, h, N * sizeof(REAL));
    }
    free(h);
}

/* Backward of ss_fwd, B and C as there. Tasks q = (batch b, group g, block k of the group's channels) in
 * [task0, task1), nb blocks per group. dy: (batch, dim, L); dlast: (batch, dim, N) or NULL.
 * Writes du, ddt: (batch, dim, L); dA, dh0: (batch, dim, N) (dA per batch row: the caller sums);
 * dB, dC: (batch, groups, nb, L, N), one slice per task (the caller sums over nb), or (batch, groups, nb, 1, N)
 * for time-invariant B and C (st = 0: the slice sums over time too; the caller sums over batch). */
void SFX(ss_bwd)(const REAL *u, const REAL *dt, const REAL *A, const REAL *B, const REAL *C,
                 const REAL *ckpt, const REAL *dy, const REAL *dlast,
                 REAL *du, REAL *ddt, REAL *dA, REAL *dB, REAL *dC, REAL *dh0,
                 i64 dim, i64 groups, i64 L, i64 N, i64 K, i64 sb, i64 sg, i64 st, i64 nb, i64 task0, i64 task1) {
    i64 per = dim / groups, nck = (L + K - 1) / K, slice = (st ? L : 1) * N;
    REAL *hs = malloc((K + 1) * N * sizeof(REAL)), *as = malloc(K * N * sizeof(REAL));
    REAL *g = malloc(N * sizeof(REAL)), *dAr = malloc(N * sizeof(REAL));
    for (i64 q = task0; q < task1; q++) {
        i64 bg = q / nb, k = q % nb, b = bg / groups, first = (bg % groups) * per, at = b * sb + bg % groups * sg;
        const REAL *Bg = B + at, *Cg = C + at;
        REAL *dBq = dB + q * slice, *dCq = dC + q * slice;
        memset(dBq, 0, slice * sizeof(REAL));
        memset(dCq, 0, slice * sizeof(REAL));
        for (i64 d = first + k * per / nb; d < first + (k + 1) * per / nb; d++) {
            i64 r = b * dim + d;
            const REAL *ur = u + r * L, *dr = dt + r * L, *dyr = dy + r * L, *Ad = A + d * N;
            if (dlast) memcpy(g, dlast + r * N, N * sizeof(REAL));
            else memset(g, 0, N * sizeof(REAL));
            memset(dAr, 0, N * sizeof(REAL));
            for (i64 c = nck - 1; c >= 0; c--) {
                i64 s = c * K, len = (s + K < L ? s + K : L) - s;
                memcpy(hs, ckpt + (r * nck + c) * N, N * sizeof(REAL));
                for (i64 j = 0; j < len; j++) {
                    REAL dv = dr[s + j], x = dv * ur[s + j];
                    const REAL *Bt = Bg + (s + j) * st;
                    REAL *a = as + j * N, *hp = hs + j * N, *hn = hs + (j + 1) * N;
#pragma omp simd
                    for (i64 n = 0; n < N; n++) {
                        a[n] = DECAY(dv * Ad[n]);
                        hn[n] = a[n] * hp[n] + x * Bt[n];
                    }
                }
                for (i64 j = len - 1; j >= 0; j--) {
                    i64 t = s + j;
                    REAL dv = dr[t], uv = ur[t], x = dv * uv, dyt = dyr[t], sum_gB = 0, sum_dexpA = 0;
                    const REAL *Bt = Bg + t * st, *Ct = Cg + t * st, *a = as + j * N;
                    const REAL *hp = hs + j * N, *hn = hs + (j + 1) * N;
                    REAL *dBt = dBq + t * st, *dCt = dCq + t * st;
#pragma omp simd reduction(+ : sum_gB, sum_dexpA)
                    for (i64 n = 0; n < N; n++) {
                        REAL gn = g[n] + Ct[n] * dyt;                            /* dL/dh_t */
                        REAL dexp = dv * Ad[n] > 0 ? 0 : gn * hp[n] * a[n];      /* the clamp passes none */
                        dCt[n] += hn[n] * dyt;
                        dBt[n] += gn * x;
                        dAr[n] += dexp * dv;
                        sum_dexpA += dexp * Ad[n];
                        sum_gB += gn * Bt[n];
                        g[n] = gn * a[n];
                    }
                    ddt[r * L + t] = sum_dexpA + uv * sum_gB;
                    du[r * L + t] = dv * sum_gB;
                }
            }
            memcpy(dh0 + r * N, g, N * sizeof(REAL));
            memcpy(dA + r * N, dAr, N * sizeof(REAL));
        }
    }
    free(hs); free(as); free(g); free(dAr);
}

/* SSD (Mamba-2). Rows r = (batch b, head h) in [row0, row1); head h reads group h / (heads / groups).
 * x, y: (batch, L, heads, P); dt: (batch, L, heads); A: (heads,); B, C: (batch, L, groups, N);
 * D: (heads, P) or NULL, the skip term y_t += D x_t, fused here to save two passes over x and y;
 * h0, last: (batch, heads, N, P), h0 may be NULL; ckpt: (batch, heads, ceil(L / K), N, P).
 * The state is kept as (N, P), transposed from the API's (P, N), so every inner loop runs over the P
 * contiguous channels of a head with no horizontal sum in the forward. */
void SFX(ssd_fwd)(const REAL *x, const REAL *dt, const REAL *A, const REAL *B, const REAL *C, const REAL *D,
                  const REAL *h0, REAL *y, REAL *last, REAL *ckpt,
                  i64 heads, i64 groups, i64 L, i64 P, i64 N, i64 K, i64 row0, i64 row1) {
    i64 per = heads / groups, nck = (L + K - 1) / K, S = P * N;
    REAL *h = malloc(S * sizeof(REAL)), *xv = malloc(P * sizeof(REAL)), *Dz = calloc(P, sizeof(REAL));
    for (i64 r = row0; r < row1; r++) {
        i64 b = r / heads, hd = r % heads, gr = hd / per;
        const REAL *Dh = D ? D + hd * P : Dz;
        REAL *ck = ckpt + r * nck * S;
        if (h0) memcpy(h, h0 + r * S, S * sizeof(REAL));
        else memset(h, 0, S * sizeof(REAL));
        for (i64 t = 0, next = 0; t < L; t++) {
            if (t == next) {  /* a checkpoint every K tokens, without a division per token */
                memcpy(ck, h, S * sizeof(REAL));
                ck += S;
                next += K;
            }
            i64 bt = b * L + t;
            REAL dv = dt[bt * heads + hd], a = DECAY(dv * A[hd]);
            const REAL *xt = x + (bt * heads + hd) * P, *Bt = B + (bt * groups + gr) * N, *Ct = C + (bt * groups + gr) * N;
            REAL *yt = y + (bt * heads + hd) * P;
#pragma omp simd
            for (i64 p = 0; p < P; p++) {
                xv[p] = dv * xt[p];
                yt[p] = Dh[p] * xt[p];
            }
            for (i64 n = 0; n < N; n++) {
                REAL Bn = Bt[n], Cn = Ct[n], *hn = h + n * P;
#pragma omp simd
                for (i64 p = 0; p < P; p++) {
                    hn[p] = a * hn[p] + xv[p] * Bn;
                    yt[p] += Cn * hn[p];
                }
            }
        }
        memcpy(last + r * S, h, S * sizeof(REAL));
    }
    free(h); free(xv); free(Dz);
}

/* Backward of ssd_fwd, rows as there. dy: (batch, L, heads, P); dlast: (batch, heads, N, P) or NULL.
 * Writes dx: (batch, L, heads, P); ddt: (batch, L, heads); dA: (batch, heads) (the caller sums over
 * batch); dB, dC: (batch, L, heads, N), per head (the caller sums over a group's heads); dh0 like h0;
 * dD: (batch, heads, P) where D is given (the caller sums over batch). */
void SFX(ssd_bwd)(const REAL *x, const REAL *dt, const REAL *A, const REAL *B, const REAL *C, const REAL *D,
                  const REAL *ckpt, const REAL *dy, const REAL *dlast,
                  REAL *dx, REAL *ddt, REAL *dA, REAL *dB, REAL *dC, REAL *dh0, REAL *dD,
                  i64 heads, i64 groups, i64 L, i64 P, i64 N, i64 K, i64 row0, i64 row1) {
    i64 per = heads / groups, nck = (L + K - 1) / K, S = P * N;
    REAL *hs = malloc((K + 1) * S * sizeof(REAL)), *as = malloc(K * sizeof(REAL)), *g = malloc(S * sizeof(REAL));
    REAL *xv = malloc(P * sizeof(REAL)), *gB = malloc(P * sizeof(REAL));
    REAL *Dz = calloc(P, sizeof(REAL)), *dDr = malloc(P * sizeof(REAL));
    for (i64 r = row0; r < row1; r++) {
        i64 b = r / heads, hd = r % heads, gr = hd / per;
        const REAL *Dh = D ? D + hd * P : Dz;
        REAL Ah = A[hd], dAr = 0;
        memset(dDr, 0, P * sizeof(REAL));
        if (dlast) memcpy(g, dlast + r * S, S * sizeof(REAL));
        else memset(g, 0, S * sizeof(REAL));
        for (i64 c = nck - 1; c >= 0; c--) {
            i64 s = c * K, len = (s + K < L ? s + K : L) - s;
            memcpy(hs, ckpt + (r * nck + c) * S, S * sizeof(REAL));
            for (i64 j = 0; j < len; j++) {  /* the block's states again, from its checkpoint */
                i64 bt = b * L + s + j;
                REAL dv = dt[bt * heads + hd], a = DECAY(dv * Ah);
                const REAL *xt = x + (bt * heads + hd) * P, *Bt = B + (bt * groups + gr) * N;
                as[j] = a;
                for (i64 n = 0; n < N; n++) {
                    REAL Bn = dv * Bt[n], *hp = hs + j * S + n * P, *hn = hp + S;
#pragma omp simd
                    for (i64 p = 0; p < P; p++) hn[p] = a * hp[p] + xt[p] * Bn;
                }
            }
            for (i64 j = len - 1; j >= 0; j--) {
                i64 bt = b * L + s + j, row = bt * heads + hd;
                REAL dv = dt[row], a = as[j], gh = 0, ddt_x = 0;
                const REAL *xt = x + row * P, *dyt = dy + row * P;
                const REAL *Bt = B + (bt * groups + gr) * N, *Ct = C + (bt * groups + gr) * N;
                REAL *dxt = dx + row * P;
#pragma omp simd
                for (i64 p = 0; p < P; p++) {
                    xv[p] = dv * xt[p];
                    gB[p] = 0;
                }
                for (i64 n = 0; n < N; n++) {
                    REAL Bn = Bt[n], Cn = Ct[n], sum_hdy = 0, sum_gx = 0, *gn = g + n * P;
                    const REAL *hp = hs + j * S + n * P, *hn = hp + S;
#pragma omp simd reduction(+ : sum_hdy, sum_gx, gh)
                    for (i64 p = 0; p < P; p++) {
                        REAL gv = gn[p] + Cn * dyt[p];  /* dL/dh_t */
                        sum_hdy += hn[p] * dyt[p];
                        sum_gx += gv * xv[p];
                        gh += gv * hp[p];
                        gB[p] += gv * Bn;
                        gn[p] = gv * a;
                    }
                    dC[row * N + n] = sum_hdy;
                    dB[row * N + n] = sum_gx;
                }
#pragma omp simd reduction(+ : ddt_x)
                for (i64 p = 0; p < P; p++) {
                    dxt[p] = dv * gB[p] + Dh[p] * dyt[p];
                    ddt_x += xt[p] * gB[p];
                    dDr[p] += xt[p] * dyt[p];
                }
                REAL dexp = dv * Ah > 0 ? 0 : gh * a;  /* the clamp passes no gradient */
                dAr += dexp * dv;
                ddt[row] = ddt_x + dexp * Ah;
            }
        }
        memcpy(dh0 + r * S, g, S * sizeof(REAL));
        dA[r] = dAr;
        if (dD) memcpy(dD + r * P, dDr, P * sizeof(REAL));
    }
    free(hs); free(as); free(g); free(xv); free(gB); free(Dz); free(dDr);
}
