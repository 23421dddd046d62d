#!/usr/bin/env bash
# Canonical Notary certificate-request workflow (seeds/004_*), step by step
# with curl, jq and openssl, against Signet's Notary compatibility API: log
# in, find a CA id, create CSRs, sign, check, revoke (the serial is in the
# CA's CRL), reject, upload a chain signed elsewhere, delete the certificate,
# delete the request. Every documented field is checked for presence and
# type, in the seed's {"result": ...} envelope and current Notary's
# {"data": ...} alike.
#
#   BASE       the API's base URL: https://host:port/compat/notary, or the
#              root of a compat_listeners listener
#   API_KEY    a Signet admin API key (a bearer, to create the account)
#   CACERT     optional: CA bundle curl trusts (Signet's root)
#   CA_NAME    optional: the CA to sign with (default signet-issuing); it
#              needs a profile listing the "notary" enrollment method
#   WORKDIR    optional: where keys and responses go (default: a temp dir)
#   EMAIL      optional: the account to create and log in as
#   PHASE      optional: "check" only re-reads the requests a previous run
#              recorded in $WORKDIR/ids.env (after a restart)
set -euo pipefail

: "${BASE:?set BASE}" "${API_KEY:?set API_KEY}"
CA_NAME=${CA_NAME:-signet-issuing}
WORKDIR=${WORKDIR:-$(mktemp -d)}
EMAIL=${EMAIL:-notary-manager@example.com}
PASSWORD=${PASSWORD:-notary manager password}
cd "$WORKDIR"

CURL=(curl -sS --max-time 30 -H "Content-Type: application/json")
if [ -n "${CACERT:-}" ]; then CURL+=(--cacert "$CACERT"); fi
AUTH=()

step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# call METHOD PATH OUT [JSON]: prints the HTTP status, the body goes to OUT.
call() {
  local method=$1 path=$2 out=$3 data=${4:-}
  local args=("${CURL[@]}" "${AUTH[@]}" -X "$method" -o "$out" -w '%{http_code}')
  if [ -n "$data" ]; then args+=(--data-binary "$data"); fi
  "${args[@]}" "$BASE$path"
}

# expect STATUS METHOD PATH OUT [JSON]
expect() {
  local want=$1; shift
  local got
  got=$(call "$@")
  [ "$got" = "$want" ] || fail "$2 $3: HTTP $got, want $want: $(cat "$3" 2>/dev/null)"
}

# both FILE JQ: the check holds for .result and for .data.
both() {
  jq -e ".result | $2" "$1" >/dev/null || fail "$1: .result fails $2: $(cat "$1")"
  jq -e ".data | $2" "$1" >/dev/null || fail "$1: .data fails $2: $(cat "$1")"
}

# notary_error FILE: Notary's error body.
notary_error() {
  jq -e '(.error|type=="string" and length>0) and .message==.error' "$1" >/dev/null || fail "not a Notary error body: $(cat "$1")"
}

if [ "${PHASE:-}" = check ]; then
  # shellcheck disable=SC1091
  . ./ids.env
  AUTH=(-H "Authorization: Bearer $API_KEY")
  step "after restart: the same numeric ids answer the same requests"
  expect 200 GET "/api/v1/certificate_requests/$ID" again.json
  both again.json ".id==$ID and .status==\"Revoked\""
  jq -e --slurpfile old got.json '.result.csr==$old[0].result.csr and .result.certificate_chain==$old[0].result.certificate_chain' again.json >/dev/null ||
    fail "request $ID changed across the restart"
  expect 200 GET "/api/v1/certificate_requests/$ID2" again2.json
  both again2.json ".id==$ID2 and .status==\"Rejected\""
  expect 200 GET /api/v1/certificate_authorities cas2.json
  both cas2.json "map(select(.id==$CA_ID))|length==1"
  echo "OK: Notary ids stable across restart"
  exit 0
fi

step "GET /status"
expect 200 GET /status status.json
both status.json '.initialized==true and (.version|type=="string")'
jq -e '(.result|keys)==["initialized","version"] and .data.oidc_enabled==false' status.json >/dev/null || fail "status: $(cat status.json)"

