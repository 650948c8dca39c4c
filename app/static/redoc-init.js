// ReDoc on /redoc (offline): the API description of this service.
"use strict";

Redoc.init("/openapi.json", { hideDownloadButton: false }, document.getElementById("redoc"),
  () => { document.body.dataset.ready = "1"; });
