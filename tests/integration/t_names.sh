# t_names.sh -- hostile names round-trip in both directions: written through
# the mount and read by the SDK, written by the SDK and read through the
# mount. Proves the per-segment percent-encoding and the Shared Key
# canonical resource for every name.
set -eu
. "$(dirname "$0")/lib.sh"
azb_start_azurite
C=names
azb_sdk mkcontainer $C >/dev/null
M="$AZB_TMP/m"
azb_mount $C "$M"

long250=$(printf 'L%.0s' $(seq 250))
names=(
  "with space.txt" "100% sure" "hash#tag" "what?.txt" "a+b=c" "this&that"
  "single'quote" 'double"quote' "emoji-😀.txt" "ünïcödé" "日本語のファイル"
  "semi;colon" "comma,name" "tilde~" "brackets[1]" "curly{x}" "at@sign" "dollar\$HOME"
  "back\\slash" "equals=" "pipe|bar" "star*" "lt<gt>" " leading space" "trailing."
  "percent%2Fslash" "%41%42" "plus+plus"
)
i=0
for n in "${names[@]}"; do
  i=$((i + 1))
  printf 'mount %d' "$i" >"$M/$n"
  eq "mount->SDK: [$n]" "mount $i" "$(azb_sdk get $C "$n" - 2>&1)"
  azb_sdk putstr $C "sdk/$n" "sdk $i" >/dev/null
  eq "SDK->mount: [$n]" "sdk $i" "$(cat "$M/sdk/$n" 2>&1)"
done
ls -A "$M/sdk" >"$AZB_TMP/listed"
eq "listing shows every name" "${#names[@]}" "$(wc -l <"$AZB_TMP/listed")"
[ "$(wc -l <"$AZB_TMP/listed")" = "${#names[@]}" ] ||
  printf '  listed: %s\n' "$(tr '\n' '|' <"$AZB_TMP/listed")" >&2
# nested hostile directories
mkdir -p "$M/dir #1/sub ?2/ü 3"
echo deep >"$M/dir #1/sub ?2/ü 3/f&g"
eq "nested hostile path on the server" "deep" "$(azb_sdk get $C "dir #1/sub ?2/ü 3/f&g" -)"
mv "$M/dir #1" "$M/dir %2"
eq "mv of a hostile directory" "deep" "$(azb_sdk get $C "dir %2/sub ?2/ü 3/f&g" -)"
# 1024-byte blob name: four 250-byte components + separators + 20 bytes
p="$long250/$long250/$long250/$long250"
mkdir -p "$M/$p"
name1024="$p/$(printf 'x%.0s' $(seq 20))"
[ ${#name1024} -eq 1024 ] || azb_die "test bug: name is ${#name1024} bytes"
echo ok >"$M/$name1024"
eq "1024-byte name written" "ok" "$(azb_sdk get $C "$name1024" -)"
# (another client's blob in a tree the mount made: shows at once)
other="M${name1024:1}"
azb_sdk putstr $C "$other" "sdk1024" >/dev/null
eq "1024-byte name read" "sdk1024" "$(cat "$M/$other")"
ok "1025-byte name is ENAMETOOLONG" fails_with "File name too long" touch "$M/${name1024}z"
ok "mkdir over the limit is ENAMETOOLONG" fails_with "File name too long" mkdir "$M/${name1024}z"
ok "removing hostile names" rm -r "$M/sdk"
eq "all removed on the server" "" "$(azb_sdk list $C sdk/)"
azb_done
