package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/revocation"
	"github.com/signet-pki/signet/internal/store"
)

func (a *API) revocationRoutes() []route {
	if a.svc.Revocation == nil {
		return nil
	}
	ocsp := a.svc.Revocation.OCSPHandler("/ocsp")
	serve := func(w http.ResponseWriter, r *http.Request) error { ocsp.ServeHTTP(w, r); return nil }
	return []route{
		{method: "GET", pattern: "/crl/{file}", summary: "A CA's newest CRL: {ca}.crl (full) or {ca}-delta.crl; .pem or ?format=pem for PEM", tag: "revocation", public: true, handler: a.crl},
		{method: "POST", pattern: "/ocsp", summary: "OCSP (RFC 6960) over POST, for every Signet CA", tag: "revocation", public: true, handler: serve},
		{method: "POST", pattern: "/ocsp/{ca...}", summary: "OCSP over POST for one CA", tag: "revocation", public: true, handler: serve},
		{method: "GET", pattern: "/ocsp/{request...}", summary: "OCSP over GET: base64 request in the path (RFC 6960 appendix A)", tag: "revocation", public: true, handler: serve},
		{method: "GET", pattern: "/api/v1/crls", summary: "The newest full and delta CRL of every CA the caller sees", tag: "revocation", handler: a.listCRLs},
	}
}

func (a *API) crl(w http.ResponseWriter, r *http.Request) error {
	file := r.PathValue("file")
	pem := r.URL.Query().Get("format") == "pem"
	if base, ok := strings.CutSuffix(file, ".pem"); ok {
		file, pem = base, true
	}
	ref, ok := strings.CutSuffix(file, ".crl")
	if !ok {
		return problem.NotFound("crl_not_found", "CRLs are served as /crl/{ca}.crl and /crl/{ca}-delta.crl")
	}
	ref, delta := strings.CutSuffix(ref, "-delta")
	c, err := a.svc.Revocation.CRL(r.Context(), ref, delta)
	if err != nil {
		return err
	}
	etag := fmt.Sprintf(`"crl-%s-%d"`, c.CAID, c.Number)
	w.Header().Set("ETag", etag)
	w.Header().Set("Last-Modified", c.ThisUpdate.UTC().Format(http.TimeFormat))
	w.Header().Set("Expires", c.NextUpdate.UTC().Format(http.TimeFormat))
	// CRLs are replaced at once after a revocation: caches may keep one for
	// a minute at most, though it stays valid until nextUpdate.
	maxAge := min(time.Until(c.NextUpdate), time.Minute)
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d, no-transform", max(int(maxAge.Seconds()), 0)))
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	body, ctype := c.DER, "application/pkix-crl"
	if pem {
		body, ctype = revocation.EncodeCRLPEM(c.DER), "application/x-pem-file"
	}
	w.Header().Set("Content-Type", ctype)
	_, err = w.Write(body)
	return err
}

type crlJSON struct {
	CAID       string    `json:"ca_id"`
	Kind       string    `json:"kind"` // full | delta
	Number     int64     `json:"number"`
	BaseNumber int64     `json:"base_number,omitempty"`
	ThisUpdate time.Time `json:"this_update"`
	NextUpdate time.Time `json:"next_update"`
	Entries    int64     `json:"entries"`
	URL        string    `json:"url"`
}

func (a *API) listCRLs(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Require(r.Context(), auth.PermCARead)
	if err != nil {
		return err
	}
	var out []crlJSON
	for _, iss := range a.svc.CAs.All() {
		if iss.Signer == nil || !p.InOrg(iss.CA.OrgID) {
			continue
		}
		for _, delta := range []bool{false, true} {
			c, err := a.svc.Revocation.CRL(r.Context(), iss.CA.ID, delta)
			if problem.KindOf(err) == problem.KindNotFound {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, crlOut(c))
		}
	}
	if out == nil {
		out = []crlJSON{}
	}
	return writeJSON(w, http.StatusOK, page[crlJSON]{Items: out})
}

func crlOut(c *store.CRL) crlJSON {
	j := crlJSON{CAID: c.CAID, Kind: "full", Number: c.Number, BaseNumber: c.BaseNumber, ThisUpdate: c.ThisUpdate.UTC(),
		NextUpdate: c.NextUpdate.UTC(), Entries: c.Entries, URL: "/crl/" + c.CAID + ".crl"}
	if c.BaseNumber != 0 {
		j.Kind, j.URL = "delta", "/crl/"+c.CAID+"-delta.crl"
	}
	return j
}
