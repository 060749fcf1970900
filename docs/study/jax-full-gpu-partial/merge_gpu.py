import json, shutil, glob
from pathlib import Path
out = Path("/tmp/study-full-gpu"); shutil.rmtree(out, ignore_errors=True)
(out / "runs").mkdir(parents=True); (out / "arrays" / "jax").mkdir(parents=True)
merged = None; seen = set(); wall = 0.0
for d in sorted(glob.glob("/tmp/gpu1/*/")) + sorted(glob.glob("/tmp/gpu2/*/")):
    data = json.loads(Path(d, "runs/jax.json").read_text())
    wall = max(wall, data.get("wall_time_s") or 0)
    if merged is None:
        merged = dict(data); merged["runs"] = []; merged["problems"] = {}
    merged["problems"].update(data["problems"])
    for r in data["runs"]:
        key = (r["problem"], r["variant"], r["seed"])
        if key in seen: continue
        seen.add(key); merged["runs"].append(r)
    for f in glob.glob(d + "arrays/jax/*") + glob.glob(d + "arrays/*.npz"):
        dst = out / Path(f).relative_to(d)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists(): shutil.copy(f, dst)
merged["status"] = "partial"
merged["wall_time_s"] = wall
merged["command"] = ("bash gpu_study.sh + gpu_study2.sh: keras-pinn study --budget full --backend jax --no-figures "
                     "--quiet, 9 + 14 processes in parallel split by idea/problem/variant, each stopped by `timeout`")
(out / "runs" / "jax.json").write_text(json.dumps(merged, indent=1))
print(len(merged["runs"]), "runs; wall", wall)
from keras_pinn.study.config import make_options
from keras_pinn.study.report import write_report
opts = make_options(budget="full", backends="jax", out=str(out))
res = write_report(out, opts, ["jax"], wall_time_s=None, command=merged["command"], figures=True)
print(res["verdicts"])
