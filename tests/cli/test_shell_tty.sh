#!/usr/bin/env bash
# The default shell's interactive mode, on a real pseudo-terminal: the user is asked, and
# "once", "run", "always" and "deny" each do what they say; "always" becomes a policy entry
# that later non-interactive runs honour.
source "$(dirname "$0")/lib.sh"
B=$ELASTOS_BUILD_DIR
CT=$B/capsules/captest.capsule
"$E" trust add "$B/keys/publisher.pub" --name build >/dev/null 2>&1 || bad "trust build key"
S=localhost://storage

# tty ANSWER ARGS...: runs elastos under a new pty, answers each prompt with ANSWER, and
# leaves the whole terminal transcript in $WORK/tty.
tty() {
    python3 - "$@" >"$WORK/tty" 2>&1 <<'PY'
import os, pty, select, sys, time
answer, args = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    if os.environ.get("PIPE_STDIN"):  # stdin a pipe, the pty only the controlling terminal
        r, w = os.pipe()
        os.write(w, b"piped data\n")
        os.close(w)
        os.dup2(r, 0)
        os.close(r)
    os.execv(args[0], args)
out, deadline, prompts = b"", time.time() + 30, 0
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if not r:
        continue
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if out.count(b"[d]eny? ") > prompts:
        prompts += 1
        os.write(fd, answer.encode() + b"\n")
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.stdout.write("\nexit=%d prompts=%d\n" % (os.waitstatus_to_exitcode(status), prompts))
PY
}

tty a "$E" run "$CT" -- req "$S/t.txt" write write "$S/t.txt" hi
contains "$WORK/tty" 'capsule "captest"'
contains "$WORK/tty" "asks to write"
contains "$WORK/tty" "write: ok"
contains "$WORK/tty" "exit=0 prompts=1"
check 'grep -qx "allow captest@$(cat "$B/keys/publisher.pub") localhost://storage/t.txt write" "$ELASTOS_HOME/shell/policy"'
# "always" holds without a terminal now.
expect 0 "$E" run "$CT" -- req "$S/t.txt" write </dev/null
check 'grep -q "^req: ok" "$WORK/out"'

tty o "$E" run "$CT" -- req "$S/o.txt" write write "$S/o.txt" 1 write "$S/o.txt" 2
contains "$WORK/tty" "write: ok"
contains "$WORK/tty" "write: error limit"

tty r "$E" run "$CT" -- req "$S/r.txt" write req "$S/r.txt" write
contains "$WORK/tty" "prompts=1"                      # asked once, the second request is covered
check '[ "$(grep -c "^req: ok" "$WORK/tty")" = 2 ]'
check '! grep -q "r.txt" "$ELASTOS_HOME/shell/policy"'  # not persisted

tty d "$E" run "$CT" -- req "$S/d.txt" write
contains "$WORK/tty" "req: error denied shell: denied by the user"
"$E" audit show >"$WORK/audit" 2>&1
contains "$WORK/audit" "denied by the user"
contains "$WORK/audit" "shell: grant always"
# The prompt says what each answer means.
contains "$WORK/tty" "[o]nce = this one use only, [r]un = until this run ends, [a]lways = also later runs"
# With stdin piped, the shell still asks on the controlling terminal (/dev/tty), like sudo.
PIPE_STDIN=1 tty o "$E" run "$CT" -- req "$S/p.txt" write write "$S/p.txt" 1
contains "$WORK/tty" "asks to write"
contains "$WORK/tty" "write: ok"
contains "$WORK/tty" "exit=0 prompts=1"
# ... but not with stdin from a file (or /dev/null): no questions, the policy decides.
echo x >"$WORK/in.txt"
PIPE_STDIN= tty o /bin/sh -c "exec '$E' run '$CT' -- req '$S/f.txt' write <'$WORK/in.txt'"
contains "$WORK/tty" "prompts=0"
contains "$WORK/tty" "req: error denied shell: no policy rule matches"

# --- issue 12, finding 11: the "always" line means exactly what was approved ----------------------
# Approving write on the resource "x delete#" must not write "... x delete# write" (read back as
# "allow delete on x", the rest a comment): resources are percent-encoded in the policy file.
tty a "$E" run "$CT" -- req "$S/x delete#" write
contains "$WORK/tty" "req: ok"
check 'grep -qxF "allow captest@$(cat "$B/keys/publisher.pub") localhost://storage/x%20delete%23 write" "$ELASTOS_HOME/shell/policy"'
expect 0 "$E" run "$CT" -- req "$S/x" delete </dev/null      # not approved: no terminal, so denied
check '[[ "$(grep "^req: " "$WORK/out")" == "req: error denied shell: no policy rule matches"* ]]'
expect 0 "$E" run "$CT" -- req "$S/x delete#" write </dev/null   # the approved one holds
check '[[ "$(grep "^req: " "$WORK/out")" == "req: ok"* ]]'
# A malformed line anywhere denies everything, also after a line that matches.
P=$ELASTOS_HOME/shell/policy
cp "$P" "$WORK/policy.keep"
printf 'allow captest localhost://storage/pol/* read\nallow captest\n' >"$P"
expect 0 "$E" run "$CT" -- req "$S/pol/a" read </dev/null
check '[[ "$(grep "^req: " "$WORK/out")" == "req: error denied shell: policy line 2 is malformed"* ]]'
printf 'allow captest localhost://storage/pol/* read\nallow captest localhost://storage/%%G1 read\n' >"$P"
expect 0 "$E" run "$CT" -- req "$S/pol/a" read </dev/null     # a bad escape is malformed too
check '[[ "$(grep "^req: " "$WORK/out")" == *"policy line 2 is malformed"* ]]'
# Hand-written encoded lines mean the decoded resource.
printf '# notes\nallow captest localhost://storage/my%%20notes/* read   # a comment\n' >"$P"
expect 0 "$E" run "$CT" -- req "$S/my notes/a" read req "$S/my" read </dev/null
check '[[ "$(grep "^req: " "$WORK/out" | sed -n 1p)" == "req: ok"* ]]'
check '[[ "$(grep "^req: " "$WORK/out" | sed -n 2p)" == "req: error denied"* ]]'
cp "$WORK/policy.keep" "$P"
finish
