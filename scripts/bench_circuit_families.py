#!/usr/bin/env python3
"""The topology families of scripts/bench-circuit: aeqlab's circuit solver against ngspice on
seeded ladders, meshes, crossbars, random geometric graphs, uniform random graphs and layered
networks at several sizes (docs/circuit.md, "Sparse and layered solves").

Usage (from scripts/bench-circuit): bench_circuit_families.py AEQLAB WORK MAX_NODES TIMEOUT FAMILY...
Prints one row per family and size, then one machine-readable line per row
("bench circuit-family family=... ratio=... max_dv=..."). Exits 1 when a measured disagreement
exceeds 1e-6 V or aeqlab fails.
"""
import math
import os
import random
import re
import subprocess
import sys
import time

LIMIT_V = 1e-6
TIGHT = ".options reltol=1e-9 vntol=1e-12 abstol=1e-15"


def log_uniform(rng, lo, hi):
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


class Deck:
    """A netlist being written: four Shockley models, then elements numbered by kind."""

    def __init__(self, title, rng):
        self.rng = rng
        self.lines = [title]
        self.models = [f"dm{m}" for m in range(4)]
        for name in self.models:
            i_s, n = log_uniform(rng, 1e-15, 1e-9), rng.uniform(1.0, 2.0)
            self.lines.append(f".model {name} D(IS={i_s:.17g} N={n:.17g})")
        self.resistors = self.diodes = 0
        self.nodes = set()

    def resistor(self, a, b, lo, hi):
        self.lines.append(f"R{self.resistors} {a} {b} {1.0 / log_uniform(self.rng, lo, hi):.17g}")
        self.resistors += 1
        self.nodes.update((a, b))

    def diode(self, a, b):
        self.lines.append(f"D{self.diodes} {a} {b} {self.rng.choice(self.models)}")
        self.diodes += 1

    def source(self, name, node, value):
        self.lines.append(f"{name} {node} 0 DC {value:.17g}")
        self.nodes.add(node)

    def bias(self):
        self.source("Vbh", "bh", self.rng.uniform(0.1, 0.4))
        self.source("Vbl", "bl", self.rng.uniform(-0.4, -0.1))

    def clamp(self, node):
        """A diode up to the high bias or down from the low one, by turns."""
        if self.diodes % 2 == 0:
            self.diode(node, "bh")
        else:
            self.diode("bl", node)

    def text(self):
        return "\n".join(self.lines) + "\n"


# Each generator returns (deck, swept source, its value).
def ladder(n, rng):
    d = Deck(f"resistor ladder {n} nodes", rng)
    d.bias()
    x = rng.uniform(-5, 5)
    d.source("Vinl", "inl", x)
    d.source("Vinr", "inr", rng.uniform(-5, 5))
    prev = "inl"
    for i in range(n):
        node = f"n{i}"
        d.resistor(prev, node, 1e-3, 1e-2)
        d.resistor(node, 0, 1e-5, 1e-4)
        if i % 3 == 1:
            d.clamp(node)
        prev = node
    d.resistor(prev, "inr", 1e-3, 1e-2)
    return d, "Vinl", x


def mesh(n, rng):
    w = max(2, math.ceil(math.sqrt(n)))
    d = Deck(f"resistor mesh {w}x{w}", rng)
    d.bias()
    first = None
    for y in range(w):
        v = rng.uniform(-5, 5)
        first = v if first is None else first
        d.source(f"Vin{y}", f"in{y}", v)
        d.resistor(f"in{y}", f"m0_{y}", 1e-4, 1e-2)
        d.resistor(f"m{w - 1}_{y}", 0, 1e-4, 1e-2)
    for y in range(w):
        for x in range(w):
            node = f"m{x}_{y}"
            if x + 1 < w:
                d.resistor(node, f"m{x + 1}_{y}", 1e-4, 1e-2)
            if y + 1 < w:
                d.resistor(node, f"m{x}_{y + 1}", 1e-4, 1e-2)
            if (x + 2 * y) % 5 == 2:
                d.clamp(node)
    return d, "Vin0", first


