#!/bin/sh
# Every C file in the tree is laid out as .clang-format says, so a diff shows
# only what changed and nobody reformats someone else's lines by hand.
# Fix with: clang-format -i FILE (the version pinned in tests/unit/format/CMakeLists.txt).
set -eu
clang_format=$1
top=$2
cd "$top"
bad=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*'); do
	if ! "$clang_format" --dry-run -Werror "$f" 2>/dev/null; then
		echo "not formatted: $f (clang-format -i $f)"
		bad=$((bad + 1))
	fi
done
if [ "$bad" -ne 0 ]; then
	echo "$bad file(s) differ from .clang-format"
	exit 1
fi
echo "every C file matches .clang-format"
