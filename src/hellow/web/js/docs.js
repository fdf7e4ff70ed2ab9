// The OpenAPI page: Swagger UI from files this server serves (no CDN), so that the
// strict Content-Security-Policy holds here too and the page works offline.
/* global SwaggerUIBundle */
SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
});
