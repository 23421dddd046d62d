package est

import (
	"crypto/rand"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/policy"
	"github.com/signet-pki/signet/internal/problem"
)

// estError is an answer EST gives as an HTTP status with a short plain-text
// explanation (RFC 7030 section 4.2.3).
type estError struct {
	status     int
	msg        string
	retryAfter time.Duration
}

func (e *estError) Error() string { return e.msg }

// statusOf maps domain errors onto EST's HTTP statuses: everything a client
// can cause is a 4xx.
func statusOf(err error) (int, string) {
	var ee *estError
	if errors.As(err, &ee) {
		return ee.status, ee.msg
	}
	pe := problem.As(err)
	if pe == nil {
		return http.StatusInternalServerError, "internal error"
	}
	// The plain-text reason starts with the problem's stable code, so that
	// scripts and support can match on it as on the API's problem documents.
	msg := pe.Message
	if pe.Code != "" {
		msg = pe.Code + ": " + msg
	}
	for _, v := range pe.Violations {
		msg += "; " + v.Field + ": " + v.Message
	}
	status := problem.HTTPStatus(pe.Kind)
	if status == http.StatusInternalServerError {
		return status, "internal error"
	}
	return status, msg
}

// realm is the HTTP Basic realm EST asks for.
const realm = `Basic realm="signet est", charset="UTF-8"`

func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := statusOf(err)
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "EST request failed", "path", r.URL.Path, "err", err)
	} else {
		s.log.InfoContext(r.Context(), "EST request refused", "path", r.URL.Path, "status", status, "reason", msg)
	}
	var ee *estError
	if errors.As(err, &ee) && ee.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(ee.retryAfter/time.Second)))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", realm)
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		s.audit(r, status, msg, err)
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "10")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}

// writeBase64 sends DER as base64 with the RFC's Content-Transfer-Encoding
// header (RFC 8951: EST bodies are always base64), in 64-column lines.
func writeBase64(w http.ResponseWriter, status int, contentType string, der []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Transfer-Encoding", "base64")
	w.WriteHeader(status)
	_, _ = w.Write(base64Lines(der))
}

func base64Lines(der []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(der)
	var b strings.Builder
	for len(enc) > 64 {
		b.WriteString(enc[:64])
		b.WriteString("\r\n")
		enc = enc[64:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n")
	return []byte(b.String())
}

const certsOnly = "application/pkcs7-mime; smime-type=certs-only"

// writeCerts answers certificates as a certs-only PKCS#7.
func writeCerts(w http.ResponseWriter, status int, ders ...[]byte) error {
	p7, err := certutil.EncodePKCS7(ders...)
	if err != nil {
		return err
	}
	writeBase64(w, status, certsOnly, p7)
	return nil
}

// maxBody bounds a request: a CSR is a few kilobytes.
const maxBody = 64 << 10

// readBase64 reads a base64 body of the given media type (RFC 7030
// section 4.2.1: application/pkcs10), tolerating line breaks.
func readBase64(w http.ResponseWriter, r *http.Request, mediaType string) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.EqualFold(mt, mediaType) {
		return nil, &estError{status: http.StatusUnsupportedMediaType, msg: "the body must be " + mediaType}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &estError{status: http.StatusRequestEntityTooLarge, msg: "the request body is too large"}
		}
		return nil, &estError{status: http.StatusBadRequest, msg: "the request body could not be read"}
	}
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, string(body))
	der, err := base64.StdEncoding.DecodeString(clean)
	if err != nil || len(der) == 0 {
		return nil, &estError{status: http.StatusBadRequest, msg: "the body is not base64-encoded DER"}
	}
	return der, nil
}

