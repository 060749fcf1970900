#!/bin/bash
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
rm -rf /tmp/st; mkdir -p /tmp/st
run() { name=$1; shift; ( timeout ${LIMIT:-220} python3 -m keras_pinn.study --budget full --backend jax --no-figures --quiet --seeds 1 --out /tmp/st/$name "$@" > /tmp/st/$name.log 2>&1; echo "$name rc=$?" >> /tmp/st/done.txt ) & }
for p in helmholtz burgers; do for v in batch_norm learnable_norm residual_mlp; do run 1$p-$v --ideas 1 --problems $p --variants $v; done; run 2$p-relu --ideas 2 --problems $p --variants relu; for v in gridconv_autodiff gridconv_fd; do run 3$p-$v --ideas 3 --problems $p --variants $v; done; done
run 4-vq --ideas 4 --variants vq
run 4-diff --ideas 4 --variants mlp_diffusion
wait
cat /tmp/st/done.txt
cd /tmp/st && tar czf $OUT/study_runs2.tgz */runs */arrays done.txt
