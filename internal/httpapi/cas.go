package httpapi

import (
	"net/http"

	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/store"
)

func (a *API) caRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/v1/cas", summary: "List CAs", tag: "cas", handler: a.listCAs},
		{method: "POST", pattern: "/api/v1/cas", summary: "Create a root or intermediate CA", tag: "cas", handler: a.createCA},
		{method: "POST", pattern: "/api/v1/cas/import", summary: "Import an external CA certificate (and optionally its key)", tag: "cas", handler: a.importCA},
		{method: "GET", pattern: "/api/v1/cas/{id}", summary: "Get a CA by id or name", tag: "cas", handler: a.getCA},
		{method: "GET", pattern: "/api/v1/cas/{id}/certificate", summary: "Download the CA certificate (PEM, or DER with ?format=der)", tag: "cas", public: true, handler: a.caCertificate},
		{method: "GET", pattern: "/api/v1/cas/{id}/chain", summary: "Download the CA chain, CA first, up to its root (PEM)", tag: "cas", public: true, handler: a.caChain},
		{method: "POST", pattern: "/api/v1/cas/{id}/disable", summary: "Disable a CA (it issues nothing while disabled)", tag: "cas", handler: a.setCAStatus(store.CADisabled)},
		{method: "POST", pattern: "/api/v1/cas/{id}/enable", summary: "Re-enable a disabled CA", tag: "cas", handler: a.setCAStatus(store.CAActive)},
	}
}

func (a *API) listCAs(w http.ResponseWriter, r *http.Request) error {
	q, err := listQuery(r)
	if err != nil {
		return err
	}
	cas, next, err := a.svc.CAs.List(r.Context(), q)
	if err != nil {
		return listErr(err)
	}
	return writeJSON(w, http.StatusOK, page[caJSON]{Items: mapItems(cas, caOut), NextCursor: next})
}

func (a *API) createCA(w http.ResponseWriter, r *http.Request) error {
	var in ca.CreateInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	rec, err := a.svc.CAs.Create(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, caOut(rec))
}

func (a *API) importCA(w http.ResponseWriter, r *http.Request) error {
	var in ca.ImportInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	rec, err := a.svc.CAs.Import(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, caOut(rec))
}

func (a *API) getCA(w http.ResponseWriter, r *http.Request) error {
	rec, err := a.svc.CAs.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, caOut(rec))
}

func (a *API) caCertificate(w http.ResponseWriter, r *http.Request) error {
	chain, err := a.svc.CAs.Chain(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") == "der" {
		return writeBytes(w, "application/pkix-cert", chain[0].Raw)
	}
	return writeBytes(w, "application/x-pem-file", certutil.EncodeCertsPEM(chain[0].Raw))
}

func (a *API) caChain(w http.ResponseWriter, r *http.Request) error {
	chain, err := a.svc.CAs.Chain(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	ders := make([][]byte, len(chain))
	for i, c := range chain {
		ders[i] = c.Raw
	}
	return writeBytes(w, "application/x-pem-file", certutil.EncodeCertsPEM(ders...))
}

func (a *API) setCAStatus(status string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		rec, err := a.svc.CAs.SetStatus(r.Context(), r.PathValue("id"), status)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, caOut(rec))
	}
}

func writeBytes(w http.ResponseWriter, contentType string, b []byte) error {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b)
	return err
}
