package sectigo

import (
	"crypto/md5" //nolint:gosec // the document's csrDetails.md5Hash, a fingerprint, not a security check
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/policy"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// certType is a Sectigo "certificate profile" (type): a Signet profile
// enabled for this API.
type certType struct {
	ID                  int64               `json:"id"`
	Name                string              `json:"name"`
	Description         string              `json:"description"`
	Terms               []int               `json:"terms"`
	KeyTypes            map[string][]string `json:"keyTypes"`
	UseSecondaryOrgName bool                `json:"useSecondaryOrgName"`
}

// profiles lists the organization's active profiles open to this API.
func (h *Handler) profiles(c *call) ([]*profile.Resolved, error) {
	var out []*profile.Resolved
	cursor := ""
	for {
		ps, next, err := h.d.Profiles.ListProfiles(c.ctx, store.ListQuery{OrgID: c.org.ID, Limit: 500, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if p.Status != "active" || !slices.Contains(p.EnrollmentMethods, Method) {
				continue
			}
			res, err := h.d.Profiles.Resolve(c.ctx, p.ID)
			if err != nil {
				return nil, err
			}
			out = append(out, res)
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// profileByID finds certType id among the profiles open to this API.
func (h *Handler) profileByID(c *call, id int64) (*profile.Resolved, error) {
	ps, err := h.profiles(c)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.Profile.IntID == id {
			return p, nil
		}
	}
	return nil, fail(http.StatusBadRequest, -111, "No certificate profile found by id %d", id)
}

// termsOf are the validities a profile offers: the usual 30, 90 and 365
// days that fit its template, its default and its maximum.
func termsOf(p *profile.Resolved) []int {
	maxDays := p.Template.Parsed.MaxValidityDays
	var terms []int
	for _, t := range []int{30, 90, 365, p.Profile.DefaultValidityDays, maxDays} {
		if t > 0 && t <= maxDays && !slices.Contains(terms, t) {
			terms = append(terms, t)
		}
	}
	sort.Ints(terms)
	return terms
}

var rsaSizes = []int{2048, 3072, 4096}
var ecCurves = []struct {
	bits int
	name string
}{{256, "P-256"}, {384, "P-384"}, {521, "P-521"}}

// keyTypesOf renders a template's key rules as the document's keyTypes.
func keyTypesOf(t policy.Template) map[string][]string {
	rules := t.KeyTypes
	if len(rules) == 0 {
		rules = []policy.KeyRule{{Algorithm: "rsa"}, {Algorithm: "ecdsa"}}
	}
	out := map[string][]string{}
	for _, r := range rules {
		switch r.Algorithm {
		case "rsa":
			for _, s := range rsaSizes {
				if s >= r.MinBits {
					out["RSA"] = append(out["RSA"], strconv.Itoa(s))
				}
			}
		case "ecdsa":
			for _, c := range ecCurves {
				if c.bits >= r.MinBits {
					out["EC"] = append(out["EC"], c.name)
				}
			}
		}
	}
	return out
}

func typeOf(p *profile.Resolved) certType {
	return certType{ID: p.Profile.IntID, Name: p.Profile.Name, Description: p.Profile.Description,
		Terms: termsOf(p), KeyTypes: keyTypesOf(p.Template.Parsed)}
}

func (h *Handler) types(w http.ResponseWriter, c *call) error {
	if raw := c.r.URL.Query().Get("organizationId"); raw != "" {
		if _, err := h.orgOrDepartment(c, raw, "organizationId"); err != nil {
			return err
		}
	}
	ps, err := h.profiles(c)
	if err != nil {
		return err
	}
	out := make([]certType, 0, len(ps))
	for _, p := range ps {
		out = append(out, typeOf(p))
	}
	return writeJSON(w, http.StatusOK, out)
}

type customFieldOut struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Mandatory bool   `json:"mandatory"`
}

func (h *Handler) customFields(w http.ResponseWriter, c *call) error {
	fs, err := h.d.Directory.ListCustomFields(c.ctx, c.org.ID)
	if err != nil {
		return err
	}
	out := make([]customFieldOut, 0, len(fs))
	for _, f := range fs {
		out = append(out, customFieldOut{ID: f.IntID, Name: f.Name, Mandatory: f.Required})
	}
	return writeJSON(w, http.StatusOK, out)
}

type nameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// enrollBody is POST /api/ssl/v1/enroll and /enroll-keygen.
type enrollBody struct {
	OrgID             *int64      `json:"orgId"`
	CSR               string      `json:"csr"`
	SubjAltNames      string      `json:"subjAltNames"`
	CertType          *int64      `json:"certType"`
	Term              *int        `json:"term"`
	Comments          string      `json:"comments"`
	ExternalRequester string      `json:"externalRequester"`
	CustomFields      []nameValue `json:"customFields"`
	DCVMode           string      `json:"dcvMode"`
	DCVEmail          string      `json:"dcvEmail"`
	// enroll-keygen
	CommonName          string `json:"commonName"`
	Algorithm           string `json:"algorithm"`
	KeySize             int    `json:"keySize"`
	KeyParam            string `json:"keyParam"`
	KeyGenerationMethod string `json:"keyGenerationMethod"`
	PassPhrase          string `json:"passPhrase"`
}

type enrollOut struct {
	SSLID   int64  `json:"sslId"`
	RenewID string `json:"renewId"`
}

// enrollCommon checks what both enroll variants share and builds the input.
func (h *Handler) enrollCommon(c *call, b *enrollBody) (*issuance.EnrollInput, *profile.Resolved, error) {
	if b.OrgID == nil {
		return nil, nil, errMissing("orgId")
	}
	if b.CertType == nil {
		return nil, nil, errMissing("certType")
	}
	if b.Term == nil {
		return nil, nil, errMissing("term")
	}
	if len(b.Comments) > 1024 {
		return nil, nil, errInvalidField("comments")
	}
	if len(b.ExternalRequester) > 512 {
		return nil, nil, errInvalidField("externalRequester")
	}
	owner, err := h.orgOrDepartment(c, strconv.FormatInt(*b.OrgID, 10), "orgId")
	if err != nil {
		return nil, nil, err
	}
	prof, err := h.profileByID(c, *b.CertType)
	if err != nil {
		return nil, nil, err
	}
	if !slices.Contains(termsOf(prof), *b.Term) {
		return nil, nil, fail(http.StatusBadRequest, -36, "The validity period (term) is invalid for this certificate profile.")
	}
	fields := map[string]string{}
	for _, f := range b.CustomFields {
		if f.Name == "" {
			return nil, nil, errInvalidField("customFields.name")
		}
		fields[f.Name] = f.Value
	}
	if err := h.checkMandatoryFields(c, fields); err != nil {
		return nil, nil, err
	}
	in := &issuance.EnrollInput{Profile: prof.Profile.ID, ValidityDays: *b.Term, CustomFields: fields, Method: Method, Owner: owner}
	if len(fields) == 0 {
		in.CustomFields = nil
	}
	return in, prof, nil
}

// checkMandatoryFields answers a missing mandatory custom field with the
// document's -62 before anything else looks at the request.
func (h *Handler) checkMandatoryFields(c *call, values map[string]string) error {
	fs, err := h.d.Directory.ListCustomFields(c.ctx, c.org.ID)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if v, ok := values[f.Name]; f.Required && (!ok || v == "") {
			return fail(http.StatusBadRequest, -62, "Missing mandatory custom field!")
		}
	}
	return nil
}

// parseCSR reads a CSR as the document's clients send it: PEM, or bare
// base64 without the armour. It answers the document's -9 / -10.
func parseCSR(raw string) (string, *x509.CertificateRequest, error) {
	raw = strings.TrimSpace(strings.ReplaceAll(raw, `\n`, "\n"))
	if raw == "" {
		return "", nil, errMissing("csr")
	}
	var der []byte
	if blk, _ := pem.Decode([]byte(raw)); blk != nil {
		der = blk.Bytes
	} else {
		b64 := strings.Join(strings.Fields(raw), "")
		var err error
		if der, err = base64.StdEncoding.DecodeString(b64); err != nil {
			return "", nil, fail(http.StatusBadRequest, -9, "The CSR is not valid Base-64 data!")
		}
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return "", nil, fail(http.StatusBadRequest, -10, "Error while decoding CSR.")
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), csr, nil
}

// splitNames splits subjAltNames ("a.com, b.com").
func splitNames(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
			out = append(out, n)
		}
	}
	return out
}

