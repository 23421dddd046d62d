#!/usr/bin/env bash
# DigiCert Trust Lifecycle Manager "Request a TLS certificate" tutorial
# (seeds/000_*), step by step with curl, jq and openssl, against Signet's
# DigiCert mPKI compatibility API. Every field the tutorial documents is
# checked for presence and type.
#
#   BASE      the API's base URL: https://host:port/compat/digicert, or the
#             root of a compat_listeners listener
#   API_KEY   a Signet API key (sent as x-api-key, as the tutorial does)
#   CACERT    optional: CA bundle curl trusts for BASE
#   SEAT_ID   optional: the seat to issue to (default: an email address)
#   PROFILE   optional: the name of the rest_api profile to pick (default tls-server)
#   WORKDIR   optional: where keys and responses go (default: a temp dir)
#   SIGNET_URL optional: Signet's main listener, to check the revocation in the CA's CRL
set -euo pipefail

: "${BASE:?set BASE}" "${API_KEY:?set API_KEY}"
SEAT_ID=${SEAT_ID:-tutorial-seat@example.com}
PROFILE=${PROFILE:-tls-server}
WORKDIR=${WORKDIR:-$(mktemp -d)}
cd "$WORKDIR"

CURL=(curl -sS --max-time 30 -H "x-api-key: $API_KEY" -H "Content-Type: application/json" -H "Accept: application/json")
if [ -n "${CACERT:-}" ]; then CURL+=(--cacert "$CACERT"); fi

step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# call METHOD PATH OUT [DATA-FILE]: the HTTP status goes to stdout, the body to OUT.
call() {
  local method=$1 path=$2 out=$3 data=${4:-}
  local args=("${CURL[@]}" -X "$method" -o "$out" -w '%{http_code}')
  if [ -n "$data" ]; then args+=(--data-binary "@$data"); fi
  "${args[@]}" "$BASE$path"
}

# expect STATUS METHOD PATH OUT [DATA-FILE]
expect() {
  local want=$1; shift
  local got
  got=$(call "$@")
  [ "$got" = "$want" ] || fail "$1 $2: HTTP $got, want $want: $(cat "$3" 2>/dev/null)"
}

# types FILE JQ-PATH 'field:type ...': every field present with its JSON type.
types() {
  local file=$1 path=$2; shift 2
  local spec field typ got
  for spec in "$@"; do
    field=${spec%%:*}; typ=${spec#*:}
    got=$(jq -r --arg f "$field" "$path | if has(\$f) then (.[\$f] | type) else \"missing\" end" "$file")
    case "$typ" in
      *\|*) [[ "|$typ|" == *"|$got|"* ]] || fail "$file: $path.$field is $got, want $typ" ;;
      *) [ "$got" = "$typ" ] || fail "$file: $path.$field is $got, want $typ" ;;
    esac
  done
}

step "Step 1: list available certificate profiles (GET /mpki/api/v2/profile)"
expect 200 GET "/mpki/api/v2/profile?limit=20&offset=0" profiles.json
jq -e 'type == "array" and length >= 1 and length <= 20' profiles.json >/dev/null || fail "profiles: not a page of an array"
PROFILE_ID=$(jq -r --arg n "$PROFILE" '[.[] | select(.enrollment_method == "rest_api" and .name == $n)][0].id // empty' profiles.json)
[ -n "$PROFILE_ID" ] || fail "no rest_api profile named $PROFILE"
jq --arg id "$PROFILE_ID" '.[] | select(.id == $id)' profiles.json > profile.json
types profile.json '.' id:string name:string status:string signature_algorithm:string \
  publish_to_public_directory:boolean renewal_period_days:number duplicate_cert_policy:boolean \
  override_cert_validity_via_api:boolean certificate_delivery_format:string account_id:string business_unit_id:string \
  enrollment_method:string authentication_method:string days_till_enrollment_expires:number automated_renewal:boolean \
  renewal_window_days:number custom_extended_key_usages:array private_key_attributes:object key_escrow_policy:object \
  api_token_binding_enabled:boolean api_token_ids:array enable_dual_admin_approval:boolean certificate:object \
  enable_ldap_search:boolean useCustomContact:boolean cert_delivery_format:string template:object connector_id:string \
  fields:object business_unit:object account:object
