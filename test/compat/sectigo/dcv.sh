#!/usr/bin/env bash
# Sectigo domains and domain control validation (seeds/003_*: /api/domain/v1,
# /api/dcv/v1 and /v2) against Signet, checked for real: the HTTP file is
# served from WEBROOT, the TXT and CNAME records from ZONEDIR by a small DNS
# server the calling test runs, the email code arrives in MAILDIR from a
# local SMTP sink. A profile whose template requires validated domains then
# issues under a validated domain and refuses a name outside them (-737).
#
#   BASE       the API's base URL (https://host:port/compat/sectigo)
#   NATIVE     the native API's base URL, for setup and the email confirmation
#   API_KEY    the bootstrap admin's API key (login "admin", customerUri "default")
#   WEBROOT    directory served as http://<any .test name>/ on Signet's dcv http_port
#   ZONEDIR    directory of DNS records: <name>.TXT and <name>.CNAME files
#   MAILDIR    directory the SMTP sink writes each message to
#   CACERT     optional: CA bundle curl trusts
#   WORKDIR    optional: scratch directory
#   SUFFIX     optional: makes names unique per run
set -euo pipefail

: "${BASE:?}" "${NATIVE:?}" "${API_KEY:?}" "${WEBROOT:?}" "${ZONEDIR:?}" "${MAILDIR:?}"
WORKDIR=${WORKDIR:-$(mktemp -d)}
SUFFIX=${SUFFIX:-$$}
cd "$WORKDIR"

CURL=(curl -sS --max-time 30)
if [ -n "${CACERT:-}" ]; then CURL+=(--cacert "$CACERT"); fi
H=(-H "login: admin" -H "password: $API_KEY" -H "customerUri: default" -H 'Content-Type: application/json;charset=UTF-8')

step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
call() {
  local method=$1 path=$2 out=$3 data=${4:-}
  local args=("${CURL[@]}" "${H[@]}" -X "$method" -o "$out" -w '%{http_code}')
  if [ -n "$data" ]; then args+=(--data-binary "$data"); fi
  "${args[@]}" "$BASE$path"
}
expect() {
  local want=$1; shift
  local got
  got=$(call "$@")
  [ "$got" = "$want" ] || fail "$1 $2: HTTP $got, want $want: $(cat "$3" 2>/dev/null)"
}
sectigo_error() {
  jq -e --argjson c "$2" '.code==$c and (.description|type=="string" and length>0)' "$1" >/dev/null || fail "want code $2: $(cat "$1")"
}
native() {
  local args=("${CURL[@]}" -f -X "$1" -H "Authorization: Bearer $API_KEY" -H 'Content-Type: application/json')
  if [ -n "${3:-}" ]; then args+=(--data-binary "$3"); fi
  "${args[@]}" "$NATIVE$2"
}
# dcv PATH DOMAIN OUT [EXTRA_JSON]: a DCV call with {"domain": ...}.
dcv() {
  expect 200 POST "$1" "$3" "$(jq -cn --arg d "$2" --argjson x "${4:-{\}}" '{domain:$d} + $x')"
}
status_is() { # DOMAIN WANT
  dcv /api/dcv/v2/validation/status "$1" st.json
  jq -e --arg w "$2" '.status==$w' st.json >/dev/null || fail "$1: status $(jq -r .status st.json), want $2: $(cat st.json)"
}

ORG_ID=$("${CURL[@]}" "${H[@]}" "$BASE/api/organization/v1" | jq '.[0].id')

# register NAME: POST /api/domain/v1, the id from Location.
register() {
  local body
  body=$(jq -cn --arg n "$1" --argjson org "$ORG_ID" '{name:$n, description:"test", active:true,
    delegations:[{orgId:$org, certTypes:["SSL"], domainCertificateRequestPrivileges:["DOMAIN","SUBDOMAIN"]}]}')
  "${CURL[@]}" "${H[@]}" -X POST -D reg.h -o reg.json --data-binary "$body" "$BASE/api/domain/v1"
  grep -q '^HTTP/[0-9.]* 201' reg.h || fail "register $1: $(cat reg.h reg.json)"
  local loc
  loc=$(grep -i '^Location:' reg.h | tr -d '\r' | awk '{print $2}')
  case "$loc" in "$BASE/api/domain/v1/"*) ;; *) fail "Location: $loc" ;; esac
  echo "${loc##*/}"
}

D_HTTP=http-$SUFFIX.test D_TXT=txt-$SUFFIX.test D_CNAME=cname-$SUFFIX.test D_BAD=bad-$SUFFIX.test D_MAIL=mail-$SUFFIX.test

step "POST /api/domain/v1 (201 + Location), GET details"
ID_HTTP=$(register "$D_HTTP")
expect 200 GET "/api/domain/v1/$ID_HTTP" dom.json
jq -e --arg n "$D_HTTP" --argjson org "$ORG_ID" '.name==$n and .state=="ACTIVE" and .delegationStatus=="ACTIVE"
  and .validationStatus=="NOT_VALIDATED" and (.delegations[0].orgId==$org)' dom.json >/dev/null || fail "details: $(cat dom.json)"