func (h *Handler) enroll(w http.ResponseWriter, c *call) error {
	var b enrollBody
	if err := decode(c.r, &b); err != nil {
		return err
	}
	csrPEM, csr, err := parseCSR(b.CSR)
	if err != nil {
		return err
	}
	in, _, err := h.enrollCommon(c, &b)
	if err != nil {
		return err
	}
	// Signet certifies what the CSR asks for; subjAltNames may only repeat
	// those names (the common name counts, it becomes a SAN).
	have := append(slices.Clone(csr.DNSNames), strings.ToLower(csr.Subject.CommonName))
	for _, ip := range csr.IPAddresses {
		have = append(have, ip.String())
	}
	for _, n := range splitNames(b.SubjAltNames) {
		if !slices.Contains(have, n) {
			return errInvalidField("subjAltNames")
		}
	}
	in.CSR = csrPEM
	iss, err := h.d.Issuance.Enroll(c.ctx, *in)
	if err != nil {
		return err
	}
	return h.finishEnroll(w, c, iss, record{Comments: b.Comments, ExternalRequester: b.ExternalRequester, Term: in.ValidityDays})
}

func (h *Handler) finishEnroll(w http.ResponseWriter, c *call, iss *issuance.Issued, rec record) error {
	rec.RequestID = iss.Request.ID
	o, err := h.putRecord(c.ctx, iss.Request.IntID, iss.Request.OrgID, rec)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, enrollOut{SSLID: iss.Request.IntID, RenewID: o.KeyID})
}

