#!/bin/sh
# Installs a node image's files into ROOT from lists of "SOURCE DESTINATION MODE"
# lines (SOURCE relative to SRC_DIR; blank lines and # comments skipped). A later
# list overrides an earlier one's line for the same DESTINATION, and the SOURCE
# "-" installs nothing there (the distribution's own file stays). One list per
# flavor, read by its Containerfile and by the dev VM build alike.
# Usage: install-files.sh SRC_DIR ROOT LIST [OVERRIDE_LIST...]
# POSIX sh: it runs in the Containerfile's base image as well as on the build host.
set -eu

[ $# -ge 3 ] || { echo "usage: install-files.sh SRC_DIR ROOT LIST [OVERRIDE_LIST...]" >&2; exit 2; }
src=$1 root=$2
shift 2

# The effective list: each destination once, from the last list that names it, in first-seen order.
effective=$(awk '
  /^[[:space:]]*(#|$)/ { next }
  NF != 3 { printf "install-files: %s:%d: want SOURCE DESTINATION MODE, got: %s\n", FILENAME, FNR, $0 > "/dev/stderr"; bad = 1; exit 2 }
  $2 !~ /^\// || $2 ~ /(^|\/)\.\.(\/|$)/ { printf "install-files: %s:%d: destination must be absolute, without ..: %s\n", FILENAME, FNR, $2 > "/dev/stderr"; bad = 1; exit 2 }
  $3 !~ /^0[0-7][0-7][0-7]$/ { printf "install-files: %s:%d: mode must be octal like 0644: %s\n", FILENAME, FNR, $3 > "/dev/stderr"; bad = 1; exit 2 }
  { if (!($2 in line)) order[++n] = $2; line[$2] = $1 " " $2 " " $3 }
  END { if (!bad) for (i = 1; i <= n; i++) print line[order[i]] }
' "$@")
printf '%s\n' "$effective" | while read -r source destination mode; do
  [ -n "$source" ] || continue
  [ "$source" = "-" ] && continue
  install -D -m "$mode" "$src/$source" "$root$destination"
done
