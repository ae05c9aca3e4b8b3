#!/usr/bin/env bash
# The README's example: tokenize a text with the fixture checkpoint that ships in tests/fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run --project src/M3.Cli -c Release -- tokenize --model tests/fixtures/tiny-m3 "Hello world, привет мир"