step "POST /api/v1/accounts (as an admin) creates a certificate manager"
AUTH=(-H "Authorization: Bearer $API_KEY")
expect 201 POST /api/v1/accounts account.json "$(jq -nc --arg e "$EMAIL" --arg p "$PASSWORD" '{email:$e, password:$p, role_id:1}')"
both account.json '.id|type=="number"'
ACCOUNT_ID=$(jq .result.id account.json)

step "POST /login: session cookie (current Notary) and token (seed-era bearer)"
AUTH=()
code=$("${CURL[@]}" -c cookies.txt -o login.json -w '%{http_code}' -X POST --data-binary "$(jq -nc --arg e "$EMAIL" --arg p "$PASSWORD" '{email:$e, password:$p}')" "$BASE/login")
[ "$code" = 200 ] || fail "login: HTTP $code: $(cat login.json)"
both login.json '.token|type=="string" and length>20'
grep -q 'user_token' cookies.txt || fail "no user_token cookie"
TOKEN=$(jq -r .result.token login.json)
code=$("${CURL[@]}" -o login2.json -w '%{http_code}' -X POST --data-binary "$(jq -nc --arg e "$EMAIL" --arg p "$PASSWORD" '{username:$e, password:$p}')" "$BASE/login")
[ "$code" = 200 ] || fail "login with username: HTTP $code"

step "GET /api/v1/accounts/me with the cookie"
AUTH=(-b cookies.txt)
expect 200 GET /api/v1/accounts/me me.json
both me.json ".id==$ACCOUNT_ID and .email==\"$EMAIL\" and .role_id==1"

step "GET /api/v1/certificate_authorities with the bearer token"
AUTH=(-H "Authorization: Bearer $TOKEN")
expect 200 GET /api/v1/certificate_authorities cas.json
both cas.json 'type=="array" and length>=1 and all(.[]; (.id|type=="number") and (.enabled|type=="boolean") and (.certificate|startswith("-----BEGIN CERTIFICATE-----")) and (.csr|type=="string") and (.crl|type=="string"))'
CA_ID=$(jq --arg n "$CA_NAME" '.result[]|select(.name==$n)|.id' cas.json)
[ -n "$CA_ID" ] || fail "no CA named $CA_NAME"

step "seed: generate a key and CSR with openssl"
openssl req -new -newkey rsa:2048 -nodes -keyout k.pem -out r.csr \
  -subj "/C=TR/ST=Izmir/L=Narlidere/O=Internet Widgits Pty Ltd/CN=banana.com" 2>/dev/null

create() {
  expect 201 POST /api/v1/certificate_requests "$1" "$(jq -nc --rawfile csr "$2" '{csr:$csr}')"
  # the seed's {"message", "id"} in result; current Notary's {"id"} in data
  jq -e '.result.message=="success" and (.result.id|type=="number") and .data.id==.result.id' "$1" >/dev/null || fail "create answer: $(cat "$1")"
  jq .result.id "$1"
}

step "seed: POST /api/v1/certificate_requests"
ID=$(create created.json r.csr)

step "seed: GET /api/v1/certificate_requests lists it Outstanding"
expect 200 GET /api/v1/certificate_requests list.json
both list.json "map(select(.id==$ID))[0] | .status==\"Outstanding\" and .certificate_chain==\"\" and (.csr|startswith(\"-----BEGIN CERTIFICATE REQUEST-----\"))"

step "seed: GET /api/v1/certificate_requests/{id}"
expect 200 GET "/api/v1/certificate_requests/$ID" got.json
both got.json ".id==$ID and .status==\"Outstanding\" and (.csr|startswith(\"-----BEGIN CERTIFICATE REQUEST-----\"))"

step "seed: POST .../sign with certificate_authority_id (a string, as the seed has it)"
expect 200 POST "/api/v1/certificate_requests/$ID/sign" signed.json "{\"certificate_authority_id\":\"$CA_ID\"}"
both signed.json '.message=="success"'
expect 200 GET "/api/v1/certificate_requests/$ID" got.json
both got.json '.status=="Active" and (.certificate_chain|startswith("-----BEGIN CERTIFICATE-----"))'
jq -r .result.certificate_chain got.json > chain.pem
openssl x509 -in chain.pem -noout -subject | grep -q 'CN *= *banana.com' || fail "leaf subject"
diff <(openssl x509 -in chain.pem -noout -pubkey) <(openssl pkey -in k.pem -pubout) >/dev/null || fail "leaf key is not the CSR's"
if [ -n "${CACERT:-}" ]; then
  openssl verify -CAfile "$CACERT" -untrusted chain.pem chain.pem >/dev/null || fail "chain does not verify"
