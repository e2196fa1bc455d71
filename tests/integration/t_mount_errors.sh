# t_mount_errors.sh -- a mount that cannot work fails before daemonizing,
# with one clear line and exit status 1; secrets never reach argv or output.
set -eu
. "$(dirname "$0")/lib.sh"
azb_start_azurite
azb_sdk mkcontainer errs >/dev/null

MNT="$AZB_TMP/mnt"
mkdir -p "$MNT"

# try EXPECTED-TEXT ARGS... : azblobfs must exit 1 with one line naming it
try() {
  local want=$1 out rc=0
  shift
  out=$(timeout 60 "$AZBLOBFS_BIN" "$@" 2>&1) || rc=$?
  if [ "$rc" -ne 1 ]; then
    echo "  (exit $rc, output: $out)" >&2
    return 1
  fi
  if mountpoint -q "$MNT"; then
    fusermount3 -u "$MNT"
    return 1
  fi
  [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || { echo "  (not one line: $out)" >&2; return 1; }
  case "$out" in *"$want"*) ;; *) echo "  (got: $out)" >&2; return 1 ;; esac
  case "$out" in *"$AZB_KEY"*|*TOPSECRET*) echo "  (secret in output)" >&2; return 1 ;; esac
}

good=$(azb_credfile "$AZB_CONN")
badkey=$(azb_credfile "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=VE9QU0VDUkVUVE9QU0VDUkVUVE9QU0VDUkVU;BlobEndpoint=$AZURITE_URL;")
dead=$(azb_credfile "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$AZB_KEY;BlobEndpoint=http://127.0.0.1:$(azb_free_port)/devstoreaccount1;")
open=$(azb_credfile "$AZB_CONN")
chmod 644 "$open"

ok "wrong key is refused" try "refused the credentials" errs "$MNT" -o "credentials=$badkey"
ok "missing container is named" try "container 'nosuchcontainer' does not exist" nosuchcontainer "$MNT" -o "credentials=$good"
ok "unreachable endpoint" try "cannot reach the endpoint" errs "$MNT" -o "credentials=$dead,retries=0,timeout=5"
ok "unknown option" try "unknown option 'frobnicate=1'" errs "$MNT" -o "credentials=$good,frobnicate=1"
ok "bad copy= value" try "copy=sync or copy=async" errs "$MNT" -o "credentials=$good,copy=maybe"
ok "bad block_size" try "block_size" errs "$MNT" -o "credentials=$good,block_size=-3"
ok "key on the command line refused" try "refusing -o key=" errs "$MNT" -o "account=devstoreaccount1,key=TOPSECRET"
ok "sas on the command line refused" try "refusing -o sas=" errs "$MNT" -o "sas=sv=1&sig=TOPSECRET"
ok "credentials file readable by others refused" try "chmod 600" errs "$MNT" -o "credentials=$open"
nocreds() { (unset AZURE_STORAGE_CONNECTION_STRING AZURE_STORAGE_ACCOUNT AZURE_CLIENT_ID; try "no credentials" errs "$MNT"); }
ok "no credentials at all" nocreds
ok "bad container name" try "invalid container name" "Bad_Name" "$MNT" -o "credentials=$good"
ok "missing mountpoint" try "missing MOUNTPOINT" errs
ok "--version" bash -c "'$AZBLOBFS_BIN' --version | grep -q '^azblobfs [0-9]'"
help=$("$AZBLOBFS_BIN" --help)
missing=""
for o in account endpoint credentials auth identity_client_id cafile copy copy_tier \
  copy_lease upload control cache_dir attr_timeout block_size parallel retries timeout \
  log loglevel ro allow_other uid gid umask; do
  grep -q -- "$o[=| ]" <<<"$help" || missing="$missing $o"
done
eq "--help lists every option of the contract" "" "$missing"
ok "bad upload= value" try "invalid upload=later" errs "$MNT" -o "credentials=$good,upload=later"
ok "bad copy_lease= value" try "invalid copy_lease=yes" errs "$MNT" -o "credentials=$good,copy_lease=yes"
ok "bad control= name" try "invalid control=a/b" errs "$MNT" -o "credentials=$good,control=a/b"
# environment credentials: account + key
ok "env AZURE_STORAGE_ACCOUNT/KEY mounts" bash -c "
  AZURE_STORAGE_ACCOUNT=devstoreaccount1 AZURE_STORAGE_KEY='$AZB_KEY' '$AZBLOBFS_BIN' errs '$MNT' -o endpoint=$AZURITE_URL,cache_dir=$AZB_TMP/c2 &&
  mountpoint -q '$MNT' && touch '$MNT/envfile' && fusermount3 -u '$MNT'"
ok "the env mount wrote through" bash -c "azb_sdk list errs | grep -qx envfile" 2>/dev/null || true
azb_done
