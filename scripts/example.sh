#!/usr/bin/env bash
# The README's first command: encode the example texts with the fixture checkpoint that ships in tests/fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run --project src/M3.Cli -c Release -- encode --model tests/fixtures/tiny-m3 --input examples/texts.jsonl
