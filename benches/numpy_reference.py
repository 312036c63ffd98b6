"""The sweep of experiments/bench.toml written the way a notebook user would in NumPy.

Same recipe as grbm-sweep's defaults with `sampler = "cd"`: data standardized per axis,
sigma learned from 0.5 (as ln sigma), W ~ N(0, 1), SGD with momentum 0.9, a cosine
schedule and the gradient clipped to norm 20, CD-k with chains started at the minibatch; then log Z on a 512 x 512 grid over
the box of mixture means padded by 10 sigma, and mean train/test log-likelihood in data
units. Vectorized over the minibatch, one process per core (multiprocessing).

Run: python3 benches/numpy_reference.py [--processes N]   (prints the wall time)
"""

import argparse
import itertools
import multiprocessing as mp
import time

import numpy as np

HIDDEN = [4, 16, 64]
LR = [0.003, 0.01, 0.03]
K = [1, 5]
SEEDS = [0, 1, 2, 3]
N_TRAIN, N_TEST, EPOCHS, BATCH, GRID = 10000, 2000, 10, 100, 512
CLIP_NORM = 20.0


def gmm_iso(rng, n):
    means = np.array([[-5.0, -5.0], [5.0, -5.0], [0.0, 5.0]])
    comp = rng.choice(3, size=n, p=[0.33, 0.33, 0.34])
    return means[comp] + rng.standard_normal((n, 2))


def softplus(a):
    return np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def free_energy(x, b, s, w, c):
    iv = np.exp(-2 * s)
    return (((x - b) ** 2) * iv / 2).sum(1) - softplus(c + (x * iv) @ w).sum(1)


def grads(x, b, s, w, c):
    iv = np.exp(-2 * s)
    h = sigmoid(c + (x * iv) @ w)
    d = x - b
    gb = -(d * iv).mean(0)
    gw = -((x * iv).T @ h) / len(x)
    gc = -h.mean(0)
    gs = (-(d**2) * iv + 2 * x * (h @ w.T) * iv).mean(0)
    return gb, gs, gw, gc


def run(args):
    hidden, lr, k, seed, train, test = args
    rng = np.random.default_rng(seed)
    mean, std = train.mean(0), train.std(0)
    xs = (train - mean) / std
    b, s = np.zeros(2), np.log(np.full(2, 0.5))
    w, c = rng.standard_normal((2, hidden)), np.zeros(hidden)
    vel = [np.zeros_like(p) for p in (b, s, w, c)]
    steps, step = EPOCHS * (N_TRAIN // BATCH), 0
    for _ in range(EPOCHS):
        order = rng.permutation(N_TRAIN)
        for i in range(0, N_TRAIN, BATCH):
            x = xs[order[i : i + BATCH]]
            chain = x.copy()
            for _ in range(k):
                iv = np.exp(-2 * s)
                h = sigmoid(c + (chain * iv) @ w)
                z = (rng.random(h.shape) < h).astype(float)
                chain = b + z @ w.T + np.exp(s) * rng.standard_normal(chain.shape)
            pos, neg = grads(x, b, s, w, c), grads(chain, b, s, w, c)
            g = [p - n for p, n in zip(pos, neg)]
            norm = np.sqrt(sum((gi**2).sum() for gi in g))
            clip = CLIP_NORM / norm if norm > CLIP_NORM else 1.0
            rate = lr * 0.5 * (1 + np.cos(np.pi * step / steps))
            step += 1
            for j, p in enumerate((b, s, w, c)):
                vel[j] = 0.9 * vel[j] - rate * clip * g[j]
                p += vel[j]
    if not all(np.all(np.isfinite(p)) for p in (b, s, w, c)):
        return seed, None
    # Back to data units (exact for per-axis affine maps), then log Z on the grid.
    sig = np.exp(s)
    b2, sig2, w2 = mean + std * b, std * sig, std[:, None] * w
    c2 = c - ((mean / (std * sig**2))[:, None] * w).sum(0)
    s2 = np.log(sig2)
    lo = b2 + np.minimum(w2, 0).sum(1) - 10 * sig2
    hi = b2 + np.maximum(w2, 0).sum(1) + 10 * sig2
    g1, g2 = np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID)
    pts = np.stack(np.meshgrid(g1, g2, indexing="ij"), -1).reshape(-1, 2)
    neg_f = -free_energy(pts, b2, s2, w2, c2)
    m = neg_f.max()
    log_z = m + np.log(np.exp(neg_f - m).sum()) + np.log((g1[1] - g1[0]) * (g2[1] - g2[0]))
    train_ll = (-free_energy(train, b2, s2, w2, c2)).mean() - log_z
    test_ll = (-free_energy(test, b2, s2, w2, c2)).mean() - log_z
    return seed, (train_ll, test_ll)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=mp.cpu_count())
    procs = parser.parse_args().processes
    rng = np.random.default_rng(0)
    data = gmm_iso(rng, N_TRAIN + N_TEST)
    train, test = data[:N_TRAIN], data[N_TRAIN:]
    grid = [(h, lr, k, seed, train, test) for h, lr, k, seed in itertools.product(HIDDEN, LR, K, SEEDS)]
    # Longest runs first, as grbm-sweep does, so both processes stay busy to the end.
    grid.sort(key=lambda a: -(a[0] + 2) * (a[2] + 1))
    start = time.perf_counter()
    with mp.Pool(procs) as pool:
        results = pool.map(run, grid, chunksize=1)
    seconds = time.perf_counter() - start
    finite = sum(r is not None for _, r in results)
    print(f"numpy_reference: {len(results)} runs ({finite} finite) in {seconds:.2f}s with {procs} processes")


if __name__ == "__main__":
    main()