types profile.json '.private_key_attributes' key_size:string
types profile.json '.key_escrow_policy' key_escrow_enabled:boolean key_escrow_deployment_mode:string dual_admin_recovery:boolean
types profile.json '.certificate' subject:object validity:object extensions:object issuer:object
types profile.json '.certificate.subject' attributes:array
types profile.json '.certificate.subject.attributes[0]' type:string mandatory:boolean multiple:boolean sources:array
types profile.json '.certificate.subject.attributes[0].sources[0]' mandatory:boolean source:string
types profile.json '.certificate.validity' unit:string duration:number
types profile.json '.certificate.extensions.san' critical:boolean attributes:array
types profile.json '.certificate.issuer' serial_number:string subject_dn:string certificate:string root:boolean chain:array
types profile.json '.certificate.issuer.chain[0]' serial_number:string subject_dn:string certificate:string root:boolean
types profile.json '.template' id:string name:string trust_type:string
types profile.json '.fields' optional:boolean multiple:boolean key:string type:string input:string sources:object labels:array max:number default_value:null
types profile.json '.business_unit' id:string name:string
types profile.json '.account' id:string
jq -e '.status == "Active" and .enrollment_method == "rest_api"' profile.json >/dev/null || fail "profile not active rest_api"
jq -r '.certificate.issuer.certificate' profile.json | openssl x509 -noout || fail "issuer certificate is not PEM"
# The v1 path of seed 002 answers the same profiles, and the profile by id.
expect 200 GET "/mpki/api/v1/profile" profiles_v1.json
jq -e --arg id "$PROFILE_ID" 'type == "array" and any(.[]; .id == $id)' profiles_v1.json >/dev/null || fail "v1 profile list"
expect 200 GET "/mpki/api/v1/profile/$PROFILE_ID" profile_by_id.json
jq -e --arg id "$PROFILE_ID" '.id == $id' profile_by_id.json >/dev/null || fail "profile by id"

step "Step 2: generate a private key and CSR (the tutorial's openssl commands)"
# Generate a 2048-bit RSA private key
openssl genrsa -out private.key 2048
# Generate the CSR
openssl req -new -key private.key -out request.csr \
  -subj "/C=US/ST=Utah/L=Lehi/O=DigiCert Inc/CN=example.com"
# Secure the private.key file
chmod 400 private.key
# Verify the CSR (optional)
openssl req -in request.csr -noout -text > csr.txt
grep -q 'CN *= *example.com' csr.txt || fail "CSR subject"

step "Step 3: submit the certificate request (POST /mpki/api/v1/certificate)"
jq -n --arg p "$PROFILE_ID" --arg s "$SEAT_ID" --rawfile csr request.csr \
  '{profile: {id: $p}, seat: {seat_id: $s}, csr: $csr}' > issue.json
expect 201 POST /mpki/api/v1/certificate issued.json issue.json
if jq -e 'has("request_id")' issued.json >/dev/null; then
  # Approval-required profiles: pick the certificate up once issued.
  REQ=$(jq -r .request_id issued.json)
  for _ in $(seq 30); do
    expect 200 POST "/mpki/api/v1/certificate-pickup/$REQ" issued.json
    jq -e 'has("certificate")' issued.json >/dev/null && break
    sleep 2
  done
fi
types issued.json '.' serial_number:string delivery_format:string certificate:string
jq -e '.delivery_format == "x509" and (.serial_number | test("^[0-9A-F]+$")) and (.certificate | startswith("-----BEGIN CERTIFICATE-----"))' issued.json >/dev/null \
  || fail "issue response: $(cat issued.json)"
