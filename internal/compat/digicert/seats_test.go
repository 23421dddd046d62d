package digicert_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestSeatsMapToOwners: a seat named after a Signet principal makes that
// principal the owner of the certificates issued to it; issuance decides
// whether the caller may issue to it.
func TestSeatsMapToOwners(t *testing.T) {
	e := newEnv(t)
	prof := e.profileID("tls-server")
	alice := e.native(201, "POST", "/api/v1/service-accounts", map[string]any{"name": "alice@example.com", "roles": []string{"requester"}})
	bobKey := e.principalKey("bob", "requester")

	created := e.must(201, "POST", "/mpki/api/v1/seat", map[string]any{"seat_id": "alice@example.com", "seat_name": "Alice",
		"email": "alice@example.com", "seat_type": map[string]any{"id": "USER_SEAT"}}).obj(t)
	if created["owner"] != alice["id"] || created["seat_name"] != "Alice" {
		t.Fatalf("created seat: %v", created)
	}
	wantError(t, "duplicate seat", e.do("POST", "/mpki/api/v1/seat", e.key, map[string]any{"seat_id": "alice@example.com"}),
		http.StatusConflict, "duplicate_seat", "")
	if r := e.do("PUT", "/mpki/api/v1/seat/alice@example.com", e.key, map[string]any{"phone": "401-766-4576",
		"seat_type": map[string]any{"id": "DEVICE_SEAT"}}); r.status != 204 {
		t.Fatalf("update seat: %d %s", r.status, r.body)
	}
	got := e.must(200, "GET", "/mpki/api/v1/seat/alice@example.com?seat_type_id=DEVICE_SEAT", nil).obj(t)
	if got["phone"] != "401-766-4576" || got["seat_type"].(map[string]any)["id"] != "DEVICE_SEAT" || got["seat_name"] != "Alice" {
		t.Errorf("updated seat: %v", got)
	}
	types := e.must(200, "GET", "/mpki/api/v1/seat-types", nil).arr(t)
	if len(types) != 3 || types[0].(map[string]any)["id"] != "USER_SEAT" {
		t.Errorf("seat types: %v", types)
	}

	// The admin issues to Alice's seat: Alice owns the certificate.
	res := e.issue(prof, "alice@example.com", csr(t, ecKey(t), "alice.example.com"))
	nat := e.native(200, "GET", "/api/v1/certificates/"+strings.ToLower(res["serial_number"].(string)), nil)
	if nat["owner"] != alice["id"] || nat["labels"].(map[string]any)["digicert.seat_id"] != "alice@example.com" {
		t.Errorf("owner %v labels %v", nat["owner"], nat["labels"])
	}
	// Bob, a requester, may not issue to Alice's seat (issuance refuses the owner) ...
	r := e.do("POST", "/mpki/api/v1/certificate", bobKey, map[string]any{"profile": map[string]any{"id": prof},
		"seat": map[string]any{"seat_id": "alice@example.com"}, "csr": csr(t, ecKey(t), "bob.example.com")})
	wantError(t, "requester issues to another's seat", r, http.StatusForbidden, "no_access", "")
	// Nor claim a seat named after her by using it first: it maps to her all the same.
	r = e.do("POST", "/mpki/api/v1/certificate", bobKey, map[string]any{"profile": map[string]any{"id": prof},
		"seat": map[string]any{"seat_id": "alice.backup"}, "csr": csr(t, ecKey(t), "bob.example.com")})
	if r.status != 201 {
		t.Fatalf("bob issues to a seat named after nobody: %d %s", r.status, r.body)
	}
	e.native(201, "POST", "/api/v1/service-accounts", map[string]any{"name": "alice2@example.com", "roles": []string{"requester"}})
	r = e.do("POST", "/mpki/api/v1/certificate", bobKey, map[string]any{"profile": map[string]any{"id": prof},
		"seat": map[string]any{"seat_id": "alice2@example.com"}, "csr": csr(t, ecKey(t), "bob.example.com")})
	wantError(t, "requester uses a seat named after another principal", r, http.StatusForbidden, "no_access", "")
	// ... but may issue to a new seat, which becomes his own, and may not revoke Alice's certificate.
	r = e.do("POST", "/mpki/api/v1/certificate", bobKey, map[string]any{"profile": map[string]any{"id": prof},
		"seat": map[string]any{"seat_id": "bob-laptop"}, "csr": csr(t, ecKey(t), "bob.example.com")})
	if r.status != 201 {
		t.Fatalf("bob issues to his seat: %d %s", r.status, r.body)
	}
	wantError(t, "requester revokes another's certificate", e.do("PUT", "/mpki/api/v1/certificate/"+res["serial_number"].(string)+"/revoke",
		bobKey, map[string]any{"revocation_reason": "superseded"}), http.StatusForbidden, "no_access", "")

	// An auditor reads but changes nothing: no certificate, and no seat either.
	auditor := e.principalKey("audrey", "auditor")
	wantError(t, "auditor issues", e.do("POST", "/mpki/api/v1/certificate", auditor, map[string]any{"profile": map[string]any{"id": prof},
		"seat": map[string]any{"seat_id": "audit-seat"}, "csr": csr(t, ecKey(t), "audit.example.com")}), http.StatusForbidden, "no_access", "")
	wantError(t, "no seat left by the auditor", e.do("GET", "/mpki/api/v1/seat/audit-seat", e.key, nil), http.StatusNotFound, "seat_not_found", "")
	if r := e.do("GET", "/mpki/api/v1/certificate/"+res["serial_number"].(string), auditor, nil); r.status != 200 {
		t.Errorf("auditor reads a certificate: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/mpki/api/v1/seat/alice@example.com?seat_type_id=DEVICE_SEAT", e.key, nil); r.status != 204 {
		t.Fatalf("delete seat: %d %s", r.status, r.body)
	}
	wantError(t, "deleted seat", e.do("GET", "/mpki/api/v1/seat/alice@example.com", e.key, nil), http.StatusNotFound, "seat_not_found", "")
	// Its certificates keep their owner and seat label.
	st := e.must(200, "GET", "/mpki/api/v1/certificate/"+res["serial_number"].(string), nil).obj(t)
	if st["seat"].(map[string]any)["seat_id"] != "alice@example.com" {
		t.Errorf("seat after deletion: %v", st["seat"])
	}
}

// TestEnrollmentCodes: an admin creates an enrollment for a seat; the code
// is redeemed once with a CSR, then refused.
func TestEnrollmentCodes(t *testing.T) {
	e := newEnv(t)
	prof := e.profileID("tls-server")
	requester := e.principalKey("carol", "requester")
	// A requester may not hand out enrollment codes.
	wantError(t, "requester creates an enrollment", e.do("POST", "/mpki/api/v1/enrollment", requester, map[string]any{
		"profile": prof, "seat": map[string]any{"seat_id": "carol", "email": "carol@example.com"}, "attributes": map[string]any{}}),
		http.StatusForbidden, "no_access", "")
	enr := e.must(201, "POST", "/mpki/api/v1/enrollment", map[string]any{"profile": map[string]any{"id": prof},
		"seat": map[string]any{"seat_id": "carol", "email": "carol@example.com"},
		"attributes": map[string]any{"subject": map[string]any{"common_name": "carol.example.com"},
			"validity": map[string]any{"duration_unit": "days", "duration_value": 60}}}).obj(t)
	code, _ := enr["enrollment_code"].(string)
	if len(code) != 20 || enr["status"] != "created" || enr["seat_id"] != "carol" || enr["profile_id"] != prof ||
		enr["profile_name"] != "tls-server" || enr["number_of_bad_attempts"].(float64) != 0 {
		t.Fatalf("enrollment: %v", enr)
	}
	got := e.must(200, "GET", "/mpki/api/v1/enrollment/"+code+"?seat_id=carol", nil).obj(t)
	if got["id"] != enr["id"] || got["status"] != "created" {
		t.Errorf("by code: %v", got)
	}
	wantError(t, "by code, wrong seat", e.do("GET", "/mpki/api/v1/enrollment/"+code+"?seat_id=dave", e.key, nil),
		http.StatusNotFound, "enrollment_not_found", "")
	wantError(t, "by code, no seat", e.do("GET", "/mpki/api/v1/enrollment/"+code, e.key, nil),
		http.StatusBadRequest, "invalid_input", "seat_id")
	redeem := map[string]any{"seat": map[string]any{"id": "carol"}, "profile": map[string]any{"id": prof}, "enrollment_code": code,
		"csr": csr(t, ecKey(t), "carol.example.com")}
	wantError(t, "redeem with a wrong code", e.do("POST", "/mpki/api/v1/enrollment/redeem", e.key, map[string]any{
		"seat": map[string]any{"id": "carol"}, "enrollment_code": code + "X", "csr": redeem["csr"]}), http.StatusNotFound, "enrollment_not_found", "")
	res := e.must(200, "POST", "/mpki/api/v1/enrollment/redeem", redeem).obj(t)
	c := parsePEMCert(t, res["certificate"].(string))
	if d := c.NotAfter.Sub(c.NotBefore).Hours() / 24; c.Subject.CommonName != "carol.example.com" || d < 59 || d > 61 {
		t.Errorf("redeemed certificate: %s, %.1f days", c.Subject, d)
	}
	wantError(t, "redeem twice", e.do("POST", "/mpki/api/v1/enrollment/redeem", e.key, redeem), http.StatusConflict, "enrollment_redeemed", "")
	det := e.must(200, "GET", "/mpki/api/v1/enrollment-details/"+enr["id"].(string), nil).obj(t)
	if det["status"] != "redeemed" || det["serial_number"] != res["serial_number"] || det["seat"].(map[string]any)["seat_id"] != "carol" {
		t.Errorf("details: %v", det)
	}
	// A second enrollment with a chosen code; a failed redemption gives the code back.
	e.must(201, "POST", "/mpki/api/v1/enrollment", map[string]any{"profile": prof, "seat": map[string]any{"seat_id": "dave", "email": "d@example.com"},
		"attributes": map[string]any{}, "enrollment_code": "662641677-dave", "expiry_date": "2099-12-11 23:00:00"})
	wantError(t, "duplicate code", e.do("POST", "/mpki/api/v1/enrollment", e.key, map[string]any{"profile": prof,
		"seat": map[string]any{"seat_id": "x", "email": "x@example.com"}, "attributes": map[string]any{}, "enrollment_code": "662641677-dave"}),
		http.StatusBadRequest, "duplicate_enrollment_code", "enrollment_code")
	wantError(t, "redeem with a bad CSR", e.do("POST", "/mpki/api/v1/enrollment/redeem", e.key, map[string]any{
		"seat": map[string]any{"id": "dave"}, "enrollment_code": "662641677-dave", "csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----"}),
		http.StatusBadRequest, "csr_malformed", "csr")
	e.must(200, "POST", "/mpki/api/v1/enrollment/redeem", map[string]any{"seat": map[string]any{"id": "dave"},
		"enrollment_code": "662641677-dave", "csr": csr(t, ecKey(t), "dave.example.com")})

	list := e.must(200, "GET", "/mpki/api/v1/enrollment-details/", nil).arr(t)
	if len(list) != 2 {
		t.Errorf("list: %d enrollments", len(list))
	}
	if l := e.must(200, "GET", "/mpki/api/v1/enrollment-details?seat_identifier=dave", nil).arr(t); len(l) != 1 {
		t.Errorf("list by seat: %d", len(l))
	}
	rep := e.must(200, "GET", "/mpki/api/v1/report/enrollment-code?limit=1", nil).obj(t)
	items := rep["items"].([]any)
	if rep["total"].(float64) != 2 || len(items) != 1 || items[0].(map[string]any)["enrollmentStatus"] != "redeemed" {
		t.Errorf("report: %v", rep)
	}
}

func TestAuditLogAndImport(t *testing.T) {
	e := newEnv(t)
	prof := e.profileID("tls-server")
	res := e.issue(prof, "audit-seat", csr(t, ecKey(t), "audit.example.com"))
	serial := strings.ToLower(strings.TrimLeft(res["serial_number"].(string), "0"))
	log := e.must(200, "GET", "/mpki/api/v1/audit-log?limit=1000", nil).obj(t)
	var issueEvent map[string]any
	for _, it := range log["items"].([]any) {
		m := it.(map[string]any)
		if m["resource_id"] == serial && m["resource_type"] == "end_entity_certificate" {
			issueEvent = m
		}
	}
	if issueEvent == nil || issueEvent["status"] != "success" || issueEvent["user"].(map[string]any)["id"] == "" {
		t.Fatalf("no issuance event for %s in %v", serial, log["total"])
	}
	one := e.must(200, "GET", "/mpki/api/v1/audit-log/"+issueEvent["id"].(string), nil).obj(t)
	if one["id"] != issueEvent["id"] || one["action"] != issueEvent["action"] {
		t.Errorf("audit event: %v", one)
	}
	if p := e.must(200, "GET", "/mpki/api/v1/audit-log?limit=2&offset=1&status=success", nil).obj(t); len(p["items"].([]any)) != 2 || p["offset"].(float64) != 1 {
		t.Errorf("audit page: %v", p)
	}
	// Import: the certificate just issued is already in the inventory (FAILURE);
	// a certificate from another CA is imported, revoked as documented.
	extern := externalCert(t)
	out := e.must(200, "POST", "/mpki/api/v1/certificate-import", []map[string]any{
		{"cert_type": "x509", "seat_id": "imported-seat", "cert": res["certificate"]},
		{"cert_type": "x509", "seat_id": "imported-seat", "cert": extern, "notes": "from the old CA",
			"revocation": map[string]any{"revoked": true, "reason": "key_compromise", "revoke_date": "2022-04-21T00:00:00Z"}},
	}).arr(t)
	first, second := out[0].(map[string]any), out[1].(map[string]any)
	if first["import_status"] != "FAILURE" || first["error_message"] == "" {
		t.Errorf("duplicate import: %v", first)
	}
	if second["import_status"] != "SUCCESS" || second["cert_status"] != "revoked" || second["seat"].(map[string]any)["type"] != "UNMANAGED_SEAT" {
		t.Fatalf("import: %v", second)
	}
	st := e.must(200, "GET", "/mpki/api/v1/certificate/"+second["serial_number"].(string), nil).obj(t)
	if st["status"] != "revoked" || st["notes"] != "from the old CA" || st["seat"].(map[string]any)["seat_id"] != "imported-seat" {
		t.Errorf("imported certificate: %v", st)
	}
	if rev := st["revocation"].(map[string]any); rev["reason"] != "unspecified" {
		t.Errorf("import revocation reason %v, want unspecified", rev["reason"])
	}
}

// TestEnrollmentCodeIsOneTime: concurrent redemptions of one code issue
// exactly one certificate.
func TestEnrollmentCodeIsOneTime(t *testing.T) {
	e := newEnv(t)
	enr := e.must(201, "POST", "/mpki/api/v1/enrollment", map[string]any{"profile": "tls-server",
		"seat": map[string]any{"seat_id": "race", "email": "race@example.com"}, "attributes": map[string]any{}}).obj(t)
	code := enr["enrollment_code"].(string)
	const n = 6
	csrs := make([]string, n)
	for i := range csrs {
		csrs[i] = csr(t, ecKey(t), "race.example.com")
	}
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// No t.Fatal off the test goroutine: a transport error counts as status 0.
			body, _ := json.Marshal(map[string]any{"seat": map[string]any{"id": "race"}, "enrollment_code": code, "csr": csrs[i]})
			req, _ := http.NewRequest("POST", e.base+"/mpki/api/v1/enrollment/redeem", bytes.NewReader(body))
			req.Header.Set("x-api-key", e.key)
			resp, err := e.srv.Client.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[200] != 1 || count[409] != n-1 {
		t.Fatalf("redemptions: %v, want one 200 and %d 409", count, n-1)
	}
	s := e.must(200, "GET", "/mpki/api/v1/certificate-search?seat_id=race", nil).obj(t)
	if s["total"].(float64) != 1 {
		t.Fatalf("certificates issued to the seat: %v", s["total"])
	}
}

// TestEnrollmentCodeGuessingIsLimited: a principal that tries too many
// wrong codes is refused (429, even with the right code) while others are
// not.
func TestEnrollmentCodeGuessingIsLimited(t *testing.T) {
	e := newEnv(t)
	prof := e.profileID("tls-server")
	guesser := e.principalKey("mallory", "requester")
	enr := e.must(201, "POST", "/mpki/api/v1/enrollment", map[string]any{"profile": prof,
		"seat": map[string]any{"seat_id": "mallory", "email": "m@example.com"}, "attributes": map[string]any{}}).obj(t)
	code := enr["enrollment_code"].(string)
	redeem := func(key, c string) *reply {
		return e.do("POST", "/mpki/api/v1/enrollment/redeem", key, map[string]any{"seat": map[string]any{"id": "mallory"},
			"enrollment_code": c, "csr": csr(t, ecKey(t), "mallory.example.com")})
	}
	for i := range 10 {
		wantError(t, "wrong code", redeem(guesser, "GUESS"+strconv.Itoa(i)+"XXXXXXXXXXXXXX"), http.StatusNotFound, "enrollment_not_found", "")
	}
	r := redeem(guesser, code)
	wantError(t, "right code after ten wrong ones", r, http.StatusTooManyRequests, "too_many_attempts", "")
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 900 {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	wantError(t, "get by code", e.do("GET", "/mpki/api/v1/enrollment/"+code+"?seat_id=mallory", guesser, nil),
		http.StatusTooManyRequests, "too_many_attempts", "")
	// The refusals are audited as the guesser's denied requests.
	ev := e.native(200, "GET", "/api/v1/audit-events?action=authz.denied&limit=1000", nil)
	if n := strings.Count(string(mustJSON(t, ev)), "too_many_attempts"); n != 2 {
		t.Errorf("%d audited lock-out refusals, want 2: %v", n, ev)
	}
	// The code was not spent: its rightful holder (here the admin) redeems it.
	if got := e.must(200, "POST", "/mpki/api/v1/enrollment/redeem", map[string]any{"seat": map[string]any{"id": "mallory"},
		"enrollment_code": code, "csr": csr(t, ecKey(t), "mallory.example.com")}).obj(t); got["serial_number"] == "" {
		t.Errorf("redeem: %v", got)
	}
}

// TestEnrollmentLocksAfterBadAttempts: the right code used for another
// seat counts against its enrollment (number_of_bad_attempts), whoever
// tries it; the count is kept with the enrollment's stored record, and the
// tenth bad attempt locks the enrollment, so even its rightful holder can
// no longer redeem it. Neither principal reaches its own limit.
func TestEnrollmentLocksAfterBadAttempts(t *testing.T) {
	e := newEnv(t)
	prof := e.profileID("tls-server")
	enr := e.must(201, "POST", "/mpki/api/v1/enrollment", map[string]any{"profile": prof,
		"seat": map[string]any{"seat_id": "dave", "email": "d@example.com"}, "attributes": map[string]any{}}).obj(t)
	code, id := enr["enrollment_code"].(string), enr["id"].(string)
	first, second := e.principalKey("erin", "requester"), e.principalKey("frank", "requester")
	redeem := func(key, seat string) *reply {
		return e.do("POST", "/mpki/api/v1/enrollment/redeem", key, map[string]any{"seat": map[string]any{"id": seat},
			"enrollment_code": code, "csr": csr(t, ecKey(t), "dave.example.com")})
	}
	attempts := func() (float64, string) {
		t.Helper()
		got := e.must(200, "GET", "/mpki/api/v1/enrollment/"+code+"?seat_id=dave", nil).obj(t)
		return got["number_of_bad_attempts"].(float64), got["status"].(string)
	}
	for i, key := range []string{first, first, first, first, first, first, second, second, second} {
		wantError(t, "attempt "+strconv.Itoa(i+1)+" for another seat", redeem(key, "eve"), http.StatusNotFound, "enrollment_not_found", "")
	}
	if n, status := attempts(); n != 9 || status != "created" {
		t.Fatalf("after 9 bad attempts: number_of_bad_attempts %v, status %s", n, status)
	}
	// A wrong seat on the lookup by code counts too; the tenth locks it.
	wantError(t, "get for another seat", e.do("GET", "/mpki/api/v1/enrollment/"+code+"?seat_id=eve", second, nil),
		http.StatusNotFound, "enrollment_not_found", "")
	if n, status := attempts(); n != 10 || status != "locked" {
		t.Fatalf("after 10 bad attempts: number_of_bad_attempts %v, status %s", n, status)
	}
	wantError(t, "redeem a locked enrollment", redeem(e.key, "dave"), http.StatusConflict, "enrollment_locked", "")
	// The principals were not limited: 6 and 4 wrong tries each.
	wantError(t, "unknown code", e.do("GET", "/mpki/api/v1/enrollment/NOSUCHCODE00000000000?seat_id=dave", first, nil),
		http.StatusNotFound, "enrollment_not_found", "")
	// The count and the lock are in the stored record, not this node's memory.
	obj, err := e.srv.App.Store.GetProtocolObject(t.Context(), "digicert.enrollment", id)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		BadAttempts int `json:"bad_attempts"`
	}
	if err := json.Unmarshal(obj.Data, &rec); err != nil || obj.Status != "locked" || rec.BadAttempts != 10 {
		t.Fatalf("stored enrollment: status %s, %s (%v)", obj.Status, obj.Data, err)
	}
	if ev := e.native(200, "GET", "/api/v1/audit-events?action=digicert.enrollment.lock", nil); !strings.Contains(string(mustJSON(t, ev)), id) {
		t.Fatalf("no audited lock of %s: %v", id, ev)
	}
	if got := e.must(200, "GET", "/mpki/api/v1/enrollment-details?statuses=locked", nil).arr(t); len(got) != 1 {
		t.Fatalf("locked enrollments: %v", got)
	}
}
