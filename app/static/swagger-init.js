// Swagger UI on /docs (offline): the API description of this service; "Try it out" sends
// the API key the pages keep (localStorage "rackplan.apiKey"), if any.
"use strict";

(function main() {
  let key = "";
  try { key = localStorage.getItem("rackplan.apiKey") || ""; } catch (e) { /* none */ }
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    validatorUrl: null,  // no call to the public validator
    requestInterceptor: (req) => {
      if (key && !req.headers["X-API-Key"]) req.headers["X-API-Key"] = key;
      return req;
    },
    onComplete: () => { document.body.dataset.ready = "1"; },
  });
})();