// writeKeyAndCert answers serverkeygen: a multipart/mixed body with the
// PKCS#8 private key and the certificate (RFC 7030 section 4.4.2).
func writeKeyAndCert(w http.ResponseWriter, pkcs8, leaf []byte) error {
	p7, err := certutil.EncodePKCS7(leaf)
	if err != nil {
		return err
	}
	var rb [12]byte
	_, _ = rand.Read(rb[:])
	boundary := "est-" + hex.EncodeToString(rb[:])
	var b strings.Builder
	part := func(contentType string, der []byte) {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: base64\r\n\r\n", boundary, contentType)
		b.Write(base64Lines(der))
	}
	part("application/pkcs8", pkcs8)
	part(certsOnly, p7)
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+boundary)
	w.WriteHeader(http.StatusOK)
	_, err = io.WriteString(w, b.String())
	return err
}

// OIDs csrattrs names.
var (
	oidChallengePassword = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}
	oidExtensionRequest  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 14}
	oidECPublicKey       = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidRSAEncryption     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidEd25519           = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidECDSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidSHA256WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSubjectAltName    = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidCurve             = map[int]asn1.ObjectIdentifier{
		256: {1, 2, 840, 10045, 3, 1, 7}, 384: {1, 3, 132, 0, 34}, 521: {1, 3, 132, 0, 35}}
)

// attribute is the Attribute arm of AttrOrOID.
type attribute struct {
	Type   asn1.ObjectIdentifier
	Values []asn1.ObjectIdentifier `asn1:"set"`
}

// csrAttributes derives the CsrAttrs of a template: the challengePassword
// a one-time secret may ride in, the key algorithms (with their smallest
// curve), the signature algorithm, and the subjectAltName extension when
// the template requires names.
func csrAttributes(t *policy.Template) ([]byte, error) {
	items := []any{oidChallengePassword}
	rsa, ec := len(t.KeyTypes) == 0, len(t.KeyTypes) == 0
	for _, k := range t.KeyTypes {
		switch k.Algorithm {
		case "ecdsa":
			ec = true
			curve, ok := oidCurve[max(k.MinBits, 256)]
			if !ok {
				curve = oidCurve[384]
			}
			items = append(items, attribute{Type: oidECPublicKey, Values: []asn1.ObjectIdentifier{curve}})
		case "rsa":
			rsa = true
			items = append(items, oidRSAEncryption)
		case "ed25519":
			items = append(items, oidEd25519)
		}
	}
	if len(t.KeyTypes) == 0 {
		items = append(items, attribute{Type: oidECPublicKey, Values: []asn1.ObjectIdentifier{oidCurve[256]}}, oidRSAEncryption)
	}
	if ec {
		items = append(items, oidECDSAWithSHA256)
	} else if rsa {
		items = append(items, oidSHA256WithRSA)
	}
	if t.SANs.Required {
		items = append(items, attribute{Type: oidExtensionRequest, Values: []asn1.ObjectIdentifier{oidSubjectAltName}})
	}
	raws := make([]asn1.RawValue, 0, len(items))
	for _, it := range items {
		b, err := asn1.Marshal(it)
		if err != nil {
			return nil, fmt.Errorf("encode csrattrs: %w", err)
		}
		raws = append(raws, asn1.RawValue{FullBytes: b})
	}
	out, err := asn1.Marshal(raws)
	if err != nil {
		return nil, fmt.Errorf("encode csrattrs: %w", err)
	}
	return out, nil
}

// audit records a refused EST request (decision 10: transports audit
// refusals, because only they know the request).
func (s *Service) audit(r *http.Request, status int, msg string, err error) {
	if s.d.Audit == nil {
		return
	}
	pe := problem.As(err)
	if pe == nil {
		pe = problem.Forbidden("est_refused", "%s", msg)
		if status == http.StatusUnauthorized {
			pe = problem.Unauthorized("est_refused", "%s", msg)
		}
	}
	if aerr := s.d.Audit.RecordRefusal(r.Context(), audit.Refusal{SourceIP: auth.SourceIP(r), Method: r.Method, Path: r.URL.Path, Err: pe}); aerr != nil {
		s.log.WarnContext(r.Context(), "could not audit a refused EST request", "err", aerr)
	}
}
