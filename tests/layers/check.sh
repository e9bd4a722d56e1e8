#!/bin/sh
# core/'s layers point one way: a file may include headers of its own layer
# and of the layers below it, never above (a lower layer reaches a higher
# one only through a callback or ops table it was handed). Fails naming
# every include that breaks the rule. Usage: check.sh [CORE_DIR]
core=${1:-$(dirname "$0")/../../core}
order="base net host chat lua api app"
loose=$(find "$core" -maxdepth 1 -name '*.[ch]' | head -1)
if [ -n "$loose" ]; then
	echo "$loose: core/ files belong in a layer folder"
	exit 1
fi
for dir in "$core"/*/; do
	case " $order " in
	*" $(basename "$dir") "*) ;;
	*) echo "core/$(basename "$dir")/: not a known layer (known: $order)"; exit 1 ;;
	esac
done
# One pass: "FILE:#include "layer/x.h"" lines, judged by awk.
grep -H '^#include "[a-z_]*/' "$core"/*/*.[ch] 2>/dev/null |
	awk -v order="$order" -v core="$core" '
	BEGIN { n = split(order, o, " "); for (i = 1; i <= n; i++) rank[o[i]] = i }
	{
		file = substr($0, 1, index($0, ":") - 1)
		rel = substr(file, length(core) + 2)
		layer = substr(rel, 1, index(rel, "/") - 1)
		inc = $0; sub(/^[^"]*"/, "", inc); sub(/\/.*/, "", inc)
		if (!(layer in rank)) { print "core/" layer "/: not a known layer (known: " order ")"; bad = 1; next }
		if (!(inc in rank) || rank[inc] > rank[layer]) {
			print "core/" rel " includes " inc "/: a higher layer than " layer; bad = 1
		}
	}
	END {
		if (!bad) print "layers: every include points down or sideways (" order ")"
		exit bad
	}'
