# t_tls.sh -- TLS is always verified: Azurite over HTTPS with a certificate
# from a private CA; the mount works with -o cafile=CA and fails with one
# clear line without it. Also: secrets never reach a debug log, argv or
# an xattr value.
set -eu
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || azb_die "openssl missing"
_azb_tmp
D="$AZB_TMP/tls"
mkdir -p "$D"
# a private CA and a server certificate for 127.0.0.1
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=azblobfs test CA" \
  -keyout "$D/ca.key" -out "$D/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$D/srv.key" -out "$D/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$D/ext"
openssl x509 -req -in "$D/srv.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" -CAcreateserial \
  -days 2 -extfile "$D/ext" -out "$D/srv.pem" 2>/dev/null
nd=$(azb_node_dir)
PORT=$(azb_free_port)
mkdir -p "$D/data"
"$AZB_NODE" "$nd/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$PORT" --location "$D/data" \
  --silent --loose --skipApiVersionCheck --disableTelemetry --cert "$D/srv.pem" --key "$D/srv.key" \
  >"$D/azurite.log" 2>&1 &
APID=$!
azb_on_exit "kill $APID 2>/dev/null"
for i in $(seq 300); do
  curl -s -o /dev/null --cacert "$D/ca.pem" "https://127.0.0.1:$PORT/devstoreaccount1?comp=list" && break
  sleep 0.1
done
URL="https://127.0.0.1:$PORT/devstoreaccount1"
CONN="DefaultEndpointsProtocol=https;AccountName=$AZB_ACCOUNT;AccountKey=$AZB_KEY;BlobEndpoint=$URL;"
NODE_EXTRA_CA_CERTS="$D/ca.pem" AZB_CONN=$CONN _azb_node "$AZB_JS_DIR/sdk.js" mkcontainer tls >/dev/null

M="$AZB_TMP/m"
mkdir -p "$M"
cred=$(azb_credfile "$CONN")
out=$("$AZBLOBFS_BIN" tls "$M" -o "credentials=$cred,retries=0" 2>&1) && rc=0 || rc=$?
eq "without cafile: exit status 1" 1 "$rc"
ok "without cafile: one clear line about the certificate ($out)" \
  bash -c "[ \$(printf '%s\n' \"\$1\" | wc -l) -eq 1 ] && printf '%s' \"\$1\" | grep -qi 'certificate' && printf '%s' \"\$1\" | grep -q 'cafile='" _ "$out"
ok "without cafile: nothing mounted" bash -c "! mountpoint -q '$M'"
azb_mount tls "$M" "$CONN" "cafile=$D/ca.pem,loglevel=debug"
echo "over tls" >"$M/t.txt"
eq "with cafile: written and read back over HTTPS" "over tls" "$(cat "$M/t.txt")"
eq "with cafile: the SDK sees it" "over tls" \
  "$(NODE_EXTRA_CA_CERTS="$D/ca.pem" AZB_CONN=$CONN _azb_node "$AZB_JS_DIR/sdk.js" get tls t.txt -)"

# secrets: a SAS-authenticated mount at debug level, with errors and
# copies (on plain HTTP: Azurite 3.35 answers 500 to a Copy Blob whose
# source carries a SAS when it serves HTTPS itself)
azb_start_azurite
azb_sdk mkcontainer tls >/dev/null
SAS=$(_azb_node -e '
const s = require("@azure/storage-blob");
const cred = new s.StorageSharedKeyCredential(process.env.AZB_ACCOUNT, process.env.AZB_KEY);
const q = s.generateAccountSASQueryParameters({
  expiresOn: new Date(Date.now() + 3600e3), permissions: s.AccountSASPermissions.parse("rwdlacup"),
  services: "b", resourceTypes: "sco" }, cred).toString();
console.log(q);')
SIG=$(printf '%s' "$SAS" | sed -n 's/.*sig=\([^&]*\).*/\1/p')
[ -n "$SIG" ] || azb_die "no sig in the generated SAS"
AZB_SECRETS+=("$SIG")
sascred="$AZB_TMP/sascred"
printf 'account=%s\nsas=%s\n' "$AZB_ACCOUNT" "$SAS" >"$sascred"
chmod 600 "$sascred"
S="$AZB_TMP/s"
mkdir -p "$S"
"$AZBLOBFS_BIN" tls "$S" -f -o "credentials=$sascred,endpoint=$AZURITE_URL,loglevel=debug,cache_dir=$AZB_TMP/cs" \
  >"$AZB_TMP/sas.log" 2>&1 &
SPID=$!
AZB_LOGS+=("$AZB_TMP/sas.log")
azb_on_exit "fusermount3 -u '$S' 2>/dev/null; kill $SPID 2>/dev/null"
for i in $(seq 100); do mountpoint -q "$S" && break; sleep 0.1; done
ok "SAS mount works" mountpoint -q "$S"
echo "sas data" >"$S/s.txt"
cp "$S/s.txt" "$S/s2.txt" || { tail -20 "$AZB_TMP/sas.log"; exit 1; }
cat "$S/nope" 2>/dev/null || true
touch "$S/dst"
setfattr -n user.azblob.copy_source -v "$AZURITE_URL/tls/s.txt?$SAS" "$S/dst" || true
getfattr -d -m - "$S/dst" >"$AZB_TMP/xattrs.txt" 2>&1 || true
getfattr -n user.azblob.copy_source "$S/dst" >>"$AZB_TMP/xattrs.txt" 2>&1 || true
cat "$AZB_TMP/xattrs.txt"
eq "SAS mount: server-side cp" "sas data" "$(cat "$S/s2.txt")"
ok "SAS mount: the copy source shows sig=REDACTED" grep -q 'sig=REDACTED' "$AZB_TMP/xattrs.txt"
ok "argv of the daemon holds no secret" bash -c "! tr '\\0' ' ' </proc/$SPID/cmdline | grep -q -e '$SIG' -e '$AZB_KEY'"
fusermount3 -u "$S"
for i in $(seq 50); do kill -0 $SPID 2>/dev/null || break; sleep 0.1; done
for f in "$AZB_TMP/sas.log" "$AZB_TMP"/mount-m.log "$AZB_TMP/xattrs.txt"; do
  ok "no key, SAS signature or Authorization in $(basename "$f")" \
    bash -c "! grep -q -F -e '$SIG' -e '$AZB_KEY' -e 'SharedKey ' -e 'Authorization' '$f'"
done
ok "the debug log is not empty (the check above means something)" test "$(wc -l <"$AZB_TMP/sas.log")" -gt 5
azb_done
