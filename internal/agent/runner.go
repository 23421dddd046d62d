package agent

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Config is the agent's YAML file.
type Config struct {
	Server string `yaml:"server"`
	APIKey string `yaml:"-"` // SIGNET_API_KEY only
	// EnrollmentToken (SIGNET_AGENT_ENROLLMENT_TOKEN) is a one-time key the
	// agent trades for its own at first start, kept in KeyFile (0600).
	EnrollmentToken string        `yaml:"-"`
	KeyFile         string        `yaml:"key_file"`
	CACert          string        `yaml:"ca_cert"` // PEM file trusted for the server's TLS (default: system roots)
	ID              string        `yaml:"id"`      // default: the host name
	Interval        time.Duration `yaml:"interval"`
	Certificates    []Managed     `yaml:"certificates"`
}

// Managed is one certificate the agent keeps fresh.
type Managed struct {
	Name          string   `yaml:"name"`
	Profile       string   `yaml:"profile"`
	CommonName    string   `yaml:"common_name"`
	SANs          []string `yaml:"sans"`
	CertPath      string   `yaml:"cert_path"` // leaf and chain, PEM
	KeyPath       string   `yaml:"key_path"`  // PKCS#8 PEM, written 0600
	Mode          uint32   `yaml:"mode"`      // certificate file mode (default 0644)
	RenewAt       float64  `yaml:"renew_at"`  // fraction of the lifetime after which to renew (default 2/3)
	ReloadCommand string   `yaml:"reload"`    // run with sh -c after new files are in place
	ValidityDays  int      `yaml:"validity_days"`
}

// Runner checks and renews the managed certificates. The key is made on
// the host and only a CSR leaves it.
type Runner struct {
	cfg    Config
	client *http.Client
	now    func() time.Time
	log    *slog.Logger
	status map[string]CertStatus
}

// NewRunner validates cfg and returns a runner.
func NewRunner(cfg Config, client *http.Client, now func() time.Time, log *slog.Logger) (*Runner, error) {
	if cfg.Server == "" || (cfg.APIKey == "" && cfg.KeyFile == "") {
		return nil, errors.New("agent: server and an API key (SIGNET_API_KEY) or a key_file (with a one-time enrollment token) are required")
	}
	if cfg.ID == "" {
		cfg.ID, _ = os.Hostname()
	}
	for i := range cfg.Certificates {
		m := &cfg.Certificates[i]
		if m.Name == "" || m.Profile == "" || m.CertPath == "" || m.KeyPath == "" || (m.CommonName == "" && len(m.SANs) == 0) {
			return nil, fmt.Errorf("agent: certificate %d needs name, profile, cert_path, key_path and a common name or SANs", i+1)
		}
		if m.RenewAt <= 0 || m.RenewAt >= 1 {
			m.RenewAt = 2.0 / 3
		}
		if m.Mode == 0 {
			m.Mode = 0o644
		}
	}
	return &Runner{cfg: cfg, client: client, now: now, log: log, status: map[string]CertStatus{}}, nil
}

// RunOnce checks every certificate once, renews what is due and checks in.
func (r *Runner) RunOnce(ctx context.Context) error {
	if err := r.ensureKey(ctx); err != nil {
		return err
	}
	var errs []error
	for _, m := range r.cfg.Certificates {
		st, err := r.check(ctx, m)
		if err != nil {
			st.State, st.Error = "failed", err.Error()
			errs = append(errs, fmt.Errorf("%s: %w", m.Name, err))
		}
		r.status[m.Name] = st
	}
	if err := r.checkIn(ctx); err != nil {
		errs = append(errs, fmt.Errorf("check in: %w", err))
	}
	return errors.Join(errs...)
}

