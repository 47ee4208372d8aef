#!/usr/bin/python3
"""Times one training epoch of the authors' Agnostic Eqprop code on aeqlab's MNIST split.

Used by scripts/bench-authors; not part of aeqlab. It imports the authors' own modules from a
checkout of github.com/bscellier/agnostic-equilibrium-propagation (the path is the first argument;
nothing is downloaded) and builds their 1-hidden-layer MNIST network with the paper's settings, as
their run.py does: intervals [0,1] and [-1,2], gains 0.8/1.2, threshold 1e-3, 100 iterations per
phase, one parameter iteration, centered nudging 0.5, learning rates 0.1/0.05 (weights) and
0.02/0.01 (biases), batch 32. The data are aeqlab's split (the first 80% of each digit file train,
the rest test: core/mnist.cpp), so both codes see the same samples.

Usage: authors-epoch.py CHECKOUT MNIST_DIR HIDDEN TORCH_THREADS [TRAIN_LIMIT]
Prints one JSON line: training wall and CPU seconds of the epoch (data loading and the test pass
excluded), samples per second, and the test error after the epoch.
"""
import json
import os
import sys
import time

checkout, mnist_dir, hidden, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
limit = int(sys.argv[5]) if len(sys.argv) > 5 else 0
sys.path.insert(0, checkout)
import torch  # noqa: E402  (after the path: their modules import torch too)
from network.network import Network  # noqa: E402
from training.epoch import Trainer  # noqa: E402
from training.sgd import Aeqprop  # noqa: E402

torch.set_num_threads(threads)
torch.manual_seed(1)
train_x, train_y, test_x, test_y = [], [], [], []
for digit in range(10):
    with open(os.path.join(mnist_dir, f"{digit}.json")) as f:
        images = torch.tensor(json.load(f)["data"], dtype=torch.float32).view(-1, 1, 28, 28)
    n = images.shape[0]
    n_train = (8 * n) // 10
    train_x.append(images[:n_train])
    train_y.append(torch.full((n_train,), digit, dtype=torch.long))
    test_x.append(images[n_train:])
    test_y.append(torch.full((n - n_train,), digit, dtype=torch.long))
train_x, train_y = torch.cat(train_x), torch.cat(train_y)
test_x, test_y = torch.cat(test_x), torch.cat(test_y)
if limit:
    keep = torch.randperm(train_x.shape[0])[:limit]
    train_x, train_y = train_x[keep], train_y[keep]
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(train_x, train_y),
                                     batch_size=32, shuffle=True)

net = Network((1, 28, 28))
for shape, low, high, rate in zip([(hidden,), (10,)], [0.0, -1.0], [1.0, 2.0], [0.02, 0.01]):
    net.add_layer(shape, min_interval=low, max_interval=high, learning_rate=rate,
                  bias_penalty=None, bias_decay=None)
for (pre, post), gain, rate in zip([(0, 1), (1, 2)], [0.8, 1.2], [0.1, 0.05]):
    net.add_edge(pre, post, "dense", gain, None, 0, learning_rate=rate, weight_penalty=None,
                 weight_decay=None)
net.pack(linearized_cost=False)
net.set_device("cpu")
net.thresholds = [1e-3] * net.num_layers
rule = Aeqprop(net)
rule.training_mode = "centered"
rule.nudging = 0.5
rule.max_iterations_first_phase = 100
rule.max_iterations_second_phase = 100
rule.max_iterations_params = 1
trainer = Trainer(net, loader, rule)

wall0, cpu0 = time.perf_counter(), time.process_time()
trainer.run(False)
wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0

wrong = 0
with torch.no_grad():
    net.set_nudging(0.0)
    for i in range(0, test_x.shape[0], 32):
        net.set_data(test_x[i:i + 32], test_y[i:i + 32], reset=True)
        net.homeostatic_relaxation(max_iterations=100, adjust_control_knobs=False)
        wrong += int(net.error_fn().sum())
print(json.dumps({"hidden": hidden, "torch_threads": threads, "samples": int(train_x.shape[0]),
                  "wall_s": wall, "cpu_s": cpu, "samples_per_s": train_x.shape[0] / wall,
                  "test_error": wrong / test_x.shape[0]}))
