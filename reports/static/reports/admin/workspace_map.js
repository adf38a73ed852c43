// What every map of the workspace shares: the tiles (from the settings MAP_TILE_URL and
// MAP_TILE_ATTRIBUTION; none if the URL is empty) and the city boundary, which is always drawn, so
// without tiles (a city network without internet) a map still shows where the city and the points are.
// The settings come in a json_script block (#workspace-map-config), not in an inline script.
(function () {
  "use strict";

  function readConfig() {
    var element = document.getElementById("workspace-map-config");
    return element ? JSON.parse(element.textContent) : { tileUrl: "", tileAttribution: "", boundary: null };
  }

  function create(element, options) {
    var config = readConfig();
    var map = L.map(element, options || {});
    if (config.tileUrl) {
      L.tileLayer(config.tileUrl, {
        maxZoom: 19,
        attribution: config.tileAttribution,
        // The site's Referrer-Policy is same-origin; OpenStreetMap's tile usage policy asks for a referer.
        referrerPolicy: "strict-origin-when-cross-origin",
      }).addTo(map);
    }
    var boundary = null;
    if (config.boundary) {
      boundary = L.geoJSON(config.boundary, {
        interactive: false,
        style: { className: "city-boundary", color: "#1d3557", weight: 3, fill: false, dashArray: "8 6" },
      }).addTo(map);
    }
    return { map: map, boundary: boundary };
  }

  window.CasappWorkspaceMap = { create: create };
})();
