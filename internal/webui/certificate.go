package webui

import (
	"crypto/sha1" // #nosec: fingerprints only, as every CLM shows them
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// methodAPI is the enrollment method the UI enrolls with: it is a front end
// of the native API, so a profile open to "api" is open to the UI.
const methodAPI = "api"

// downloadFormats are what issuance.Download offers, with their labels.
var downloadFormats = []option{{"pem", "PEM (certificate)"}, {"chain", "PEM chain (leaf to root)"},
	{"der", "DER"}, {"pkcs7", "PKCS#7"}}

// reasons are the revocation reasons a person can pick.
var reasons = []string{"unspecified", "key_compromise", "ca_compromise", "affiliation_changed", "superseded",
	"cessation_of_operation", "privilege_withdrawn"}

type certView struct {
	C          *store.Certificate
	Status     string
	CAName     string
	Profile    string
	Decoded    *decoded
	Chain      []chainEntry
	History    []historyEntry
	Events     []store.AuditEvent
	Names      map[string]string // principal and team ids -> names
	CanAudit   bool
	CanAct     bool
	CanDelete  bool // an imported or discovered certificate the caller may remove
	Formats    []option
	Reasons    []string
	RenewError *problem.Error
}

type decoded struct {
	Subject, Issuer, SerialColons, Signature, Key string
	Version                                       int
	DNS, IPs, Emails, URIs                        []string
	KeyUsage, ExtKeyUsage                         []string
	Extensions                                    []extension
	SHA1, SHA256                                  string
	IsCA                                          bool
}

type extension struct {
	OID, Name string
	Critical  bool
}

type chainEntry struct {
	Subject, Issuer, NotAfter, SHA256 string
}

type historyEntry struct {
	When, What string
}

func (u *UI) certificate(w http.ResponseWriter, r *http.Request) error {
	v, err := u.certificatePage(r, r.PathValue("serial"))
	if err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "certificate", "Certificate "+v.C.CommonName, v)
}

