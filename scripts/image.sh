#!/bin/sh
# Builds the one Chat4All image (every role: api, worker, migrate, gc) as chat4all/api:<tag>.
#   npm run image -- v2.1.0                                  # build chat4all/api:v2.1.0
#   npm run image -- v2.1.0 registry.example.com/chat4all/api # also tag and push it there
# Then roll it out (k8s/README.md, "Rolling updates").
set -eu
tag=${1:?usage: npm run image -- <tag> [<registry>/<repository>]}
docker build --tag "chat4all/api:$tag" "$(dirname "$0")/.."
if [ -n "${2:-}" ]; then
  docker tag "chat4all/api:$tag" "$2:$tag"
  docker push "$2:$tag"
fi
