#!/usr/bin/env bash
# test_web_apps.sh - an HTTP app written in Rust (tests/capsules/rust-web, the Rust guest SDK)
# answers through the front (docs/web.md) like the C one: the request's method, path, query and
# headers in its CGI variables, its body on stdin, its Status line and headers passed on; its
# tokens are the route's grants, so with them its storage counter counts and without them every
# request is refused (403 with the runtime's code), audited like any denial.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
RW=$B/capsules/rust-web.capsule
expect 0 "$E" install "$RW"
expect 0 "$E" route add /rs/ 'rust-web@^1' --grant 'localhost://storage/*:read' --grant 'localhost://storage/*:write'
expect 0 "$E" route add /bare/ rust-web
start_web || { finish; exit 1; }

check '[ "$(code /rs/hello)" = 200 ] && [ "$(cat "$WORK/body")" = "hello from rust-web" ]'
check 'grep -qi "^content-type: text/plain" "$WORK/head"'
check '[ "$(code "/rs/a/env?x=1&y=%20z" -H "X-Demo: yes")" = 200 ]'
contains "$WORK/body" "REQUEST_METHOD=GET"
contains "$WORK/body" "PATH_INFO=/a/env"
contains "$WORK/body" "QUERY_STRING=x=1&y=%20z"
contains "$WORK/body" "X_MATCHED_ROUTE=/rs/..."
contains "$WORK/body" "HTTP_X_DEMO=yes"
check '[ "$(code /rs/echo --data-binary "posted body")" = 201 ] && [ "$(cat "$WORK/body")" = "posted body" ]'
check '[ "$(code /rs/nothing)" = 404 ]'
# Its tokens: the route's grants. Each request is a new instance; the count lives in storage.
for i in 1 2 3; do
    check '[ "$(code /rs/count)" = 200 ] && [ "$(cat "$WORK/body")" = "count $i" ]'
done
# Routed without grants: the shell is asked, there is no terminal and no policy, so it denies.
check '[ "$(code /bare/count)" = 403 ] && [ "$(cat "$WORK/body")" = "denied denied" ]'
"$E" audit show >"$WORK/audit" 2>&1
check 'grep -q "deny capsule=rust-web .*localhost://storage/count" "$WORK/audit"'
stop_web
check '[ "$DRC" = 0 ]'
finish
