"""End-to-end: a standalone trainer (`trainc build`) reads image folder data
and writes the class names into the trained model's metadata, as `trainc
train --out` does. (Separate from image_folder.py because trainers link the
runtime library with the system compiler, which the sanitizer build cannot
do; scripts/test.sh skips this test there, like e2e.aot.)

usage: /usr/bin/python3 image_folder_aot.py TRAINC SOURCE_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

import onnx

TRANSFORMS = [{"type": "ToTensor"},
              {"type": "Normalize", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}]
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kw)


def main():
    trainc, source = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        r = run(["/usr/bin/python3", os.path.join(source, "scripts", "make_two_class_images.py"),
                 os.path.join(tmp, "two_class"), "--train", "50", "--valid", "10", "--test", "1",
                 "--sizes", "32", "32"])
        check("make_two_class_images.py", r.returncode == 0, r.stderr[-300:])
        spec = json.load(open(os.path.join(source, "models", "lenet_rgb2.json")))
        spec["data"]["train"]["transforms"] = TRANSFORMS
        spec["data"]["valid"]["transforms"] = TRANSFORMS
        spec_path = os.path.join(tmp, "lenet_rgb2.json")
        json.dump(spec, open(spec_path, "w"))
        # the model already names classes (trained before): the names are replaced
        model = onnx.load(os.path.join(source, "models", "lenet_rgb2.onnx"))
        onnx.helper.set_model_props(model, {"trainc.class_names": '["old"]', "note": "kept"})
        model_path = os.path.join(tmp, "lenet_rgb2.onnx")
        onnx.save(model, model_path)
        trainer = os.path.join(tmp, "trainer")
        r = run([trainc, "build", model_path, "--spec", spec_path, "-o", trainer])
        check("trainc build with image folder data", r.returncode == 0, r.stderr[-300:])
        if r.returncode == 0:
            out = os.path.join(tmp, "standalone.onnx")
            r = run([trainer, "--epochs", "1", "--out", out], cwd=tmp)
            check("the standalone trainer trains on the image folder", r.returncode == 0,
                  r.stderr[-300:])
            props = (onnx.load(out).metadata_props if r.returncode == 0 else [])
            names = [p.value for p in props if p.key == "trainc.class_names"]
            check("the standalone trainer's model names its classes, once",
                  len(names) == 1 and json.loads(names[0]) == ["sneaker", "tshirt"],
                  str(props))
            check("other metadata is kept", any(p.key == "note" and p.value == "kept"
                                                 for p in props), str(props))
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
