#!/bin/sh
# Every translatable string is in po/POTFILES.in's files, and the German
# translation covers all of them: a fresh template from the current sources,
# merged into po/de.po, must have no untranslated and no fuzzy message.
set -eu
cd "$BS_SOURCE_ROOT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

# Files with translatable strings that POTFILES.in does not list.
grep -v '^#' po/POTFILES.in | sed '/^$/d' | sort > "$tmp/listed"
for f in $(cat "$tmp/listed"); do
  [ -f "$f" ] || { echo "po/POTFILES.in lists $f, which does not exist"; status=1; }
done
grep -rlE '(^|[^A-Za-z0-9_])N?_ ?\("|translatable="yes"' app engine ui resources --include='*.c' --include='*.ui' \
  --include='*.in' --include='*.cpp' | sort > "$tmp/used"
missing=$(comm -13 "$tmp/listed" "$tmp/used")
if [ -n "$missing" ]; then
  echo "po/POTFILES.in misses files with translatable strings:"; echo "$missing"; status=1
fi

xgettext --from-code=UTF-8 --add-comments --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
  --keyword=g_dngettext:2,3 --flag=N_:1:pass-c-format -f po/POTFILES.in -o "$tmp/brainseg.pot" 2>/dev/null
msgmerge --quiet --no-fuzzy-matching po/de.po "$tmp/brainseg.pot" -o "$tmp/de.po"
stats=$(LC_ALL=C msgfmt --check --statistics -o /dev/null "$tmp/de.po" 2>&1) || { echo "$stats"; exit 1; }
echo "de: $stats"
case "$stats" in
  *untranslated*|*fuzzy*)
    echo "untranslated or fuzzy German messages:"
    msgattrib --untranslated --only-fuzzy "$tmp/de.po" 2>/dev/null | grep '^msgid' | head -20
    msgattrib --untranslated "$tmp/de.po" | grep '^msgid' | head -40
    status=1 ;;
esac
LC_ALL=C msgfmt --check --statistics -o /dev/null po/de.po
exit $status