// keygenOf maps algorithm / keyParam (or the deprecated keySize).
func keygenOf(b *enrollBody) (*issuance.Keygen, error) {
	param := b.KeyParam
	if param == "" && b.KeySize > 0 {
		param = strconv.Itoa(b.KeySize)
	}
	switch strings.ToUpper(b.Algorithm) {
	case "", "RSA":
		if param == "" {
			param = "2048"
		}
		bits, err := strconv.Atoi(param)
		if err != nil || !slices.Contains(rsaSizes, bits) {
			return nil, fail(http.StatusBadRequest, -13, "The CSR uses an unsupported key size!")
		}
		return &issuance.Keygen{Algorithm: "rsa", Bits: bits}, nil
	case "EC", "ECDSA":
		if param == "" {
			param = "P-256"
		}
		for _, cv := range ecCurves {
			if strings.EqualFold(param, cv.name) || param == strconv.Itoa(cv.bits) || strings.EqualFold(param, "secp"+strconv.Itoa(cv.bits)+"r1") {
				return &issuance.Keygen{Algorithm: "ecdsa", Bits: cv.bits}, nil
			}
		}
		return nil, fail(http.StatusBadRequest, -13, "The CSR uses an unsupported key size!")
	}
	return nil, fail(http.StatusBadRequest, -11, "The CSR uses an unsupported algorithm!")
}

// enrollKeygen generates the key on the server (Signet plays the Private
// Key Agent). The PKCS#12, sealed under the client's pass phrase, is kept
// for the keystore download; Signet never keeps the key in clear.
func (h *Handler) enrollKeygen(w http.ResponseWriter, c *call) error {
	var b enrollBody
	if err := decode(c.r, &b); err != nil {
		return err
	}
	if b.CommonName == "" {
		return errMissing("commonName")
	}
	if len(b.CommonName) > 64 {
		return errInvalidField("commonName")
	}
	if m := strings.ToUpper(b.KeyGenerationMethod); m != "" && m != "PK_AGENT" {
		return errInvalidField("keyGenerationMethod")
	}
	if b.PassPhrase == "" {
		return errMissing("passPhrase")
	}
	if len(b.PassPhrase) < 8 || len(b.PassPhrase) > 64 {
		return errInvalidField("passPhrase")
	}
	kg, err := keygenOf(&b)
	if err != nil {
		return err
	}
	in, _, err := h.enrollCommon(c, &b)
	if err != nil {
		return err
	}
	in.Keygen, in.PKCS12Password = kg, b.PassPhrase
	in.Subject.CommonName = b.CommonName
	in.SANs = splitNames(b.SubjAltNames)
	if !slices.Contains(in.SANs, strings.ToLower(b.CommonName)) && strings.Contains(b.CommonName, ".") {
		in.SANs = append([]string{strings.ToLower(b.CommonName)}, in.SANs...)
	}
	iss, err := h.d.Issuance.Enroll(c.ctx, *in)
	if err != nil {
		return err
	}
	return h.finishEnroll(w, c, iss, record{Comments: b.Comments, ExternalRequester: b.ExternalRequester, Term: in.ValidityDays, Keystore: iss.PKCS12})
}

