// Swagger UI over the API's OpenAPI document; no validator badge (it would call the internet).
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.spec,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    supportedSubmitMethods: [],  // requests must be SigV4-signed: use an SDK, the AWS CLI or curl
  });
});