func (u *UI) certificatePage(r *http.Request, serial string) (*certView, error) {
	ctx := r.Context()
	c, err := u.d.Issuance.GetCertificate(ctx, serial)
	if err != nil {
		return nil, err
	}
	p := principal(ctx)
	v := &certView{C: c, Status: certStatus(c, u.d.Now()), Formats: downloadFormats, Reasons: reasons,
		CanAudit: p.Allows(auth.PermAuditRead), CanAct: p.Allows(auth.PermCertRevoke) && p.OwnsCertificate(c.OrgID, c.Owner),
		CanDelete: c.Source != store.SourceIssued && p.Allows(auth.PermCertDelete) && p.InOrg(c.OrgID)}
	if v.Decoded, err = decode(c.DER); err != nil {
		return nil, err
	}
	if c.CAID != "" {
		if rec, err := u.d.CAs.Get(ctx, c.CAID); err == nil {
			v.CAName = rec.Name
		}
		if chain, err := u.d.CAs.Chain(ctx, c.CAID); err == nil {
			for _, cc := range chain {
				sum := sha256.Sum256(cc.Raw)
				v.Chain = append(v.Chain, chainEntry{Subject: cc.Subject.String(), Issuer: cc.Issuer.String(),
					NotAfter: cc.NotAfter.UTC().Format("2006-01-02"), SHA256: hex.EncodeToString(sum[:])})
			}
		}
	}
	if c.ProfileID != "" {
		if prof, err := u.d.Profiles.GetProfile(ctx, c.ProfileID); err == nil {
			v.Profile = prof.Name
		}
	}
	v.History = append(v.History, historyEntry{When: c.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC"), What: "added to the inventory (" + c.Source + ")"})
	if c.RevokedAt != nil {
		what := "revoked: " + issuance.ReasonName(c.RevocationReason)
		if c.Status == store.CertOnHold {
			what = "suspended (certificate hold)"
		}
		v.History = append(v.History, historyEntry{When: c.RevokedAt.UTC().Format("2006-01-02 15:04:05 UTC"), What: what})
	}
	if v.CanAudit {
		if v.Events, err = u.d.Audit.List(ctx, store.AuditQuery{ObjectType: "certificate", ObjectID: c.Serial, Limit: 200}); err != nil {
			return nil, err
		}
		if c.RequestID != "" {
			reqEvents, err := u.d.Audit.List(ctx, store.AuditQuery{ObjectType: "request", ObjectID: c.RequestID, Limit: 50})
			if err != nil {
				return nil, err
			}
			v.Events = mergeEvents(v.Events, reqEvents)
		}
		v.History = v.History[:0]
		for _, e := range v.Events {
			v.History = append(v.History, historyEntry{When: e.Time.UTC().Format("2006-01-02 15:04:05 UTC"),
				What: e.Action + " by " + e.Principal + " (" + e.Outcome + ")"})
		}
	}
	ids := []string{c.Owner}
	for _, e := range v.Events {
		ids = append(ids, e.Principal)
	}
	v.Names = u.names(ctx, ids...)
	for i, e := range v.Events {
		if n := v.Names[e.Principal]; n != "" && i < len(v.History) {
			v.History[i].What = e.Action + " by " + n + " (" + e.Outcome + ")"
		}
	}
	return v, nil
}

// mergeEvents merges two seq-ordered event lists.
func mergeEvents(a, b []store.AuditEvent) []store.AuditEvent {
	out := make([]store.AuditEvent, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		if j >= len(b) || (i < len(a) && a[i].Seq < b[j].Seq) {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	return out
}

var extNames = map[string]string{
	"2.5.29.14": "Subject Key Identifier", "2.5.29.15": "Key Usage", "2.5.29.17": "Subject Alternative Name",
	"2.5.29.19": "Basic Constraints", "2.5.29.30": "Name Constraints", "2.5.29.31": "CRL Distribution Points",
	"2.5.29.32": "Certificate Policies", "2.5.29.35": "Authority Key Identifier", "2.5.29.37": "Extended Key Usage",
	"1.3.6.1.5.5.7.1.1": "Authority Information Access", "1.3.6.1.4.1.11129.2.4.2": "CT Precertificate SCTs",
	"1.3.6.1.5.5.7.48.1.5": "OCSP No Check",
}

var keyUsageNames = []string{"digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
	"key_agreement", "cert_sign", "crl_sign", "encipher_only", "decipher_only"}

var extKeyUsageNames = map[x509.ExtKeyUsage]string{x509.ExtKeyUsageServerAuth: "server_auth", x509.ExtKeyUsageClientAuth: "client_auth",
	x509.ExtKeyUsageCodeSigning: "code_signing", x509.ExtKeyUsageEmailProtection: "email_protection",
	x509.ExtKeyUsageTimeStamping: "time_stamping", x509.ExtKeyUsageOCSPSigning: "ocsp_signing", x509.ExtKeyUsageAny: "any"}

// decode shows what the certificate really contains (not what the
// inventory row says about it).
func decode(der []byte) (*decoded, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, problem.New(problem.KindInternal, "certificate_unparsable", "the stored certificate cannot be parsed: %v", err)
	}
	s1, s256 := sha1.Sum(der), sha256.Sum256(der) // #nosec: fingerprint
	d := &decoded{Subject: c.Subject.String(), Issuer: c.Issuer.String(), Version: c.Version, Signature: c.SignatureAlgorithm.String(),
		DNS: c.DNSNames, Emails: c.EmailAddresses, SHA1: hex.EncodeToString(s1[:]), SHA256: hex.EncodeToString(s256[:]),
		IsCA: c.IsCA, SerialColons: colonHex(c.SerialNumber.Bytes())}
	for _, ip := range c.IPAddresses {
		d.IPs = append(d.IPs, ip.String())
	}
	for _, u := range c.URIs {
		d.URIs = append(d.URIs, u.String())
	}
	d.Key = keyDescription(c.PublicKey, c.PublicKeyAlgorithm)
	for i, n := range keyUsageNames {
		if c.KeyUsage&(1<<i) != 0 {
			d.KeyUsage = append(d.KeyUsage, n)
		}
	}
	for _, e := range c.ExtKeyUsage {
		name, ok := extKeyUsageNames[e]
		if !ok {
			name = strconv.Itoa(int(e))
		}
		d.ExtKeyUsage = append(d.ExtKeyUsage, name)
	}
	for _, o := range c.UnknownExtKeyUsage {
		d.ExtKeyUsage = append(d.ExtKeyUsage, o.String())
	}
	for _, e := range c.Extensions {
		d.Extensions = append(d.Extensions, extension{OID: oidString(e.Id), Name: extNames[oidString(e.Id)], Critical: e.Critical})
	}
	return d, nil
}

func oidString(o asn1.ObjectIdentifier) string { return o.String() }

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02X", x)
	}
	return strings.Join(parts, ":")
}

// download serves a certificate in one of issuance.Download's formats.
func (u *UI) download(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	d, err := u.d.Issuance.Download(r.Context(), r.PathValue("serial"), format)
	if err != nil {
		return err
	}
	c, err := u.d.Issuance.GetCertificate(r.Context(), r.PathValue("serial"))
	if err != nil {
		return err
	}
	name := c.Serial
	if format == "chain" {
		name += "-chain"
	}
	w.Header().Set("Content-Type", d.ContentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, name, d.Extension))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(d.Body)
	return nil
}

