#!/usr/bin/env bash
# Fine-tunes two small models on debian-l10n's train.jsonl, with and without self-distillation, and evaluates each on
# its dev split before and after (m3 eval: nDCG@10, Recall@100, MRR@10 per mode). Not part of the tests.
#   examples/fine-tune-demo.sh      STEPS=150 MODELS="tiny small" WORK=/tmp/m3-demo DATA=../shared/data/debian-l10n
# Models: the tiny fixture (hidden 32, 2 layers) and a random-initialized one (hidden 256, 4 layers, the fixture's
# 16,002-token vocabulary) written by the benchmark project's random-model command (its sparse head starts as a
# uniform lexical matcher; README "Fine-tuning" says why).
# The two variants of a model train side by side, one ONNX Runtime thread each (PARALLEL=0: one after the other, all
# cores). TRAIN_SECONDS=N stops a training after N seconds (as Ctrl+C does) and evaluates its newest checkpoint-STEP,
# written every SAVE_STEPS steps; the evaluation line says which.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/debian-l10n}
WORK=${WORK:-/tmp/m3-demo}
STEPS=${STEPS:-150}
MODELS=${MODELS:-tiny small}
PARALLEL=${PARALLEL:-1}
SAVE_STEPS=${SAVE_STEPS:-250}
TRAIN_SECONDS=${TRAIN_SECONDS:-0}
TRAIN_ARGS=${TRAIN_ARGS:---batch-size 16 --group-size 4 --lr 5e-4 --warmup-ratio 0.1 --dropout 0}

# M3_BIN / BENCH_BIN: already built output folders (e.g. copies, so the tree can be rebuilt while this runs).
M3_BIN=${M3_BIN:-src/M3.Cli/bin/Release/net10.0}
BENCH_BIN=${BENCH_BIN:-bench/M3.Bench/bin/Release/net10.0}
[ -f "$M3_BIN/m3.dll" ] || dotnet build src/M3.Cli -c Release -v q >/dev/null
m3() { dotnet "$M3_BIN/m3.dll" "$@"; }
mkdir -p "$WORK"
if [[ " $MODELS " == *" small "* && ! -f "$WORK/small/config.json" ]]; then
  [ -f "$BENCH_BIN/M3.Bench.dll" ] || dotnet build bench/M3.Bench -c Release -v q >/dev/null
  dotnet "$BENCH_BIN/M3.Bench.dll" random-model "$WORK/small"
fi
threads=$([ "$PARALLEL" = 1 ] && echo 1 || echo 0)

evaluate() { # MODEL LABEL
  rm -rf "$WORK/index-$2"
  m3 index add --index "$WORK/index-$2" --model "$1" --input "$DATA/dev/corpus.jsonl" >/dev/null
  m3 eval --index "$WORK/index-$2" --queries "$DATA/dev/queries.jsonl" --qrels "$DATA/dev/qrels/dev.tsv" | sed "s/^/$2 /"
}

train() { # MODEL BASE VARIANT FLAGS...
  local model=$1 label=$2-$3 limit=()
  shift 3
  [ "$TRAIN_SECONDS" -gt 0 ] && limit=(timeout --preserve-status --signal=INT "$TRAIN_SECONDS")
  echo "m3 train --model $model --data $DATA/train.jsonl --output $WORK/$label --overwrite --max-steps $STEPS $TRAIN_ARGS --threads $threads --save-steps $SAVE_STEPS $* --log-json $WORK/$label.log.jsonl" >&2
  "${limit[@]}" dotnet "$M3_BIN/m3.dll" train --model "$model" --data "$DATA/train.jsonl" --output "$WORK/$label" --overwrite \
    --max-steps "$STEPS" $TRAIN_ARGS --threads "$threads" --save-steps "$SAVE_STEPS" "$@" --log-json "$WORK/$label.log.jsonl" \
    > "$WORK/$label.out" 2> "$WORK/$label.err" || [ $? = 130 ] # 130: stopped by TRAIN_SECONDS; its checkpoints remain
  sed "s/^/$label train /" "$WORK/$label.out"
}

# The trained model, or the newest checkpoint of a run that was stopped.
result() { # LABEL
  if [ -f "$WORK/$1/config.json" ]; then echo "$WORK/$1"; else ls -d "$WORK/$1"/checkpoint-* | sort -V | tail -1; fi
}

for base in $MODELS; do
  model=$([ "$base" = tiny ] && echo tests/fixtures/tiny-m3 || echo "$WORK/small")
  evaluate "$model" "$base-before"
  if [ "$PARALLEL" = 1 ]; then
    train "$model" "$base" unified &
    train "$model" "$base" self-distill --self-distill &
    wait
  else
    train "$model" "$base" unified
    train "$model" "$base" self-distill --self-distill
  fi
  for variant in unified self-distill; do
    trained=$(result "$base-$variant")
    echo "$base-$variant evaluates $trained" >&2
    evaluate "$trained" "$base-$variant"
  done
done
