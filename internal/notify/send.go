package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// SMTPConfig is the mail relay. Password comes from the environment only.
type SMTPConfig struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	From     string `yaml:"from"`
	Username string `yaml:"username"`
	Password string `yaml:"-"`
	StartTLS bool   `yaml:"starttls"` // require STARTTLS (also used whenever the server offers it)
	// InsecureSkipVerify is for test relays with self-signed certificates.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

type sender struct {
	smtp   SMTPConfig
	client *http.Client
}

func newSender(cfg Config) sender {
	return sender{smtp: cfg.SMTP, client: &http.Client{Timeout: cfg.HTTPTimeout}}
}

// mail sends one message over SMTP with STARTTLS when offered (or required)
// and PLAIN auth when a user name is configured.
func (s sender) mail(ctx context.Context, to string, m Message) error {
	cfg := s.smtp
	if cfg.Host == "" {
		return fmt.Errorf("no SMTP relay is configured")
	}
	port := cfg.Port
	if port == 0 {
		port = 587
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(port))
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	c, err := smtp.NewClient(conn, cfg.Host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: cfg.Host, InsecureSkipVerify: cfg.InsecureSkipVerify}); err != nil { //nolint:gosec // opt-in for test relays
			return fmt.Errorf("STARTTLS: %w", err)
		}
	} else if cfg.StartTLS {
		return fmt.Errorf("the SMTP relay does not offer STARTTLS")
	}
	if cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", cfg.Username, cfg.Password, cfg.Host)); err != nil {
			return fmt.Errorf("SMTP auth: %w", err)
		}
	}
	if err := c.Mail(cfg.From); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	subject := "[Signet] " + m.Description
	if len(subject) > 150 {
		subject = subject[:150]
	}
	body := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n\r\nEvent: %s\r\nRule: %s\r\n",
		cfg.From, to, oneLine(subject), time.Now().UTC().Format(time.RFC1123Z), m.Description, m.Event, m.Rule)
	if m.Serial != "" {
		body += fmt.Sprintf("Serial: %s\r\nNot after: %s\r\n", m.Serial, m.NotAfter.UTC().Format(time.RFC3339))
	}
	if m.Attachment != "" {
		body += "\r\n" + strings.ReplaceAll(strings.ReplaceAll(m.Attachment, "\r\n", "\n"), "\n", "\r\n")
	}
	if _, err := io.WriteString(w, body); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body>" under the rule's secret.
const SignatureHeader = "X-Signet-Signature"

// Sign computes the signature header value for body.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// webhook POSTs the message; any status but 2xx is a failure to retry.
// The delivery id lets a receiver drop a retry it has already processed.
func (s sender) webhook(ctx context.Context, w *Webhook, n *store.Notification, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "signet-webhook")
	req.Header.Set("X-Signet-Event", m.Event)
	req.Header.Set("X-Signet-Delivery", n.ID)
	req.Header.Set(SignatureHeader, Sign(w.Secret, body))
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered HTTP %d", resp.StatusCode)
	}
	return nil
}