// certificateAction runs revoke (reason, confirmed), suspend, resume, renew or
// delete (confirmed; imported and discovered certificates only, which the
// service enforces).
func (u *UI) certificateAction(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	serial := r.PathValue("serial")
	page := Prefix + "certificates/" + serial
	switch r.PathValue("action") {
	case "revoke":
		if r.PostFormValue("confirm") != "yes" {
			return problem.Violations("confirmation_required", "revoking cannot be undone: tick the confirmation box",
				[]problem.Violation{{Field: "confirm", Code: "required", Message: "confirm the revocation"}})
		}
		reason, err := issuance.ParseReason(r.PostFormValue("reason"))
		if err != nil {
			return err
		}
		if _, err := u.d.Issuance.Revoke(ctx, serial, reason, nil); err != nil {
			return err
		}
		return redirect(w, r, page, "Certificate revoked.")
	case "suspend":
		if _, err := u.d.Issuance.Suspend(ctx, serial); err != nil {
			return err
		}
		return redirect(w, r, page, "Certificate suspended (on hold).")
	case "resume":
		if _, err := u.d.Issuance.Resume(ctx, serial); err != nil {
			return err
		}
		return redirect(w, r, page, "Certificate resumed.")
	case "renew":
		return u.renew(w, r, serial)
	case "delete":
		if r.PostFormValue("confirm") != "yes" {
			return problem.Violations("confirmation_required", "deleting cannot be undone: tick the confirmation box",
				[]problem.Violation{{Field: "confirm", Code: "required", Message: "confirm the deletion"}})
		}
		c, err := u.d.Issuance.DeleteCertificate(ctx, serial)
		if err != nil {
			return err
		}
		name := c.CommonName
		if name == "" {
			name = c.Serial
		}
		return redirect(w, r, Prefix+"certificates", "Certificate "+name+" ("+c.Source+") deleted from the inventory.")
	}
	return problem.NotFound("action_unknown", "no certificate action %q", r.PathValue("action"))
}

func (u *UI) renew(w http.ResponseWriter, r *http.Request, serial string) error {
	in := issuance.RenewInput{Method: methodAPI, CSR: strings.TrimSpace(r.PostFormValue("csr"))}
	if csr, err := uploaded(r, "csr_file"); err != nil {
		return err
	} else if csr != "" {
		in.CSR = csr
	}
	if in.CSR == "" {
		alg, bits := keygenChoice(r.PostFormValue("key"))
		in.Keygen = &issuance.Keygen{Algorithm: alg, Bits: bits}
		in.PKCS12Password = r.PostFormValue("pkcs12_password")
	}
	res, err := u.d.Issuance.Renew(r.Context(), serial, in)
	if err != nil {
		pe := problem.As(err)
		if pe == nil || pe.Kind != problem.KindInvalid {
			return err
		}
		v, verr := u.certificatePage(r, serial)
		if verr != nil {
			return verr
		}
		v.RenewError = pe
		return u.render(w, r, http.StatusBadRequest, "certificate", "Certificate "+v.C.CommonName, v)
	}
	return u.showIssued(w, r, res, "Renewed")
}
