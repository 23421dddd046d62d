package sectigo_test

import (
	"crypto/md5" //nolint:gosec // the document's md5Hash filter
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // the document's sha1Hash filter
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestListEveryFilter: each list filter of the document (section 5.1.1)
// selects exactly the certificates it names, in GET's items and in the
// X-Total-Count of GET and HEAD.
func TestListEveryFilter(t *testing.T) {
	c := newClient(t)
	certType, term := c.defaultType(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecID, _ := c.enroll(t, certType, term, csrPEM(t, ecKey(t), "a.filters.test", "a.filters.test", "www.a.filters.test"))
	rsaID, _ := c.enroll(t, certType, term, csrPEM(t, rsaKey, "b.filters.test"))
	var imported []struct {
		Successful bool           `json:"successful"`
		Cert       map[string]any `json:"cert"`
	}
	r := c.do(t, "POST", "/api/ssl/v2/import", []map[string]any{{"orgID": c.orgID(t), "cert": base64.StdEncoding.EncodeToString(legacyCert(t))}})
	r.JSON(t, &imported)
	if r.Status != 200 || len(imported) != 1 || !imported[0].Successful {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	impID := int64(imported[0].Cert["id"].(float64))

	ec := collectLeaf(t, c, ecID)
	var d map[string]any
	c.do(t, "GET", "/api/ssl/v1/"+strconv.FormatInt(ecID, 10), nil).JSON(t, &d)
	issuer := d["certificateDetails"].(map[string]any)["issuer"].(string)
	sigAlg := d["signatureAlgorithm"].(string)
	if !regexp.MustCompile(`^SHA(256|384|512)WITH(RSA|ECDSA)$|^ED25519$`).MatchString(sigAlg) {
		t.Errorf("signatureAlgorithm %q is not the product's form (SHA256WITHRSA)", sigAlg)
	}
	s1, s2, m := sha1.Sum(ec.Raw), sha256.Sum256(ec.Raw), md5.Sum(ec.Raw) //nolint:gosec // filters
	all := []int64{ecID, rsaID, impID}
	issued := []int64{ecID, rsaID}
	for _, tc := range []struct {
		query string
		want  []int64
	}{
		{"", all},
		{"commonName=a.filters.test", []int64{ecID}},
		{"subjectAlternativeName=www.a.filters.test", []int64{ecID}},
		{"status=Issued", all},
		{"status=Revoked", nil},
		{"sslTypeId=" + strconv.FormatInt(certType, 10), issued},
		{"certTypeId=" + strconv.FormatInt(certType, 10), issued},
		{"orgId=" + strconv.FormatInt(c.orgID(t), 10), all},
		{"serialNumber=" + colonHex(ec.SerialNumber.Bytes()), []int64{ecID}},
		{"sha256Hash=" + colonHex(s2[:]), []int64{ecID}},
		{"sha1Hash=" + hex.EncodeToString(s1[:]), []int64{ecID}},
		{"md5Hash=" + strings.ToUpper(hex.EncodeToString(m[:])), []int64{ecID}},
		{"issuer=" + url.QueryEscape(issuer), issued},
		{"issuer=CN%3DOld+Corp+CA", []int64{impID}},
		{"signatureAlgorithm=" + sigAlg, issued},
		{"signatureAlgorithm=SHA1WITHRSA", nil},
		{"keyAlgorithm=EC", []int64{ecID}},
		{"keyAlgorithm=RSA", []int64{rsaID, impID}},
		{"keyParam=P-256", []int64{ecID}},
		{"keyParam=2048", []int64{rsaID, impID}},
		{"keySize=2048", []int64{rsaID, impID}},
		{"keyUsage=digitalSignature", issued},
		{"extendedKeyUsage=serverAuth", issued},
		{"extendedKeyUsage=codeSigning", nil},
		{"requestedVia=REST", issued},
		{"requestedVia=IMPORTED", []int64{impID}},
		{"discoveryStatus=NotDeployed", all},
		{"discoveryStatus=Deployed", nil},
		{"renewalStatus=NOT_SCHEDULED", all},
		{"renewalStatus=SUCCESSFUL", nil},
		{"installStatus=NONE", all},
		{"vendor=Sectigo", nil},
		{"requester=admin", issued},
		{"externalRequester=nobody", nil},
		{"keyAlgorithm=RSA&size=1&position=1", []int64{rsaID, impID}}, // total counts both, one item shown
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := c.do(t, "GET", "/api/ssl/v1?"+tc.query, nil)
			var items []struct {
				SSLID int64 `json:"sslId"`
			}
			r.JSON(t, &items)
			var got []int64
			for _, it := range items {
				got = append(got, it.SSLID)
			}
			total := r.Header.Get("X-Total-Count")
			if total != strconv.Itoa(len(tc.want)) {
				t.Errorf("X-Total-Count %s, want %d (%v)", total, len(tc.want), tc.want)
			}
			if strings.Contains(tc.query, "size=1") {
				if len(got) != 1 || !slices.Contains(tc.want, got[0]) {
					t.Errorf("page %v, want one of %v", got, tc.want)
				}
			} else if !sameIDs(got, tc.want) {
				t.Errorf("items %v, want %v", got, tc.want)
			}
			if h := c.do(t, "HEAD", "/api/ssl/v1?"+tc.query, nil); h.Header.Get("X-Total-Count") != total {
				t.Errorf("HEAD count %s, GET %s", h.Header.Get("X-Total-Count"), total)
			}
		})
	}
}

// TestDetailsCarryTheDocumentsKeys: GET /api/ssl/v1/{sslId} has every key of
// the document's sample (5.1.2), each with the sample's JSON type.
func TestDetailsCarryTheDocumentsKeys(t *testing.T) {
	c := newClient(t)
	certType, term := c.defaultType(t)
	id, _ := c.enroll(t, certType, term, csrPEM(t, ecKey(t), "ccmqa.com", "ccmqa.com", "www.ccmqa.com"))
	var d map[string]any
	c.do(t, "GET", "/api/ssl/v1/"+strconv.FormatInt(id, 10), nil).JSON(t, &d)
	const (
		str, num, boolean, arr, obj = "string", "number", "bool", "array", "object"
	)
	want := map[string]string{"commonName": str, "sslId": num, "id": num, "orgId": num, "status": str, "orderNumber": num,
		"backendCertId": str, "vendor": str, "certType": obj, "validationType": str, "term": num, "owner": str, "ownerId": num,
		"requester": str, "requestedVia": str, "comments": str, "requested": str, "expires": str, "renewed": boolean,
		"serialNumber": str, "keyAlgorithm": str, "keySize": num, "keyType": str, "subjectAlternativeNames": arr,
		"customFields": arr, "certificateDetails": obj, "autoInstallDetails": obj, "autoRenewDetails": obj,
		"suspendNotifications": boolean, "csrDetails": obj}
	nested := map[string]map[string]string{
		"certType":           {"id": num, "name": str, "description": str, "terms": arr, "keyTypes": obj, "useSecondaryOrgName": boolean},
		"certificateDetails": {"issuer": str, "subject": str, "subjectAltNames": str, "sha1Hash": str, "sha256Hash": str, "md5Hash": str},
		"autoInstallDetails": {"state": str},
		"autoRenewDetails":   {"state": str},
		"csrDetails":         {"sha1Hash": str, "md5Hash": str, "sha256Hash": str, "csr": str},
	}
	check := func(where string, m map[string]any, keys map[string]string) {
		for k, typ := range keys {
			if got := jsonType(m[k]); got != typ {
				t.Errorf("%s%s: %s (%v), want %s", where, k, got, m[k], typ)
			}
		}
	}
	check("", d, want)
	for k, keys := range nested {
		if m, ok := d[k].(map[string]any); ok {
			check(k+".", m, keys)
		}
	}
	if d["owner"] != "admin" || d["ownerId"].(float64) <= 0 || d["orderNumber"] != d["sslId"] {
		t.Errorf("owner %v / %v, orderNumber %v", d["owner"], d["ownerId"], d["orderNumber"])
	}
	if got := d["certificateDetails"].(map[string]any)["subjectAltNames"]; got != "dNSName=ccmqa.com, dNSName=www.ccmqa.com" {
		t.Errorf("subjectAltNames %q", got)
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case nil:
		return "missing or null"
	}
	return fmt.Sprintf("%T", v)
}

func collectLeaf(t *testing.T, c *client, id int64) *x509.Certificate {
	t.Helper()
	r := c.do(t, "GET", fmt.Sprintf("/api/ssl/v1/collect/%d?format=x509CO", id), nil)
	blk, _ := pem.Decode(r.Body)
	if blk == nil {
		t.Fatalf("collect: %d %s", r.Status, r.Body)
	}
	x, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// legacyCert is an RSA-2048 certificate of a CA Signet does not know.
func legacyCert(t *testing.T) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "Old Corp CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0)}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(0x1e6ac7), Subject: pkix.Name{CommonName: "old.filters.test"},
		DNSNames: []string{"old.filters.test"}, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(0, 0, 30)}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caTmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02X", x)
	}
	return strings.Join(parts, ":")
}

