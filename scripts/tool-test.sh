#!/usr/bin/env bash
# Packs the m3 .NET tool, installs it from the packed folder into a temporary tool path, and runs `m3 encode` on the
# example texts with the fixture checkpoint: the install path users take (dotnet tool install M3Sharp), end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet pack src/M3.Cli -c Release -o "$work/packages" --nologo -v quiet
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
dotnet tool install M3Sharp --version "$version" --tool-path "$work/tools" --add-source "$work/packages"
out="$work/vectors.jsonl"
M3_CACHE="$work/cache" "$work/tools/m3" encode --model tests/fixtures/tiny-m3 --input examples/texts.jsonl --output "$out"
lines=$(wc -l < "$out")
expected=$(grep -c . examples/texts.jsonl)
if [ "$lines" -ne "$expected" ] || ! head -1 "$out" | grep -q '"dense":\['; then
  echo "tool test: expected $expected lines with dense vectors from the installed m3, got $lines" >&2
  exit 1
fi
echo "tool test: the installed m3 $version encoded $lines texts"
