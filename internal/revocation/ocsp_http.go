package revocation

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/crypto/ocsp"
)

// MaxOCSPRequest bounds a request body or decoded GET path. A one-certificate
// request with a nonce is about 100 bytes.
const MaxOCSPRequest = 10 << 10

// OCSPHandler serves a Responder over HTTP (RFC 6960 appendix A, RFC 5019):
//
//	POST {prefix}        body application/ocsp-request
//	POST {prefix}/{ca}
//	GET  {prefix}/{base64 of the DER request, URL-encoded}
//	GET  {prefix}/{ca}/{base64 ...}
//
// Mount it for both "{prefix}" and "{prefix}/" on an http.ServeMux:
//
//	h := revocation.NewOCSPHandler(responder, "/ocsp")
//	mux.Handle("/ocsp", h)
//	mux.Handle("/ocsp/", h)
//
// It parses the path itself: ServeMux wildcards cannot tell a CA id from a
// base64 request that contains '/'. A GET's first path segment is taken as a
// CA id only when it names a known CA. ServeMux redirects paths holding an
// unescaped "//"; RFC 6960 clients escape '/' in the base64 as %2F, which
// reaches the handler untouched.
//
// Every OCSP outcome, errors included, is an HTTP 200 with an OCSP response
// body; only unsupported methods (405) and paths outside the prefix (404)
// are HTTP errors. Successful non-nonce responses carry RFC 5019 caching
// headers and GET honours If-None-Match.
type OCSPHandler struct {
	r      *Responder
	prefix string
}

// NewOCSPHandler serves r under prefix (for example "/ocsp").
func NewOCSPHandler(r *Responder, prefix string) *OCSPHandler {
	return &OCSPHandler{r: r, prefix: strings.TrimSuffix(prefix, "/")}
}

// ServeHTTP implements http.Handler.
func (h *OCSPHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	defer func() {
		// A bug must still answer in OCSP, not with a dropped connection.
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.r.log.ErrorContext(req.Context(), "ocsp: handler panic", "panic", v)
			h.write(w, req, errorResponse(ocsp.InternalError))
		}
	}()
	rest, ok := strings.CutPrefix(req.URL.EscapedPath(), h.prefix)
	if !ok || (rest != "" && rest[0] != '/') {
		http.NotFound(w, req)
		return
	}
	rest = strings.TrimPrefix(rest, "/")
	var caID string
	var der []byte
	var err error
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		caID, der, err = h.fromPath(req.Context(), rest)
	case http.MethodPost:
		if caID, err = url.PathUnescape(strings.TrimSuffix(rest, "/")); err == nil {
			der, err = readBody(req.Body)
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err != nil {
		h.write(w, req, errorResponse(ocsp.Malformed))
		return
	}
	h.write(w, req, h.r.Respond(req.Context(), caID, der))
}

// fromPath splits "[{ca}/]{request}" and decodes the request.
func (h *OCSPHandler) fromPath(ctx context.Context, rest string) (string, []byte, error) {
	var caID string
	if seg, tail, ok := strings.Cut(rest, "/"); ok && tail != "" {
		if id, err := url.PathUnescape(seg); err == nil && h.r.knowsCA(ctx, id) {
			caID, rest = id, tail
		}
	}
	der, err := decodeGET(rest)
	return caID, der, err
}

var errRequestTooLarge = errors.New("OCSP request too large")

// decodeGET undoes RFC 6960 appendix A.1's url-encoding of base64. It is
// lenient where real clients are sloppy: unescaped '/' and '+', a '+' turned
// into a space by some proxy, missing padding, or the URL-safe alphabet.
func decodeGET(s string) ([]byte, error) {
	if len(s) > 3*base64.StdEncoding.EncodedLen(MaxOCSPRequest) {
		return nil, errRequestTooLarge
	}
	s, err := url.PathUnescape(s)
	if err != nil {
		return nil, err
	}
	s = strings.ReplaceAll(s, " ", "+")
	s = strings.TrimRight(s, "=")
	if base64.RawStdEncoding.DecodedLen(len(s)) > MaxOCSPRequest {
		return nil, errRequestTooLarge
	}
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

func readBody(body io.Reader) ([]byte, error) {
	der, err := io.ReadAll(io.LimitReader(body, MaxOCSPRequest+1))
	if err != nil {
		return nil, err
	}
	if len(der) > MaxOCSPRequest {
		return nil, errRequestTooLarge
	}
	return der, nil
}

// write sends resp with RFC 5019 section 6 headers.
func (h *OCSPHandler) write(w http.ResponseWriter, req *http.Request, resp *Response) {
	hd := w.Header()
	hd["Content-Type"] = []string{"application/ocsp-response"}
	if resp.Cacheable {
		age := int64(resp.NextUpdate.Sub(h.r.cfg.Now()).Seconds())
		if age < 0 {
			age = 0
		}
		hd["Cache-Control"] = []string{"max-age=" + strconv.FormatInt(age, 10) + ", public, no-transform, must-revalidate"}
		hd["Last-Modified"] = []string{resp.lastModified}
		hd["Expires"] = []string{resp.expires}
		hd["Etag"] = []string{resp.ETag}
		if req.Method != http.MethodPost && etagMatch(req.Header.Get("If-None-Match"), resp.ETag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	} else {
		hd["Cache-Control"] = []string{"no-store"}
	}
	hd["Content-Length"] = []string{strconv.Itoa(len(resp.DER))}
	w.WriteHeader(http.StatusOK)
	if req.Method != http.MethodHead {
		_, _ = w.Write(resp.DER) // a client gone away is not the responder's problem
	}
}

// etagMatch implements If-None-Match's weak comparison over a list.
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// knowsCA reports whether id is a known CA, reading the directory if it
// never was.
func (r *Responder) knowsCA(ctx context.Context, id string) bool {
	if r.index.Load() == nil {
		r.reloadIfDue(ctx)
	}
	idx := r.index.Load()
	return idx != nil && idx.byID[id] != nil
}