for d in "$D_TXT" "$D_CNAME" "$D_BAD" "$D_MAIL"; do register "$d" >/dev/null; done
expect 400 POST /api/domain/v1 e.json "$(jq -cn --arg n "$D_HTTP" --argjson org "$ORG_ID" '{name:$n, delegations:[{orgId:$org}]}')"
sectigo_error e.json -700
"${CURL[@]}" "${H[@]}" -D dl.h -o dl.json "$BASE/api/domain/v1?size=50&position=0&name=$SUFFIX"
grep -qi '^X-Total-Count: 5' dl.h || fail "domain list total: $(cat dl.h)"

step "HTTP file validation"
dcv /api/dcv/v1/validation/start/domain/http "$D_HTTP" ch.json
URL=$(jq -r .url ch.json)
case "$URL" in "http://$D_HTTP/.well-known/pki-validation/"*.txt) ;; *) fail "url: $URL" ;; esac
mkdir -p "$WEBROOT/.well-known/pki-validation"
printf '%s\n%s\n' "$(jq -r .firstLine ch.json)" "$(jq -r .secondLine ch.json)" > "$WEBROOT/.well-known/pki-validation/${URL##*/}"
dcv /api/dcv/v1/validation/submit/domain/http "$D_HTTP" sub.json
jq -e '.status=="VALIDATED" and .orderStatus=="SUBMITTED"' sub.json >/dev/null || fail "submit http: $(cat sub.json)"
status_is "$D_HTTP" VALIDATED

step "wrong token: a file with another value"
dcv /api/dcv/v1/validation/start/domain/http "$D_BAD" ch.json
URL=$(jq -r .url ch.json)
printf '%s\n%s\n' "0000000000000000000000000000000000000000000000000000000000000000" "signet" > "$WEBROOT/.well-known/pki-validation/${URL##*/}"
dcv /api/dcv/v1/validation/submit/domain/http "$D_BAD" sub.json
jq -e '.status=="NOT_VALIDATED"' sub.json >/dev/null || fail "wrong token validated: $(cat sub.json)"

step "DNS TXT validation (no start: submit gives the record); missing record first"
dcv /api/dcv/v1/validation/submit/domain/txt "$D_TXT" sub.json
HOST=$(jq -r .host sub.json); POINT=$(jq -r .point sub.json)
[ "$HOST" = "_pki-validation.$D_TXT." ] || fail "txt host: $HOST"
jq -e '.status=="NOT_VALIDATED"' sub.json >/dev/null || fail "validated without a record: $(cat sub.json)"
echo "$POINT" > "$ZONEDIR/${HOST%.}.TXT"
status_is "$D_TXT" VALIDATED

step "DNS CNAME validation"
dcv /api/dcv/v1/validation/start/domain/cname "$D_CNAME" ch.json
HOST=$(jq -r .host ch.json); POINT=$(jq -r .point ch.json)
[[ "$HOST" =~ ^_[0-9a-f]{32}\.$D_CNAME\.$ ]] || fail "cname host: $HOST"
echo "$POINT" > "$ZONEDIR/${HOST%.}.CNAME"
dcv /api/dcv/v1/validation/submit/domain/cname "$D_CNAME" sub.json
jq -e '.status=="VALIDATED"' sub.json >/dev/null || fail "submit cname: $(cat sub.json)"

