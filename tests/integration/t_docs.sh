# t_docs.sh -- the manual and the README against the program: the manual
# renders without a warning from groff or man (what lintian looks at), a
# minus sign that starts an option is written \- (so that it can be
# searched and pasted), and every option azblobfs --help lists is in the
# README's options table and in the manual's OPTIONS.
set -eu
. "$(dirname "$0")/lib.sh"

SRC=${AZB_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
MAN="$SRC/man/azblobfs.1"
README="$SRC/README"
command -v groff >/dev/null || azb_die "groff missing: apt-get install groff-base"
command -v man >/dev/null || azb_die "man missing: apt-get install man-db"
[ -r "$MAN" ] || azb_die "$MAN missing"
[ -r "$README" ] || azb_die "$README missing"

# ---- the manual renders cleanly ----
eq "groff -man -ww: no warning" "" "$(groff -man -Tutf8 -ww -z "$MAN" 2>&1)"
eq "man --warnings: no warning" "" \
  "$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$MAN" 2>&1 >/dev/null)"
eq "man renders the page" 0 "$(LC_ALL=C.UTF-8 man -l "$MAN" >/dev/null 2>&1; echo $?)"
eq "no option written with a plain - (use \\-)" "" \
  "$(grep -nE '(^|[ ("[|])-{1,2}[a-zA-Z0-9]' "$MAN" | grep -v '^[0-9]*:\.\\"' || true)"

# ---- every option of --help is documented in both ----
help=$("$AZBLOBFS_BIN" --help)
opts=$(printf '%s\n' "$help" | sed -n 's/^  -o \([^ ]*\).*/\1/p' | tr ',' '\n' | sed 's/=.*/=/')
ok "--help lists options" test "$(printf '%s\n' "$opts" | wc -l)" -ge 20
# the README's Options section: from its title to the next one
readme_opts=$(awk '/^-+$/ { if (prev == "Options") on = 1; else if (on) exit } { if (on) print; prev = $0 }' "$README")
# the manual's OPTIONS section
man_opts=$(awk '/^\.SH OPTIONS/ { on = 1; next } /^\.SH / { on = 0 } on' "$MAN")
missing_readme=""
missing_man=""
for o in $opts; do
  case $o in
  *=)
    grep -qF -- "\`$o" <<<"$readme_opts" || missing_readme="$missing_readme $o"
    grep -qF -- "$o" <<<"$man_opts" || missing_man="$missing_man $o"
    ;;
  *)
    grep -qF -- "\`$o\`" <<<"$readme_opts" || missing_readme="$missing_readme $o"
    grep -qxF -- ".B $o" <<<"$man_opts" || missing_man="$missing_man $o"
    ;;
  esac
done
eq "every option of --help is in the README's options table" "" "$missing_readme"
eq "every option of --help is in the manual's OPTIONS" "" "$missing_man"
ok "the manual's synopsis has azblobfs status" grep -qx '\.B status' "$MAN"

azb_done
