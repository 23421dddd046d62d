package sectigo

import "net/http"

// routes registers the document's paths. Go's pattern precedence keeps
// literal segments ("types", "revoke/manual") ahead of {sslId}.
func (h *Handler) routes() {
	ssl := "/api/ssl/v1"
	h.handle("GET "+ssl+"/types", h.types)
	h.handle("GET "+ssl+"/customFields", h.customFields)
	h.handle("GET "+ssl, h.list) // also HEAD: the count in X-Total-Count
	h.handle("PUT "+ssl, h.update)
	h.handle("GET "+ssl+"/{sslId}", h.get)
	h.handle("DELETE "+ssl+"/{sslId}", h.remove)
	// {sslId}/location and {sslId}/dcv would clash with collect/{sslId},
	// approve/{sslId}, keystore/{sslId}/... in the mux: they share one
	// pattern each and dispatch on the literal segment.
	h.handle("GET "+ssl+"/{sslId}/{sub}", h.sub(map[string]handlerFunc{"location": h.locations, "dcv": h.certDCV}))
	h.handle("POST "+ssl+"/{sslId}/{sub}", h.sub(map[string]handlerFunc{"location": h.createLocation}))
	h.handle("POST "+ssl+"/{sslId}/{sub}/{action}", h.sub(map[string]handlerFunc{"dcv/recheck": h.certDCVRecheck}))
	h.handle("GET "+ssl+"/{sslId}/location/{locationId}", h.location)
	h.handle("PUT "+ssl+"/{sslId}/location/{locationId}", h.updateLocation)
	h.handle("DELETE "+ssl+"/{sslId}/location/{locationId}", h.deleteLocation)
	h.handle("POST "+ssl+"/enroll", h.enroll)
	h.handle("POST "+ssl+"/enroll-keygen", h.enrollKeygen)
	h.handle("GET "+ssl+"/collect/{sslId}", h.collect)
	h.handle("POST "+ssl+"/keystore/{sslId}/{formatType}", h.keystore)
	h.mux.HandleFunc("GET "+ssl+"/keystore/download", h.keystoreDownload) // the token is the credential
	h.handle("POST "+ssl+"/approve/{sslId}", h.approve)
	h.handle("POST "+ssl+"/decline/{sslId}", h.decline)
	h.handle("POST "+ssl+"/revoke/{sslId}", h.revoke)
	h.handle("POST "+ssl+"/revoke/serial/{serial}", h.revokeBySerial)
	h.handle("POST "+ssl+"/revoke/manual", h.revokeManual)
	h.handle("POST "+ssl+"/renew/{renewId}", h.renewByRenewID)
	h.handle("POST "+ssl+"/renewById/{sslId}", h.renewByID)
	h.handle("POST "+ssl+"/renew/manual/{sslId}", h.renewManual)
	h.handle("POST "+ssl+"/replace/{sslId}", h.replace)
	h.handle("POST "+ssl+"/import", h.importZip)
	h.handle("POST /api/ssl/v2/import", h.importV2)

	org := "/api/organization/v1"
	h.handle("GET "+org, h.organizations)
	h.handle("POST "+org, h.createOrganization)
	h.handle("GET "+org+"/managedBy/{role}", h.orgsFlat)
	h.handle("GET "+org+"/report-type/{certType}", h.orgsFlat)
	h.handle("GET "+org+"/{orgId}", h.organization)
	h.handle("PUT "+org+"/{orgId}", h.updateOrganization)
	h.handle("DELETE "+org+"/{orgId}", h.deleteOrganization)

	dom := "/api/domain/v1"
	h.handle("GET "+dom, h.listDomains)
	h.handle("POST "+dom, h.createDomain)
	h.handle("GET "+dom+"/count", h.countDomains)
	h.handle("POST "+dom+"/delegation", h.delegate)
	h.handle("GET "+dom+"/{domainId}", h.getDomain)
	h.handle("DELETE "+dom+"/{domainId}", h.deleteDomain)
	h.handle("PUT "+dom+"/{domainId}/monitoring", h.monitoring)
	h.handle("PUT "+dom+"/{domainId}/activate", h.setDomainState(true))
	h.handle("PUT "+dom+"/{domainId}/suspend", h.setDomainState(false))
	h.handle("POST "+dom+"/{domainId}/delegation", h.delegate)
	h.handle("DELETE "+dom+"/{domainId}/delegation", h.undelegate)
	h.handle("POST "+dom+"/{domainId}/delegation/approve", h.decideDelegation(true))
	h.handle("POST "+dom+"/{domainId}/delegation/reject", h.decideDelegation(false))

	dcv := "/api/dcv/v1/validation"
	h.handle("GET "+dcv, h.dcvList)
	h.handle("POST /api/dcv/v2/validation/status", h.dcvStatusV2)
	h.handle("POST "+dcv+"/status", h.dcvStatusV1)
	h.handle("POST "+dcv+"/sync", h.dcvSync)
	h.handle("POST "+dcv+"/clear", h.dcvClear)
	h.handle("POST "+dcv+"/delete", h.dcvDelete)
	h.handle("POST "+dcv+"/start/domain/{method}", h.dcvStart)
	h.handle("POST "+dcv+"/submit/domain/{method}", h.dcvSubmit)
	h.handle("POST "+dcv+"/submit-bulk/domain/email", h.dcvSubmitBulkEmail)

	h.mux.HandleFunc("/", h.notFound)
}

// sub dispatches {sub}[/{action}] of a certificate.
func (h *Handler) sub(by map[string]handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, c *call) error {
		key := c.r.PathValue("sub")
		if a := c.r.PathValue("action"); a != "" {
			key += "/" + a
		}
		fn, ok := by[key]
		if !ok {
			return h.notFoundErr()
		}
		return fn(w, c)
	}
}

var _ http.Handler = (*Handler)(nil)
