#!/usr/bin/env bash
# Infisical PKI "API enrollment method" workflow (seeds/001_*), step by step
# with curl, jq and openssl. Steps 1-3 of the seed (configure a CA, create a
# certificate template, create a certificate profile with the API enrollment
# method) are done in Signet's native API, where Signet's model holds them;
# step 4 (request certificates with and without a CSR, renew, revoke) goes
# through Signet's Infisical compatibility API as Infisical's clients call
# it, after a universal-auth login with a machine identity's client id and
# secret (a Signet service account's API key).
#
#   SIGNET     the native API's base URL (https://host:port)
#   BASE       the Infisical API's base URL: $SIGNET/compat/infisical, or the
#              root of a compat_listeners listener
#   API_KEY    a Signet admin API key (for steps 1-3)
#   CACERT     optional: CA bundle curl trusts (Signet's root)
#   SUFFIX     optional: makes the names of this run's objects unique
#   WORKDIR    optional: where keys and responses go (default: a temp dir)
set -euo pipefail

: "${SIGNET:?set SIGNET}" "${BASE:?set BASE}" "${API_KEY:?set API_KEY}"
SUFFIX=${SUFFIX:-1}
WORKDIR=${WORKDIR:-$(mktemp -d)}
cd "$WORKDIR"

CURL=(curl -sS --max-time 30)
if [ -n "${CACERT:-}" ]; then CURL+=(--cacert "$CACERT"); fi

step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# native METHOD PATH OUT JSON: Signet's own API, as the admin.
native() {
  local code
  code=$("${CURL[@]}" -H "Authorization: Bearer $API_KEY" -H "Content-Type: application/json" -X "$1" -o "$3" -w '%{http_code}' \
    --data-binary "$4" "$SIGNET$2")
  [ "$code" = 201 ] || fail "$1 $2: HTTP $code: $(cat "$3")"
}

# call METHOD PATH OUT [JSON]: the Infisical API with the access token.
call() {
  local args=("${CURL[@]}" -X "$1" -o "$3" -w '%{http_code}')
  if [ -n "${TOKEN:-}" ]; then args+=(-H "Authorization: Bearer $TOKEN"); fi
  if [ -n "${4:-}" ]; then args+=(-H "Content-Type: application/json" --data-binary "$4"); fi
  "${args[@]}" "$BASE$2"
}

expect() {
  local want=$1; shift
  local got
  got=$(call "$@")
  [ "$got" = "$want" ] || fail "$1 $2: HTTP $got, want $want: $(cat "$3" 2>/dev/null)"
}

# infisical_error FILE STATUS NAME: Infisical's error body.
infisical_error() {
  jq -e --argjson s "$2" --arg n "$3" '(.reqId|type=="string") and .statusCode==$s and .error==$n and (.message|type=="string" and length>0)' "$1" >/dev/null ||
    fail "not an Infisical $2 $3 error: $(cat "$1")"
}

# issued FILE CN: the documented answer fields, a leaf for CN that chains to the root.
issued() {
  jq -e '(.certificate|startswith("-----BEGIN CERTIFICATE-----")) and (.certificateChain|startswith("-----BEGIN CERTIFICATE-----"))
    and (.issuingCaCertificate|startswith("-----BEGIN CERTIFICATE-----")) and (.serialNumber|test("^[0-9a-f]+$"))' "$1" >/dev/null ||
    fail "issue answer: $(cat "$1")"
  jq -r .certificate "$1" > "$1.crt"
  jq -r .certificateChain "$1" > "$1.chain"
  openssl x509 -in "$1.crt" -noout -subject | grep -q "CN *= *$2" || fail "leaf subject is not $2"
  openssl x509 -in "$1.crt" -noout -checkend 0 >/dev/null || fail "leaf already expired"
  [ "$(openssl x509 -in "$1.crt" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//')" = "$(jq -r .serialNumber "$1")" ] || fail "serialNumber differs from the leaf"
  openssl verify -CAfile root.pem -untrusted "$1.chain" "$1.crt" >/dev/null || fail "chain of $1 does not verify to the root"
}

step "seed step 1: an internal root CA and an intermediate (issuing) CA"
native POST /api/v1/cas root.json "{\"name\":\"inf-root-$SUFFIX\",\"kind\":\"root\",\"key\":{\"algorithm\":\"ecdsa\",\"bits\":384},\"subject\":{\"common_name\":\"Infisical Workflow Root $SUFFIX\"},\"validity_days\":3650}"
native POST /api/v1/cas issuing.json "{\"name\":\"inf-issuing-$SUFFIX\",\"kind\":\"intermediate\",\"parent\":\"inf-root-$SUFFIX\",\"key\":{\"algorithm\":\"ecdsa\",\"bits\":256},\"subject\":{\"common_name\":\"Infisical Workflow Issuing $SUFFIX\"},\"validity_days\":1825}"
jq -r .certificate_pem root.json > root.pem 2>/dev/null || true
if ! grep -q "BEGIN CERTIFICATE" root.pem; then
  "${CURL[@]}" -o root.pem "$SIGNET/api/v1/cas/inf-root-$SUFFIX/certificate"