func sameIDs(a, b []int64) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestRequestsOfAPublishedClient replays the requests of the published Go
// client github.com/hm-edu/sectigo-client (which the module proxy does not
// serve) and decodes the answers into its types' shapes.
func TestRequestsOfAPublishedClient(t *testing.T) {
	c := newClient(t)
	certType, term := c.defaultType(t)
	// ssl.EnrollmentRequest: subjAltNames is one comma-separated string.
	r := c.do(t, "POST", "/api/ssl/v1/enroll", map[string]any{"orgId": c.orgID(t), "subjAltNames": "hm.example.test, www.hm.example.test",
		"certType": certType, "term": term, "csr": csrPEM(t, ecKey(t), "hm.example.test", "hm.example.test", "www.hm.example.test")})
	var enrolled struct {
		SslID   int    `json:"sslId"`
		RenewID string `json:"renewId"`
	}
	if r.Status != 200 {
		t.Fatalf("enroll: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &enrolled)
	// ssl.Details: orderNumber an int, expires MM/DD/YYYY, certificateDetails strings.
	var d struct {
		CommonName         string   `json:"commonName"`
		SslID              int      `json:"sslId"`
		OrderNumber        int      `json:"orderNumber"`
		Status             string   `json:"status"`
		Term               int      `json:"term"`
		Expires            string   `json:"expires"`
		SANs               []string `json:"subjectAlternativeNames"`
		SerialNumber       string   `json:"serialNumber"`
		KeyType            string   `json:"keyType"`
		CertificateDetails struct {
			Issuer, Subject, SubjectAltNames, Md5Hash, Sha1Hash string
		} `json:"certificateDetails"`
	}
	c.do(t, "GET", fmt.Sprintf("/api/ssl/v1/%d", enrolled.SslID), nil).JSON(t, &d)
	if _, err := time.Parse("01/02/2006", d.Expires); err != nil || d.Status != "Issued" || d.OrderNumber != enrolled.SslID ||
		d.KeyType != "EC - P-256" || d.CertificateDetails.SubjectAltNames != "dNSName=hm.example.test, dNSName=www.hm.example.test" ||
		d.CertificateDetails.Md5Hash == "" || d.CertificateDetails.Sha1Hash == "" || len(d.SANs) != 2 {
		t.Fatalf("details as the client reads them: %+v", d)
	}
	// Collect: the body as a string.
	if r := c.do(t, "GET", fmt.Sprintf("/api/ssl/v1/collect/%d?format=x509", enrolled.SslID), nil); r.Status != 200 ||
		!strings.HasPrefix(string(r.Body), "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("collect: %d %s", r.Status, r.Body)
	}
	// Revoke by serial with only a reason (the client's RevokeRequest).
	if r := c.do(t, "POST", "/api/ssl/v1/revoke/serial/"+d.SerialNumber, map[string]any{"reason": "test"}); r.Status != 204 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	c.do(t, "GET", fmt.Sprintf("/api/ssl/v1/%d", enrolled.SslID), nil).JSON(t, &d)
	if d.Status != "Revoked" {
		t.Fatalf("status after revoke: %s", d.Status)
	}
}
