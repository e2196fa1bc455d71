# t_lease.sh -- copy_lease=on: the source of a pending copy is leased
# (Lease Blob, 60 s), Copy Blob names the lease, the lease is renewed while
# the copy is pending (also after cp returned with copy=async) and released
# when it ends or is aborted; meanwhile other clients and writes through
# the mount cannot change the source. And Ctrl-C: a cp or mv waiting for
# a pending copy, interrupted, aborts it. Every mount goes through the
# async-copy emulator, whose log shows the leases, copies and aborts.
set -eu
. "$(dirname "$0")/lib.sh"
azb_start_azurite
azb_start_copyemu $((256 * 1024))
C=leases
azb_sdk mkcontainer $C >/dev/null
L="$AZB_TMP/local"
mkdir -p "$L"
head -c $((8 * 1024 * 1024)) /dev/urandom >"$L/src8"
azb_sdk put $C src8 "$L/src8" >/dev/null
log() { azb_emu_log | azb_json "$1"; }
wait_for() { # SECONDS CMD...
  local t=$1 i
  shift
  for ((i = 0; i < t * 5; i++)); do "$@" && return 0; sleep 0.2; done
  return 1
}
status_is() { [ "$(getfattr --only-values -n user.azblob.copy_status "$1" 2>/dev/null)" = "$2" ]; }
lease_state() { azb_sdk props $C "$1" | azb_json j.leaseState; }
# leases KIND BLOB : how many Lease Blob KIND of BLOB succeeded (2xx)
leases() { log "j.leases.filter(l => l.kind === '$1' && l.blob === '$C/$2' && l.status < 300).length"; }
released() { [ "$(leases release "$1")" -ge 1 ]; }
renewed() { # LEASEID : a renewal of that lease succeeded
  [ "$(log "j.leases.filter(l => l.kind === 'renew' && l.leaseId === '$1' && l.status === 200).length")" -ge 1 ]
}
copying() { [ "$(log j.copies.length)" -ge 1 ]; }
# (renewals every 2 s instead of 20, so that the tests see some)
export AZBLOBFS_TEST_LEASE_RENEW_MS=2000
E="$AZB_TMP/e"
azb_mount $C "$E" "$AZB_CONN_EMU" "copy=async,copy_lease=on"

# ---- cp (copy=async): leased while pending, renewed, released at the end ----
azb_emu_reset
cp "$E/src8" "$E/c1"
eq "cp returns while the copy is pending" pending "$(getfattr --only-values -n user.azblob.copy_status "$E/c1")"
eq "the source is leased (SDK)" leased "$(lease_state src8)"
eq "Lease Blob acquire of the source for 60 s" "acquire $C/src8 60 201" \
  "$(log '`${j.leases[0].kind} ${j.leases[0].blob} ${j.leases[0].duration} ${j.leases[0].status}`')"
lid=$(log 'j.leases[0].leaseId')
eq "Copy Blob sent that lease as x-ms-source-lease-id" "$lid" "$(log 'j.copies[0].sourceLeaseId')"
ok "an SDK write to the source without the lease id is refused (412)" fails_with 412 azb_sdk putstr $C src8 "theirs"
ok "a write through the mount to the source is EBUSY" fails_with "busy" bash -c "echo x >>'$E/src8'"
ok "truncating the source through the mount is EBUSY" fails_with "busy" truncate -s 0 "$E/src8"
ok "reading the source through the mount works" test "$(sha "$E/src8")" = "$(sha "$L/src8")"
ok "the lease is renewed while pending, after cp returned" wait_for 15 renewed "$lid"
eq "still pending while renewed" pending "$(getfattr --only-values -n user.azblob.copy_status "$E/c1")"
azb_emu_rate $((64 * 1024 * 1024))
ok "the copy ends" wait_for 30 status_is "$E/c1" success
ok "the lease is released once the copy ended" wait_for 15 released src8
eq "the source is no longer leased" available "$(lease_state src8)"
eq "the copy has the source's bytes" "$(sha "$L/src8")" "$(azb_sdk sha256 $C c1)"
eq "the source kept its bytes" "$(sha "$L/src8")" "$(azb_sdk sha256 $C src8)"
ok "the source can be written again through the mount" bash -c "cat '$L/src8' >'$E/src8'"

# ---- rm of the pending destination aborts it and releases the lease ----
azb_emu_rate $((256 * 1024))
azb_emu_reset
cp "$E/src8" "$E/c2"
id=$(getfattr --only-values -n user.azblob.copy_id "$E/c2")
eq "leased again for the next copy" leased "$(lease_state src8)"
rm "$E/c2"
eq "rm sends Abort Copy Blob with the copy id" "$id 204" "$(log '`${j.aborts[0].id} ${j.aborts[0].result}`')"
ok "the lease is released after the abort" wait_for 10 released src8
eq "... and the source is free" available "$(lease_state src8)"

# ---- the copy xattr and the control file lease an in-mount source too ----
azb_emu_reset
touch "$E/x1"
setfattr -n user.azblob.copy_source -v /src8 "$E/x1"
lid=$(log 'j.leases.find(l => l.kind === "acquire").leaseId')
eq "copy xattr: Copy Blob with the source lease" "$lid" "$(log 'j.copies[0].sourceLeaseId')"
eq "copy xattr: the source is leased" leased "$(lease_state src8)"
ok "copy xattr: a second copy of the same source shares the lease" bash -c \
  "echo '/src8 /x2' >'$E/.azblobfs/copy'"
