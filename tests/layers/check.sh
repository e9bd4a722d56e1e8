#!/bin/sh
# core/'s layers point one way: a file may include headers of its own layer
# and of the layers below it, never above (a lower layer reaches a higher
# one only through a callback or ops table it was handed). Fails naming
# every include that breaks the rule. Usage: check.sh [CORE_DIR]
core=${1:-$(dirname "$0")/../../core}
order="base net host chat lua api app"
rank() {
	i=0
	for l in $order; do
		[ "$l" = "$1" ] && { echo $i; return; }
		i=$((i + 1))
	done
	echo -1
}
bad=0
for dir in "$core"/*/; do
	layer=$(basename "$dir")
	r=$(rank "$layer")
	if [ "$r" -lt 0 ]; then
		echo "core/$layer/: not a known layer (known: $order)"
		bad=1
		continue
	fi
	for f in "$dir"*.c "$dir"*.h; do
		[ -e "$f" ] || continue
		# '#include "layer/file.h"' lines only
		for inc in $(sed -n 's/^#include "\([a-z_]*\)\/[^"]*".*/\1/p' "$f" | sort -u); do
			ir=$(rank "$inc")
			if [ "$ir" -lt 0 ] || [ "$ir" -gt "$r" ]; then
				echo "core/$layer/$(basename "$f") includes $inc/: a higher layer than $layer"
				bad=1
			fi
		done
	done
done
loose=$(find "$core" -maxdepth 1 -name '*.[ch]' | head -1)
if [ -n "$loose" ]; then
	echo "$loose: core/ files belong in a layer folder"
	bad=1
fi
[ $bad = 0 ] && echo "layers: every include points down or sideways ($order)"
exit $bad