fi
CA_ID=$(jq -r .id issuing.json)

step "seed step 2: a template: CN must match *.acme.com, TTL at most a year, TLS server preset"
native POST /api/v1/templates template.json "$(jq -nc --arg n "inf-acme-tls-$SUFFIX" '{name:$n, spec:{
  key_types:[{algorithm:"rsa",min_bits:2048},{algorithm:"ecdsa",min_bits:256}],
  subject:[{field:"common_name",required:true,pattern:"[a-z0-9-]+\\.acme\\.com"}],
  sans:{dns:["*.acme.com"],required:true}, common_name_in_sans:true,
  key_usages:["digital_signature","key_encipherment"], ext_key_usages:["server_auth"],
  max_validity_days:365, allow_key_generation:true}}')"

step "seed step 3: a profile: template + issuing CA + the API enrollment method"
native POST /api/v1/profiles profile.json "$(jq -nc --arg n "inf-acme-$SUFFIX" --arg t "inf-acme-tls-$SUFFIX" --arg c "inf-issuing-$SUFFIX" \
  '{name:$n, template:$t, ca:$c, enrollment_methods:["infisical"]}')"
PROFILE=inf-acme-$SUFFIX

step "a machine identity: a service account with an API key (client id . client secret)"
native POST /api/v1/service-accounts sa.json "{\"name\":\"inf-identity-$SUFFIX\",\"roles\":[\"requester\"]}"
native POST /api/v1/api-keys key.json "$(jq -nc --arg p "$(jq -r .id sa.json)" --arg n "inf-identity-$SUFFIX" '{name:$n, principal_id:$p, roles:["requester"]}')"
KEY=$(jq -r .key key.json)
CLIENT_ID=${KEY%%.*}
CLIENT_SECRET=${KEY#*.}

step "GET /api/status"
expect 200 GET /api/status status.json
jq -e '.message=="Ok" and (.date|type=="string")' status.json >/dev/null || fail "status: $(cat status.json)"

step "universal-auth login (form, as the Infisical CLI sends it)"
code=$("${CURL[@]}" -o login.json -w '%{http_code}' -X POST --data-urlencode "clientId=$CLIENT_ID" --data-urlencode "clientSecret=$CLIENT_SECRET" \
  "$BASE/api/v1/auth/universal-auth/login")
[ "$code" = 200 ] || fail "login: HTTP $code: $(cat login.json)"
jq -e '(.accessToken|type=="string" and length>20) and (.expiresIn|type=="number") and (.accessTokenMaxTTL|type=="number") and .tokenType=="Bearer"' login.json >/dev/null ||
  fail "login answer: $(cat login.json)"
TOKEN=$(jq -r .accessToken login.json)

step "seed step 4: issue WITHOUT a CSR: certificate, key and chain come back"
expect 200 POST /api/v3/pki/certificates/issue-certificate nocsr.json "{\"profileId\":\"$PROFILE\",\"commonName\":\"api.acme.com\",\"altNames\":\"api.acme.com\",\"ttl\":\"30d\"}"
issued nocsr.json api.acme.com
jq -r .privateKey nocsr.json > nocsr.key
diff <(openssl x509 -in nocsr.json.crt -noout -pubkey) <(openssl pkey -in nocsr.key -pubout) >/dev/null || fail "private key does not match the certificate"
NOCSR_ID=$(jq -r .certificateId nocsr.json)

step "seed step 4: issue WITH a CSR: certificate only (v1 by template, v1 by CA)"
openssl req -new -newkey rsa:2048 -nodes -keyout web.key -out web.csr -subj "/CN=web.acme.com" -addext "subjectAltName=DNS:web.acme.com" 2>/dev/null
expect 200 POST /api/v1/pki/certificates/sign-certificate csr.json "$(jq -nc --arg t "$PROFILE" --rawfile csr web.csr '{certificateTemplateId:$t, csr:$csr, ttl:"90d"}')"
issued csr.json web.acme.com
jq -e 'has("privateKey")|not' csr.json >/dev/null || fail "a CSR signing returned a private key"
diff <(openssl x509 -in csr.json.crt -noout -pubkey) <(openssl pkey -in web.key -pubout) >/dev/null || fail "certificate is not for the CSR's key"
expect 200 POST /api/v1/pki/certificates/sign-certificate csr-ca.json "$(jq -nc --arg c "$CA_ID" --rawfile csr web.csr '{caId:$c, csr:$csr, ttl:"1d"}')"
issued csr-ca.json web.acme.com
CSR_SERIAL=$(jq -r .serialNumber csr.json)

step "the template is enforced: a name outside *.acme.com, a TTL over a year"
expect 400 POST /api/v3/pki/certificates/issue-certificate evil.json "{\"profileId\":\"$PROFILE\",\"commonName\":\"evil.com\",\"altNames\":\"evil.com\",\"ttl\":\"30d\"}"
infisical_error evil.json 400 BadRequest
expect 400 POST /api/v3/pki/certificates/issue-certificate long.json "{\"profileId\":\"$PROFILE\",\"commonName\":\"api.acme.com\",\"altNames\":\"api.acme.com\",\"ttl\":\"2y\"}"
infisical_error long.json 400 BadRequest

step "renew by id: works for the certificate issued without a CSR"
expect 200 POST "/api/v3/pki/certificates/$NOCSR_ID/renew" renewed.json '{}'
issued renewed.json api.acme.com
[ "$(jq -r .serialNumber renewed.json)" != "$(jq -r .serialNumber nocsr.json)" ] || fail "renewal kept the serial"
[ "$(openssl x509 -in renewed.json.crt -noout -subject)" = "$(openssl x509 -in nocsr.json.crt -noout -subject)" ] || fail "renewal changed the subject"

step "renew by id: refused for the certificate issued from a CSR"
expect 400 POST "/api/v3/pki/certificates/$CSR_SERIAL/renew" norenew.json '{}'
infisical_error norenew.json 400 BadRequest

step "current Infisical: POST /api/v1/cert-manager/certificates (profile, no CSR), then renew by id"
expect 200 POST /api/v1/cert-manager/certificates cm.json "{\"profileId\":\"$PROFILE\",\"attributes\":{\"commonName\":\"cm.acme.com\",\"altNames\":[{\"type\":\"dns_name\",\"value\":\"cm.acme.com\"}],\"ttl\":\"30d\",\"keyAlgorithm\":\"RSA_2048\"}}"
jq -e '.status=="issued" and (.certificateRequestId|type=="string") and (.certificate.privateKey|startswith("-----BEGIN PRIVATE KEY-----"))' cm.json >/dev/null || fail "cert-manager issue: $(cat cm.json)"
jq '.certificate' cm.json > cm-cert.json
issued cm-cert.json cm.acme.com
expect 200 POST "/api/v1/cert-manager/certificates/$(jq -r .certificate.certificateId cm.json)/renew" cm-renew.json '{"removeRootsFromChain":false}'
issued cm-renew.json cm.acme.com
jq -e '(.certificateRequestId|type=="string") and (.privateKey|type=="string")' cm-renew.json >/dev/null || fail "cert-manager renew: $(cat cm-renew.json)"

step "get, fetch, revoke"
expect 200 GET "/api/v1/pki/certificates/$CSR_SERIAL" got.json
jq -e --arg s "$CSR_SERIAL" '.certificate | .serialNumber==$s and .status=="active" and .commonName=="web.acme.com" and (.notAfter|type=="string")' got.json >/dev/null || fail "get: $(cat got.json)"
expect 200 GET "/api/v1/pki/certificates/$CSR_SERIAL/certificate" body.json
jq -e --slurpfile c csr.json '.certificate==$c[0].certificate and .certificateChain==$c[0].certificateChain' body.json >/dev/null || fail "certificate body: $(cat body.json)"
expect 200 POST "/api/v1/pki/certificates/$CSR_SERIAL/revoke" revoked.json '{"revocationReason":"SUPERSEDED"}'
jq -e --arg s "$CSR_SERIAL" '.message=="Successfully revoked certificate" and .serialNumber==$s and (.revokedAt|type=="string")' revoked.json >/dev/null || fail "revoke: $(cat revoked.json)"
expect 200 GET "/api/v1/pki/certificates/$CSR_SERIAL" got.json
jq -e '.certificate.status=="revoked" and .certificate.revocationReason==4' got.json >/dev/null || fail "after revoke: $(cat got.json)"

step "errors: no token, unknown serial, bad secret"
SAVED=$TOKEN; TOKEN=
expect 401 GET "/api/v1/pki/certificates/$CSR_SERIAL" unauth.json
infisical_error unauth.json 401 UnauthorizedError
expect 401 POST /api/v1/auth/universal-auth/login badlogin.json "{\"clientId\":\"$CLIENT_ID\",\"clientSecret\":\"wrong\"}"
infisical_error badlogin.json 401 UnauthorizedError
TOKEN=$SAVED
expect 404 GET /api/v1/pki/certificates/0badc0ffee missing.json
infisical_error missing.json 404 NotFound

echo "OK: Infisical workflow passed"