def crossbar(n, rng):
    """Row and column lines with 1-2 ohm line resistance per crossing, a resistor + diode cell at
    each crossing, rows driven, columns sensed to ground."""
    r = max(2, math.ceil(math.sqrt(n / 3)))
    d = Deck(f"crossbar {r}x{r}", rng)
    first = None
    for i in range(r):
        v = rng.uniform(-5, 5)
        first = v if first is None else first
        d.source(f"Vin{i}", f"in{i}", v)
        d.resistor(f"in{i}", f"r{i}_0", 0.5, 1.0)
        for k in range(r - 1):
            d.resistor(f"r{i}_{k}", f"r{i}_{k + 1}", 0.5, 1.0)
    for k in range(r):
        for i in range(r - 1):
            d.resistor(f"c{k}_{i}", f"c{k}_{i + 1}", 0.5, 1.0)
        d.resistor(f"c{k}_{r - 1}", 0, 1e-3, 1e-2)
    for i in range(r):
        for k in range(r):
            d.resistor(f"r{i}_{k}", f"x{i}_{k}", 1e-5, 1e-3)
            d.diode(f"x{i}_{k}", f"c{k}_{i}")
    return d, "Vin0", first


def geometric(n, rng):
    """Nodes at random points of the unit square, each joined to its three nearest neighbours (a
    random sparse circuit as a layout makes it: short wires); one node in 50 driven by a source
    through a resistor, one in four clamped, one in ten joined to a neighbour by a diode, each
    island of resistors tied to ground by one."""
    d = Deck(f"random geometric network {n} nodes", rng)
    d.bias()
    pts = [(rng.random(), rng.random()) for _ in range(n)]
    cells = max(1, int(math.sqrt(n / 2)))
    grid = {}
    for i, (x, y) in enumerate(pts):
        grid.setdefault((int(x * cells), int(y * cells)), []).append(i)
    joined = set()
    nearest = []
    for i, (x, y) in enumerate(pts):
        cx, cy = int(x * cells), int(y * cells)
        near = []
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for j in grid.get((cx + dx, cy + dy), ()):
                    if j != i:
                        near.append(((pts[j][0] - x) ** 2 + (pts[j][1] - y) ** 2, j))
        near.sort()
        nearest.append([j for _, j in near[:3]])
        for j in nearest[-1]:
            key = (min(i, j), max(i, j))
            if key not in joined:
                joined.add(key)
                d.resistor(f"g{i}", f"g{j}", 1e-4, 1e-2)
    first = None
    for s in range(max(1, n // 50)):
        v = rng.uniform(-5, 5)
        first = v if first is None else first
        d.source(f"Vs{s}", f"s{s}", v)
        d.resistor(f"s{s}", f"g{rng.randrange(n)}", 1e-3, 1e-2)
    # Every island of resistors reaches ground through one (a node tied to the rest by diodes
    # alone has no well-defined voltage).
    root = list(range(n))

    def find(i):
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for i, j in joined:
        root[find(i)] = find(j)
    grounded = set()
    for i in range(n):
        if find(i) not in grounded:
            grounded.add(find(i))
            d.resistor(f"g{i}", 0, 1e-5, 1e-4)
    for i in range(n):
        if rng.random() < 0.25:
            d.clamp(f"g{i}")
        if rng.random() < 0.1 and nearest[i]:
            d.diode(f"g{i}", f"g{rng.choice(nearest[i])}")
        if rng.random() < 0.02:
            d.resistor(f"g{i}", 0, 1e-5, 1e-4)
    return d, "Vs0", first


def uniform_random(n, rng):
    """tests/sim/circuit/circuit_networks.hpp's random_network, without current sources."""
    d = Deck(f"uniform random network {n} nodes", rng)
    fixed = ["0"]
    first = None
    for s in range(max(1, n // 8)):
        v = rng.uniform(-1, 1)
        first = v if first is None else first
        d.source(f"Vs{s}", f"s{s}", v)
        fixed.append(f"s{s}")
    free = []
    for i in range(n):
        k = rng.randrange(len(fixed) + len(free))
        d.resistor(f"n{i}", fixed[k] if k < len(fixed) else free[k - len(fixed)], 1e-4, 1e-2)
        free.append(f"n{i}")
    everything = fixed + free
    for _ in range(n):
        a, b = rng.choice(free), rng.choice(everything)
        if a != b:
            d.resistor(a, b, 1e-4, 1e-2)
    for _ in range(max(1, n // 2)):
        a, b = rng.choice(free), rng.choice(free)
        if a != b:
            d.diode(*((b, a) if rng.randrange(2) else (a, b)))
    for _ in range(max(1, n // 4)):
        a, b = rng.choice(free), rng.choice(fixed)
        d.diode(*((b, a) if rng.randrange(2) else (a, b)))
    return d, "Vs0", first


def layered(hidden, rng, inputs=None):
    """scripts/bench-circuit's deep resistive network, inputs-hidden-10."""
    inputs = inputs or max(64, hidden // 8)
    d = Deck(f"layered diode-resistor network {inputs}-{hidden}-10", rng)
    previous, first = [], None
    for i in range(inputs):
        x = rng.uniform(-10, 10)
        first = x if first is None else first
        for sign, value in (("p", x), ("n", -x)):
            d.source(f"Vx{i}{sign}", f"x{i}{sign}", value)
            previous.append(f"x{i}{sign}")
    d.source("Vbh1", "bh1", rng.uniform(0.1, 0.4))
    d.source("Vbl1", "bl1", rng.uniform(-0.4, -0.1))
    hidden_nodes = []
    for j in range(hidden):
        node = f"h1_{j}"
        for p in previous:
            d.resistor(p, node, 1e-5, 1e-3)
        d.diode(node, "bh1")
        d.diode("bl1", node)
        hidden_nodes.append(node)
    for j in range(10):
        node = f"o{j}"
        for p in hidden_nodes:
            d.resistor(p, node, 1e-5, 1e-3)
        d.resistor(node, 0, 1e-4, 1e-3)
    return d, "Vx0p", first


# family -> (generator, sizes in its own unit, nodes of a size)
FAMILIES = {
    "ladder": (ladder, [1000, 10000, 100000]),
    "mesh": (mesh, [1000, 10000, 100000]),  # the next square: 1,024, 10,000, 100,489 nodes
    "crossbar": (crossbar, [1000, 10000, 100000]),  # 3 r^2 nodes, r rounded up
    "geometric": (geometric, [1000, 10000, 100000]),
    "random": (uniform_random, [1000, 2000]),
    "layered": (layered, [256, 1024]),
}


def run(command, log, timeout=None):
    """Runs it under /usr/bin/time; returns (seconds, peak RSS in MB, timed out). Output to
    `log`. (The peak resident set comes from /usr/bin/time's own child: a child forked straight
    from this script would carry the script's peak through exec.)"""
    rss_file = log + ".rss"
    with open(log, "w") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss_file] + command,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            timed_out = True
        seconds = time.monotonic() - t0
    if not timed_out and proc.returncode != 0:
        sys.stderr.write(open(log).read()[-3000:])
        raise RuntimeError(f"{command[0]} failed on {command[2] if len(command) > 2 else ''}")
    try:
        mb = float(open(rss_file).read().split()[-1]) / 1024.0
    except (OSError, ValueError, IndexError):
        mb = float("nan")  # killed before /usr/bin/time could write it
    return seconds, mb, timed_out


def table(path, skip_first_name=True):
    """A header of names then rows: {lower-case name: [values]} (ngspice's branch currents and
    sweep scale skipped)."""
    with open(path) as f:
        names = f.readline().split()
        rows = [list(map(float, line.split())) for line in f if line.strip()]
    cols = {}
    for i, n in enumerate(names):
        if i == 0 and skip_first_name:
            continue
        if "#" in n or n == "v-sweep":
            continue
        cols[n.lower()] = [r[i] for r in rows]
    return cols, len(rows)


def main():
    aeqlab, work, max_nodes, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    wanted = sys.argv[5:]
    failed = False
    header = (f"{'family':<10} {'nodes':>7} {'elements':>8} {'path':<7} {'pts':>3} "
              f"{'aeqlab ms':>10} {'ngspice ms':>11} {'ratio':>8} {'aeqlab MB':>9} "
              f"{'ngspice MB':>10} {'max |dv| V':>10}")
    print("\ntopology families (per solve; ngspice: its analysis time at default tolerances)")
    print(header)
    sys.stdout.flush()
    for family in wanted:
        if family not in FAMILIES:
            sys.exit(f"bench-circuit: no family '{family}' (one of {' '.join(FAMILIES)})")
        generate, sizes = FAMILIES[family]
        for size in sizes:
            if family != "layered" and size > max_nodes:
                continue
            rng = random.Random(20240 + size)
            deck, source, value = generate(size, rng)
            base = f"{work}/{family}_{size}"
            with open(base + ".cir", "w") as f:
                f.write(deck.text() + ".end\n")
            nodes = len(deck.nodes - {"0", 0})
            elements = sum(1 for l in deck.lines[1:] if l[0] in "RDVI")
            points = 20 if nodes <= 3000 else 5 if nodes <= 30000 else 3
            step = 0.01
            stop = value + step * (points - 1) + step / 2

            def ngspice_deck(path, data, options):
                with open(path, "w") as f:
                    f.write(deck.text())
                    if options:
                        f.write(options + "\n")
                    f.write(".control\nset numdgt=12\nset wr_vecnames\nset wr_singlescale\n"
                            f"dc {source} {value!r} {stop!r} {step!r}\nrusage all\n"
                            f"wrdata {data} all\nquit 0\n.endc\n.end\n")

            # aeqlab
            a_s, a_mb, _ = run([aeqlab, "circuit", "dc", base + ".cir", source, repr(value),
                                repr(stop), repr(step), "--time"], base + ".aeqlab.log")
            with open(base + ".aeqlab.log") as f:
                text = f.read()
            # stdout and stderr share the log: the timing line is the last.
            timing_line = [l for l in text.splitlines() if l.startswith("solves ")][-1]
            timing = dict(zip(*[iter(timing_line.split())] * 2))
            a_ms = float(timing["per_solve_us"]) / 1e3
            path = timing["factorisation"]
            with open(base + ".aeqlab.txt", "w") as f:
                f.write("\n".join(l for l in text.splitlines() if not l.startswith("solves ")))
            ours, n_ours = table(base + ".aeqlab.txt")

            # ngspice at its defaults, for the time
            ngspice_deck(base + ".default.cir", base + ".default.txt", "")
            n_s, n_mb, n_timeout = run(["ngspice", "-b", base + ".default.cir"],
                                       base + ".default.log", timeout)
            if n_timeout:
                n_ms = 1e3 * timeout / points
                ratio = f">{n_ms / a_ms:.1f}"
                ng = f">{n_ms:.1f}"
            else:
                m = re.search(r"Total analysis time \(seconds\) = ([0-9.eE+-]+)",
                              open(base + ".default.log").read())
                n_ms = 1e3 * (float(m.group(1)) if m else n_s) / points
                ratio = f"{n_ms / a_ms:.1f}"
                ng = f"{n_ms:.1f}"
            # ngspice tightened, for the answer
            dv = "-"
            if not n_timeout and n_s < timeout / 2:
                ngspice_deck(base + ".tight.cir", base + ".tight.txt", TIGHT)
                _, _, t_timeout = run(["ngspice", "-b", base + ".tight.cir"], base + ".tight.log",
                                      timeout)
                if not t_timeout:
                    theirs, n_theirs = table(base + ".tight.txt", skip_first_name=False)
                    if n_theirs != n_ours:
                        sys.exit(f"bench-circuit: {family} {size}: {n_theirs} ngspice points, "
                                 f"{n_ours} aeqlab")
                    worst = 0.0
                    for node, vals in ours.items():
                        if node not in theirs:
                            sys.exit(f"bench-circuit: {family} {size}: node {node} not in ngspice")
                        worst = max(worst, max(abs(x - y) for x, y in zip(vals, theirs[node])))
                    failed |= worst > LIMIT_V
                    dv = f"{worst:.2g}"
            ng_mb = "-" if n_timeout else f"{n_mb:.0f}"
            print(f"{family:<10} {nodes:>7} {elements:>8} {path:<7} {points:>3} {a_ms:>10.3f} "
                  f"{ng:>11} {ratio:>8} {a_mb:>9.0f} {ng_mb:>10} {dv:>10}")
            print(f"bench circuit-family family={family} nodes={nodes} elements={elements} "
                  f"factorisation={path} points={points} aeqlab_ms_per_solve={a_ms:.4f} "
                  f"ngspice_ms_per_solve={ng} ratio={ratio} aeqlab_mb={a_mb:.1f} "
                  f"ngspice_mb={ng_mb} max_dv={dv}")
            sys.stdout.flush()
            for suffix in (".aeqlab.txt", ".aeqlab.log", ".default.txt", ".tight.txt"):
                if os.path.exists(base + suffix) and "KEEP" not in os.environ.get("AEQLAB_KEEP_BIG", ""):
                    os.remove(base + suffix)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