fi
SERIAL=$(openssl x509 -in chain.pem -noout -serial | cut -d= -f2)

step "seed: POST .../certificate/revoke puts the serial in the CA's CRL"
expect 200 POST "/api/v1/certificate_requests/$ID/certificate/revoke" revoked.json
both revoked.json '.message=="success"'
expect 200 GET "/api/v1/certificate_requests/$ID" got.json
both got.json '.status=="Revoked"'
AUTH=()
expect 200 GET "/api/v1/certificate_authorities/$CA_ID/crl" crl.json
jq -r .result.crl crl.json > ca.crl
openssl crl -in ca.crl -noout -text | tr -d ' :' | grep -qi "SerialNumber$SERIAL" || fail "serial $SERIAL not in the CRL"
AUTH=(-H "Authorization: Bearer $TOKEN")

step "an ECDSA CSR signs too"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key -out ec.csr -subj "/CN=ec.banana.com" 2>/dev/null
IDE=$(create created-ec.json ec.csr)
expect 200 POST "/api/v1/certificate_requests/$IDE/sign" signed-ec.json "{\"certificate_authority_id\":$CA_ID}"
expect 200 GET "/api/v1/certificate_requests/$IDE" got-ec.json
both got-ec.json '.status=="Active"'

step "seed: POST .../reject"
ID2=$(create created2.json r.csr)
expect 200 POST "/api/v1/certificate_requests/$ID2/reject" rejected.json
both rejected.json '.message=="success"'
expect 200 GET "/api/v1/certificate_requests/$ID2" got2.json
both got2.json '.status=="Rejected"'

step "seed: POST .../certificate uploads a chain signed elsewhere"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ext-ca.key -out ext-ca.pem -subj "/CN=External CA" -days 30 2>/dev/null
openssl x509 -req -in r.csr -CA ext-ca.pem -CAkey ext-ca.key -CAcreateserial -out ext.pem -days 30 2>/dev/null
cat ext.pem ext-ca.pem > ext_chain.pem
ID3=$(create created3.json r.csr)
expect 201 POST "/api/v1/certificate_requests/$ID3/certificate" uploaded.json "$(jq -nc --rawfile c ext_chain.pem '{certificate:$c}')"
jq -e '.result.message=="success" and (.result.id|type=="number") and .data.id==.result.id' uploaded.json >/dev/null || fail "upload answer: $(cat uploaded.json)"
expect 200 GET "/api/v1/certificate_requests/$ID3" got3.json
both got3.json '.status=="Active"'

step "revoking a certificate not signed here is refused"
code=$(call POST "/api/v1/certificate_requests/$ID3/certificate/revoke" err.json)
[ "$code" -ge 400 ] && [ "$code" -lt 500 ] || fail "revoke of an uploaded certificate: HTTP $code"
notary_error err.json

step "seed: DELETE .../certificate, then DELETE the request"
expect 200 DELETE "/api/v1/certificate_requests/$ID3/certificate" deleted-cert.json
both deleted-cert.json '.message=="success"'
expect 200 GET "/api/v1/certificate_requests/$ID3" got3.json
both got3.json '.certificate_chain=="" and .status=="Outstanding"'
expect 200 DELETE "/api/v1/certificate_requests/$ID3" deleted.json
both deleted.json '.message=="success"'
expect 404 GET "/api/v1/certificate_requests/$ID3" gone.json
notary_error gone.json

step "errors: no credentials, malformed CSR"
AUTH=()
expect 401 GET /api/v1/certificate_requests unauth.json
notary_error unauth.json
AUTH=(-H "Authorization: Bearer $TOKEN")
expect 400 POST /api/v1/certificate_requests badcsr.json '{"csr":"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}'
notary_error badcsr.json

printf 'ID=%s\nID2=%s\nCA_ID=%s\n' "$ID" "$ID2" "$CA_ID" > ids.env
echo "OK: Notary workflow passed"