// colonSerial is the document's serial form: upper-case hex byte pairs
// separated by colons.
func colonSerial(canon string) string {
	if len(canon)%2 == 1 {
		canon = "0" + canon
	}
	canon = strings.ToUpper(canon)
	parts := make([]string, 0, len(canon)/2)
	for i := 0; i < len(canon); i += 2 {
		parts = append(parts, canon[i:i+2])
	}
	return strings.Join(parts, ":")
}

// requestedVia renders the enrollment method in the document's display words.
func requestedVia(method, source string) string {
	switch method {
	case Method:
		return "REST API"
	case "api", "auto_renew":
		return "Web API"
	case "acme":
		return "ACME"
	case "est":
		return "EST"
	case "scep":
		return "SCEP"
	}
	switch source {
	case "imported":
		return "Imported"
	case "discovered":
		return "Discovery"
	}
	return "Client Admin"
}

// requestedViaFilter is the list filter's enumeration of the same.
var requestedViaFilter = map[string]string{"REST API": "REST", "Web API": "API", "ACME": "ACME", "EST": "EST",
	"SCEP": "SCEP", "Imported": "IMPORTED", "Discovery": "DISCOVERY", "Client Admin": "CLIENT_ADMIN"}

func hashes(der []byte) (md5h, sha1h, sha256h string) {
	m := md5.Sum(der) //nolint:gosec // fingerprint only
	s1 := sha1.Sum(der)
	s2 := sha256.Sum256(der)
	return strings.ToUpper(hex.EncodeToString(m[:])), strings.ToUpper(hex.EncodeToString(s1[:])), strings.ToUpper(hex.EncodeToString(s2[:]))
}

// details is the document's certificate details object.
func (h *Handler) details(c *call, v *view) map[string]any {
	now := h.d.Now()
	f := c.dates
	d := map[string]any{"sslId": v.id, "id": v.id, "orgId": c.org.IntID, "status": v.status(now),
		"orderNumber": v.id, "backendCertId": strconv.FormatInt(v.id, 10), "vendor": "", "comments": v.rec.Comments,
		"externalRequester": v.rec.ExternalRequester, "renewed": false, "suspendNotifications": false,
		"autoInstallDetails": map[string]any{"state": "Not configured"},
		"autoRenewDetails":   map[string]any{"state": "Not scheduled", "daysBeforeExpiration": 30},
		"validationType":     "Private CA", "customFields": []nameValue{}, "subjectAlternativeNames": []string{}}
	fields := map[string]string{}
	if v.req != nil {
		fields = v.req.CustomFields
		d["requested"] = f.format(v.req.CreatedAt)
		d["requester"] = h.principalName(c, v.req.RequesterID)
		d["requestedVia"] = requestedVia(v.req.Method, "")
		d["term"] = v.req.ValidityDays
		if v.req.DecidedAt != nil {
			key := "approved"
			if v.req.Status == store.RequestRejected {
				key = "declined"
			}
			d[key] = f.format(*v.req.DecidedAt)
			d["approver"] = v.req.DecidedBy
		}
		if prof, err := h.d.Profiles.Resolve(c.ctx, v.req.ProfileID); err == nil {
			d["certType"] = typeOf(prof)
		}
		if v.req.CSRPEM != "" {
			if blk, _ := pem.Decode([]byte(v.req.CSRPEM)); blk != nil {
				m, s1, s2 := hashes(blk.Bytes)
				d["csrDetails"] = map[string]any{"md5Hash": m, "sha1Hash": s1, "sha256Hash": s2, "csr": v.req.CSRPEM}
			}
		}
	}
	if v.rec.Term > 0 {
		d["term"] = v.rec.Term
	}
	if cert := v.cert; cert != nil {
		fields = cert.CustomFields
		h.certFacts(c, d, cert)
	}
	if len(v.rec.Replaced) > 0 {
		d["replaced"] = true
	}
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	cfs := make([]nameValue, 0, len(names))
	for _, n := range names {
		cfs = append(cfs, nameValue{Name: n, Value: fields[n]})
	}
	d["customFields"] = cfs
	return d
}