SERIAL=$(jq -r .serial_number issued.json)
jq -r .certificate issued.json > certificate.pem
openssl x509 -in certificate.pem -noout -subject | grep -q 'CN *= *example.com' || fail "certificate subject"
[ "$(openssl x509 -in certificate.pem -noout -serial | cut -d= -f2)" = "$SERIAL" ] || fail "serial_number is not the certificate's serial"
[ "$(openssl x509 -in certificate.pem -noout -pubkey)" = "$(openssl pkey -in private.key -pubout)" ] || fail "certificate is not for private.key"

step "Step 4: check the certificate status (GET /mpki/api/v1/certificate/{serial_number})"
expect 200 GET "/mpki/api/v1/certificate/$SERIAL" status.json
types status.json '.' profile:object seat:object business_unit:object account:object certificate:string ica:object \
  common_name:string status:string serial_number:string thumbprint:string valid_from:string valid_to:string notes:string \
  template_name:string issuing_ca_name:string key_size:number signature_algorithm:string subject:object \
  'cert_security_rating:string|null' 'security_rating_info:object|null'
types status.json '.profile' id:string name:string
types status.json '.seat' seat_id:string
types status.json '.business_unit' id:string name:string
types status.json '.account' id:string
types status.json '.ica' id:string
types status.json '.subject' common_name:string organization_name:string organization_units:string description:string \
  serial_number:string pseudonym:string unique_identifier:string user_identifier:string domain_component:string \
  dn_qualifier:string unstructured_name:string unstructured_address:string street_address:string postal_code:string \
  locality:string state:string country:string email:string title:string given_name:string surname:string \
  organization_identifier:string
