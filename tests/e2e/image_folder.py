"""End-to-end: the 2-class image folder example and CSV data through
`trainc train`, and `trainc predict`.

1. scripts/make_two_class_images.py writes a 2-class image folder (T-shirt
   vs Sneaker from Fashion-MNIST, colour PNGs) into a temporary folder; the
   spec models/lenet_rgb2.json is copied next to it, so its relative roots
   resolve there. Images are 28 to 48 pixels a side; the spec's own chain
   (Resize 32x32, RandomCrop with padding, RandomGrayscale, ToTensor,
   Normalize) brings them to one size.
2. LeNet trains 2 epochs; the class map is printed, the trained model carries
   the class names in its metadata (image_folder_aot.py: also when a
   standalone trainer from `trainc build` writes it).
3. `trainc predict` on the held-out test split must be right on at least
   PREDICT_FLOOR of the images (chance: 50%), and its class and probability
   must equal PyTorch's (the trained weights in torch, the images decoded by
   PIL and given torchvision's validation chain) to PROB_ATOL.
4. A CSV of two Gaussian blobs trains a linear classifier to CSV_FLOOR.
5. Bad inputs exit 2 naming the file (and line).

usage: /usr/bin/python3 image_folder.py TRAINC SOURCE_DIR
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnx.numpy_helper
import torch
from PIL import Image
from torchvision import transforms as T

PREDICT_FLOOR = 0.90  # the example reaches ~97% after 2 epochs; chance is 50%
CSV_FLOOR = 0.95      # two well separated blobs
PROB_ATOL = 1e-4      # float32 LeNet forward, then softmax in double
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("ok   " if ok else "FAIL ") + name + (f": {detail}" if detail else ""))


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kw)


def torch_lenet(source, model_path):
    spec = importlib.util.spec_from_file_location("export", os.path.join(source, "models",
                                                                          "export.py"))
    export = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(export)
    net = export.LeNetRGB(2)
    weights = {i.name: torch.from_numpy(onnx.numpy_helper.to_array(i).copy())
               for i in onnx.load(model_path).graph.initializer}
    net.load_state_dict(weights)
    return net.eval()


def image_folder(trainc, source, tmp):
    data = os.path.join(tmp, "two_class")
    sizes = ["28", "48"]
    r = run(["/usr/bin/python3", os.path.join(source, "scripts", "make_two_class_images.py"),
             data, "--train", "200", "--valid", "50", "--test", "100", "--sizes"] + sizes)
    check("make_two_class_images.py", r.returncode == 0, r.stderr[-300:])
    spec = json.load(open(os.path.join(source, "models", "lenet_rgb2.json")))
    spec_path = os.path.join(tmp, "lenet_rgb2.json")
    json.dump(spec, open(spec_path, "w"))
    model = os.path.join(source, "models", "lenet_rgb2.onnx")
    trained = os.path.join(tmp, "trained.onnx")
    r = run([trainc, "train", model, "--spec", spec_path, "--epochs", "2", "--out", trained])
    print(r.stdout[-600:], end="")
    check("trainc train on the image folder exits 0", r.returncode == 0, r.stderr[-500:])
    if r.returncode != 0:
        return
    check("the class map is printed",
          "train data: 400 samples in 2 classes: 0 sneaker, 1 tshirt" in r.stderr, r.stderr[-300:])
    props = {p.key: p.value for p in onnx.load(trained).metadata_props}
    check("the trained model names its classes",
          json.loads(props.get("trainc.class_names", "null")) == ["sneaker", "tshirt"], str(props))

    test = os.path.join(data, "test")
    r = run([trainc, "predict", trained, "--spec", spec_path, test])
    check("trainc predict exits 0", r.returncode == 0, r.stderr[-300:])
    lines = [l.split("\t") for l in r.stdout.splitlines()]
    check("one line per held-out image", len(lines) == 200, f"{len(lines)} lines")
    paths = sorted(os.path.join(test, c, f) for c in ("sneaker", "tshirt")
                   for f in os.listdir(os.path.join(test, c)))
    check("files in image folder order", [l[0] for l in lines] == paths)
    right = sum(l[1] == os.path.basename(os.path.dirname(l[0])) for l in lines)
    acc = right / max(len(lines), 1)
    check(f"held-out accuracy >= {PREDICT_FLOOR:.0%} (chance 50%)", acc >= PREDICT_FLOOR,
          f"{acc:.3f}")

    # the spec's validation chain, as torchvision applies it
    chain = [T.ToTensor(), T.Normalize(MEAN, STD)]
    valid_transform = T.Compose([T.Resize([32, 32])] + chain)
    net = torch_lenet(source, trained)
    worst, same = 0.0, True
    with torch.no_grad():
        for path, name, prob in lines:
            x = valid_transform(Image.open(path).convert("RGB"))
            p = torch.softmax(net(x[None]).double(), 1)[0]
            k = int(p.argmax())
            same &= ["sneaker", "tshirt"][k] == name
            worst = max(worst, abs(float(p[k]) - float(prob)))
    check("predict's classes equal PyTorch's", same)
    check(f"predict's probabilities equal PyTorch's within {PROB_ATOL}", worst <= PROB_ATOL,
          f"largest difference {worst:.2e}")

    # class names from the spec when the model has none; one file; errors
    one = paths[0]
    r = run([trainc, "predict", model, "--spec", spec_path, one])
    check("predict names classes from the spec's image folder",
          r.returncode == 0 and r.stdout.split("\t")[1] in ("sneaker", "tshirt"), r.stderr)
    bad = os.path.join(tmp, "broken.png")
    open(bad, "wb").write(b"\x89PNG\r\n\x1a\n not really")
    r = run([trainc, "predict", trained, "--spec", spec_path, one, bad])
    check("predict: a corrupt image exits 2 naming it",
          r.returncode == 2 and bad in r.stderr and "cannot decode" in r.stderr, r.stderr)
    r = run([trainc, "predict", trained, "--spec", spec_path, os.path.join(tmp, "nope.png")])
    check("predict: a missing image exits 2 naming it",
          r.returncode == 2 and "nope.png" in r.stderr, r.stderr)

    # the training data's errors reach the command line
    os.makedirs(os.path.join(tmp, "two_class", "train", "empty"))
    r = run([trainc, "train", model, "--spec", spec_path, "--epochs", "1"])
    check("train: an empty class folder exits 2 naming it",
          r.returncode == 2 and os.path.join("train", "empty") in r.stderr, r.stderr[-300:])
    os.rmdir(os.path.join(tmp, "two_class", "train", "empty"))
    shutil.rmtree(os.path.join(tmp, "two_class", "valid"))
    r = run([trainc, "train", model, "--spec", spec_path, "--epochs", "1"])
    check("train: a missing root exits 2 naming it",
          r.returncode == 2 and os.path.join("two_class", "valid") in r.stderr, r.stderr[-300:])


def csv_data(trainc, tmp):
    rng = np.random.default_rng(0)
    rows = []
    for label, centre in ((0, [-2, -2, 0, 1]), (1, [2, 2, 0, -1])):
        for _ in range(150):
            rows.append(list(rng.normal(centre, 1.0)) + [label])
    order = rng.permutation(len(rows))
    path = os.path.join(tmp, "blobs.csv")
    with open(path, "w") as f:
        f.write("a,b,c,d,target\n")
        for i in order:
            f.write(",".join(f"{v:.6g}" for v in rows[i][:4]) + f",{rows[i][4]}\n")
    model = os.path.join(tmp, "linear.onnx")
    torch.manual_seed(0)
    torch.onnx.export(torch.nn.Linear(4, 2), torch.zeros(2, 4), model, opset_version=13,
                      input_names=["features"], output_names=["logits"],
                      dynamic_axes={"features": {0: "N"}, "logits": {0: "N"}})
    spec = {"loss": {"type": "CrossEntropyLoss", "input": "logits", "target": "label"},
            "optimizer": {"type": "SGD", "lr": 0.1},
            "data": {"train": {"format": "csv", "path": "blobs.csv", "label": "target"},
                     "valid": {"format": "csv", "path": "blobs.csv", "label": -1}},
            "batch_size": 16, "epochs": 3}
    spec_path = os.path.join(tmp, "linear.json")
    json.dump(spec, open(spec_path, "w"))
    metrics = os.path.join(tmp, "csv.jsonl")
    r = run([trainc, "train", model, "--spec", spec_path, "--metrics", metrics])
    check("trainc train on CSV exits 0", r.returncode == 0, r.stderr[-500:])
    if r.returncode == 0:
        valid = [json.loads(l) for l in open(metrics) if '"valid"' in l]
        acc = valid[-1]["acc"] if valid else 0
        check(f"CSV accuracy >= {CSV_FLOOR:.0%}", acc >= CSV_FLOOR, f"{acc:.3f}")
    with open(path, "a") as f:
        f.write("1,2,x3,4,0\n")
    r = run([trainc, "train", model, "--spec", spec_path])
    check("train: a non-numeric CSV cell exits 2 naming file, line and column",
          r.returncode == 2 and "blobs.csv: line 302, column 3 ('c'): 'x3' is not a number"
          in r.stderr, r.stderr[-300:])


def main():
    trainc, source = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        image_folder(trainc, source, tmp)
        csv_data(trainc, tmp)
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