// certFacts adds what the issued certificate says.
func (h *Handler) certFacts(c *call, d map[string]any, cert *store.Certificate) {
	f := c.dates
	d["commonName"] = cert.CommonName
	d["serialNumber"] = colonSerial(cert.Serial)
	d["issued"] = f.format(cert.NotBefore)
	d["expires"] = f.format(cert.NotAfter)
	d["owner"], d["ownerId"] = h.ownerOf(c, cert.Owner)
	d["renewed"] = cert.RenewedBy != ""
	if _, ok := d["requestedVia"]; !ok {
		d["requestedVia"] = requestedVia(cert.Method, cert.Source)
	}
	if cert.RevokedAt != nil {
		d["revoked"] = f.format(*cert.RevokedAt)
		d["revocationReason"] = cert.RevocationReason
	}
	sans := cert.SANs
	if sans == nil {
		sans = []string{}
	}
	d["subjectAlternativeNames"] = sans
	details := map[string]any{"issuer": cert.Issuer, "subject": cert.Subject, "sha1Hash": strings.ToUpper(cert.SHA1),
		"sha256Hash": strings.ToUpper(cert.SHA256)}
	if x, err := x509.ParseCertificate(cert.DER); err == nil {
		alg, bits := certutil.KeyInfo(x.PublicKey)
		alg = strings.ToUpper(alg)
		param := strconv.Itoa(bits)
		if alg == "ECDSA" {
			alg = "EC"
			param = "P-" + param
		}
		d["keyAlgorithm"], d["keySize"], d["keyType"] = alg, bits, alg+" - "+param
		d["signatureAlgorithm"] = sigAlgName(x.SignatureAlgorithm)
		m, _, _ := hashes(cert.DER)
		details["md5Hash"] = m
		details["subjectAltNames"] = sanString(x)
		d["keyUsages"], d["extendedKeyUsages"] = keyUsages(x)
	}
	d["certificateDetails"] = details
}

func keyUsages(x *x509.Certificate) ([]string, []string) {
	names := []string{"digitalSignature", "contentCommitment", "keyEncipherment", "dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"}
	ku := []string{}
	for i, n := range names {
		if x.KeyUsage&(1<<i) != 0 {
			ku = append(ku, n)
		}
	}
	eku := []string{}
	for _, e := range x.ExtKeyUsage {
		switch e {
		case x509.ExtKeyUsageServerAuth:
			eku = append(eku, "serverAuth")
		case x509.ExtKeyUsageClientAuth:
			eku = append(eku, "clientAuth")
		default:
			eku = append(eku, fmt.Sprintf("eku-%d", e))
		}
	}
	return ku, eku
}

func (h *Handler) get(w http.ResponseWriter, c *call) error {
	v, err := h.load(c, c.r.PathValue("sslId"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.details(c, v))
}

// orgOrDepartment resolves an orgId of the request: the customer's
// organization itself (owner: nobody in particular), or one of its
// departments (Signet teams, numbered departmentOffset + IntID), which
// then owns the certificate.
func (h *Handler) orgOrDepartment(c *call, raw, field string) (owner string, err error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return "", errInvalidField(field)
	}
	if id == c.org.IntID {
		return "", nil
	}
	if id > departmentOffset {
		teams, err := h.teams(c)
		if err != nil {
			return "", err
		}
		for _, t := range teams {
			if departmentOffset+t.IntID == id {
				return t.ID, nil
			}
		}
	}
	return "", fail(http.StatusBadRequest, -639, "Supplied orgid invalid..")
}

// teams lists the customer organization's teams (its departments).
func (h *Handler) teams(c *call) ([]store.Team, error) {
	var out []store.Team
	cursor := ""
	for {
		ts, next, err := h.d.Directory.ListTeams(c.ctx, store.ListQuery{OrgID: c.org.ID, Limit: 500, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}
