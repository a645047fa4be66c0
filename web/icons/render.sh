#!/bin/sh
# Makes the web app's PNG icons from the SVGs with headless Chromium (the
# browser the tests use; no image tool needed): icon-<n>.png from
# ../favicon.svg (rounded, transparent corners) and maskable-<n>.png from
# maskable.svg (full bleed, the paw inside the safe zone), n = 192 and 512.
# The PNGs are committed; run this again after changing an SVG:
#   sh web/icons/render.sh [path/to/chromium]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
chromium=${1:-${IOD_CHROMIUM:-/usr/bin/chromium}}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for n in 192 512; do
	for pair in "icon:$here/../favicon.svg" "maskable:$here/maskable.svg"; do
		name=${pair%%:*}
		src=${pair#*:}
		cat >"$tmp/page.html" <<HTML
<!doctype html><html><head><style>html,body{margin:0;background:transparent}
img{display:block;width:${n}px;height:${n}px}</style></head>
<body><img src="file://$src"></body></html>
HTML
		"$chromium" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
			--default-background-color=00000000 --window-size="$n,$n" \
			--screenshot="$here/$name-$n.png" "file://$tmp/page.html" >/dev/null 2>&1
		echo "$here/$name-$n.png"
	done
done
