#!/usr/bin/env python3
"""PyTorch DistributedDataParallel on CPU (gloo): each rank trains on its shard, gradients are all-reduced, and rank 0
alone writes the model and logs the run to the registry.

It reads the environment torchrun and the Kubeflow operator give (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
MASTER_PORT): Flywheel's local backend sets the same for `kind: ddp`. Params: epochs, lr, hidden, seed, samples.
"""
import json
import os
import platform
import sys
import time
import uuid

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlflow_rest import log_run, params_from_env, write_baseline  # noqa: E402

FEATURES = ["f0", "f1", "f2", "f3"]
LABELS = ["a", "b", "c"]


def dataset(n, seed):
    """Three Gaussian blobs in 4-D: the same on every rank (same seed), so ranks shard one dataset."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.tensor([[0.0, 0.0, 0.0, 0.0], [3.0, 3.0, 0.0, 0.0], [0.0, 3.0, 3.0, 3.0]])
    y = torch.randint(0, 3, (n,), generator=g)
    x = centers[y] + torch.randn(n, 4, generator=g)
    return x, y


def log(msg):
    print(f"rank {os.environ.get('RANK', '0')}: {msg}", flush=True)


def mlmodel(has_onnx):
    inputs = json.dumps([{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}, "name": "input"}])
    outputs = json.dumps([{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}, "name": "logits"}])
    lines = ["artifact_path: model", "flavors:"]
    if has_onnx:
        lines += ["  onnx:", "    data: model.onnx", "    providers: [CPUExecutionProvider]", f"    onnx_version: '{torch.onnx.producer_version}'"]
    lines += ["  pytorch:", "    model_data: data", f"    pytorch_version: {torch.__version__}", "    code: null",
              "  python_function:", "    loader_module: mlflow.pytorch", "    data: data", f"    python_version: {platform.python_version()}",
              f"model_uuid: {uuid.uuid4().hex}", f"utc_time_created: '{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())}'",
              "signature:", f"  inputs: {json.dumps(inputs)}", f"  outputs: {json.dumps(outputs)}",
              "metadata:", f"  labels: {json.dumps(LABELS)}", ""]
    return "\n".join(lines)


def main():
    p = params_from_env({"epochs": 100, "lr": 0.1, "hidden": 16, "seed": 7, "samples": 600})
    dist.init_process_group("gloo")  # env:// rendezvous: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(p["seed"])  # identical initial weights on every rank
    x, y = dataset(p["samples"], p["seed"])
    split = int(len(x) * 0.8)
    x_train, y_train, x_test, y_test = x[:split], y[:split], x[split:], y[split:]
    shard = slice(rank, None, world)  # each rank sees every world-th sample
    xs, ys = x_train[shard], y_train[shard]
    model = DDP(nn.Sequential(nn.Linear(4, p["hidden"]), nn.ReLU(), nn.Linear(p["hidden"], 3)))
    opt = torch.optim.SGD(model.parameters(), lr=p["lr"])
    loss_fn = nn.CrossEntropyLoss()
    out = os.environ.get("FLYWHEEL_ARTIFACT_DIR", "./artifacts")
    progress = []
    for epoch in range(p["epochs"]):
        opt.zero_grad()
        loss = loss_fn(model(xs), ys)
        loss.backward()  # DDP all-reduces the gradients here
        opt.step()
        # The mean loss over all ranks: an explicit all-reduce every rank takes part in.
        mean = loss.detach().clone()
        dist.all_reduce(mean)
        mean /= world
        progress.append({"step": epoch + 1, "metric": "loss", "value": float(mean), "time": int(time.time() * 1000)})
    # Evaluate on each rank's slice of the test set and all-reduce the counts: accuracy over the whole test set.
    with torch.no_grad():
        tx, ty = x_test[rank::world], y_test[rank::world]
        counts = torch.tensor([(model(tx).argmax(1) == ty).sum().item(), len(ty)], dtype=torch.float64)
    dist.all_reduce(counts)
    check = torch.tensor([float(rank + 1)])
    dist.all_reduce(check)
    log(f"all_reduce ok: sum of (rank+1) = {int(check.item())} over world_size {world}")
    metrics = {"accuracy": float(counts[0] / counts[1]), "loss": progress[-1]["value"], "world_size": float(world)}
    if rank == 0:
        model_dir = os.path.join(out, "model")
        os.makedirs(os.path.join(model_dir, "data"), exist_ok=True)
        net = model.module.eval()
        torch.save(net.state_dict(), os.path.join(model_dir, "data", "model.pth"))
        has_onnx = False
        try:
            torch.onnx.export(net, torch.zeros(1, 4), os.path.join(model_dir, "model.onnx"), input_names=["input"],
                              output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
            has_onnx = True
        except Exception as e:  # ONNX export is a bonus; the state dict is the model
            log(f"onnx export skipped: {type(e).__name__}")
        with open(os.path.join(model_dir, "MLmodel"), "w") as f:
            f.write(mlmodel(has_onnx))
        with open(os.path.join(out, "metrics.json"), "w") as f:
            json.dump(metrics, f)
        with open(os.path.join(out, "progress.jsonl"), "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in progress)
        with torch.no_grad():
            preds = net(x).argmax(1).tolist()
        write_baseline(os.path.join(out, "baseline.json"), FEATURES, x.tolist(), [LABELS[i] for i in preds])
        run = log_run(out, p, metrics, {"flywheel.example": "torch-ddp", "world_size": world})
        log(f"wrote the model; registry run: {run[0] if run else 'none (MLFLOW_TRACKING_URI not set)'}")
    else:
        log("not rank 0: no artifacts, no registry calls")
    dist.barrier()
    dist.destroy_process_group()
    log(f"done: accuracy={metrics['accuracy']:.4f}")


if __name__ == "__main__":
    main()
