#!/usr/bin/env bash
# Fine-tunes two small models on debian-l10n's train.jsonl, with and without self-distillation, and evaluates each on
# its dev split before and after (m3 eval: nDCG@10, Recall@100, MRR@10 per mode). Minutes on a CPU; not part of the tests.
#   examples/fine-tune-demo.sh            STEPS=150 WORK=/tmp/m3-demo DATA=../shared/data/debian-l10n by default
# Models: the tiny fixture (hidden 32, 2 layers) and a random-initialized one (hidden 256, 4 layers, the fixture's
# 16,002-token vocabulary) written by the benchmark project's random-model command.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/debian-l10n}
WORK=${WORK:-/tmp/m3-demo}
STEPS=${STEPS:-150}
TRAIN_ARGS=${TRAIN_ARGS:---batch-size 16 --group-size 4 --lr 5e-4 --warmup-ratio 0.1 --dropout 0}

# M3_BIN / BENCH_BIN: already built output folders (e.g. copies, so the tree can be rebuilt while this runs).
M3_BIN=${M3_BIN:-src/M3.Cli/bin/Release/net10.0}
BENCH_BIN=${BENCH_BIN:-bench/M3.Bench/bin/Release/net10.0}
[ -f "$M3_BIN/m3.dll" ] || dotnet build src/M3.Cli -c Release -v q >/dev/null
m3() { dotnet "$M3_BIN/m3.dll" "$@"; }
mkdir -p "$WORK"
if [ ! -f "$WORK/small/config.json" ]; then
  [ -f "$BENCH_BIN/M3.Bench.dll" ] || dotnet build bench/M3.Bench -c Release -v q >/dev/null
  dotnet "$BENCH_BIN/M3.Bench.dll" random-model "$WORK/small"
fi

evaluate() { # MODEL LABEL
  rm -rf "$WORK/index-$2"
  m3 index add --index "$WORK/index-$2" --model "$1" --input "$DATA/dev/corpus.jsonl" >/dev/null
  m3 eval --index "$WORK/index-$2" --queries "$DATA/dev/queries.jsonl" --qrels "$DATA/dev/qrels/dev.tsv" | sed "s/^/$2 /"
}

for base in tiny small; do
  model=$([ $base = tiny ] && echo tests/fixtures/tiny-m3 || echo "$WORK/small")
  evaluate "$model" "$base-before"
  for variant in unified self-distill; do
    flags=$([ $variant = self-distill ] && echo "--self-distill" || true)
    echo "m3 train --model $model --data $DATA/train.jsonl --max-steps $STEPS $TRAIN_ARGS $flags" >&2
    m3 train --model "$model" --data "$DATA/train.jsonl" --output "$WORK/$base-$variant" --overwrite --max-steps "$STEPS" \
      $TRAIN_ARGS $flags --log-json "$WORK/$base-$variant.log.jsonl" | sed "s/^/$base-$variant train /"
    evaluate "$WORK/$base-$variant" "$base-$variant"
  done
done