jq -e --arg s "$SERIAL" --arg seat "$SEAT_ID" --arg p "$PROFILE_ID" '
  .status == "issued" and .serial_number == $s and .common_name == "example.com" and .profile.id == $p
  and .seat.seat_id == $seat and .key_size == 2048 and .signature_algorithm == "RSA"
  and (.valid_from | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"))
  and (.valid_to | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"))
  and (.thumbprint | test("^[0-9A-F]{64}$"))
  and .subject.organization_name == "DigiCert Inc" and .subject.locality == "Lehi" and .subject.state == "Utah" and .subject.country == "US"' \
  status.json >/dev/null || fail "status document: $(cat status.json)"
[ "$(jq -r .thumbprint status.json)" = "$(openssl x509 -in certificate.pem -noout -fingerprint -sha256 | cut -d= -f2 | tr -d :)" ] \
  || fail "thumbprint is not the certificate's SHA-256 fingerprint"
cmp <(jq -r .certificate status.json | openssl x509 -outform DER) <(openssl x509 -in certificate.pem -outform DER) || fail "status certificate differs"

step "Step 5: download additional certificate formats"
expect 200 GET "/mpki/api/v1/certificate/$SERIAL/additional-formats" formats.json
types formats.json '.' pkcs7:string x509_cert_chain:array
types formats.json '.x509_cert_chain[0]' common_name:string cert_blob:string
jq -r .pkcs7 formats.json > bundle.p7b
head -1 bundle.p7b | grep -q -- '-----BEGIN PKCS7-----' || fail "pkcs7 is not PEM"
[ "$(openssl pkcs7 -in bundle.p7b -print_certs | grep -c 'BEGIN CERTIFICATE')" = "$(jq '.x509_cert_chain | length' formats.json)" ] \
  || fail "PKCS#7 and x509_cert_chain disagree"
jq -e '.x509_cert_chain | length >= 2 and .[0].common_name == "example.com"' formats.json >/dev/null || fail "chain order"
cmp <(jq -r '.x509_cert_chain[0].cert_blob' formats.json | openssl x509 -outform DER) <(openssl x509 -in certificate.pem -outform DER) \
  || fail "x509_cert_chain[0] is not the certificate"
jq -r '.x509_cert_chain[-1].cert_blob' formats.json > root.pem
jq -r '.x509_cert_chain[1:-1][].cert_blob' formats.json > intermediates.pem
openssl verify -CAfile root.pem -untrusted intermediates.pem certificate.pem || fail "chain does not verify leaf to root"

step "Search (GET /mpki/api/v1/certificate-search) with the OpenAPI's filters"
ISSUER_CN=$(jq -rn --arg s "$(jq -r .issuing_ca_name status.json)" '$s|@uri')
FROM=$(date -u -d '-1 day' +%Y-%m-%d) TO=$(date -u -d '+1000 days' +%Y-%m-%dT%H:%M:%SZ) LATER=$(date -u -d '+1 day' +%Y-%m-%d)
expect 200 GET "/mpki/api/v1/certificate-search?serial_number=$SERIAL&status=ISSUED&common_name=example.com&valid_from=$FROM&valid_to=$TO&issuing_ca_name=$ISSUER_CN&seat_id=$(jq -rn --arg s "$SEAT_ID" '$s|@uri')&profile_id=$PROFILE_ID&limit=10&offset=0" search.json
types search.json '.' total:number offset:number limit:number items:array
jq -e --arg s "$SERIAL" '.total == 1 and .limit == 10 and .offset == 0 and .items[0].serial_number == $s and .items[0].status == "issued"' search.json >/dev/null \
  || fail "search: $(cat search.json)"
expect 200 GET "/mpki/api/v1/certificate-search?serial_number=$SERIAL&valid_from=$LATER" search.json
jq -e '.total == 0 and (.items | length) == 0' search.json >/dev/null || fail "valid_from after issuance still matches: $(cat search.json)"
expect 400 GET "/mpki/api/v1/certificate-search?valid_to=someday" search.json
jq -e '.error.field == "valid_to"' search.json >/dev/null || fail "bad valid_to: $(cat search.json)"

step "Revoke (certificate_hold), resume, then revoke for good"
echo '{"revocation_reason": "certificate_hold"}' > hold.json
expect 204 PUT "/mpki/api/v1/certificate/$SERIAL/revoke" out.json hold.json
expect 200 GET "/mpki/api/v1/certificate/$SERIAL" status.json
jq -e '.status == "suspended"' status.json >/dev/null || fail "not suspended: $(jq -r .status status.json)"
expect 204 DELETE "/mpki/api/v1/certificate/$SERIAL/revoke" out.json
expect 200 GET "/mpki/api/v1/certificate/$SERIAL" status.json
jq -e '.status == "issued"' status.json >/dev/null || fail "not resumed: $(jq -r .status status.json)"
echo '{"revocation_reason": "key_compromise"}' > revoke.json
expect 204 PUT "/mpki/api/v1/certificate/$SERIAL/revoke" out.json revoke.json
expect 200 GET "/mpki/api/v1/certificate/$SERIAL" status.json
jq -e '.status == "revoked" and .revocation.reason == "key_compromise"' status.json >/dev/null || fail "not revoked: $(cat status.json)"
if [ -n "${SIGNET_URL:-}" ]; then
  # The revocation is in the issuing CA's CRL, served by Signet's main listener.
  CA_ID=$(jq -r .ica.id status.json)
  curl -sS --max-time 30 ${CACERT:+--cacert "$CACERT"} -o ca.crl "$SIGNET_URL/crl/$CA_ID.crl"
  openssl crl -inform DER -in ca.crl -noout -text | grep -q "Serial Number: $SERIAL" || fail "serial $SERIAL not in the CRL of $CA_ID"
fi
expect 409 DELETE "/mpki/api/v1/certificate/$SERIAL/revoke" out.json
jq -e '.error.code | type == "string"' out.json >/dev/null || fail "resume of a revoked certificate: $(cat out.json)"

step "Errors in the vendor's format"
code=$(curl -sS --max-time 30 ${CACERT:+--cacert "$CACERT"} -o noauth.json -w '%{http_code}' "$BASE/mpki/api/v1/profile")
[ "$code" = 401 ] || fail "no x-api-key: HTTP $code"
jq -e '(.error.code | type == "string") and (.error.message | type == "string")' noauth.json >/dev/null || fail "401 body: $(cat noauth.json)"
expect 404 GET "/mpki/api/v1/certificate/0BADC0FFEE" out.json
jq -e '.error.code == "certificate_not_found"' out.json >/dev/null || fail "404 body: $(cat out.json)"

echo "OK: DigiCert tutorial passed against $BASE (serial $SERIAL)"