step "email validation: the code arrives by mail"
dcv /api/dcv/v1/validation/start/domain/email "$D_MAIL" ch.json
jq -e --arg e "admin@$D_MAIL" '(.emails|index($e)!=null) and (.dcvEmails[0].adminEmails|length==5)' ch.json >/dev/null || fail "emails: $(cat ch.json)"
dcv /api/dcv/v1/validation/submit/domain/email "$D_MAIL" sub.json "{\"email\":\"admin@$D_MAIL\"}"
jq -e '(.emailValidationReferenceNumber|length>0) and .status=="NOT_VALIDATED"' sub.json >/dev/null || fail "submit email: $(cat sub.json)"
CODE=
for _ in $(seq 50); do
  f=$(grep -l "To: admin@$D_MAIL" "$MAILDIR"/* 2>/dev/null | head -1 || true)
  if [ -n "$f" ]; then CODE=$(grep -oE '^ +[0-9a-f]{32}' "$f" | tr -d ' ' | head -1); fi
  [ -n "$CODE" ] && break; sleep 0.1
done
[ -n "$CODE" ] || fail "no validation mail in $MAILDIR"
native POST /api/v1/domain-validations/email "{\"code\":\"$CODE\"}" | jq -e '.validation_status=="validated"' >/dev/null || fail "confirm"
status_is "$D_MAIL" VALIDATED

step "bulk email validation: start for two domains, submit-bulk, one code by mail to each"
D_B1=bulk1-$SUFFIX.test D_B2=bulk2-$SUFFIX.test
for d in "$D_B1" "$D_B2"; do register "$d" >/dev/null; done
expect 200 POST /api/dcv/v1/validation/start/domain/email bs.json "$(jq -cn --arg a "$D_B1" --arg b "$D_B2" '{domains:[$a,$b]}')"
jq -e --arg a "$D_B1" --arg b "$D_B2" '(.emails|index("hostmaster@")!=null) and (.emails|length==5)
  and ([.dcvEmails[].domainName]==[$a,$b]) and ([.dcvEmails[].adminEmails|length]==[5,5])' bs.json >/dev/null || fail "bulk start: $(cat bs.json)"
expect 200 POST /api/dcv/v1/validation/submit-bulk/domain/email bsub.json \
  "$(jq -cn --arg a "$D_B1" --arg b "$D_B2" '{domains:[$a,$b], email:"hostmaster@"}')"
jq -e '.orderStatus=="SUBMITTED" and .message=="Submitted successfully" and (.orderBackendId|type=="string")' bsub.json >/dev/null || fail "submit-bulk: $(cat bsub.json)"
for d in "$D_B1" "$D_B2"; do
  status_is "$d" NOT_VALIDATED
  CODE=
  for _ in $(seq 50); do
    f=$(grep -l "To: hostmaster@$d" "$MAILDIR"/* 2>/dev/null | head -1 || true)
    if [ -n "$f" ]; then CODE=$(grep -oE '^ +[0-9a-f]{32}' "$f" | tr -d ' ' | head -1); fi
    [ -n "$CODE" ] && break; sleep 0.1
  done
  [ -n "$CODE" ] || fail "no validation mail to hostmaster@$d in $MAILDIR"
  native POST /api/v1/domain-validations/email "{\"code\":\"$CODE\"}" | jq -e '.validation_status=="validated"' >/dev/null || fail "confirm $d"
  status_is "$d" VALIDATED
done

step "GET /api/dcv/v1/validation, clear"
"${CURL[@]}" "${H[@]}" -D v.h -o v.json "$BASE/api/dcv/v1/validation?size=10&position=0&domain=$D_CNAME"
jq -e --arg d "$D_CNAME" '.[0].domain==$d and .[0].dcvStatus=="VALIDATED" and .[0].dcvMethod=="CNAME_CSR_HASH"' v.json >/dev/null || fail "validation list: $(cat v.json)"
grep -qi '^X-Total-Count: 1' v.h || fail "validation list total"
dcv /api/dcv/v1/validation/clear "$D_BAD" cl.json
jq -e '.orderStatus=="NOT_INITIATED" and .status=="NOT_VALIDATED"' cl.json >/dev/null || fail "clear: $(cat cl.json)"

step "a template requiring validated domains"
native GET /api/v1/templates/tls-server | jq --arg n "sectigo-dcv-$SUFFIX" '{name:$n, org:"default", spec:(.spec + {require_validated_domains:true})}' > tpl.json
native POST /api/v1/templates @tpl.json >/dev/null
native POST /api/v1/profiles "{\"name\":\"sectigo-dcv-$SUFFIX\",\"org\":\"default\",\"template\":\"sectigo-dcv-$SUFFIX\",\"ca\":\"signet-issuing\",\"enrollment_methods\":[\"sectigo\"]}" >/dev/null
expect 200 GET /api/ssl/v1/types types.json
T=$(jq --arg n "sectigo-dcv-$SUFFIX" '.[]|select(.name==$n)|.id' types.json)
TERM=$(jq --arg n "sectigo-dcv-$SUFFIX" '.[]|select(.name==$n)|.terms|max' types.json)
enroll_cn() {
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -out c.pem -subj "/CN=$1" 2>/dev/null
  jq -n --argjson org "$ORG_ID" --argjson t "$T" --argjson term "$TERM" --rawfile csr c.pem '{orgId:$org, csr:$csr, certType:$t, term:$term}' > e.req
}
enroll_cn "www.$D_HTTP"; expect 200 POST /api/ssl/v1/enroll ok.json @e.req
enroll_cn "www.$D_BAD"; expect 400 POST /api/ssl/v1/enroll e.json @e.req; sectigo_error e.json -737
enroll_cn "elsewhere-$SUFFIX.example"; expect 400 POST /api/ssl/v1/enroll e.json @e.req; sectigo_error e.json -737

step "suspend withdraws the domain; delete"
expect 200 PUT "/api/domain/v1/$ID_HTTP/suspend" s.json
enroll_cn "www.$D_HTTP"; expect 400 POST /api/ssl/v1/enroll e.json @e.req; sectigo_error e.json -737
expect 204 DELETE "/api/domain/v1/$ID_HTTP" s.json
expect 404 GET "/api/domain/v1/$ID_HTTP" e.json; sectigo_error e.json -727

echo "OK: Sectigo DCV workflow passed"