eq "control file: Copy Blob with the same lease" "$lid $lid" "$(log '`${j.copies[0].sourceLeaseId} ${j.copies[1].sourceLeaseId}`')"
eq "one acquire for both" 1 "$(leases acquire src8)"
rm "$E/x1"
eq "the lease stays while the other copy is pending" leased "$(lease_state src8)"
rm "$E/x2"
ok "... and goes with the last one" wait_for 10 released src8
eq "nothing leased at the end" available "$(lease_state src8)"

# ---- a source leased by another client: the copy is refused ----
other=$(azb_sdk lease $C src8 acquire 60)
ok "cp of a source leased elsewhere fails (EBUSY, no fallback)" fails_with "busy" cp "$E/src8" "$E/c3"
azb_sdk lease $C src8 release "$other" >/dev/null

# ---- mv (waits) with copy_lease: the source is deleted with its lease ----
azb_umount "$E" "$AZB_MOUNT_PID"
S="$AZB_TMP/s"
azb_mount $C "$S" "$AZB_CONN_EMU" "copy=sync,copy_lease=on"
azb_sdk put $C m1 "$L/src8" >/dev/null
azb_emu_rate $((4 * 1024 * 1024))
azb_emu_reset
mv "$S/m1" "$S/m1moved"
eq "mv: Copy Blob with the source lease" "$(log 'j.leases[0].leaseId')" "$(log 'j.copies[0].sourceLeaseId')"
ok "mv: the source is gone (deleted with its lease)" azb_absent $C m1
eq "mv: the moved bytes" "$(sha "$L/src8")" "$(azb_sdk sha256 $C m1moved)"
# cp with copy=sync: the lease goes when cp returns
azb_emu_reset
cp "$S/src8" "$S/s1"
eq "cp (copy=sync): acquired and released" "1 1" "$(leases acquire src8) $(leases release src8)"
eq "cp (copy=sync): the source is free" available "$(lease_state src8)"

# ---- Ctrl-C on cp waiting for a pending copy aborts it ----
# (a background job of a script ignores SIGINT: env gives it back)
azb_emu_rate $((64 * 1024))
azb_emu_reset
env --default-signal=INT cp "$S/src8" "$S/int1" &
CP=$!
ok "cp waits for its pending copy" wait_for 20 copying
sleep 0.5
kill -INT "$CP"
rc=0
wait "$CP" || rc=$?
eq "cp ends by the interrupt (status 130)" 130 "$rc"
cid=$(log 'j.copies[0].id')
eq "Abort Copy Blob with that copy id" "$cid 204" "$(log '`${j.aborts[0] && j.aborts[0].id} ${j.aborts[0] && j.aborts[0].result}`')"
eq "the destination is an aborted copy" aborted "$(getfattr --only-values -n user.azblob.copy_status "$S/int1")"
eq "... with that id" "$cid" "$(getfattr --only-values -n user.azblob.copy_id "$S/int1")"
ok "its source lease is released" wait_for 10 released src8
# ---- ... and on mv: the source stays ----
azb_sdk put $C m2 "$L/src8" >/dev/null
azb_emu_reset
env --default-signal=INT mv "$S/m2" "$S/m2moved" &
MV=$!
ok "mv waits for its pending copy" wait_for 20 copying
sleep 0.5
kill -INT "$MV"
rc=0
wait "$MV" || rc=$?
eq "mv ends by the interrupt (status 130)" 130 "$rc"
cid=$(log 'j.copies[0].id')
eq "mv: Abort Copy Blob with that copy id" "$cid 204" "$(log '`${j.aborts[0] && j.aborts[0].id} ${j.aborts[0] && j.aborts[0].result}`')"
eq "mv: the destination is an aborted copy" aborted "$(getfattr --only-values -n user.azblob.copy_status "$S/m2moved")"
eq "mv: the source stays, with its bytes" "$(sha "$L/src8")" "$(azb_sdk sha256 $C m2)"
ok "mv: the source's lease is released" wait_for 10 released m2
eq "mv: the source is free" available "$(lease_state m2)"
azb_emu_rate $((64 * 1024 * 1024))

# ---- without copy_lease: no lease, and Ctrl-C still aborts ----
azb_umount "$S" "$AZB_MOUNT_PID"
N="$AZB_TMP/n"
azb_mount $C "$N" "$AZB_CONN_EMU" "copy=sync"
azb_emu_reset
cp "$N/src8" "$N/n1"
eq "copy_lease=off: no Lease Blob" 0 "$(log j.leases.length)"
eq "copy_lease=off: no source lease id" null "$(log 'j.copies[0].sourceLeaseId')"
azb_emu_rate $((64 * 1024))
azb_emu_reset
env --default-signal=INT cp "$N/src8" "$N/n2" &
CP=$!
ok "cp waits (copy_lease=off)" wait_for 20 copying
sleep 0.5
kill -INT "$CP"
rc=0
wait "$CP" || rc=$?
eq "cp ends by the interrupt (copy_lease=off)" "130 $(log 'j.copies[0].id')" "$rc $(log 'j.aborts[0] && j.aborts[0].id')"
azb_emu_rate $((64 * 1024 * 1024))

azb_done
