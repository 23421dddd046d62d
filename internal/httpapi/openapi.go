package httpapi

import (
	"net/http"
	"regexp"
	"strings"
)

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// OpenAPI builds the OpenAPI 3.1 document from the same route table that
// registers the handlers, so the document cannot drift from the routes.
func (a *API) OpenAPI() map[string]any {
	paths := map[string]any{}
	for _, rt := range a.routes {
		item, _ := paths[rt.pattern].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.pattern] = item
		}
		op := map[string]any{
			"summary":     rt.summary,
			"tags":        []string{rt.tag},
			"operationId": operationID(rt),
			"responses": map[string]any{
				"default": map[string]any{"description": "An RFC 9457 problem document",
					"content": map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}},
				"2XX": map[string]any{"description": "Success"},
			},
		}
		if rt.public {
			op["security"] = []any{}
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.pattern, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]string{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.method == "POST" || rt.method == "PUT" {
			op["requestBody"] = map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": map[string]string{"type": "object"}}}}
		}
		item[strings.ToLower(rt.method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Signet API", "version": "1",
			"description": "Signet's native REST API: CAs, templates, profiles, requests, certificates and API keys."},
		"paths":    paths,
		"security": []any{map[string]any{"bearer": []string{}}},
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{"Problem": map[string]any{"type": "object", "required": []string{"type", "title", "status", "code"},
				"properties": map[string]any{
					"type": map[string]string{"type": "string"}, "title": map[string]string{"type": "string"},
					"status": map[string]string{"type": "integer"}, "detail": map[string]string{"type": "string"},
					"code": map[string]string{"type": "string"}, "request_id": map[string]string{"type": "string"},
					"violations": map[string]any{"type": "array", "items": map[string]any{"type": "object",
						"properties": map[string]any{"field": map[string]string{"type": "string"}, "code": map[string]string{"type": "string"},
							"message": map[string]string{"type": "string"}}}},
				}}},
		},
	}
}

func operationID(rt route) string {
	parts := []string{strings.ToLower(rt.method)}
	for _, seg := range strings.Split(strings.TrimPrefix(rt.pattern, "/api/v1/"), "/") {
		seg = strings.Trim(seg, "{}")
		seg = strings.ReplaceAll(seg, "-", "_")
		if seg != "" {
			parts = append(parts, seg)
		}
	}
	return strings.Join(parts, "_")
}

func (a *API) openAPI(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, a.OpenAPI())
}

// Routes lists "METHOD pattern" for every registered operation (tests compare it with the document).
func (a *API) Routes() []string {
	out := make([]string, len(a.routes))
	for i, rt := range a.routes {
		out[i] = rt.method + " " + rt.pattern
	}
	return out
}
