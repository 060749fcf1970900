#!/bin/bash
# Full-budget study on JAX, on the GPU, as 9 parallel processes split by idea/problem/variants.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
nvidia-smi -L | tee $OUT/machine.txt
python3 -c "import keras, jax, numpy; print('keras', keras.__version__, 'jax', jax.__version__, 'numpy', numpy.__version__, jax.devices())" 2>&1 | tee -a $OUT/machine.txt
python3 -c "
import keras_pinn as kp, keras
from keras_pinn.study import make_options, run_study
r = run_study(make_options(ideas='4', variants='mlp', seeds=1, steps=20, out='/tmp/smoke'), in_process=True)
print('smoke ok', keras.backend.backend())
" > $OUT/smoke.log 2>&1 || { tail -30 $OUT/smoke.log; exit 4; }
tail -2 $OUT/smoke.log
mkdir -p /tmp/st
run() { name=$1; shift; ( /usr/bin/time -v timeout ${LIMIT:-430} python3 -m keras_pinn.study --budget full --backend jax --no-figures --quiet --out /tmp/st/$name "$@" > /tmp/st/$name.log 2>&1; echo "$name rc=$?" >> /tmp/st/done.txt ) & }
run 1h-a --ideas 1 --problems helmholtz --variants mlp no_scaling batch_norm
run 1h-b --ideas 1 --problems helmholtz --variants layer_norm learnable_norm residual_mlp
run 1b-a --ideas 1 --problems burgers --variants mlp no_scaling batch_norm
run 1b-b --ideas 1 --problems burgers --variants layer_norm learnable_norm residual_mlp
run 2h --ideas 2 --problems helmholtz --variants parallel_pow_relu pow_relu relu
run 2b --ideas 2 --problems burgers --variants parallel_pow_relu pow_relu relu
run 3h --ideas 3 --problems helmholtz
run 3b --ideas 3 --problems burgers
run 4 --ideas 4
sleep 5; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv >> $OUT/machine.txt
wait
cat /tmp/st/done.txt
for f in /tmp/st/*.log; do echo "== $f"; grep -E "rel. L2|FAILED|Error|rror:" $f | tail -12; done
cd /tmp/st && tar czf $OUT/study_runs.tgz --exclude='*.log' */runs */arrays *.log done.txt
ls -la $OUT
