#!/usr/bin/env bash
# Records every public API change of the libraries in their PublicAPI.Unshipped.txt (added members: RS0016; removed: RS0017),
# so that a build passes again after a deliberate change to the public surface. Review the diff before committing it.
# Per project: at solution level dotnet format fixes only the first project.
set -euo pipefail
cd "$(dirname "$0")/.."
for api in src/*/PublicAPI.Shipped.txt; do
  project=$(ls "$(dirname "$api")"/*.csproj)
  echo "== $project"
  dotnet format analyzers "$project" --diagnostics RS0016 RS0017 --severity warn
done
