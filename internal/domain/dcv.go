package domain

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// SecondLine is the second line of an HTTP(S) validation file.
const SecondLine = "signet"

// cnameSuffix is the zone CNAME validation records point into; the target
// only has to match, never to resolve.
const cnameSuffix = "dcv.signet."

// Challenge tells the domain's administrator what to publish.
type Challenge struct {
	Method     string    `json:"method"`
	URL        string    `json:"url,omitempty"` // http / https: the file to serve
	FirstLine  string    `json:"first_line,omitempty"`
	SecondLine string    `json:"second_line,omitempty"`
	Host       string    `json:"host,omitempty"`  // cname / txt: the record name
	Point      string    `json:"point,omitempty"` // cname: the target; txt: the value
	Emails     []string  `json:"emails,omitempty"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// ChallengeOf describes the domain's current order.
func ChallengeOf(d *Domain) *Challenge {
	o := d.Order
	if o == nil {
		return nil
	}
	c := &Challenge{Method: o.Method, ExpiresAt: o.ExpiresAt}
	switch o.Method {
	case MethodHTTP, MethodHTTPS:
		c.URL = fmt.Sprintf("%s://%s/.well-known/pki-validation/%s.txt", o.Method, d.Name, o.Token)
		c.FirstLine, c.SecondLine = o.Value, SecondLine
	case MethodCNAME:
		c.Host, c.Point = "_"+o.Token+"."+d.Name+".", o.Value
	case MethodTXT:
		c.Host, c.Point = "_pki-validation."+d.Name+".", o.Value
	case MethodEmail:
		c.Emails = EmailCandidates(d.Name)
	}
	return c
}

// EmailCandidates are the addresses email validation may use (the
// CA/Browser Forum's constructed addresses).
func EmailCandidates(name string) []string {
	var out []string
	for _, local := range []string{"admin", "administrator", "hostmaster", "postmaster", "webmaster"} {
		out = append(out, local+"@"+name)
	}
	return out
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func newOrder(method string, now time.Time, lifetime time.Duration) (*Order, error) {
	o := &Order{Method: method, Status: "started", StartedAt: now, ExpiresAt: now.Add(lifetime)}
	var err error
	switch method {
	case MethodHTTP, MethodHTTPS:
		if o.Token, err = randomHex(16); err == nil {
			o.Token = strings.ToUpper(o.Token)
			o.Value, err = randomHex(32)
		}
	case MethodCNAME:
		var a, b string
		if o.Token, err = randomHex(16); err == nil {
			if a, err = randomHex(16); err == nil {
				b, err = randomHex(16)
				o.Value = a + "." + b + "." + cnameSuffix
			}
		}
	case MethodTXT:
		o.Value, err = randomHex(16)
	case MethodEmail:
	default:
		return nil, problem.Violations("dcv_method_invalid", "unknown validation method",
			[]problem.Violation{{Field: "method", Code: "dcv_method_invalid", Message: fmt.Sprintf("unknown method %q (want http, https, cname, txt or email)", method)}})
	}
	return o, err
}

// Start begins a validation by method, replacing any order in progress,
// and returns what to publish.
func (s *Service) Start(ctx context.Context, id, method string) (*Domain, *Challenge, error) {
	d, err := s.change(ctx, id, auth.PermEnroll, "domain.validation.start", func(_ *auth.Principal, d *Domain) error {
		o, err := newOrder(strings.ToLower(method), s.cfg.Now(), s.cfg.OrderLifetime)
		if err != nil {
			return err
		}
		d.Order = o
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return d, ChallengeOf(d), nil
}

// Submit asks for the started validation to be checked (HTTP, HTTPS,
// CNAME, TXT: at once; email: the code is mailed to email, one of
// EmailCandidates). A TXT validation needs no Start. The outcome is in the
// returned domain: validated, or the order's LastError.
func (s *Service) Submit(ctx context.Context, id, method, email string) (*Domain, error) {
	method = strings.ToLower(method)
	var code string
	d, err := s.change(ctx, id, auth.PermEnroll, "domain.validation.submit", func(_ *auth.Principal, d *Domain) error {
		now := s.cfg.Now()
		if d.Order != nil && !now.Before(d.Order.ExpiresAt) {
			d.Order = nil
		}
		if d.Order == nil || d.Order.Method != method {
			if method != MethodTXT && method != MethodEmail {
				return problem.Conflict("dcv_not_started", "start a %s validation of %s first", method, d.Name)
			}
			o, err := newOrder(method, now, s.cfg.OrderLifetime)
			if err != nil {
				return err
			}
			d.Order = o
		}
		d.Order.Status, d.Order.SubmittedAt = "submitted", &now
		if method != MethodEmail {
			return nil
		}
		return prepareEmail(d, email, &code)
	})
	if err != nil {
		return nil, err
	}
	if method == MethodEmail {
		return d, s.sendCode(ctx, d, code)
	}
	return s.Check(ctx, id)
}

// prepareEmail checks the address and puts a fresh code's hash in the order.
func prepareEmail(d *Domain, email string, code *string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	ok := false
	for _, c := range EmailCandidates(d.Name) {
		ok = ok || c == email
	}
	if !ok {
		return problem.Violations("dcv_email_invalid", "the address may not validate the domain",
			[]problem.Violation{{Field: "email", Code: "dcv_email_invalid", Message: fmt.Sprintf("use one of %s", strings.Join(EmailCandidates(d.Name), ", "))}})
	}
	c, err := randomHex(16)
	if err != nil {
		return err
	}
	ref, err := rand.Int(rand.Reader, big.NewInt(900000000))
	if err != nil {
		return fmt.Errorf("reference number: %w", err)
	}
	sum := sha256.Sum256([]byte(c))
	d.Order.Email, d.Order.CodeHash = email, hex.EncodeToString(sum[:])
	d.Order.Reference = ref.Add(ref, big.NewInt(100000000)).String()
	*code = c
	return nil
}

// sendCode records where the code leads and mails it. The code is only in
// the mail: the store keeps its hash.
func (s *Service) sendCode(ctx context.Context, d *Domain, code string) error {
	now := s.cfg.Now()
	err := s.store.Update(ctx, func(tx store.Tx) error {
		exp := d.Order.ExpiresAt
		return tx.InsertProtocolObject(ctx, &store.ProtocolObject{Kind: kindEmailCode, ID: d.Order.CodeHash, AccountID: d.OrgID,
			Status: "pending", Data: []byte(`{"domain_id":"` + d.ID + `"}`), ExpiresAt: &exp, CreatedAt: now, UpdatedAt: now})
	})
	if err != nil {
		return fmt.Errorf("record email validation: %w", err)
	}
	if s.mail == nil {
		return problem.New(problem.KindUnavailable, "mail_unavailable", "no mail relay is configured for email validation")
	}
	subject := "Domain control validation for " + d.Name
	body := fmt.Sprintf("Someone asked to prove control of %s for certificates issued by Signet (reference %s).\r\n\r\n"+
		"If that was you or your organization, confirm with this validation code:\r\n\r\n    %s\r\n\r\n", d.Name, d.Order.Reference, code)
	if s.cfg.ConfirmURL != "" {
		body += "by posting {\"code\": \"<the code>\"} to " + s.cfg.ConfirmURL + "\r\n"
	}
	body += "The code expires on " + d.Order.ExpiresAt.UTC().Format(time.RFC1123) + ". If you did not expect this message, ignore it.\r\n"
	if err := s.mail.SendMail(ctx, d.Order.Email, subject, body); err != nil {
		s.cfg.Logger.Warn("domain validation mail failed", "domain", d.Name, "err", err)
		return problem.New(problem.KindUnavailable, "mail_failed", "the validation mail could not be sent; retry later")
	}
	return nil
}

// ConfirmEmail concludes an email validation with the mailed code. It
// needs no principal: holding the code is the proof.
func (s *Service) ConfirmEmail(ctx context.Context, code string) (*Domain, error) {
	bad := problem.Invalid("dcv_code_invalid", "the validation code is wrong or expired")
	code = strings.ToLower(strings.TrimSpace(code))
	if len(code) != 32 {
		return nil, bad
	}
	sum := sha256.Sum256([]byte(code))
	h := hex.EncodeToString(sum[:])
	ref, err := s.store.GetProtocolObject(ctx, kindEmailCode, h)
	if errors.Is(err, store.ErrNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, fmt.Errorf("look up validation code: %w", err)
	}
	var link struct {
		DomainID string `json:"domain_id"`
	}
	if err := json.Unmarshal(ref.Data, &link); err != nil {
		return nil, fmt.Errorf("decode validation code: %w", err)
	}
	sys := auth.WithPrincipal(ctx, auth.System())
	d, err := s.change(sys, link.DomainID, auth.PermEnroll, "domain.validation.email_confirmed", func(_ *auth.Principal, d *Domain) error {
		now := s.cfg.Now()
		o := d.Order
		if o == nil || o.Method != MethodEmail || o.CodeHash == "" || !now.Before(o.ExpiresAt) ||
			subtle.ConstantTimeCompare([]byte(o.CodeHash), []byte(h)) != 1 {
			return bad
		}
		s.validated(d, now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	_ = s.store.Update(ctx, func(tx store.Tx) error { return tx.DeleteProtocolObject(ctx, kindEmailCode, h) })
	return d, nil
}

func (s *Service) validated(d *Domain, now time.Time) {
	exp := now.Add(s.cfg.ValidFor)
	d.Validation = Validation{Method: d.Order.Method, ValidatedAt: &now, ExpiresAt: &exp}
	d.Order = nil
}

// Check re-checks a submitted HTTP, HTTPS, CNAME or TXT validation against
// the real servers and records the outcome.
func (s *Service) Check(ctx context.Context, id string) (*Domain, error) {
	d, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	o := d.Order
	if o == nil || o.Status != "submitted" || o.Method == MethodEmail {
		return d, nil
	}
	now := s.cfg.Now()
	var checkErr error
	if !now.Before(o.ExpiresAt) {
		checkErr = errors.New("the validation order expired; start again")
	} else {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.CheckTimeout)
		checkErr = s.checker.check(cctx, d)
		cancel()
	}
	return s.change(ctx, id, auth.PermEnroll, "domain.validation.check", func(_ *auth.Principal, cur *Domain) error {
		if cur.Order == nil || cur.Order.Token != o.Token || cur.Order.Value != o.Value {
			return nil // someone restarted it meanwhile: their order stands
		}
		if checkErr == nil {
			s.validated(cur, now)
			return nil
		}
		cur.Order.LastCheck, cur.Order.LastError = &now, checkErr.Error()
		if !now.Before(cur.Order.ExpiresAt) {
			cur.Order = nil
		}
		return nil
	})
}

// Clear drops the order in progress (the validation itself stays).
func (s *Service) Clear(ctx context.Context, id string) (*Domain, error) {
	return s.change(ctx, id, auth.PermEnroll, "domain.validation.clear", func(_ *auth.Principal, d *Domain) error {
		d.Order = nil
		return nil
	})
}

// Invalidate forgets the domain's validation and any order.
func (s *Service) Invalidate(ctx context.Context, id string) (*Domain, error) {
	return s.change(ctx, id, auth.PermApprove, "domain.validation.delete", func(_ *auth.Principal, d *Domain) error {
		d.Order, d.Validation = nil, Validation{}
		return nil
	})
}
