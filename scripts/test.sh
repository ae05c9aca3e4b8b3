#!/usr/bin/env bash
# Runs every test project of the solution (Release).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet test M3Sharp.slnx -c Release "$@"
