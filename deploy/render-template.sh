#!/bin/sh
# render-template.sh TEMPLATE OUTPUT [NAME=VALUE ...]
#
# Write TEMPLATE to OUTPUT with every @NAME@ replaced by VALUE. Fails, and
# writes nothing, if a placeholder is left without a value: a broker config
# with a literal "@CONF_DIR@" in it would fail later and less clearly.
# Values are taken literally (no newlines). OUTPUT is replaced atomically.
set -eu

if [ $# -lt 2 ]; then
	echo "usage: render-template.sh TEMPLATE OUTPUT [NAME=VALUE ...]" >&2
	exit 2
fi
template=$1
output=$2
shift 2

script=
for pair in "$@"; do
	name=${pair%%=*}
	value=${pair#*=}
	case "$name" in
	'' | *[!A-Z0-9_]*)
		echo "render-template.sh: bad placeholder name '$name'" >&2
		exit 2
		;;
	esac
	escaped=$(printf '%s' "$value" | sed -e 's/[\\|&]/\\&/g')
	script="$script
s|@$name@|$escaped|g"
done

tmp="$output.tmp.$$"
trap 'rm -f "$tmp"' EXIT
sed -e "$script" "$template" >"$tmp"
if grep -n '@[A-Z][A-Z0-9_]*@' "$tmp" >&2; then
	echo "render-template.sh: $template: placeholder(s) above have no value" >&2
	exit 1
fi
mv "$tmp" "$output"
trap - EXIT