// Run repeats RunOnce every Interval until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	every := r.cfg.Interval
	if every <= 0 {
		every = time.Hour
	}
	for {
		if err := r.RunOnce(ctx); err != nil {
			r.log.Warn("agent round", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

func (r *Runner) check(ctx context.Context, m Managed) (CertStatus, error) {
	st := CertStatus{Name: m.Name, Path: m.CertPath, State: "ok"}
	cert, err := readLeaf(m.CertPath)
	reason := ""
	switch {
	case errors.Is(err, os.ErrNotExist):
		reason, st.State = "no certificate yet", "missing"
	case err != nil:
		return st, err
	default:
		st.Serial, st.NotAfter = strings.ToLower(cert.SerialNumber.Text(16)), cert.NotAfter
		life := cert.NotAfter.Sub(cert.NotBefore)
		switch due := cert.NotBefore.Add(time.Duration(float64(life) * m.RenewAt)); {
		case !r.now().Before(due):
			reason = fmt.Sprintf("%.0f%% of its lifetime has passed", m.RenewAt*100)
		default:
			status, err := r.serverStatus(ctx, st.Serial)
			if err != nil {
				return st, err
			}
			if status == "revoked" || status == "on_hold" {
				reason = "the server reports it " + status
			} else if start, ok := r.renewalInfo(ctx, m.Profile, cert); ok && !r.now().Before(start) {
				reason = "the server's renewal information says it is time"
			}
		}
	}
	if reason == "" {
		return st, nil
	}
	r.log.Info("renewing", "certificate", m.Name, "why", reason)
	notAfter, serial, err := r.renew(ctx, m, st.Serial)
	if errors.Is(err, errPending) {
		st.State, st.Error = "pending", err.Error()
		return st, nil
	}
	if err != nil {
		return st, err
	}
	st.Serial, st.NotAfter, st.RenewedAt, st.State = serial, notAfter, r.now(), "renewed"
	if m.ReloadCommand != "" {
		out, err := exec.CommandContext(ctx, "sh", "-c", m.ReloadCommand).CombinedOutput()
		if err != nil {
			return st, fmt.Errorf("reload command: %w: %s", err, bytes.TrimSpace(out))
		}
	}
	return st, nil
}

// errPending: the server accepted the request but has no certificate yet
// (approval, or an external CA that answers later).
var errPending = errors.New("pending")

// pendingRenewal is what the agent keeps, in <key_path>.pending (0600),
// between a request the server left pending and its pickup at a later
// round: the request to ask about and the key its CSR was made with.
type pendingRenewal struct {
	RequestID string `json:"request_id"`
	KeyPEM    string `json:"key_pem"`
}

func pendingPath(m Managed) string { return m.KeyPath + ".pending" }

// renew makes a key here, has the server sign a CSR and writes both files
// atomically, the key first (a certificate never points at a missing key).
// current is the serial of the certificate in place ("" when there is
// none): it is renewed through the server's renew call, so the inventory
// links the two (renewed_from, renewed_by).
// A request the server leaves pending is picked up at later rounds rather
// than placed again, which would pile up requests (and, at an external
// CA, orders) that each wait as long.
func (r *Runner) renew(ctx context.Context, m Managed, current string) (time.Time, string, error) {
	if picked, notAfter, serial, err := r.pickUp(ctx, m); picked || err != nil {
		return notAfter, serial, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return time.Time{}, "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return time.Time{}, "", err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	csr, err := makeCSR(key, m)
	if err != nil {
		return time.Time{}, "", err
	}
	var res struct {
		Request struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"request"`
		Certificate struct {
			Serial         string    `json:"serial"`
			NotAfter       time.Time `json:"not_after"`
			CertificatePEM string    `json:"certificate_pem"`
		} `json:"certificate"`
		ChainPEM string `json:"chain_pem"`
	}
	body := map[string]any{"profile": m.Profile, "csr": csr}
	if m.ValidityDays > 0 {
		body["validity_days"] = m.ValidityDays
	}
	if err := r.request(ctx, m, current, body, &res); err != nil {
		return time.Time{}, "", err
	}
	if res.Certificate.CertificatePEM == "" {
		if res.Request.ID == "" {
			return time.Time{}, "", errors.New("the server answered neither a certificate nor a request")
		}
		p, _ := json.Marshal(pendingRenewal{RequestID: res.Request.ID, KeyPEM: string(keyPEM)})
		if err := writeAtomic(pendingPath(m), p, 0o600); err != nil {
			return time.Time{}, "", fmt.Errorf("save the pending request's key: %w", err)
		}
		return time.Time{}, "", fmt.Errorf("%w: request %s is %s; the agent picks it up at a later round", errPending, res.Request.ID, res.Request.Status)
	}
	return r.install(m, keyPEM, []byte(res.Certificate.CertificatePEM+res.ChainPEM), res.Certificate.NotAfter, res.Certificate.Serial)
}

// request asks for a certificate for body's CSR: a renewal of current
// when the server can renew it, else a fresh enrollment. The server
// cannot when it does not know the certificate (a restore, a file put in
// place by hand) or it may no longer be renewed (revoked, suspended, or
// already renewed by someone else); a fresh enrollment then still gets the
// host a certificate, only unlinked. A renewal of current already waiting
// for an external CA (renewal_in_progress) is not such a case: enrolling
// beside it would place a second order there, so that error stands and
// a later round tries again.
func (r *Runner) request(ctx context.Context, m Managed, current string, body map[string]any, out any) error {
	if current != "" {
		err := r.call(ctx, http.MethodPost, "/api/v1/certificates/"+url.PathEscape(current)+"/renew", body, out)
		he := (*httpError)(nil)
		if err == nil || !errors.As(err, &he) || !cannotRenew(he) {
			return err
		}
		r.log.Info("the server cannot renew the certificate in place; enrolling a new one", "certificate", m.Name,
			"serial", current, "status", he.Status, "code", he.Code)
	}
	return r.call(ctx, http.MethodPost, "/api/v1/certificates", body, out)
}

// cannotRenew reports whether the server refused a renewal because the
// certificate is unknown to it or past renewing.
func cannotRenew(he *httpError) bool {
	switch he.Code {
	case "certificate_not_found", "certificate_not_active", "certificate_already_renewed":
		return true
	}
	return false
}

// install writes the key, then the certificate and its chain.
func (r *Runner) install(m Managed, keyPEM, certPEM []byte, notAfter time.Time, serial string) (time.Time, string, error) {
	if err := writeAtomic(m.KeyPath, keyPEM, 0o600); err != nil {
		return time.Time{}, "", err
	}
	if err := writeAtomic(m.CertPath, certPEM, os.FileMode(m.Mode)); err != nil {
		return time.Time{}, "", err
	}
	return notAfter, serial, nil
}

// pickUp finishes a request an earlier round left pending. picked is
// false when there is none, or it ended without a certificate: the
// pending file is then removed and the caller places a new request.
func (r *Runner) pickUp(ctx context.Context, m Managed) (picked bool, notAfter time.Time, serial string, err error) {
	b, err := os.ReadFile(pendingPath(m))
	if errors.Is(err, os.ErrNotExist) {
		return false, time.Time{}, "", nil
	}
	var p pendingRenewal
	if err != nil || json.Unmarshal(b, &p) != nil || p.RequestID == "" {
		r.log.Warn("unreadable pending request; placing a new one", "certificate", m.Name, "file", pendingPath(m))
		return false, time.Time{}, "", r.dropPending(m)
	}
	var req struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
		Serial string `json:"certificate_serial"`
	}
	if err := r.call(ctx, http.MethodGet, "/api/v1/requests/"+url.PathEscape(p.RequestID), nil, &req); err != nil {
		if he := (*httpError)(nil); errors.As(err, &he) && he.Status == http.StatusNotFound {
			return false, time.Time{}, "", r.dropPending(m)
		}
		return true, time.Time{}, "", err
	}
	switch req.Status {
	case "issued":
	case "rejected", "failed":
		r.log.Warn("the pending request ended without a certificate; placing a new one", "certificate", m.Name,
			"request", p.RequestID, "status", req.Status, "reason", req.Reason)
		return false, time.Time{}, "", r.dropPending(m)
	default:
		return true, time.Time{}, "", fmt.Errorf("%w: request %s is still %s", errPending, p.RequestID, req.Status)
	}
	certPEM, err := r.fetch(ctx, "/api/v1/certificates/"+url.PathEscape(req.Serial)+"/download?format=chain")
	if err != nil {
		return true, time.Time{}, "", err
	}
	leaf, err := matchingLeaf(certPEM, p.KeyPEM)
	if err != nil {
		// Not something a later round can fix: start over.
		return true, time.Time{}, "", errors.Join(fmt.Errorf("request %s: %w", p.RequestID, err), r.dropPending(m))
	}
	if notAfter, serial, err = r.install(m, []byte(p.KeyPEM), certPEM, leaf.NotAfter, req.Serial); err != nil {
		return true, notAfter, serial, err
	}
	return true, notAfter, serial, r.dropPending(m)
}

func (r *Runner) dropPending(m Managed) error {
	if err := os.Remove(pendingPath(m)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", pendingPath(m), err)
	}
	return nil
}

// matchingLeaf is the first certificate of certPEM, if it is for keyPEM's key.
func matchingLeaf(certPEM []byte, keyPEM string) (*x509.Certificate, error) {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode([]byte(keyPEM))
	if cb == nil || kb == nil {
		return nil, errors.New("no PEM certificate or key")
	}
	leaf, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pending key: %w", err)
	}
	if s, ok := key.(crypto.Signer); !ok || !publicKeysEqual(s.Public(), leaf.PublicKey) {
		return nil, errors.New("the certificate is not for the key this agent made")
	}
	return leaf, nil
}

func publicKeysEqual(a, b any) bool {
	x, err1 := x509.MarshalPKIXPublicKey(a)
	y, err2 := x509.MarshalPKIXPublicKey(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

func makeCSR(key crypto.Signer, m Managed) (string, error) {
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: m.CommonName}}
	for _, s := range m.SANs {
		if ip := net.ParseIP(s); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, s)
		}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), nil
}

// ensureKey reads the agent's key from KeyFile, or on first start trades
// the one-time enrollment token for one and saves it there.
func (r *Runner) ensureKey(ctx context.Context) error {
	if r.cfg.APIKey != "" {
		return nil
	}
	if b, err := os.ReadFile(r.cfg.KeyFile); err == nil && len(bytes.TrimSpace(b)) > 0 {
		r.cfg.APIKey = string(bytes.TrimSpace(b))
		return nil
	}
	if r.cfg.EnrollmentToken == "" {
		return fmt.Errorf("agent: %s holds no key and no enrollment token was given (SIGNET_AGENT_ENROLLMENT_TOKEN)", r.cfg.KeyFile)
	}
	r.cfg.APIKey = r.cfg.EnrollmentToken
	var res struct {
		Key string `json:"key"`
	}
	if err := r.call(ctx, http.MethodPost, "/api/v1/agents/enroll", map[string]string{"name": r.cfg.ID}, &res); err != nil {
		r.cfg.APIKey = ""
		return fmt.Errorf("agent: enroll: %w", err)
	}
	if err := writeAtomic(r.cfg.KeyFile, []byte(res.Key+"\n"), 0o600); err != nil {
		return fmt.Errorf("agent: save the key: %w", err)
	}
	r.cfg.APIKey = res.Key
	return nil
}

// renewalInfo asks the profile's ACME renewal information (RFC 9773) for
// the start of the suggested window; false when there is none to ask.
func (r *Runner) renewalInfo(ctx context.Context, profile string, cert *x509.Certificate) (time.Time, bool) {
	if len(cert.AuthorityKeyId) == 0 {
		return time.Time{}, false
	}
	serial := cert.SerialNumber.Bytes()
	if len(serial) == 0 || serial[0]&0x80 != 0 {
		serial = append([]byte{0}, serial...)
	}
	id := base64.RawURLEncoding.EncodeToString(cert.AuthorityKeyId) + "." + base64.RawURLEncoding.EncodeToString(serial)
	var info struct {
		SuggestedWindow struct {
			Start time.Time `json:"start"`
		} `json:"suggestedWindow"`
	}
	if err := r.call(ctx, http.MethodGet, "/acme/"+url.PathEscape(profile)+"/renewal-info/"+id, nil, &info); err != nil {
		return time.Time{}, false // a profile without ACME: the lifetime rule and the status decide
	}
	return info.SuggestedWindow.Start, !info.SuggestedWindow.Start.IsZero()
}

func (r *Runner) serverStatus(ctx context.Context, serial string) (string, error) {
	var c struct {
		Status string `json:"status"`
	}
	if err := r.call(ctx, http.MethodGet, "/api/v1/certificates/"+serial, nil, &c); err != nil {
		return "", err
	}
	return c.Status, nil
}

func (r *Runner) checkIn(ctx context.Context) error {
	host, _ := os.Hostname()
	rep := Report{ID: r.cfg.ID, Hostname: host, Version: "1", Interval: r.cfg.Interval}
	for _, m := range r.cfg.Certificates {
		rep.Certificates = append(rep.Certificates, r.status[m.Name])
	}
	return r.call(ctx, http.MethodPost, "/api/v1/agents/check-in", rep, nil)
}

func (r *Runner) call(ctx context.Context, method, path string, body, out any) error {
	b, err := r.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

// fetch GETs a document that is not JSON (a PEM download).
func (r *Runner) fetch(ctx context.Context, path string) ([]byte, error) {
	return r.do(ctx, http.MethodGet, path, nil)
}

// httpError is the server's answer to a call that failed.
type httpError struct {
	Method, Path string
	Status       int
	Code, Detail string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d %s: %s", e.Method, e.Path, e.Status, e.Code, e.Detail)
}

func (r *Runner) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(r.cfg.Server, "/")+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+r.cfg.APIKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "signet-agent")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		he := &httpError{Method: method, Path: path, Status: resp.StatusCode}
		var p struct {
			Detail string `json:"detail"`
			Code   string `json:"code"`
		}
		if json.Unmarshal(b, &p) == nil {
			he.Code, he.Detail = p.Code, p.Detail
		}
		return nil, he
	}
	return b, nil
}

func readLeaf(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return x509.ParseCertificate(blk.Bytes)
}

// writeAtomic replaces path with data through a temporary file and rename,
// so a reader never sees half a file.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
